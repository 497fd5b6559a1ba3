"""CSRF: every state-changing browser request (each web route that is not a GET) needs the session's token.

Signed in as a super admin (so permissions never answer first), each such route is called without a token,
with a wrong one, and with another session's token: all are refused with `csrf_failed`, and the database
is exactly as before. The session cookie is HttpOnly and SameSite=Lax.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from core import inboxes
from core.schemas import TicketCreate
from core.tickets import create_ticket
from core.uow import UnitOfWork
from tests.reliability.snapshot import snapshot
from tests.security.routes import all_routes
from tests.security.session import login_form, sign_in
from tests.support import LiveServer, create_user, ticket_payload

FORM = {"conversation_id": "1", "conversation_ids": "1", "ids": "1", "confirm_count": "1", "ticket_id": "1",
        "to": "help_desk", "name": "x", "email": "csrf@desk.example", "password": "p4ssword!", "follow": "1",
        "priority": "HIGH", "api_base": "http://127.0.0.1:9/v1", "copilot": "on", "message_ids": "1"}


def _state_changing_web_routes(server: LiveServer) -> list[str]:
    app = server.server.config.app
    return [r.label for r in all_routes(app) if not r.is_api and r.method not in ("GET", "MOUNT")
            and r.path != "/login"]


def test_every_state_changing_web_request_needs_the_csrf_token(
    server: LiveServer, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    for _ in range(2):
        with uow_factory() as uow:
            create_ticket(uow=uow, actor=None, data=TicketCreate.model_validate(ticket_payload()))
    with uow_factory() as uow:
        inboxes.create_inbox(uow=uow, actor=None, name="Sales")
    create_user(uow_factory, "boss@desk.example", super_admin=True)
    create_user(uow_factory, "other@desk.example", super_admin=True)
    mine, theirs = sign_in(server.url, "boss@desk.example"), sign_in(server.url, "other@desk.example")
    routes = _state_changing_web_routes(server)
    assert len(routes) >= 15 and "POST /logout" in routes
    before = snapshot(engine)
    wrong = []
    try:
        for label in routes:
            path = label.split(" ", 1)[1].replace("{ticket_id}", "1").replace("{conversation_id}", "1")
            path = path.replace("{inbox_id}", "1").replace("{user_id}", "1").replace("{change}", "add")
            for how, token in (("no token", ""), ("wrong token", "x" * 43), ("another session's", theirs.csrf)):
                response = mine.post(path, FORM, csrf=token)
                code = response.json().get("error", {}).get("code") if response.status_code == 403 else None
                if code != "csrf_failed":
                    wrong.append(f"{label} with {how}: {response.status_code} {response.text[:120]}")
            header = mine.client.post(path, json={}, headers={"X-CSRF-Token": "y" * 43, "Accept": "application/json"})
            if header.status_code != 403:
                wrong.append(f"{label} with a wrong X-CSRF-Token header: {header.status_code}")
        assert wrong == []
        assert snapshot(engine) == before  # nothing any refused request did stuck
        # The right token gets past the check (so the refusals above were the check's doing).
        assert mine.post("/tickets/1/unread", {}).status_code in (200, 303)
        assert mine.post_json("/tickets/1/ai/names", {"exclude": []}).json().get("error", {}).get(
            "code") != "csrf_failed"
    finally:
        mine.client.close()
        theirs.client.close()


def test_login_form_needs_its_own_token_and_the_session_cookie_is_guarded(
    server: LiveServer, uow_factory: Callable[[], UnitOfWork]
) -> None:
    create_user(uow_factory, "casey@desk.example")
    with httpx.Client(base_url=server.url, timeout=30) as client:
        refused = client.post("/login", data={"email": "casey@desk.example", "password": "correct horse battery"},
                              headers={"Accept": "application/json"})
        assert refused.status_code == 403
        token = login_form(client)
        other = httpx.Client(base_url=server.url, timeout=30)  # a token minted for another browser
        try:
            foreign = login_form(other)
        finally:
            other.close()
        assert foreign != token
        response = client.post("/login", data={"email": "casey@desk.example", "password": "correct horse battery",
                                                "csrf_token": foreign}, headers={"Accept": "application/json"})
        assert response.status_code == 403
        ok = client.post("/login", data={"email": "casey@desk.example", "password": "correct horse battery",
                                          "csrf_token": token}, follow_redirects=False)
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"].lower()
        assert "deskpilot_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
