"""deskpilot mounted inside a separate host FastAPI app, used over real HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from core.config import Settings
from plugin.app import mount
from tests.support import LiveServer, create_user, ticket_payload


def test_mounted_plugin_serves_its_api_under_the_prefix(db_url: str, uow_factory: Callable) -> None:  # type: ignore[type-arg]
    host = FastAPI()

    @host.get("/host-ping")
    def ping() -> dict[str, str]:
        return {"host": "yes"}

    mount(host, "/helpdesk", settings=Settings(database_url=db_url, purge_interval_seconds=0))
    _, token = create_user(uow_factory, "mounted@desk.example")
    live = LiveServer(host).start()
    try:
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {token}"}) as client:
            assert client.get("/host-ping").json() == {"host": "yes"}
            assert client.get("/helpdesk/healthz").json()["status"] == "ok"
            created = client.post("/helpdesk/api/v1/tickets", json=ticket_payload(name="From the host"))
            assert created.status_code == 201, created.text
            listed = client.get("/helpdesk/api/v1/tickets").json()["items"]
            assert [t["name"] for t in listed] == ["From the host"]
            assert client.get("/helpdesk/api/v1/tickets", headers={"Authorization": ""}).status_code == 401
            assert client.get("/api/v1/tickets").status_code == 404, "nothing leaks outside the prefix"
    finally:
        live.stop()


def test_mount_uses_the_manifest_prefix_by_default(db_url: str) -> None:
    host = FastAPI()
    mount(host, settings=Settings(database_url=db_url))
    assert any(getattr(r, "path", None) == "/helpdesk" for r in host.routes)


_GC_PROBE = """
import asyncio, gc, sys
from fastapi import FastAPI
from core.config import Settings
from plugin.app import YOUNG_COLLECTION_THRESHOLD, create_app, mount

settings = Settings(database_url=sys.argv[2], purge_interval_seconds=0, mail_queue_interval_seconds=0)
if sys.argv[1] == "standalone":
    app = create_app(settings)
else:
    app = FastAPI()
    mount(app, "/desk", settings=settings)

async def main():
    async with app.router.lifespan_context(app):
        print(gc.get_threshold()[0] == YOUNG_COLLECTION_THRESHOLD, gc.get_freeze_count() > 0)

asyncio.run(main())
"""


def test_only_a_standalone_server_tunes_the_garbage_collector(tmp_path: Path, repo_root: Path) -> None:
    """Serving on its own, deskpilot freezes what startup built and collects young objects less often; mounted
    in a host's app it leaves the host's process settings alone."""
    url = f"sqlite:///{tmp_path / 'gc.db'}"
    outcome = {}
    for how in ("standalone", "mounted"):
        done = subprocess.run([sys.executable, "-c", _GC_PROBE, how, url], cwd=repo_root, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outcome[how] = done.stdout.split()[-2:]
    assert outcome == {"standalone": ["True", "True"], "mounted": ["False", "False"]}
