"""Bulk actions on the help desk's ticked rows: delete, confirmed with the typed number of tickets."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response

from core import tickets
from core.actions import delete
from core.errors import DeskpilotError, ValidationFailed
from core.models import User
from core.uow import UnitOfWork
from plugin.deps import UoW
from plugin.web.actions import BULK_ACTIONS, menu
from plugin.web.auth import FormUser
from plugin.web.context import VIEWS, chrome
from plugin.web.forms import IdList, Page, show_refusal
from plugin.web.render import WebRoute, redirect

router = APIRouter(route_class=WebRoute)
PAGE_SIZE = 50
ViewField = Annotated[str, Form(max_length=20)]


def helpdesk_page(uow: UnitOfWork, user: User, view: str, q: str) -> Page:
    """The help desk list (first page of `view`, as `pages.helpdesk` shows it), for `show_refusal`."""

    def build() -> tuple[str, dict[str, Any]]:
        shown = view if view in dict(VIEWS) else "open"
        items, next_cursor = tickets.list_tickets(uow=uow, actor=user, view=shown, q=q or None, limit=PAGE_SIZE)
        return "helpdesk/list.html", chrome(
            uow, user, tickets=items, next_cursor=next_cursor, cursor="", current_view=shown, q=q,
            title=dict(VIEWS)[shown], bulk_actions=menu(BULK_ACTIONS, None, user))

    return build


def _count(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValidationFailed("Type the number of tickets you are deleting.", field="confirm_count") from None


@router.post("/tickets/bulk-delete", name="web_bulk_delete")
def bulk_delete(
    request: Request, uow: UoW, user: FormUser, ids: IdList = [],  # noqa: B006 - FastAPI copies defaults
    confirm_count: Annotated[str, Form(max_length=20)] = "", view: ViewField = "open",
    q: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """All-or-nothing: core checks the typed count against the ticked tickets and refuses any bad id."""
    try:
        delete.delete_tickets(uow=uow, actor=user, ticket_ids=ids, confirm_count=_count(confirm_count))
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, helpdesk_page(uow, user, view, q))
    return redirect(request, "/helpdesk", view=view if view in dict(VIEWS) else "open", q=q, notice="bulk_deleted")
