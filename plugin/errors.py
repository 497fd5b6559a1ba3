"""One table maps domain errors to HTTP; every error leaves as {"error": {"code", "message"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import errors
from plugin.openapi_doc import document_errors

log = logging.getLogger("deskpilot")

STATUS: dict[type[errors.DeskpilotError], int] = {
    errors.Unauthenticated: 401,
    errors.PermissionDenied: 403,
    errors.AIDisabled: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.ValidationFailed: 422,
    errors.InvalidAction: 422,
    errors.InvalidEmail: 422,
    errors.RateLimited: 429,
    errors.LLMBadAnswer: 502,
    errors.LLMUnavailable: 502,
    errors.LLMRateLimited: 503,
    errors.LLMTimeout: 504,
    errors.LLMError: 502,
}


def status_for(exc: errors.DeskpilotError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message}
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def _validation_message(exc: RequestValidationError) -> tuple[str, str]:
    first = exc.errors()[0] if exc.errors() else {}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "header")]
    field = ".".join(loc) or "body"
    return field, f"{field}: {first.get('msg', 'invalid value')}"


def install(app: FastAPI) -> None:
    """Register the handlers on an app (and declare the error bodies in its OpenAPI schema)."""
    document_errors(app)

    @app.exception_handler(errors.DeskpilotError)
    async def _domain(request: Request, exc: errors.DeskpilotError) -> JSONResponse:
        status = status_for(exc)
        response = error_response(status, exc.code, exc.message, field=exc.detail.get("field"),
                                  off=exc.detail.get("off"), current_version=exc.detail.get("current_version"),
                                  ids=exc.detail.get("ids"))
        retry = exc.detail.get("retry_after")
        if retry is not None:
            response.headers["Retry-After"] = str(retry)
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        field, message = _validation_message(exc)
        return error_response(422, "validation_error", message, field=field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthenticated", 403: "forbidden"}
        return error_response(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        if not exc.connection_invalidated:
            return _unexpected_error(request)
        # The database went away under a pooled connection (a restart): the pool has dropped its connections.
        log.warning("database connection lost on %s %s; the request can be retried", request.method,
                    request.url.path)
        response = error_response(503, "database_unavailable",
                                  "The connection to the database was lost; nothing was changed. Try again.")
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _unexpected_error(request)


def _unexpected_error(request: Request) -> JSONResponse:
    """A 500 for an error we did not foresee, logged with its traceback (called while it is handled)."""
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return error_response(500, "internal_error", "Something went wrong on our side; nothing was changed.")
