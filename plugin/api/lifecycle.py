"""REST routes for the ticket lifecycle: follow, notifications, spam, delete/restore, activity."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from core import activity, notifications
from core.actions import delete, follow, spam
from core.schemas import Strict
from plugin.deps import CurrentUser, UoW
from plugin.schemas import TicketOut

router = APIRouter()


class SpamIn(Strict):
    conversation_ids: list[int] = Field(..., min_length=1, max_length=1000)


class BulkDeleteIn(Strict):
    ids: list[int] = Field(..., min_length=1, max_length=delete.MAX_BULK)
    confirm_count: int = Field(..., ge=1)


class MarkReadIn(Strict):
    ids: list[int] | None = Field(None, max_length=notifications.MAX_MARK_IDS)


class NotificationOut(BaseModel):
    id: int
    ticket_id: int | None
    action: str
    text: str
    created_at: datetime
    read: bool


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    unread_count: int


class MarkReadOut(BaseModel):
    marked: int
    unread_count: int


class SpamOut(BaseModel):
    ticket_deleted: bool
    ticket: TicketOut


class NotSpamOut(BaseModel):
    conversation_id: int
    ticket_restored: bool
    ticket: TicketOut | None


class SpamConversationOut(BaseModel):
    id: int
    ticket_id: int | None
    ticket_name: str | None
    channel: str
    spam_at: datetime
    sender_name: str | None
    sender_email: str | None
    preview: str


class SpamPage(BaseModel):
    items: list[SpamConversationOut]


class DeletedOut(BaseModel):
    deleted: int


class ActivityOut(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str | None
    action: str
    detail: dict[str, Any]


@router.post("/tickets/{ticket_id}/follow", response_model=TicketOut, tags=["tickets"])
def follow_ticket(ticket_id: int, uow: UoW, user: CurrentUser) -> TicketOut:
    return TicketOut.build(uow, follow.set_following(uow=uow, actor=user, ticket_id=ticket_id, follow=True), user)


@router.delete("/tickets/{ticket_id}/follow", response_model=TicketOut, tags=["tickets"])
def unfollow_ticket(ticket_id: int, uow: UoW, user: CurrentUser) -> TicketOut:
    return TicketOut.build(uow, follow.set_following(uow=uow, actor=user, ticket_id=ticket_id, follow=False), user)


@router.get("/notifications", response_model=NotificationPage, tags=["notifications"])
def list_notifications(uow: UoW, user: CurrentUser, unread_only: bool = False, limit: int = 50) -> NotificationPage:
    items, unread = notifications.list_notifications(uow=uow, actor=user, unread_only=unread_only, limit=limit)
    return NotificationPage(
        items=[NotificationOut(id=n.id, ticket_id=n.ticket_id, action=n.action, text=n.text,
                               created_at=n.created_at, read=n.read_at is not None) for n in items],
        unread_count=unread,
    )


@router.post("/notifications/read", response_model=MarkReadOut, tags=["notifications"])
def mark_notifications_read(uow: UoW, user: CurrentUser, body: MarkReadIn | None = None) -> MarkReadOut:
    marked = notifications.mark_read(uow=uow, actor=user, ids=body.ids if body else None)
    return MarkReadOut(marked=marked, unread_count=notifications.unread_count(uow, user))


@router.post("/tickets/{ticket_id}/spam", response_model=SpamOut, tags=["spam"])
def mark_spam(ticket_id: int, body: SpamIn, uow: UoW, user: CurrentUser) -> SpamOut:
    result = spam.mark_spam(uow=uow, actor=user, ticket_id=ticket_id, conversation_ids=body.conversation_ids)
    return SpamOut(ticket_deleted=result.ticket_deleted, ticket=TicketOut.build(uow, result.ticket, user))


@router.post("/conversations/{conversation_id}/not-spam", response_model=NotSpamOut, tags=["spam"])
def mark_not_spam(conversation_id: int, uow: UoW, user: CurrentUser) -> NotSpamOut:
    result = spam.mark_not_spam(uow=uow, actor=user, conversation_id=conversation_id)
    ticket = TicketOut.build(uow, result.ticket, user) if result.ticket is not None else None
    return NotSpamOut(conversation_id=result.conversation.id, ticket_restored=result.ticket_restored, ticket=ticket)


@router.get("/spam", response_model=SpamPage, tags=["spam"])
def spam_view(uow: UoW, user: CurrentUser, limit: int = 100) -> SpamPage:
    rows = spam.spam_conversations(uow=uow, actor=user, limit=limit)
    return SpamPage(items=[SpamConversationOut(**vars(r)) for r in rows])


@router.delete("/tickets/{ticket_id}", response_model=DeletedOut, tags=["tickets"])
def delete_ticket(ticket_id: int, uow: UoW, user: CurrentUser) -> DeletedOut:
    delete.delete_ticket(uow=uow, actor=user, ticket_id=ticket_id)
    return DeletedOut(deleted=1)


@router.post("/tickets/bulk-delete", response_model=DeletedOut, tags=["tickets"])
def bulk_delete(body: BulkDeleteIn, uow: UoW, user: CurrentUser) -> DeletedOut:
    count = delete.delete_tickets(uow=uow, actor=user, ticket_ids=body.ids, confirm_count=body.confirm_count)
    return DeletedOut(deleted=count)


@router.post("/tickets/{ticket_id}/restore", response_model=TicketOut, tags=["tickets"])
def restore_ticket(ticket_id: int, uow: UoW, user: CurrentUser) -> TicketOut:
    return TicketOut.build(uow, delete.restore_ticket(uow=uow, actor=user, ticket_id=ticket_id), user)


@router.get("/tickets/{ticket_id}/activity", response_model=list[ActivityOut], tags=["tickets"])
def ticket_activity(ticket_id: int, uow: UoW, user: CurrentUser, limit: int = 200) -> list[ActivityOut]:
    entries = activity.ticket_activity_entries(uow=uow, actor=user, ticket_id=ticket_id, limit=limit)
    return [ActivityOut(id=e.event.id, at=e.event.at, actor_id=e.event.actor_id, actor_name=e.actor_name,
                        action=e.event.action, detail=e.event.detail or {}) for e in entries]
