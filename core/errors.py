"""Domain errors. `core` raises these; the web layer maps each class to an HTTP status in one table."""

from __future__ import annotations

from typing import Any


class DeskpilotError(Exception):
    """Base class: a machine-readable `code` and a message an agent can read."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.detail = detail


class Unauthenticated(DeskpilotError):
    code = "unauthenticated"


class PermissionDenied(DeskpilotError):
    code = "forbidden"


class NotFound(DeskpilotError):
    code = "not_found"


class Conflict(DeskpilotError):
    code = "conflict"


class InvalidAction(DeskpilotError):
    """The request is well formed but the domain rule refuses it."""

    code = "invalid_action"


class ValidationFailed(DeskpilotError):
    """A field has a bad value; `field` names it."""

    code = "validation_error"

    def __init__(self, message: str, *, field: str, **detail: Any) -> None:
        super().__init__(message, field=field, **detail)
        self.field = field


class PayloadTooLarge(DeskpilotError):
    code = "payload_too_large"


class InvalidEmail(DeskpilotError):
    code = "invalid_email"


class AIDisabled(DeskpilotError):
    code = "ai_disabled"


class LLMError(DeskpilotError):
    """A provider failure; nothing was written."""

    code = "ai_unavailable"


class LLMTimeout(LLMError):
    code = "ai_timeout"


class LLMRateLimited(LLMError):
    code = "ai_rate_limited"

    def __init__(self, message: str, *, retry_after: int = 30, **detail: Any) -> None:
        super().__init__(message, retry_after=retry_after, **detail)
        self.retry_after = retry_after


class LLMUnavailable(LLMError):
    code = "ai_unavailable"


class LLMBadAnswer(LLMError):
    code = "ai_bad_answer"


class RateLimited(DeskpilotError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int = 60, **detail: Any) -> None:
        super().__init__(message, retry_after=retry_after, **detail)
        self.retry_after = retry_after
