"""deskpilot's ticket engine: domain model, permissions, storage, actions and AI."""
