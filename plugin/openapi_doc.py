"""Document the error bodies every operation can send, so /openapi.json describes every response.

FastAPI documents only the success status and its own 422 shape (`{"detail": [...]}`), which deskpilot never
sends. Errors leave as `{"error": {...}}` (plugin/errors.py), or HubSpot's body under /crm (plugin/hubspot).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {
    "title": "ErrorOut", "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"},
                       "off": {"type": "array", "items": {"type": "string"}},
                       "current_version": {"type": "integer"}, "ids": {"type": "array", "items": {"type": "integer"}}},
    }},
}
HUBSPOT_ERROR_SCHEMA: dict[str, Any] = {
    "title": "HubSpotError", "type": "object", "required": ["status", "message", "correlationId", "category"],
    "properties": {"status": {"type": "string"}, "message": {"type": "string"}, "correlationId": {"type": "string"},
                   "category": {"type": "string"}, "subCategory": {"type": "string"},
                   "context": {"type": "object"}, "errors": {"type": "array"}},
}
BATCH_STATUSES = ("200", "201")


def _error_response(schema_name: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{schema_name}"}
    return {"description": "Error", "content": {"application/json": {"schema": ref}}}


def _document(operation: dict[str, Any], path: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    hubspot = path.startswith("/crm/")
    error = _error_response("HubSpotError" if hubspot else "ErrorOut")
    if "HTTPValidationError" in str(responses.get("422", "")):
        responses["422"] = error
    responses.setdefault("default", error)
    if hubspot and "/batch/" in path:
        # A batch with some failed inputs answers 207 Multi-Status with the same body as its success.
        success = next((responses[s] for s in BATCH_STATUSES if s in responses), None)
        if success is not None:
            responses.setdefault("207", {**success, "description": "Some inputs failed"})


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` declare the error responses of every operation."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schemas = schema.setdefault("components", {}).setdefault("schemas", {})
            schemas["ErrorOut"], schemas["HubSpotError"] = ERROR_SCHEMA, HUBSPOT_ERROR_SCHEMA
            for path, item in schema.get("paths", {}).items():
                for operation in item.values():
                    _document(operation, path)
            if "HTTPValidationError" not in str(schema.get("paths")):
                schemas.pop("HTTPValidationError", None)
                schemas.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
