"""Ticket actions from the Actions menu: follow, split, merge, move a conversation, spam, delete, restore.

Each route parses the form, makes one core call and redirects (post/redirect/get) with a fixed notice;
a refusal from core re-renders the ticket page with the reason.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from core import tickets
from core.actions import delete, follow, merge, move, spam, split
from core.errors import DeskpilotError, ValidationFailed
from plugin.deps import UoW
from plugin.web.auth import FormUser, PageUser
from plugin.web.forms import (
    IdList,
    ShortField,
    first_problem,
    move_target,
    optional_int,
    pipeline_status,
    show_refusal,
    ticket_page,
)
from plugin.web.render import WebRoute, redirect

router = APIRouter(route_class=WebRoute)
Comment = Annotated[str, Form(max_length=100_000)]
SPLIT_LABELS = {"ticket.name": "Name", "ticket.owner_id": "Owner", "ticket.priority": "Priority",
                "ticket.category": "Category", "ticket.status": "Status", "ticket.pipeline": "Pipeline"}
CANDIDATES = 10


@router.post("/tickets/{ticket_id}/follow", name="web_ticket_follow")
def set_following(request: Request, ticket_id: int, uow: UoW, user: FormUser,
                  follow_: Annotated[Literal["0", "1"], Form(alias="follow")] = "1") -> Response:
    """Follow (`follow=1`) or unfollow (`follow=0`); idempotent, so a double submit does no harm."""
    try:
        ticket = follow.set_following(uow=uow, actor=user, ticket_id=ticket_id, follow=follow_ == "1")
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    return redirect(request, f"/tickets/{ticket.id}", notice="followed" if follow_ == "1" else "unfollowed")


@router.post("/tickets/{ticket_id}/split", name="web_ticket_split")
def split_ticket(
    request: Request, ticket_id: int, uow: UoW, user: FormUser, name: ShortField = "",
    message_ids: IdList = [],  # noqa: B006 - FastAPI copies defaults per request
    description: Comment = "", status: ShortField = "", owner_id: ShortField = "", priority: ShortField = "",
    category: ShortField = "",
) -> Response:
    """Messages ticked in the thread move to a new ticket created with the details panel's values."""
    try:
        if not message_ids:
            raise ValidationFailed("Tick at least one message to split off.", field="message_ids")
        if not name.strip():
            raise ValidationFailed("The new ticket needs a name.", field="name")
        pipeline, status_key = pipeline_status(status)
        details = {"name": name, "description": description, "owner_id": optional_int(owner_id, "owner_id"),
                   "priority": priority or None, "category": category or None}
        if pipeline and status_key:
            details.update(pipeline=pipeline, status=status_key)
        try:
            body = split.SplitRequest.model_validate({"message_ids": message_ids, "ticket": details})
        except ValidationError as exc:
            raise first_problem(exc, SPLIT_LABELS) from None
        created = split.split_ticket(uow=uow, actor=user, ticket_id=ticket_id, message_ids=body.message_ids,
                                     details=body.ticket)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    return redirect(request, f"/tickets/{created.id}", notice="split")


@router.get("/tickets/{ticket_id}/merge-candidates", name="web_merge_candidates")
def merge_candidates(ticket_id: int, uow: UoW, user: PageUser,
                     q: str = Query("", max_length=200)) -> JSONResponse:
    """Live tickets matching `q` (name, text, or id), for the merge dialog's search box."""
    text = q.strip().lstrip("#")
    if not text:
        return JSONResponse({"items": []})
    found, _ = tickets.list_tickets(uow=uow, actor=user, view="all", q=text, limit=CANDIDATES + 1)
    items = [{"id": t.id, "name": t.name, "status": t.status_label,
              "contact": t.contact.name if t.contact else "", "owner": t.owner.name if t.owner else ""}
             for t in found if t.id != ticket_id][:CANDIDATES]
    return JSONResponse({"items": items})


@router.post("/tickets/merge", name="web_tickets_merge")
def merge_tickets(
    request: Request, uow: UoW, user: FormUser, ticket_id: Annotated[int, Form()],
    other_id: Annotated[str, Form(max_length=20)] = "",
    primary: Annotated[Literal["this", "other"], Form()] = "this",
) -> Response:
    """Merge this ticket with the one chosen in the search; the primary's properties win."""
    try:
        other = optional_int(other_id, "other_id")
        if other is None:
            raise ValidationFailed("Choose the ticket to merge with.", field="other_id")
        merged = merge.merge_tickets(uow=uow, actor=user, ticket_ids=[ticket_id, other],
                                     primary_id=ticket_id if primary == "this" else other)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    return redirect(request, f"/tickets/{merged.id}", notice="merged")


@router.post("/tickets/{ticket_id}/move-conversation", name="web_ticket_move_conversation")
def move_from_ticket(
    request: Request, ticket_id: int, uow: UoW, user: FormUser, conversation_id: Annotated[int, Form()],
    to: ShortField = "", assignee_id: ShortField = "", status: ShortField = "", comment: Comment = "",
) -> Response:
    """Move one of the ticket's conversations to an inbox (the ticket stays) or back into the help desk."""
    try:
        target = move_target(to)
        pipeline, status_key = pipeline_status(status)
        move.move_conversation(uow=uow, actor=user, conversation_id=conversation_id, to=target,
                               assignee_id=optional_int(assignee_id, "assignee_id"), pipeline=pipeline,
                               status=status_key, comment=comment.strip() or None)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    return redirect(request, f"/tickets/{ticket_id}", notice="moved")


@router.post("/tickets/{ticket_id}/spam", name="web_ticket_spam")
def mark_spam(request: Request, ticket_id: int, uow: UoW, user: FormUser,
              conversation_ids: IdList = []) -> Response:  # noqa: B006
    """Mark the chosen conversations as spam; choosing all of them deletes the ticket."""
    try:
        result = spam.mark_spam(uow=uow, actor=user, ticket_id=ticket_id, conversation_ids=conversation_ids)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    if result.ticket_deleted:
        return redirect(request, "/helpdesk/spam", notice="spam_ticket_deleted")
    return redirect(request, f"/tickets/{result.ticket.id}", notice="spam_marked")


@router.post("/tickets/{ticket_id}/delete", name="web_ticket_delete")
def delete_ticket(request: Request, ticket_id: int, uow: UoW, user: FormUser) -> Response:
    """Move the ticket and its conversations to the trash (restorable for the retention period)."""
    try:
        delete.delete_ticket(uow=uow, actor=user, ticket_id=ticket_id)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    return redirect(request, "/helpdesk", notice="deleted")


@router.post("/tickets/{ticket_id}/restore", name="web_ticket_restore")
def restore_ticket(request: Request, ticket_id: int, uow: UoW, user: FormUser) -> Response:
    """Take the ticket out of the trash."""
    try:
        ticket = delete.restore_ticket(uow=uow, actor=user, ticket_id=ticket_id)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    return redirect(request, f"/tickets/{ticket.id}", notice="restored")
