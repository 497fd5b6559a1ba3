"""Shared by the action routes: reading optional form fields, and showing core's refusals on the page.

A refused action re-renders the page the user acted on with the reason in an alert (and the error's status),
so the user never lands on a bare error page or a 500. JSON callers keep the usual error body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Form, Request, Response
from pydantic import ValidationError

from core import tickets
from core.actions.move import Place
from core.errors import DeskpilotError, ValidationFailed
from core.models import PIPELINES, User
from core.uow import UnitOfWork
from plugin.errors import status_for
from plugin.web.context import chrome
from plugin.web.render import env, render, wants_json
from plugin.web.ticket_view import build_ticket_view

Page = Callable[[], tuple[str, dict[str, Any]]]
ShortField = Annotated[str, Form(max_length=300)]
IdList = Annotated[list[int], Form()]
# The Move dialogs' status select on pages whose routes only pass their own data (the inbox page).
env.globals.setdefault("pipelines", PIPELINES)


def optional_int(value: str, field: str) -> int | None:
    """'' -> None; '12' -> 12; anything else is a validation error naming `field`."""
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field} must be a number.", field=field) from exc


def pipeline_status(value: str) -> tuple[str | None, str | None]:
    """A 'pipeline:STATUS' choice from a grouped select; '' keeps both as they are."""
    if not value.strip():
        return None, None
    pipeline, _, status = value.partition(":")
    if not status:
        raise ValidationFailed("Choose a pipeline and status.", field="status")
    return pipeline, status


def move_target(to: str) -> Place:
    """'help_desk' or an inbox id, from a Move dialog's destination select."""
    if to == "help_desk":
        return "help_desk"
    target = optional_int(to, "to")
    if target is None:
        raise ValidationFailed("Choose where to move the conversation.", field="to")
    return target


def first_problem(exc: ValidationError, field_labels: dict[str, str]) -> ValidationFailed:
    """A pydantic error in a form's model as one readable `ValidationFailed`."""
    errors = exc.errors()
    if not errors:
        return ValidationFailed("The form has an invalid value.", field="form")
    name = ".".join(str(p) for p in errors[0]["loc"]) or "form"
    return ValidationFailed(f"{field_labels.get(name, name)}: {errors[0]['msg']}.", field=name)


def show_refusal(request: Request, uow: UnitOfWork, exc: DeskpilotError, page: Page,
                 status: int | None = None) -> Response:
    """Render `page` again with `exc`'s message in an alert; when the page itself is gone, the plain error."""
    if wants_json(request):
        raise exc
    uow.rollback()  # nothing of the refused action stays, and the session is usable again
    try:
        template, context = page()
    except DeskpilotError:
        raise exc from None
    return render(request, template, {**context, "error": exc.message}, status or status_for(exc))


def ticket_page(uow: UnitOfWork, user: User, ticket_id: int) -> Page:
    """The ticket page, for `show_refusal`."""

    def build() -> tuple[str, dict[str, Any]]:
        ticket = tickets.get_ticket(uow=uow, actor=user, ticket_id=ticket_id)
        view = build_ticket_view(uow=uow, user=user, ticket=ticket)
        return "ticket/page.html", chrome(uow, user, view=view, t=ticket)

    return build
