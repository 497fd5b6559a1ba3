"""A signed-in browser session over plain HTTP (httpx): the login form's CSRF dance, then the page's token."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

PASSWORD = "correct horse battery"


def _token(html: str, pattern: str) -> str:
    match = re.search(pattern, html)
    assert match, f"no CSRF token in the page ({pattern})"
    return match.group(1)


def login_form(client: httpx.Client) -> str:
    """Open the login page; returns its CSRF token (its cookie is now in the client)."""
    page = client.get("/login")
    return _token(page.text, r'name="csrf_token" value="([^"]+)"')


@dataclass
class WebSession:
    client: httpx.Client
    csrf: str

    def post(self, path: str, data: dict[str, str] | None = None, *, csrf: str | None = None,
             json_errors: bool = True) -> httpx.Response:
        """A form POST as the page would send it (`csrf=""` leaves the token out)."""
        body = dict(data or {})
        token = self.csrf if csrf is None else csrf
        if token:
            body["csrf_token"] = token
        headers = {"Accept": "application/json"} if json_errors else {}
        return self.client.post(path, data=body, headers=headers)


    def post_json(self, path: str, body: object = None) -> httpx.Response:
        """A fetch() from the page's script: JSON, with the token in the X-CSRF-Token header."""
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf, "Accept": "application/json"})


def sign_in(base_url: str, email: str, password: str = PASSWORD) -> WebSession:
    """Sign in through the login form and pick up the session's CSRF token from the help desk page."""
    client = httpx.Client(base_url=base_url, timeout=30, follow_redirects=False)
    token = login_form(client)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 303, response.text[:300]
    page = client.get("/helpdesk")
    assert page.status_code == 200, page.status_code
    return WebSession(client, _token(page.text, r'<meta name="csrf-token" content="([^"]+)"'))
