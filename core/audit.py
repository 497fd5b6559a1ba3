"""Audit events for every write, and follower notifications derived from them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from core.models import AuditEvent, Notification, Ticket, User
from core.uow import UnitOfWork

# Actions whose events notify a ticket's followers, with the text they read.
NOTIFY_TEXT: dict[str, str] = {
    "message.incoming": "New message from the customer",
    "ticket.updated": "Ticket properties changed",
    "ticket.merged": "Ticket was merged",
    "ticket.split": "Ticket was split",
    "conversation.moved": "A conversation was moved",
    "ticket.spam": "Conversations were marked as spam",
    "ticket.deleted": "Ticket was deleted",
    "ticket.restored": "Ticket was restored",
}


def record(
    uow: UnitOfWork,
    *,
    actor: User | None,
    action: str,
    ticket: Ticket | None = None,
    ticket_id: int | None = None,
    conversation_id: int | None = None,
    detail: dict[str, Any] | None = None,
    notify: bool = True,
) -> AuditEvent:
    """Write one audit event and, for notable actions, notify followers other than the actor."""
    tid = ticket.id if ticket is not None else ticket_id
    event = AuditEvent(
        at=uow.now(),
        actor_id=actor.id if actor else None,
        action=action,
        ticket_id=tid,
        conversation_id=conversation_id,
        detail=detail or {},
    )
    uow.session.add(event)
    uow.flush()
    if notify and ticket is not None:
        uow.session.add_all(follower_notifications(uow, actor=actor, action=action, events=[(event.id, ticket)]))
    return event


def follower_notifications(
    uow: UnitOfWork, *, actor: User | None, action: str, events: Iterable[tuple[int, Ticket]]
) -> list[Notification]:
    """Notification rows for events already written in bulk as (event id, ticket); never for the actor."""
    if action not in NOTIFY_TEXT:
        return []
    rows: list[Notification] = []
    for event_id, ticket in events:
        text = f"{NOTIFY_TEXT[action]}: {ticket.name}"[:500]
        rows.extend(
            Notification(user_id=follower.id, ticket_id=ticket.id, event_id=event_id, action=action, text=text,
                         created_at=uow.now())
            for follower in ticket.followers
            if actor is None or follower.id != actor.id
        )
    return rows
