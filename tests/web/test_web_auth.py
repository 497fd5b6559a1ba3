"""Web workspace sign-in: session cookie, CSRF on every state-changing route, login rate limit."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute

from plugin.web import ROUTERS
from plugin.web.auth import LoginLimiter
from tests.support import Agent, LiveServer

PASSWORD = "correct horse battery"  # what tests.support.create_user gives every user
TOKEN_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
TOKEN_META = re.compile(r'<meta name="csrf-token" content="([^"]*)"')


@dataclass
class WebUser:
    """A browser-like client with a signed-in session and the page's CSRF token."""

    client: httpx.Client
    csrf: str

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.client.get(path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, data: dict[str, object] | None = None, **kw: object) -> httpx.Response:
        """A form post carrying the CSRF token, as the page's forms do."""
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kw)  # type: ignore[arg-type]

    def fetch(self, path: str, json: object = None) -> httpx.Response:
        """A fetch() call from the page's script: JSON, the token in X-CSRF-Token."""
        return self.client.post(path, json=json, headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"})


def browser(server: LiveServer, base: str = "") -> httpx.Client:
    return httpx.Client(base_url=server.url + base, follow_redirects=False, timeout=30)


def login_form(client: httpx.Client) -> str:
    page = client.get("/login")
    assert page.status_code == 200, page.text
    match = TOKEN_FIELD.search(page.text)
    assert match, "the login form carries a CSRF token"
    return match.group(1)


def sign_in(server: LiveServer, email: str, password: str = PASSWORD, base: str = "") -> WebUser:
    client = browser(server, base)
    token = login_form(client)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text
    page = client.get("/helpdesk")
    match = TOKEN_META.search(page.text)
    assert page.status_code == 200 and match and match.group(1)
    return WebUser(client=client, csrf=match.group(1))


@pytest.fixture
def web_clients() -> Iterator[list[httpx.Client]]:
    made: list[httpx.Client] = []
    yield made
    for client in made:
        client.close()


def web_routes() -> list[APIRoute]:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) >= 15, "the enumeration found the web routes"
    return routes


def state_changing_routes() -> list[tuple[str, str]]:
    """(method, path) of every web route that is not GET, with path parameters filled in."""
    return [(method, re.sub(r"\{[^}]+\}", "1", route.path))
            for route in web_routes() for method in sorted(route.methods - {"GET", "HEAD"})]


def page_routes() -> list[str]:
    return [re.sub(r"\{[^}]+\}", "1", r.path) for r in web_routes() if "GET" in r.methods and r.path != "/login"]


def test_login_with_the_right_password_sets_a_hardened_session_cookie(server: LiveServer, agent: Agent) -> None:
    with browser(server) as client:
        token = login_form(client)
        response = client.post("/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token,
                                               "next": "/notifications"})
        assert response.status_code == 303
        assert response.headers["location"] == "/notifications"
        cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("deskpilot_session="))
        attributes = cookie.lower()
        assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
        assert "secure" not in attributes, "plain http cannot carry a Secure cookie"
        assert client.get("/helpdesk").status_code == 200


def test_session_cookie_is_secure_over_https(server: LiveServer, agent: Agent) -> None:
    # uvicorn trusts X-Forwarded-Proto from 127.0.0.1, as it would from a TLS-terminating proxy.
    with browser(server) as client:
        form = client.get("/login", headers={"X-Forwarded-Proto": "https"})
        token = TOKEN_FIELD.search(form.text).group(1)  # type: ignore[union-attr]
        assert "secure" in form.headers["set-cookie"].lower(), "the login form's cookie is Secure too"
        # httpx keeps Secure cookies off plain http, so send the login cookie by hand.
        headers = {"X-Forwarded-Proto": "https", "Cookie": f"deskpilot_login_csrf={token}"}
        response = client.post("/login", headers=headers,
                               data={"email": agent.email, "password": PASSWORD, "csrf_token": token})
        cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("deskpilot_session="))
        assert "secure" in cookie.lower()


def test_login_with_a_wrong_password_is_refused(server: LiveServer, agent: Agent) -> None:
    with browser(server) as client:
        response = client.post("/login", data={"email": agent.email, "password": "nope",
                                               "csrf_token": login_form(client)})
        assert response.status_code == 401
        assert "Wrong email or password." in response.text
        assert "deskpilot_session" not in response.headers.get("set-cookie", "")
        assert client.get("/helpdesk").status_code == 303


