"""The FastAPI application: `create_app` runs standalone, `mount` puts deskpilot inside a host app."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from core.config import Settings
from core.db import make_engine, make_session_factory
from core.mail import queue as mail_queue
from core.models import utcnow
from core.purge import start_purge_scheduler
from plugin import errors
from plugin.api import router as api_router
from plugin.deps import AppState
from plugin.hubspot import router as hubspot_router
from plugin.manifest import load_manifest
from plugin.web import STATIC_DIR
from plugin.web import router as web_router


def start_background(state: AppState) -> Callable[[], None]:
    """Start the purge scheduler and the mail queue (which rescans waiting replies); returns `stop`."""
    stops = [start_purge_scheduler(state), mail_queue.start(state.engine, state.settings, state.clock)]

    def stop() -> None:
        for halt in reversed(stops):
            halt()

    return stop


# Objects made in a young generation before it is collected (CPython's default: 700). A list page makes
# a few thousand short-lived ones, which reference counting frees anyway; collecting every 700 cost a
# page ~10% of its CPU time (bench B1).
YOUNG_COLLECTION_THRESHOLD = 20_000


def tune_garbage_collection() -> None:
    """Tune the collector of a process that serves deskpilot on its own (not mounted in a host's app):
    what startup built is kept out of every later collection (gc.freeze), and the youngest generation is
    collected less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] = utcnow) -> FastAPI:
    """Build the app. The engine is made here, not in a lifespan, so the app also works when mounted."""
    settings = settings or Settings()
    manifest = load_manifest()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = start_background(app.state.deskpilot)
        tune_garbage_collection()
        try:
            yield
        finally:
            await run_in_threadpool(stop)

    app = FastAPI(
        lifespan=lifespan,
        title="deskpilot",
        version=manifest.version,
        description="AI-assisted help desk tickets: REST API v1. Authenticate with `Authorization: Bearer <token>`.",
    )
    # The read endpoints' statements are index-driven: on PostgreSQL they get a pool whose connections
    # keep one generic plan per statement instead of re-planning keyset pages on every request, and
    # run outside transactions (they only read: see UnitOfWork.read_only).
    reads = (make_engine(settings.database_url, generic_plans=True, autocommit=True)
             if engine.dialect.name == "postgresql" else None)
    app.state.deskpilot = AppState(
        settings=settings, engine=engine, session_factory=make_session_factory(engine), clock=clock,
        read_session_factory=make_session_factory(reads) if reads is not None else None,
    )
    errors.install(app)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": manifest.version}

    app.include_router(api_router, prefix="/api/v1")
    app.include_router(hubspot_router)  # HubSpot-compatible /crm/v3 and /crm/v4 (docs/hubspot.md)

    @app.get("/", include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        return RedirectResponse(request.scope.get("root_path", "") + "/helpdesk", status_code=307)

    app.include_router(web_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def mount(host_app: FastAPI, prefix: str | None = None, settings: Settings | None = None) -> FastAPI:
    """Mount deskpilot under `prefix` (default: the manifest's mount prefix) of a host FastAPI app."""
    manifest = load_manifest()
    app = create_app(settings)
    host_app.mount(prefix or manifest.mount_prefix, app)
    # Starlette does not run a mounted app's lifespan, so the background work rides on the host's.
    host_lifespan = host_app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(host: Any) -> AsyncIterator[Any]:
        stop = start_background(app.state.deskpilot)
        try:
            async with host_lifespan(host) as state:
                yield state
        finally:
            await run_in_threadpool(stop)

    host_app.router.lifespan_context = lifespan
    return app
