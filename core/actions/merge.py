"""Merge two tickets into a new one; both old ids become aliases that resolve to it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from pydantic import Field
from sqlalchemy import update

from core import audit
from core.errors import InvalidAction, NotFound, ValidationFailed
from core.models import AuditEvent, Notification, Ticket, User
from core.permissions import require
from core.schemas import Strict
from core.tickets import resolve_ticket
from core.uow import UnitOfWork

Row = TypeVar("Row", bound=object)


class MergeRequest(Strict):
    """Body of `POST /tickets/merge`."""

    ticket_ids: list[int] = Field(..., min_length=2, max_length=2)
    primary_id: int


def claim_tickets(uow: UnitOfWork, *tickets: Ticket) -> None:
    """Bump the tickets' versions and flush, so of two actions racing on one ticket the later gets a `Conflict`."""
    for ticket in tickets:
        # Explicit: a touch alone may write nothing when the clock has not moved.
        ticket.version = ticket.version + 1
    uow.flush()


def merge_tickets(*, uow: UnitOfWork, actor: User, ticket_ids: list[int], primary_id: int) -> Ticket:
    """Merge two tickets into a new ticket with the primary's properties; the old ids become its aliases."""
    require(actor, "ticket.merge")
    pair = _resolve_pair(uow, ticket_ids)
    primary = _pick_primary(uow, primary_id, ticket_ids, pair)
    secondary = pair[1] if primary is pair[0] else pair[0]
    now = uow.now()
    merged = Ticket(
        name=primary.name,
        description=primary.description,
        owner_id=primary.owner_id,
        priority=primary.priority,
        category=primary.category,
        pipeline=primary.pipeline,
        status=primary.status,
        channel=primary.channel,
        contact_id=primary.contact_id,
        unread=primary.unread or secondary.unread,
        created_at=min(primary.created_at, secondary.created_at),
        updated_at=now,
        last_activity_at=now,
        followers=_union(primary.followers, secondary.followers),
        contacts=_union(primary.contacts, secondary.contacts),
        companies=_union(primary.companies, secondary.companies),
        deals=_union(primary.deals, secondary.deals),
    )
    uow.session.add(merged)
    uow.session.flush()
    # Start above both old versions, so an edit made against a version of an old id never lands by accident.
    merged.version = max(primary.version, secondary.version) + 1
    # The claim comes first among the updates: whoever updates the old rows second loses.
    for old in (primary, secondary):
        old.merged_into_id = merged.id
        old.updated_at = now
    uow.flush()
    merged.conversations = _union(primary.conversations, secondary.conversations)
    old_ids = [primary.id, secondary.id]
    for model in (AuditEvent, Notification):
        uow.session.execute(
            update(model).where(model.ticket_id.in_(old_ids)).values(ticket_id=merged.id)
            .execution_options(synchronize_session=False)
        )
    uow.flush()
    audit.record(uow, actor=actor, action="ticket.merged", ticket=merged,
                 detail={"primary_id": primary.id, "secondary_id": secondary.id,
                         "requested_ids": list(ticket_ids)})
    uow.commit()
    return merged


def _resolve_pair(uow: UnitOfWork, ticket_ids: list[int]) -> tuple[Ticket, Ticket]:
    if len(ticket_ids) != 2:
        raise ValidationFailed("A merge takes exactly two ticket ids.", field="ticket_ids")
    first, second = (resolve_ticket(uow, tid) for tid in ticket_ids)
    if first.id == second.id:
        if ticket_ids[0] == ticket_ids[1]:
            raise InvalidAction(f"Ticket {first.id} cannot be merged with itself.")
        raise InvalidAction(
            f"Tickets {ticket_ids[0]} and {ticket_ids[1]} are already the same ticket ({first.id}); "
            "a ticket cannot be merged with itself."
        )
    for ticket in (first, second):
        if ticket.is_deleted:
            where = "spam" if ticket.deleted_reason == "spam" else "trash"
            raise InvalidAction(f"Ticket {ticket.id} is in the {where}; deleted tickets cannot be merged.")
    return first, second


def _pick_primary(uow: UnitOfWork, primary_id: int, ticket_ids: list[int], pair: tuple[Ticket, Ticket]) -> Ticket:
    if primary_id in ticket_ids:
        return pair[ticket_ids.index(primary_id)]
    try:
        resolved: Ticket | None = resolve_ticket(uow, primary_id)
    except NotFound:
        resolved = None
    for ticket in pair:
        if resolved is not None and resolved.id == ticket.id:
            return ticket
    raise ValidationFailed(f"primary_id {primary_id} must be one of the tickets being merged.", field="primary_id")


def _union(first: Iterable[Row], second: Iterable[Row]) -> list[Row]:
    """Both lists without duplicates, ordered by id (the relationships' own order)."""
    by_id = {row.id: row for row in [*first, *second]}  # type: ignore[attr-defined]
    return [by_id[key] for key in sorted(by_id)]
