"""HubSpot's error body `{status, message, correlationId, category}`, for the /crm routes only.

The rest of the API keeps `{"error": {...}}` (plugin/errors.py); these routes use their own route class, so
the global handlers never see their errors.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import errors

log = logging.getLogger("deskpilot.hubspot")

# Domain error -> (HTTP status, HubSpot category). InvalidAction is a refused request: HubSpot says 400.
CATEGORIES: dict[type[errors.DeskpilotError], tuple[int, str]] = {
    errors.Unauthenticated: (401, "INVALID_AUTHENTICATION"),
    errors.PermissionDenied: (403, "MISSING_SCOPES"),
    errors.NotFound: (404, "OBJECT_NOT_FOUND"),
    errors.Conflict: (409, "CONFLICT"),
    errors.ValidationFailed: (400, "VALIDATION_ERROR"),
    errors.InvalidAction: (400, "VALIDATION_ERROR"),
    errors.RateLimited: (429, "RATE_LIMITS"),
}
HTTP_CATEGORIES = {401: "INVALID_AUTHENTICATION", 403: "MISSING_SCOPES", 404: "OBJECT_NOT_FOUND",
                   405: "VALIDATION_ERROR", 409: "CONFLICT", 413: "VALIDATION_ERROR", 429: "RATE_LIMITS"}


class HubSpotError(Exception):
    """An error already in HubSpot's terms: HTTP status, category, message and optional context."""

    def __init__(self, status: int, category: str, message: str, *, context: dict[str, list[str]] | None = None,
                 sub_category: str | None = None, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status, self.category, self.message = status, category, message
        self.context, self.sub_category, self.errors = context, sub_category, errors

    def body(self) -> dict[str, Any]:
        """The top-level error body HubSpot sends."""
        body: dict[str, Any] = {"status": "error", "message": self.message, "correlationId": str(uuid.uuid4()),
                                "category": self.category}
        if self.sub_category:
            body["subCategory"] = self.sub_category
        if self.context:
            body["context"] = self.context
        if self.errors:
            body["errors"] = self.errors
        return body

    def batch_item(self, ids: list[str]) -> dict[str, Any]:
        """One entry of a batch response's `errors` (every key the SDK's StandardError requires)."""
        return {"status": "error", "category": self.category, "message": self.message,
                "context": {"ids": ids, **(self.context or {})}, "errors": self.errors or [], "links": {},
                **({"subCategory": self.sub_category} if self.sub_category else {})}

    def response(self) -> JSONResponse:
        body = self.body()
        headers = {"X-HubSpot-Correlation-Id": body["correlationId"]}
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(body, status_code=self.status, headers=headers)


def from_domain(exc: errors.DeskpilotError) -> HubSpotError:
    """Translate a core error into HubSpot's status and category."""
    for cls in type(exc).__mro__:
        if cls in CATEGORIES:
            status, category = CATEGORIES[cls]
            field = exc.detail.get("field")
            ids = exc.detail.get("ids")
            context: dict[str, list[str]] = {}
            if field:
                context["propertyName"] = [str(field)]
            if ids:
                context["ids"] = [str(i) for i in ids]
            return HubSpotError(status, category, exc.message, context=context or None)
    return HubSpotError(500, "INTERNAL_ERROR", exc.message)


def _from_request_validation(exc: RequestValidationError) -> HubSpotError:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    message = f"Invalid input: {where + ': ' if where else ''}{first.get('msg', 'invalid value')}"
    return HubSpotError(400, "VALIDATION_ERROR", message, context={"propertyName": [where]} if where else None)


class HubSpotRoute(APIRoute):
    """Routes whose errors (auth, validation, domain, unexpected) leave in HubSpot's error body."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except HubSpotError as exc:
                return exc.response()
            except errors.DeskpilotError as exc:
                return from_domain(exc).response()
            except RequestValidationError as exc:
                return _from_request_validation(exc).response()
            except StarletteHTTPException as exc:
                category = HTTP_CATEGORIES.get(exc.status_code, "VALIDATION_ERROR")
                return HubSpotError(exc.status_code, category, str(exc.detail)).response()
            except Exception:
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                return HubSpotError(500, "INTERNAL_ERROR", "Something went wrong on our side.").response()

        return guarded


def hubspot_router() -> APIRouter:
    """An APIRouter whose routes answer errors in HubSpot's shape."""
    return APIRouter(route_class=HubSpotRoute, tags=["hubspot"])
