"""A ticket's activity timeline, read from the audit events."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.errors import ValidationFailed
from core.models import AuditEvent, User
from core.permissions import require
from core.tickets import merged_from_ids, resolve_ticket
from core.uow import UnitOfWork

MAX_LIMIT = 1000


@dataclass(frozen=True)
class ActivityEntry:
    event: AuditEvent
    actor_name: str | None


def ticket_activity(*, uow: UnitOfWork, actor: User, ticket_id: int, limit: int = 200) -> list[AuditEvent]:
    """The ticket's audit events, newest first; an alias id shows the merged ticket's history."""
    require(actor, "ticket.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    ticket = resolve_ticket(uow, ticket_id)
    # Merge re-points history to the new ticket; the alias ids catch anything recorded on them since.
    ids = [ticket.id, *merged_from_ids(uow, ticket)]
    stmt = (
        select(AuditEvent)
        .where(AuditEvent.ticket_id.in_(ids))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return list(uow.session.scalars(stmt))


def ticket_activity_entries(
    *, uow: UnitOfWork, actor: User, ticket_id: int, limit: int = 200
) -> list[ActivityEntry]:
    """`ticket_activity` with each actor's display name (one extra query for all of them)."""
    events = ticket_activity(uow=uow, actor=actor, ticket_id=ticket_id, limit=limit)
    actor_ids = {e.actor_id for e in events if e.actor_id is not None}
    names: dict[int, str] = {}
    if actor_ids:
        names = dict(uow.session.execute(select(User.id, User.name).where(User.id.in_(actor_ids))).tuples().all())
    return [ActivityEntry(event=e, actor_name=names.get(e.actor_id) if e.actor_id else None) for e in events]
