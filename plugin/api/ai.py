"""AI routes: ticket name suggestions, ticket summary, and the workspace's AI settings."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from core import workspace
from core.ai import service
from core.models import User, WorkspaceSettings
from core.permissions import ai_off_settings
from core.ratelimit import AI_REQUESTS_PER_MINUTE, SlidingWindowLimiter
from plugin.deps import CurrentUser, UoW

router = APIRouter(tags=["ai"])
_limiter_lock = threading.Lock()


def ai_limiter(request: Request) -> SlidingWindowLimiter:
    """The app's AI request limiter (one per app instance, so per server process)."""
    state = request.app.state
    with _limiter_lock:
        limiter = getattr(state, "deskpilot_ai_limiter", None)
        if limiter is None:
            limiter = state.deskpilot_ai_limiter = SlidingWindowLimiter(limit=AI_REQUESTS_PER_MINUTE, window=60)
    return limiter


def count_ai_request(request: Request, user: User) -> None:
    """Count one AI request for `user` (API and web UI share the budget); over the limit, a 429."""
    # created_at as well as id: an id a deleted test user had must not inherit its budget.
    ai_limiter(request).hit((user.id, user.created_at), what="AI requests")


def ai_rate_limit(request: Request, user: CurrentUser) -> User:
    """Dependency: the caller, unless they asked the AI too often (429 with Retry-After)."""
    count_ai_request(request, user)
    return user


AIUser = Annotated[User, Depends(ai_rate_limit)]


class NameRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exclude: list[str] = Field(default_factory=list, max_length=30)


class NameOut(BaseModel):
    suggestions: list[str]
    model: str


class SummaryResult(BaseModel):
    summary: str
    model: str | None
    generated_at: datetime | None
    covers_message_id: int | None


class AISettingsOut(BaseModel):
    conversation_data: bool
    copilot: bool
    enabled: bool
    off: list[str]
    model: str
    api_base: str | None
    temperature: float | None
    redact_pii: bool
    language: str | None

    @classmethod
    def build(cls, row: WorkspaceSettings, model: str) -> AISettingsOut:
        off = ai_off_settings(row)
        return cls(conversation_data=row.ai_conversation_data, copilot=row.ai_copilot, enabled=not off, off=off,
                   model=model, api_base=row.llm_api_base, temperature=row.llm_temperature,
                   redact_pii=row.ai_redact_pii, language=row.ai_language)


class AISettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    conversation_data: bool | None = None
    copilot: bool | None = None
    model: str | None = Field(None, max_length=200)
    api_base: str | None = Field(None, max_length=500)
    temperature: float | None = Field(None, ge=0, le=2)
    redact_pii: bool | None = None
    language: str | None = Field(None, max_length=40)


_FIELD = {"conversation_data": "ai_conversation_data", "copilot": "ai_copilot", "model": "llm_model",
          "api_base": "llm_api_base", "temperature": "llm_temperature", "redact_pii": "ai_redact_pii",
          "language": "ai_language"}


@router.post("/tickets/{ticket_id}/ai/name", response_model=NameOut)
def suggest_names(ticket_id: int, uow: UoW, user: AIUser, body: NameRequest | None = None) -> NameOut:
    result = service.suggest_names(uow=uow, actor=user, ticket_id=ticket_id, exclude=(body.exclude if body else []))
    return NameOut(suggestions=result.suggestions, model=result.model)


@router.post("/tickets/{ticket_id}/ai/summary", response_model=SummaryResult)
def summarize(ticket_id: int, uow: UoW, user: AIUser) -> SummaryResult:
    ticket = service.summarize_ticket(uow=uow, actor=user, ticket_id=ticket_id)
    return SummaryResult(summary=ticket.summary_text or "", model=ticket.summary_model,
                         generated_at=ticket.summary_generated_at, covers_message_id=ticket.summary_covers_message_id)


@router.get("/settings/ai", response_model=AISettingsOut)
def get_ai_settings(uow: UoW, user: CurrentUser) -> AISettingsOut:
    row = workspace.view_ai_settings(uow=uow, actor=user)
    return AISettingsOut.build(row, service.model_name(uow, row))


@router.put("/settings/ai", response_model=AISettingsOut)
def put_ai_settings(body: AISettingsIn, uow: UoW, user: CurrentUser) -> AISettingsOut:
    changes = {_FIELD[k]: v for k, v in body.model_dump(exclude_unset=True).items()}
    for key in ("ai_conversation_data", "ai_copilot", "ai_redact_pii"):
        if key in changes and changes[key] is None:
            changes.pop(key)
    row = workspace.update_ai_settings(uow=uow, actor=user, changes=changes)
    return AISettingsOut.build(row, service.model_name(uow, row))
