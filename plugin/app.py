"""The FastAPI application: `create_app` runs standalone, `mount` puts deskpilot inside a host app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from core.config import Settings
from core.db import make_engine, make_session_factory
from core.models import utcnow
from plugin import errors
from plugin.api import router as api_router
from plugin.deps import AppState
from plugin.manifest import load_manifest


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """Build the app. The engine is made here, not in a lifespan, so the app also works when mounted."""
    settings = settings or Settings()
    manifest = load_manifest()
    engine = make_engine(settings.database_url)
    app = FastAPI(
        title="deskpilot",
        version=manifest.version,
        description="AI-assisted help desk tickets: REST API v1. Authenticate with `Authorization: Bearer <token>`.",
    )
    app.state.deskpilot = AppState(
        settings=settings, engine=engine, session_factory=make_session_factory(engine), clock=clock
    )
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": manifest.version}

    app.include_router(api_router, prefix="/api/v1")
    return app


def mount(host_app: FastAPI, prefix: str | None = None, settings: Settings | None = None) -> FastAPI:
    """Mount deskpilot under `prefix` (default: the manifest's mount prefix) of a host FastAPI app."""
    manifest = load_manifest()
    app = create_app(settings)
    host_app.mount(prefix or manifest.mount_prefix, app)
    return app
