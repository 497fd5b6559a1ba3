"""Sign in with email and password (rate limited, CSRF-checked) and sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from core import users
from core.errors import Unauthenticated
from plugin.deps import UoW
from plugin.web.auth import (
    FormUser,
    check_login_csrf,
    end_session,
    login_form_token,
    login_limiter,
    remember_login_token,
    signed_in_user,
    start_session,
)
from plugin.web.render import WebRoute, redirect, render

router = APIRouter(route_class=WebRoute)


def safe_next(target: str | None) -> str:
    """Only a path inside this app; anything else (other hosts, schemes, //evil) goes to the help desk."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/helpdesk"
    return target


def _login_page(request: Request, *, next_path: str, email: str = "", error: str = "", status: int = 200,
                retry_after: int | None = None) -> Response:
    token, fresh = login_form_token(request)
    response = render(request, "login.html", {"next": next_path, "email": email, "error": error,
                                              "login_csrf": token}, status)
    if fresh:
        remember_login_token(request, response, token)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@router.get("/login", name="web_login")
def login_page(request: Request, uow: UoW, next: str | None = None) -> Response:
    if signed_in_user(request, uow) is not None:
        return redirect(request, safe_next(next))
    return _login_page(request, next_path=safe_next(next))


@router.post("/login", name="web_login_submit")
def login(
    request: Request, uow: UoW, email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "", csrf_token: Annotated[str, Form(max_length=500)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    check_login_csrf(request, csrf_token)
    limiter = login_limiter(request)
    ip = request.client.host if request.client else "unknown"
    wait = limiter.retry_after(email, ip)
    if wait is not None:
        return _login_page(request, next_path=safe_next(next), email=email, status=429, retry_after=wait,
                           error=f"Too many failed sign-ins. Try again in {wait} seconds.")
    try:
        user = users.authenticate_password(uow=uow, email=email, password=password)
    except Unauthenticated as exc:
        limiter.failed(email, ip)
        return _login_page(request, next_path=safe_next(next), email=email, error=exc.message, status=401)
    limiter.succeeded(email, ip)
    response = redirect(request, safe_next(next))
    start_session(request, response, user)
    return response


@router.post("/logout", name="web_logout")
def logout(request: Request, user: FormUser) -> Response:
    response = redirect(request, "/login", notice="signed_out")
    end_session(request, response)
    return response
