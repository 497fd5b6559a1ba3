"""A deskpilot server wired to a fake OpenAI-compatible provider (with an API key), and its users."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from core import workspace
from core.config import Settings
from core.uow import UnitOfWork
from tests.fakes import FakeOpenAIServer
from tests.security.session import PASSWORD, WebSession, sign_in
from tests.support import Clock, LiveServer, create_user

API_KEY = "sk-deskpilot-test-4f9a1c7e2b8d"
SECRET_KEY = "web-session-signing-secret-7d3e9b"
MODEL = "openai/test-model"


@dataclass
class AIDesk:
    """The server's URL, the fake provider, users (email -> API token) and a unit-of-work factory."""

    url: str
    provider: FakeOpenAIServer
    uow: Callable[[], UnitOfWork]
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    def api(self, email: str) -> httpx.Client:
        client = httpx.Client(base_url=self.url + "/api/v1", timeout=60,
                              headers={"Authorization": f"Bearer {self.tokens[email]}"})
        self.clients.append(client)
        return client

    def web(self, email: str, password: str = PASSWORD) -> WebSession:
        session = sign_in(self.url, email, password)
        self.clients.append(session.client)
        return session

    def set_ai(self, **changes: Any) -> None:
        with self.uow() as uow:
            workspace.update_ai_settings(uow=uow, actor=None, changes=changes)

    def ticket(self, email: str, **payload: Any) -> dict[str, Any]:
        response = self.api(email).post("/tickets", json=payload)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture
def provider() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(default_reply=None) as fake:
        yield fake


@pytest.fixture
def ai_desk(db_url: str, clock: Clock, provider: FakeOpenAIServer,
            uow_factory: Callable[[], UnitOfWork]) -> Iterator[AIDesk]:
    """A server whose model is `openai/test-model` at the fake provider, with an API key configured."""
    from plugin.app import create_app

    settings = Settings(database_url=db_url, llm_model=MODEL, llm_api_base=provider.base_url,
                        llm_api_key=SecretStr(API_KEY), secret_key=SecretStr(SECRET_KEY), llm_max_retries=0,
                        llm_timeout=10, purge_interval_seconds=0, mail_queue_interval_seconds=0)
    live = LiveServer(create_app(settings, clock=clock)).start()
    desk = AIDesk(url=live.url, provider=provider, uow=uow_factory)
    for email, admin in (("admin@desk.example", True), ("agent@desk.example", False)):
        _, desk.tokens[email] = create_user(uow_factory, email, super_admin=admin)
    try:
        yield desk
    finally:
        for client in desk.clients:
            client.close()
        live.stop()
