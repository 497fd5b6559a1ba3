"""Secrets never reach a log: passwords, API tokens, the provider's API key, session cookies, the signing key.

Every logger is captured at DEBUG (ours, uvicorn's, httpx's, litellm's) along with the process's stdout and
stderr, while users are created, tokens used (good and bad), sign-ins fail and succeed, and the AI is called
with an API key configured (successful and failing calls). The database keeps only hashes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import select

from core.models import ApiToken, AuditEvent, User
from core.uow import UnitOfWork
from tests.fakes import FakeOpenAIServer
from tests.security.conftest import API_KEY, SECRET_KEY, AIDesk
from tests.security.session import login_form
from tests.support import create_user

NEW_PASSWORD = "Tr0ub4dor&3-never-log-me"
WRONG_PASSWORD = "hunter2-wrong-but-secret"
BAD_TOKEN = "dp_this-token-is-wrong-but-still-secret-0123456789"


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    names = ["", "deskpilot", "deskpilot.web", "deskpilot.hubspot", "uvicorn", "uvicorn.error", "uvicorn.access",
             "httpx", "httpcore", "LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm", "openai", "sqlalchemy"]
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).propagate,
                    list(logging.getLogger(name).handlers)) for name in names}
    for name in names[1:]:
        logger = logging.getLogger(name)
        # Everything goes to the capture handler on the root logger. litellm's own stderr handlers hold the
        # stream of whichever test imported it first (long closed), so they stay out meanwhile.
        logger.setLevel(logging.DEBUG)
        logger.propagate = True
        logger.handlers = []
    with caplog.at_level(logging.DEBUG):
        yield caplog
    for name, (level, propagate, handlers) in saved.items():
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = propagate
        if name:
            logger.handlers = handlers


def test_no_secret_appears_in_any_log(ai_desk: AIDesk, provider: FakeOpenAIServer, every_log: pytest.LogCaptureFixture,
                                      capfd: pytest.CaptureFixture[str], uow_factory: Callable[[], UnitOfWork]) -> None:
    secrets = {"api key": API_KEY, "signing key": SECRET_KEY, "bad token": BAD_TOKEN,
               "new password": NEW_PASSWORD, "wrong password": WRONG_PASSWORD}
    secrets.update({f"token of {email}": token for email, token in ai_desk.tokens.items()})
    _, cli_token = create_user(uow_factory, "cli@desk.example", password=NEW_PASSWORD)
    secrets["cli token"] = cli_token

    # A super admin creates a user with a password in the web UI; that user signs in.
    admin_web = ai_desk.web("admin@desk.example")
    secrets["admin session cookie"] = admin_web.client.cookies["deskpilot_session"]
    created = admin_web.post("/admin/users", {"email": "new@desk.example", "name": "New", "password": NEW_PASSWORD},
                             json_errors=False)
    assert created.status_code == 303
    new_web = ai_desk.web("new@desk.example", NEW_PASSWORD)
    secrets["new session cookie"] = new_web.client.cookies["deskpilot_session"]

    # Failed sign-ins and bad tokens.
    with httpx.Client(base_url=ai_desk.url, timeout=30) as client:
        for email in ("new@desk.example", "nobody@desk.example"):
            client.post("/login", data={"email": email, "password": WRONG_PASSWORD, "csrf_token": login_form(client)})
        assert client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {BAD_TOKEN}"}).status_code == 401
        assert client.get("/crm/v3/objects/tickets", headers={"Authorization": f"Bearer {BAD_TOKEN}"}
                          ).status_code == 401

    # The AI with the API key: a good answer, a provider error that echoes the request, an unusable answer.
    ai_desk.set_ai(ai_conversation_data=True, ai_copilot=True)
    agent = ai_desk.api("agent@desk.example")
    ticket = ai_desk.ticket("agent@desk.example", name="Refund", channel="email", messages=[
        {"direction": "incoming", "sender_name": "Jo", "text": "I was charged twice for order 55, please refund."}])
    provider.enqueue_reply('{"summary": "The customer was charged twice and wants a refund."}')
    provider.enqueue_error(401, {"error": {"message": f"Incorrect API key provided: {API_KEY}", "type": "auth"}})
    provider.enqueue_error(500, "internal error")
    provider.enqueue_reply("not json and no names")
    for _ in range(4):
        agent.post(f"/tickets/{ticket['id']}/ai/summary")
    assert any(r.headers.get("authorization") == f"Bearer {API_KEY}" for r in provider.requests)  # the key was used

    out, err = capfd.readouterr()
    # The server runs in this process on other threads; the test's own HTTP client logs on the main thread
    # (httpcore's DEBUG trace prints the Set-Cookie headers it receives), which is not the server's log.
    server_records = [r for r in every_log.records if r.threadName != "MainThread"]
    logged = "\n".join(every_log.handler.format(r) + " " + str(r.args) for r in server_records)
    logged += "\n" + out + "\n" + err
    assert len(server_records) > 10
    leaked = [name for name, value in secrets.items() if value in logged]
    assert leaked == []


def test_the_database_keeps_only_hashes(ai_desk: AIDesk, uow_factory: Callable[[], UnitOfWork]) -> None:
    _, token = create_user(uow_factory, "hashed@desk.example", password=NEW_PASSWORD)
    with uow_factory() as uow:
        stored = [*uow.session.scalars(select(ApiToken.token_hash)), *uow.session.scalars(select(ApiToken.prefix))]
        hashes = list(uow.session.scalars(select(User.password_hash)))
        details = [str(d) for d in uow.session.scalars(select(AuditEvent.detail))]
    everything = "\n".join([*stored, *(h or "" for h in hashes), *details])
    assert token not in everything and NEW_PASSWORD not in everything
    assert all(h is None or h.startswith("$argon2") for h in hashes)
