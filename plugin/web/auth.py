"""Browser sessions: a signed cookie, a per-session CSRF token, and a login rate limit.

The REST API never reads these cookies; it keeps bearer tokens only.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from core import users
from core.errors import NotFound, PermissionDenied
from core.models import User
from plugin.deps import UoW, app_state

SESSION_COOKIE = "deskpilot_session"
LOGIN_CSRF_COOKIE = "deskpilot_login_csrf"
SESSION_MAX_AGE = 12 * 3600
LOGIN_TOKEN_MAX_AGE = 3600
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Raised by web dependencies when nobody is signed in; the web route class redirects to /login."""


@dataclass(frozen=True)
class WebSession:
    user_id: int
    csrf: str
    fingerprint: str


def root_path(request: Request) -> str:
    """The prefix the app is served under ('' standalone, e.g. '/helpdesk' when mounted)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _secret(request: Request) -> str:
    return app_state(request).settings.secret_key.get_secret_value()


def _serializer(request: Request, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(request), salt=f"deskpilot.web.{purpose}")


def _fingerprint(request: Request, user: User) -> str:
    """Changes when the password does, so a new password signs out every old session."""
    material = f"{user.id}:{user.password_hash or ''}".encode()
    return hmac.new(_secret(request).encode(), material, hashlib.sha256).hexdigest()[:24]


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=root_path(request) or "/", httponly=True, samesite="lax",
        secure=request.url.scheme == "https",
    )


def start_session(request: Request, response: Response, user: User) -> None:
    """Sign `user` in: a fresh CSRF token in a signed, HttpOnly, SameSite=Lax cookie."""
    payload = {"u": user.id, "c": secrets.token_urlsafe(32), "f": _fingerprint(request, user)}
    _set_cookie(request, response, SESSION_COOKIE, _serializer(request, "session").dumps(payload), SESSION_MAX_AGE)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=root_path(request) or "/")


def end_session(request: Request, response: Response) -> None:
    """Sign out by clearing the cookie (sessions are stateless: nothing is kept on the server)."""
    response.delete_cookie(SESSION_COOKIE, path=root_path(request) or "/", httponly=True, samesite="lax")


def read_session(request: Request) -> WebSession | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(request, "session").loads(raw, max_age=SESSION_MAX_AGE)
        return WebSession(user_id=int(data["u"]), csrf=str(data["c"]), fingerprint=str(data["f"]))
    except (BadSignature, KeyError, TypeError, ValueError):
        return None


def signed_in_user(request: Request, uow: UoW) -> User | None:
    """The user behind a valid session cookie, or None (also stores the session on `request.state`)."""
    session = read_session(request)
    if session is None:
        return None
    try:
        user = users.get_user(uow=uow, user_id=session.user_id)
    except NotFound:
        return None
    if not user.is_active or not hmac.compare_digest(session.fingerprint, _fingerprint(request, user)):
        return None
    request.state.web_session = session
    return user


def page_user(request: Request, uow: UoW) -> User:
    """Dependency for pages: the signed-in user, else a redirect to the login page."""
    user = signed_in_user(request, uow)
    if user is None:
        raise LoginRequired()
    return user


async def _sent_csrf(request: Request) -> str:
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(CSRF_FIELD) or "")
    return sent


def _csrf_refused() -> PermissionDenied:
    return PermissionDenied("The form has expired or did not come from this site; reload the page and try again.",
                            code="csrf_failed")


async def form_user(request: Request, user: Annotated[User, Depends(page_user)]) -> User:
    """Dependency for every state-changing request: the signed-in user, with a matching CSRF token."""
    session: WebSession = request.state.web_session
    sent = await _sent_csrf(request)
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise _csrf_refused()
    return user


PageUser = Annotated[User, Depends(page_user)]
FormUser = Annotated[User, Depends(form_user)]


def csrf_token(request: Request) -> str:
    """The signed-in session's CSRF token (for hidden form fields and the page's meta tag)."""
    session: WebSession | None = getattr(request.state, "web_session", None)
    return session.csrf if session else ""


# --- login form CSRF (before a session exists: a signed double-submit cookie) -------------------------------


def login_form_token(request: Request) -> tuple[str, bool]:
    """A token for the login form: the cookie's while it is valid, else a new one (second item: is it new?)."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if current and _valid_login_token(request, current):
        return current, False
    return _serializer(request, "login").dumps(secrets.token_urlsafe(16)), True


def remember_login_token(request: Request, response: Response, token: str) -> None:
    """Put the login form's token in its cookie (the double submit)."""
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, LOGIN_TOKEN_MAX_AGE)


def _valid_login_token(request: Request, token: str) -> bool:
    try:
        _serializer(request, "login").loads(token, max_age=LOGIN_TOKEN_MAX_AGE)
    except BadSignature:
        return False
    return True


def check_login_csrf(request: Request, sent: str) -> None:
    """The login form's token must match its cookie and carry our signature."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not (sent and cookie and hmac.compare_digest(sent.encode(), cookie.encode())
            and _valid_login_token(request, sent)):
        raise _csrf_refused()


# --- login rate limit -----------------------------------------------------------------------------------------


class LoginLimiter:
    """Failed logins per (email, IP) and per IP in a sliding window.

    In memory, so the limit is per server process: with N workers an attacker gets up to N times the attempts.
    """

    def __init__(self, *, per_account: int = 5, per_ip: int = 50, window: float = 300.0,
                 clock: Callable[[], float] = time.monotonic, max_keys: int = 10_000) -> None:
        self.per_account, self.per_ip, self.window = per_account, per_ip, window
        self.clock, self.max_keys = clock, max_keys
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        stamps = self._failures.get(key, deque())
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if not stamps:
            self._failures.pop(key, None)
        return stamps

    def retry_after(self, email: str, ip: str) -> int | None:
        """Seconds to wait before another attempt, or None when one is allowed."""
        now = self.clock()
        with self._lock:
            for key, limit in (((email.strip().lower(), ip), self.per_account), (("", ip), self.per_ip)):
                stamps = self._recent(key, now)
                if len(stamps) >= limit:
                    return max(1, int(stamps[0] + self.window - now) + 1)
        return None

    def failed(self, email: str, ip: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= self.max_keys:  # keep memory bounded under a spray of addresses
                self._failures.pop(next(iter(self._failures)))
            for key in ((email.strip().lower(), ip), ("", ip)):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, email: str, ip: str) -> None:
        with self._lock:
            self._failures.pop((email.strip().lower(), ip), None)


_limiter_lock = threading.Lock()


def login_limiter(request: Request) -> LoginLimiter:
    """One limiter per app instance (kept on `app.state`)."""
    state = request.app.state
    with _limiter_lock:
        limiter = getattr(state, "deskpilot_login_limiter", None)
        if limiter is None:
            limiter = LoginLimiter()
            state.deskpilot_login_limiter = limiter
    return limiter
