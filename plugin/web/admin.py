"""Admin settings for super admins: AI access and model, users and their permissions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from core import users, workspace
from core.ai import service
from core.errors import ValidationFailed
from core.permissions import FLAGS
from plugin.deps import UoW
from plugin.web.auth import FormUser, PageUser
from plugin.web.context import chrome
from plugin.web.labels import AI_SETTING_LABELS
from plugin.web.render import WebRoute, redirect, render

router = APIRouter(route_class=WebRoute)
Text = Annotated[str, Form(max_length=500)]
Checkbox = Annotated[str | None, Form(max_length=10)]  # an unticked HTML checkbox sends nothing


@router.get("/admin", name="web_admin")
def admin_page(request: Request, uow: UoW, user: PageUser) -> Response:
    settings = workspace.view_ai_settings(uow=uow, actor=user)  # refuses everyone but super admins
    return render(request, "admin/page.html", chrome(
        uow, user, settings=settings, model=service.model_name(uow, settings),
        users=users.list_users(uow=uow, actor=user),
        ai_labels=AI_SETTING_LABELS, flags=FLAGS, default_model=uow.settings.llm_model))


def _temperature(value: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError as exc:
        raise ValidationFailed("Temperature must be a number between 0 and 2.", field="llm_temperature") from exc


@router.post("/admin/ai", name="web_admin_ai")
def save_ai_settings(
    request: Request, uow: UoW, user: FormUser, conversation_data: Checkbox = None, copilot: Checkbox = None,
    redact_pii: Checkbox = None, model: Text = "", api_base: Text = "", temperature: Text = "", language: Text = "",
) -> Response:
    changes: dict[str, Any] = {
        "ai_conversation_data": conversation_data is not None, "ai_copilot": copilot is not None,
        "ai_redact_pii": redact_pii is not None, "llm_model": model.strip() or None,
        "llm_api_base": api_base.strip() or None, "llm_temperature": _temperature(temperature),
        "ai_language": language.strip() or None,
    }
    temperature_value = changes["llm_temperature"]
    if temperature_value is not None and not 0 <= temperature_value <= 2:
        raise ValidationFailed("Temperature must be between 0 and 2.", field="llm_temperature")
    workspace.update_ai_settings(uow=uow, actor=user, changes=changes)
    return redirect(request, "/admin", notice="ai_saved")


@router.post("/admin/users", name="web_admin_create_user")
def create_user(
    request: Request, uow: UoW, user: FormUser, email: Text, name: Text = "",
    password: Annotated[str, Form(max_length=1000)] = "", super_admin: Checkbox = None,
    account_access: Checkbox = None, delete_tickets: Checkbox = None,
) -> Response:
    flags = tuple(f for f, on in (("account_access", account_access), ("delete_tickets", delete_tickets)) if on)
    users.create_user(uow=uow, actor=user, email=email, name=name, password=password or None,
                      super_admin=super_admin is not None, permissions=flags)
    return redirect(request, "/admin", anchor="users", notice="user_created")


@router.post("/admin/users/{user_id}/permissions", name="web_admin_permissions")
def set_permissions(
    request: Request, user_id: int, uow: UoW, user: FormUser, super_admin: Checkbox = None,
    account_access: Checkbox = None, delete_tickets: Checkbox = None,
) -> Response:
    flags = tuple(f for f, on in (("account_access", account_access), ("delete_tickets", delete_tickets)) if on)
    users.set_permissions(uow=uow, actor=user, user_id=user_id, super_admin=super_admin is not None,
                          permissions=flags)
    return redirect(request, "/admin", anchor="users", notice="permissions_saved")
