"""Every route needs a signed-in user (except health, login, static and the API docs), and every route that
needs a permission refuses a plain agent while allowing a user who has exactly that permission.

Routes are enumerated from the app itself (REST API, web UI, HubSpot /crm, mounts), so a new route is
checked the day it is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from core import inboxes
from core.config import Settings
from core.permissions import ACTIONS, Rule
from core.schemas import TicketCreate
from core.tickets import create_ticket
from core.uow import UnitOfWork
from plugin.app import create_app
from tests.security.routes import PUBLIC, RULES, RouteInfo, all_routes, required_action, restricted_routes
from tests.security.session import WebSession, sign_in
from tests.support import Agent, LiveServer, create_user, ticket_payload

STATIC_APP = create_app(Settings(database_url="sqlite:///:memory:"))
ROUTES = all_routes(STATIC_APP)
RESTRICTED = restricted_routes(STATIC_APP)
# A form body that satisfies every web action's fields, so the permission check is what answers.
FORM = {"conversation_id": "1", "conversation_ids": "1", "ids": "1", "confirm_count": "1", "ticket_id": "1",
        "to": "help_desk", "name": "x", "email": "new@desk.example", "follow": "1"}
# Valid JSON bodies for the restricted API routes (their models refuse unknown fields), by the path's end.
JSON_BODIES = {"/move": {"to": "help_desk"}, "/bulk-delete": {"ids": [1], "confirm_count": 1},
               "/spam": {"conversation_ids": [1]}, "/settings/ai": {"copilot": True},
               "/batch/archive": {"inputs": [{"id": "1"}]}}


def test_every_route_is_enumerated_and_classified() -> None:
    labels = {r.label for r in ROUTES}
    assert len(ROUTES) > 60
    assert {"GET /api/v1/tickets", "GET /helpdesk", "GET /crm/v3/objects/tickets", "MOUNT /static"} <= labels
    for pattern, _, what in RULES:  # every rule still matches a route: no rule rots silently
        assert any(required_action(r) for r in ROUTES if __import__("re").search(pattern, r.label)), what
    assert {required_action(r) for r in RESTRICTED} >= {"settings.ai", "users.manage", "conversation.move",
                                                        "ticket.spam", "ticket.delete", "ticket.restore"}


def _anonymous_request(client: httpx.Client, route: RouteInfo) -> httpx.Response:
    url = route.url()
    if route.method in ("POST", "PUT", "PATCH"):
        return client.request(route.method, url, json={}) if route.is_api else client.request(route.method, url,
                                                                                             data={})
    return client.request(route.method, url)


def test_every_route_refuses_anonymous_callers(server: LiveServer, db_url: str) -> None:
    """API and /crm: 401. Web pages and forms: a redirect to the login page. Nothing else answers."""
    app = server.server.config.app
    assert [r.label for r in all_routes(app)] == [r.label for r in ROUTES]
    wrong = []
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as client:
        for route in ROUTES:
            if route.key in PUBLIC or route.method == "MOUNT":
                continue
            response = _anonymous_request(client, route)
            if route.is_api:
                ok = response.status_code == 401
            else:
                ok = response.status_code == 303 and "/login" in response.headers.get("location", "")
            if not ok:
                wrong.append(f"{route.label} -> {response.status_code}")
    assert wrong == []


def test_public_routes_answer_without_signing_in(server: LiveServer, db_url: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as client:
        assert client.get("/healthz").status_code == 200
        assert client.get("/login").status_code == 200
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200
        assert client.get("/").status_code == 307  # only a redirect to the (protected) help desk
        assert client.get("/static/../core/models.py").status_code == 404


@pytest.fixture
def people(server: LiveServer, uow_factory: Callable[[], UnitOfWork]) -> Iterator[dict[str, tuple[str, str]]]:
    """email -> (API token, role) for a plain agent, one user per permission flag, both flags, a super admin;
    and a ticket 1 with conversation 1, and inbox 1."""
    with uow_factory() as uow:
        create_ticket(uow=uow, actor=None, data=TicketCreate.model_validate(ticket_payload()))
    with uow_factory() as uow:
        inboxes.create_inbox(uow=uow, actor=None, name="Sales")
    roles = {"agent": (), "deleter": ("delete_tickets",), "mover": ("account_access",),
             "both": ("delete_tickets", "account_access")}
    found = {}
    for role, flags in roles.items():
        _, token = create_user(uow_factory, f"{role}@desk.example", permissions=flags)
        found[role] = (f"{role}@desk.example", token)
    _, token = create_user(uow_factory, "boss@desk.example", super_admin=True)
    found["admin"] = ("boss@desk.example", token)
    yield found


def _call(server: LiveServer, route: RouteInfo, token: str, web: WebSession) -> tuple[int, str]:
    """Call the route as this user; returns the status and the error code (or HubSpot category)."""
    if route.is_api:
        with httpx.Client(base_url=server.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as c:
            body = next((b for end, b in JSON_BODIES.items() if route.path.endswith(end)), None)
            if route.path.endswith("/inbound/email"):
                response = c.post(route.url(), content=b"From: a@shop.example\r\n\r\nhi",
                                  headers={"Content-Type": "message/rfc822"})
            else:
                response = c.request(route.method, route.url(), json=body)
    elif route.method == "GET":
        response = web.client.get(route.url(), headers={"Accept": "application/json"})
    else:
        response = web.post(route.url(), FORM)
    try:
        body_json = response.json()
    except ValueError:
        return response.status_code, ""
    error = body_json.get("error") if isinstance(body_json, dict) else None
    code = error.get("code", "") if isinstance(error, dict) else body_json.get("category", "")
    return response.status_code, str(code)


REFUSED = {("403", "forbidden"), ("403", "MISSING_SCOPES")}


def _who_may(action: str) -> tuple[list[str], list[str]]:
    """(roles that must be refused, roles that must be let through) for an action."""
    rule = ACTIONS[action]
    if rule is Rule.SUPER_ADMIN:
        return ["agent", "both"], ["admin"]
    flag_holder = {Rule.DELETE_TICKETS: "deleter", Rule.ACCOUNT_ACCESS: "mover"}[rule]
    other = {"deleter": "mover", "mover": "deleter"}[flag_holder]
    return ["agent", other], [flag_holder, "admin"]


def test_restricted_routes_refuse_users_without_their_permission(
    server: LiveServer, people: dict[str, tuple[str, str]]
) -> None:
    """For each restricted route: the plain agent and a holder of the other flag get 403; a holder of the
    route's own permission (and a super admin) do not. Refusals run first, so nothing has changed yet."""
    sessions = {role: sign_in(server.url, email) for role, (email, _) in people.items()}
    wrong = []
    try:
        plan = [(route, *_who_may(required_action(route) or "")) for route in RESTRICTED]
        for route, refused, _ in plan:
            for role in refused:
                status, code = _call(server, route, people[role][1], sessions[role])
                if (str(status), code) not in REFUSED:
                    wrong.append(f"{role} was let through {route.label}: {status} {code}")
        for route, _, allowed in plan:
            for role in allowed:
                status, code = _call(server, route, people[role][1], sessions[role])
                if (str(status), code) in REFUSED:
                    wrong.append(f"{role} was refused {route.label}")
    finally:
        for web in sessions.values():
            web.client.close()
    assert wrong == []
    assert len(plan) >= 15


def test_plain_agent_can_work_tickets(agent: Agent) -> None:
    """The other side of the table: an ordinary agent is not locked out of ordinary work."""
    created = agent.post("/tickets", json=ticket_payload())
    assert created.status_code == 201
    tid = created.json()["id"]
    assert agent.patch(f"/tickets/{tid}", json={"priority": "HIGH"}).status_code == 200
    assert agent.post(f"/tickets/{tid}/follow").status_code == 200
