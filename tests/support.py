"""Helpers shared by the test layers: a settable clock, a live uvicorn server, users with tokens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import uvicorn

from core import users
from core.models import User
from core.uow import UnitOfWork


class Clock:
    """A clock tests can move; `None` means real time."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC)

    def set(self, when: datetime) -> None:
        self.fixed = when

    def advance(self, **delta: float) -> None:
        self.fixed = self() + timedelta(**delta)

    def reset(self) -> None:
        self.fixed = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """Runs an ASGI app with uvicorn on 127.0.0.1 in a background thread (real HTTP)."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class Agent:
    """A user with an API token and an HTTP client that sends it."""

    id: int
    email: str
    token: str
    client: httpx.Client

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.post(path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.patch(path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.put(path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.delete(path, **kw)


def create_user(
    uow_factory: Callable[[], UnitOfWork], email: str, *, super_admin: bool = False,
    permissions: tuple[str, ...] = (), password: str | None = "correct horse battery",
) -> tuple[User, str]:
    with uow_factory() as uow:
        user = users.create_user(uow=uow, actor=None, email=email, name=email.split("@")[0].title(),
                                 password=password, super_admin=super_admin, permissions=permissions)
        token = users.issue_token(uow=uow, user=user)
    return user, token


def ticket_payload(name: str = "Printer on fire", text: str = "The printer in room 4 is on fire, please help.",
                   channel: str = "email", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": name,
        "channel": channel,
        "contact": {"name": "Casey Customer", "email": "casey@shop.example"},
        "messages": [{"direction": "incoming", "sender_name": "Casey Customer", "sender_email": "casey@shop.example",
                      "subject": name, "text": text}],
    }
    body.update(extra)
    return body
