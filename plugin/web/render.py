"""Templates (autoescaped, strict), redirects, and the web route class that turns errors into pages."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from core.errors import DeskpilotError, Unauthenticated, ValidationFailed
from core.permissions import can, reason
from plugin.errors import error_response, status_for
from plugin.web import labels
from plugin.web.auth import LoginRequired, csrf_token, root_path

log = logging.getLogger("deskpilot.web")
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"

# Fixed texts for ?notice=… after a redirect: the query names a message, it never carries one.
NOTICES = {
    "saved": "Saved.",
    "renamed": "Ticket renamed.",
    "summary": "Summary updated.",
    "marked_unread": "Ticket marked as unread.",
    "association_added": "Association added.",
    "association_removed": "Association removed.",
    "ai_saved": "AI settings saved.",
    "user_created": "User created.",
    "permissions_saved": "Permissions saved.",
    "notifications_read": "Notifications marked as read.",
    "signed_out": "You are signed out.",
    "followed": "You follow this ticket: you will be notified of new activity.",
    "unfollowed": "You no longer follow this ticket.",
    "split": "Ticket split: the chosen messages are on this new ticket.",
    "merged": "Tickets merged into this new ticket.",
    "moved": "Conversation moved.",
    "moved_to_helpdesk": "Conversation moved to the help desk.",
    "spam_marked": "Conversations marked as spam.",
    "spam_ticket_deleted": "Marked as spam; the ticket had no other conversation, so it was deleted.",
    "not_spam": "Conversation restored from spam.",
    "not_spam_restored": "Conversation restored from spam, and its ticket with it.",
    "deleted": "Ticket moved to the trash.",
    "bulk_deleted": "Tickets moved to the trash.",
    "restored": "Ticket restored from the trash.",
    "reply_saved": "Reply added.",
    "note_added": "Internal note added.",
    "retry_queued": "The reply is queued to be sent again.",
}

# Strict: a template that names a missing variable fails loudly instead of rendering blank.
env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined,
    trim_blocks=True, lstrip_blocks=True,
)
env.filters["dt"] = labels.format_datetime
env.filters["label"] = labels.enum_label
env.globals.update(can=can, reason=reason)
templates = Jinja2Templates(env=env)

SECURITY_HEADERS = {
    # srcdoc frames inherit this policy, so customer HTML can neither run scripts nor load anything remote.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                               "frame-ancestors 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def href(request: Request, path: str, **query: Any) -> str:
    """A path inside the app (prefixed when mounted), with optional query parameters."""
    params = {k: v for k, v in query.items() if v not in (None, "")}
    return root_path(request) + path + (f"?{urlencode(params)}" if params else "")


def redirect(request: Request, path: str, *, anchor: str = "", **query: Any) -> RedirectResponse:
    """303 See Other to a path inside the app (post/redirect/get)."""
    return RedirectResponse(href(request, path, **query) + (f"#{anchor}" if anchor else ""), status_code=303)


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    """Render a template with the values every page needs."""
    base = {"request": request, "root": root_path(request), "csrf": csrf_token(request),
            "notice": NOTICES.get(request.query_params.get("notice", ""), "")}
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status)


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    if wants_json(request):
        return error_response(status, title.lower().replace(" ", "_"), message)
    return render(request, "error.html", {"title": title, "message": message, "status": status}, status)


def _login_redirect(request: Request) -> Response:
    if wants_json(request):
        return JSONResponse({"error": {"code": "unauthenticated", "message": "Your session ended; sign in again."}},
                            status_code=401)
    target = request.url.path if request.method == "GET" else ""
    if target and request.url.query:
        target += "?" + request.url.query
    local = target[len(root_path(request)):] if target.startswith(root_path(request)) else target
    return RedirectResponse(href(request, "/login") + (f"?next={quote(local)}" if local else ""), status_code=303)


TITLES = {401: "Signed out", 403: "Not allowed", 404: "Not found", 409: "Changed meanwhile", 422: "Not accepted",
          429: "Too many requests"}


def _domain_error(request: Request, exc: DeskpilotError) -> Response:
    status = status_for(exc)
    if wants_json(request):
        response: Response = error_response(status, exc.code, exc.message, field=exc.detail.get("field"),
                                            off=exc.detail.get("off"),
                                            current_version=exc.detail.get("current_version"))
    else:
        response = error_page(request, status, TITLES.get(status, "Something went wrong"), exc.message)
    retry = exc.detail.get("retry_after")
    if retry is not None:
        response.headers["Retry-After"] = str(retry)
    return response


def _invalid(exc: ValidationError | RequestValidationError) -> ValidationFailed:
    first = exc.errors()[0] if exc.errors() else {}
    field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")) or "form"
    return ValidationFailed(f"{field}: {first.get('msg', 'invalid value')}", field=field)


class WebRoute(APIRoute):
    """Web routes answer with HTML pages (or JSON for fetch), redirect to /login, and send security headers."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except (LoginRequired, Unauthenticated):
                response = _login_redirect(request)
            except DeskpilotError as exc:
                response = _domain_error(request, exc)
            except (ValidationError, RequestValidationError) as exc:
                response = _domain_error(request, _invalid(exc))
            for key, value in SECURITY_HEADERS.items():
                response.headers.setdefault(key, value)
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return route
