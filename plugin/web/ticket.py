"""The ticket page and its header and sidebar edits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import JSONResponse

from core import tickets
from core.errors import ValidationFailed
from core.schemas import AssociationChange, TicketUpdate
from plugin.deps import UoW
from plugin.web.auth import FormUser, PageUser
from plugin.web.context import chrome
from plugin.web.render import WebRoute, redirect, render, wants_json
from plugin.web.ticket_view import build_ticket_view

router = APIRouter(route_class=WebRoute)
OptionalField = Annotated[str | None, Form(max_length=300)]


@router.get("/tickets/{ticket_id}", name="web_ticket")
def ticket_page(
    request: Request, ticket_id: int, uow: UoW, user: PageUser, c: int | None = None, all: bool = False,
    find: str = Query("", max_length=20), fq: str = Query("", max_length=200),
) -> Response:
    ticket = tickets.get_ticket(uow=uow, actor=user, ticket_id=ticket_id)
    if ticket.id != ticket_id:  # an alias of a merged ticket
        return redirect(request, f"/tickets/{ticket.id}")
    ticket = tickets.set_read_state(uow=uow, actor=user, ticket_id=ticket.id, unread=False)
    view = build_ticket_view(uow=uow, user=user, ticket=ticket, conversation_id=c, show_all=all,
                             find_kind=find, find_q=fq)
    return render(request, "ticket/page.html", chrome(uow, user, view=view, t=ticket))


def _optional_int(value: str, field: str) -> int | None:
    if not value.strip():
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationFailed(f"{field} must be a number.", field=field) from exc


@router.post("/tickets/{ticket_id}/properties", name="web_ticket_properties")
def update_properties(
    request: Request, ticket_id: int, uow: UoW, user: FormUser, version: Annotated[int, Form()],
    name: OptionalField = None, owner_id: OptionalField = None, priority: OptionalField = None,
    category: OptionalField = None, status: OptionalField = None, name_source: OptionalField = None,
) -> Response:
    """Header edits and renames; only the fields the form sends change. Fetch gets JSON, forms a redirect."""
    changes: dict[str, object] = {"version": version}
    if name is not None:
        changes["name"] = name
        changes["name_source"] = "ai" if name_source == "ai" else "manual"
    if owner_id is not None:
        changes["owner_id"] = _optional_int(owner_id, "owner_id")
    for key, value in (("priority", priority), ("category", category), ("status", status)):
        if value is not None:
            changes[key] = value or None
    ticket = tickets.update_ticket(uow=uow, actor=user, ticket_id=ticket_id, data=TicketUpdate(**changes))
    if wants_json(request):
        return JSONResponse({"id": ticket.id, "name": ticket.name, "version": ticket.version, "message": "Saved."})
    return redirect(request, f"/tickets/{ticket.id}", notice="renamed" if name is not None else "saved")


@router.post("/tickets/{ticket_id}/unread", name="web_ticket_unread")
def mark_unread(request: Request, ticket_id: int, uow: UoW, user: FormUser) -> Response:
    tickets.set_read_state(uow=uow, actor=user, ticket_id=ticket_id, unread=True)
    return redirect(request, "/helpdesk", notice="marked_unread")


@router.post("/tickets/{ticket_id}/associations/{change}", name="web_ticket_association")
def change_association(
    request: Request, ticket_id: int, change: str, uow: UoW, user: FormUser,
    kind: Annotated[str, Form(max_length=20)], record_id: Annotated[int, Form()],
) -> Response:
    if change not in ("add", "remove"):
        raise ValidationFailed("Use add or remove.", field="change")
    body = AssociationChange.model_validate({"kind": kind, "id": record_id})
    ticket = tickets.change_association(uow=uow, actor=user, ticket_id=ticket_id, change=body, add=change == "add")
    return redirect(request, f"/tickets/{ticket.id}", anchor="associations",
                    notice="association_added" if change == "add" else "association_removed")
