"""deskpilot web layer: FastAPI app, REST API, web UI, CLI and manifest loader."""