def test_login_is_rate_limited_per_email_and_ip(server: LiveServer, make_agent: Callable[..., Agent]) -> None:
    target = make_agent("limited@desk.example")
    other = make_agent("bystander@desk.example")
    with browser(server) as client:
        token = login_form(client)
        for _ in range(5):
            refused = client.post("/login", data={"email": target.email, "password": "guess", "csrf_token": token})
            assert refused.status_code == 401
        limited = client.post("/login", data={"email": target.email, "password": PASSWORD, "csrf_token": token})
        assert limited.status_code == 429, "even the right password waits once the limit is reached"
        assert int(limited.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in limited.text
        fine = client.post("/login", data={"email": other.email, "password": PASSWORD, "csrf_token": token})
        assert fine.status_code == 303, "the limit is per email and IP, not global"


def test_login_limiter_forgets_failures_after_the_window() -> None:
    now = [1000.0]
    limiter = LoginLimiter(per_account=2, window=60, clock=lambda: now[0])
    limiter.failed("a@x.example", "1.2.3.4")
    limiter.failed("A@x.example ", "1.2.3.4")
    assert limiter.retry_after("a@x.example", "1.2.3.4") == 61
    assert limiter.retry_after("a@x.example", "5.6.7.8") is None
    now[0] += 61
    assert limiter.retry_after("a@x.example", "1.2.3.4") is None


def test_login_without_the_form_token_is_refused(server: LiveServer, agent: Agent) -> None:
    with browser(server) as client:
        login_form(client)
        missing = client.post("/login", data={"email": agent.email, "password": PASSWORD})
        wrong = client.post("/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": "forged"})
    assert missing.status_code == 403 and wrong.status_code == 403


def test_login_next_never_leaves_the_site(server: LiveServer, agent: Agent) -> None:
    with browser(server) as client:
        token = login_form(client)
        response = client.post("/login", data={"email": agent.email, "password": PASSWORD, "csrf_token": token,
                                               "next": "//evil.example/steal"})
    assert response.headers["location"] == "/helpdesk"


def test_every_state_changing_web_route_requires_the_csrf_token(server: LiveServer, agent: Agent) -> None:
    routes = state_changing_routes()
    assert len(routes) >= 10 and ("POST", "/tickets/1/properties") in routes
    user = sign_in(server, agent.email)
    try:
        for method, path in routes:
            missing = user.client.request(method, path, data={"name": "x"})
            assert missing.status_code == 403, f"{method} {path} accepted a request without a CSRF token"
            forged = user.client.request(method, path, data={"csrf_token": "forged"},
                                         headers={"X-CSRF-Token": "forged"})
            assert forged.status_code == 403, f"{method} {path} accepted a forged CSRF token"
    finally:
        user.client.close()


def test_csrf_token_is_bound_to_its_session(server: LiveServer, make_agent: Callable[..., Agent]) -> None:
    ann = sign_in(server, make_agent("ann@desk.example").email)
    bob = sign_in(server, make_agent("bob@desk.example").email)
    try:
        assert ann.csrf != bob.csrf
        stolen = bob.client.post("/notifications/read", data={"csrf_token": ann.csrf})
        assert stolen.status_code == 403
        own = bob.post("/notifications/read")
        assert own.status_code == 303
    finally:
        ann.client.close()
        bob.client.close()


def test_pages_redirect_to_login_when_signed_out(server: LiveServer) -> None:
    with browser(server) as client:
        for path in page_routes():
            response = client.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next="), path
        assert client.get("/").headers["location"] == "/helpdesk"


def test_fetch_without_a_session_gets_401_json(server: LiveServer) -> None:
    with browser(server) as client:
        response = client.post("/tickets/1/ai/names", json={}, headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


def test_logout_clears_the_session(server: LiveServer, agent: Agent) -> None:
    user = sign_in(server, agent.email)
    try:
        response = user.post("/logout")
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
        assert 'deskpilot_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
        assert user.get("/helpdesk").status_code == 303
    finally:
        user.client.close()


def test_tampered_session_cookie_is_signed_out(server: LiveServer, agent: Agent) -> None:
    user = sign_in(server, agent.email)
    try:
        value = user.client.cookies["deskpilot_session"]
        user.client.cookies.clear()
        user.client.cookies.set("deskpilot_session", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"))
        assert user.get("/helpdesk").status_code == 303
    finally:
        user.client.close()


def test_session_cookie_does_not_authenticate_the_rest_api(server: LiveServer, agent: Agent) -> None:
    user = sign_in(server, agent.email)
    try:
        assert user.get("/api/v1/tickets").status_code == 401
    finally:
        user.client.close()


def test_web_pages_send_a_content_security_policy(server: LiveServer, agent: Agent) -> None:
    user = sign_in(server, agent.email)
    try:
        policy = user.get("/helpdesk").headers["content-security-policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy
    finally:
        user.client.close()
