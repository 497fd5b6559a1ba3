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


def notification_rows(
    uow: UnitOfWork, *, actor: User | None, action: str, events: Iterable[tuple[int, int, str, Iterable[int]]]
) -> list[dict[str, Any]]:
    """Notification rows (column values) for events already written, given as (event id, ticket id, ticket
    name, follower ids); never for the actor."""
    if action not in NOTIFY_TEXT:
        return []
    now = uow.now()
    return [
        {"user_id": follower_id, "ticket_id": ticket_id, "event_id": event_id, "action": action,
         "text": f"{NOTIFY_TEXT[action]}: {name}"[:500], "created_at": now, "read_at": None}
        for event_id, ticket_id, name, followers in events
        for follower_id in followers
        if actor is None or follower_id != actor.id
    ]


def follower_notifications(
    uow: UnitOfWork, *, actor: User | None, action: str, events: Iterable[tuple[int, Ticket]]
) -> list[Notification]:
    """Notifications for events already written, as (event id, ticket); never for the actor."""
    plain = [(event_id, ticket.id, ticket.name, [f.id for f in ticket.followers]) for event_id, ticket in events]
    return [Notification(**row) for row in notification_rows(uow, actor=actor, action=action, events=plain)]
