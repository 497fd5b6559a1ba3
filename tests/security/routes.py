"""Every route of the app (walking included routers and mounts), and which permission each one needs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.routing import Mount

from core.permissions import ACTIONS, Rule

# Reachable without signing in: health, the login form, static files, the API docs, and "/" (a redirect).
PUBLIC = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("GET", "/"), ("GET", "/openapi.json"),
          ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"), ("GET", "/redoc"), ("MOUNT", "/static")}

# The permission a route needs when it is not any signed-in user's, by what the route does (first match wins).
# Conventions, so a new route that follows them is checked without editing this table.
RULES: list[tuple[str, str, str]] = [
    (r"^(GET|PUT) /api/v1/settings/ai$", "settings.ai", "AI settings"),
    (r"^\w+ /admin", "users.manage", "admin pages"),
    (r"^POST /api/v1/inbound/email$", "email.ingest", "email intake"),
    (r"^POST .*/(move|move-conversation)$", "conversation.move", "move a conversation"),
    (r"^POST .*/not-spam$", "ticket.spam", "not spam"),
    (r"^POST .*/tickets/\{ticket_id\}/spam$", "ticket.spam", "mark spam"),
    (r"^(DELETE /api/v1/tickets/\{ticket_id\}|POST .*/tickets/\{ticket_id\}/delete|POST .*/bulk-delete)$",
     "ticket.delete", "delete"),
    (r"^POST .*/tickets/\{ticket_id\}/restore$", "ticket.restore", "restore"),
    (r"^(DELETE /crm/v3/objects/tickets/\{ticket_id\}|POST /crm/v3/objects/tickets/batch/archive)$",
     "ticket.delete", "HubSpot archive"),
]
SAMPLE = {"kind": "contacts", "change": "add", "path": "nowhere", "object_type": "tickets",
          "to_object_type": "contacts", "pipeline_id": "support", "stage_id": "NEW"}


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    route: Any

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_api(self) -> bool:
        return self.path.startswith(("/api/", "/crm/"))

    def url(self, ids: dict[str, int] | None = None) -> str:
        """The path with its parameters filled in (ids default to 1)."""
        def fill(match: re.Match[str]) -> str:
            name = match.group(1).split(":")[0]
            return str((ids or {}).get(name, SAMPLE.get(name, 1)))

        return re.sub(r"\{([^}]+)\}", fill, self.path)


def _walk(routes: list[Any], prefix: str = "") -> Iterator[RouteInfo]:
    for route in routes:
        original = getattr(route, "original_router", None)  # FastAPI's included router (lazy)
        if original is not None:
            nested = list(original.routes) + list(getattr(original, "_low_priority_routes", []))
            yield from _walk(nested, prefix + route.include_context.prefix)
        elif isinstance(route, Mount):
            yield RouteInfo("MOUNT", prefix + route.path, route)
        else:
            for method in sorted(set(route.methods or ()) - {"HEAD"}):
                yield RouteInfo(method, prefix + route.path, route)


def all_routes(app: FastAPI) -> list[RouteInfo]:
    """Every (method, path) the app serves, including web pages, /crm and mounts; HEAD mirrors GET."""
    found = {r.key: r for r in _walk(list(app.routes))}
    return [found[key] for key in sorted(found)]


def required_action(info: RouteInfo) -> str | None:
    """The permission action a route needs beyond signing in, or None when any user may call it."""
    for pattern, action, _ in RULES:
        if re.search(pattern, info.label):
            return action
    return None


def restricted_routes(app: FastAPI) -> list[RouteInfo]:
    """Routes that need more than an ordinary agent's rights."""
    return [r for r in all_routes(app) if (a := required_action(r)) is not None and ACTIONS[a] is not Rule.ANY_USER]
