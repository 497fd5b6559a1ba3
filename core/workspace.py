"""Workspace-wide settings (one row): AI access toggles and model overrides."""

from __future__ import annotations

from typing import Any

from core import audit
from core.errors import ValidationFailed
from core.models import User, WorkspaceSettings
from core.permissions import require
from core.uow import UnitOfWork

AI_FIELDS = ("ai_conversation_data", "ai_copilot", "llm_model", "llm_api_base", "llm_temperature",
             "ai_redact_pii", "ai_language")


def load_settings(uow: UnitOfWork) -> WorkspaceSettings:
    """The settings row; until an admin saves one, defaults with AI access off (not stored)."""
    row = uow.session.get(WorkspaceSettings, 1)
    if row is None:
        row = WorkspaceSettings(id=1, ai_conversation_data=False, ai_copilot=False, ai_redact_pii=True,
                                updated_at=uow.now())
    return row


def view_ai_settings(*, uow: UnitOfWork, actor: User) -> WorkspaceSettings:
    require(actor, "settings.ai")
    return load_settings(uow)


def update_ai_settings(*, uow: UnitOfWork, actor: User | None, changes: dict[str, Any]) -> WorkspaceSettings:
    """Change AI access and model settings (super admins only; `actor=None` is the CLI/demo path)."""
    if actor is not None:
        require(actor, "settings.ai")
    unknown = set(changes) - set(AI_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown setting(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    base = changes.get("llm_api_base")
    if base and not str(base).startswith(("http://", "https://")):
        raise ValidationFailed("The API base must be an http(s) URL.", field="llm_api_base")
    row = load_settings(uow)
    if row not in uow.session:
        uow.session.add(row)
    diff = {}
    for key, value in changes.items():
        if getattr(row, key) != value:
            diff[key] = {"from": getattr(row, key), "to": value}
            setattr(row, key, value)
    if diff:
        row.updated_at = uow.now()
        audit.record(uow, actor=actor, action="settings.ai_updated", detail={"changes": diff})
        uow.commit()
    return row
