"""Delete tickets to the trash (one or many, all-or-nothing) and restore them within the retention period."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, insert, literal, select, update
from sqlalchemy import cast as cast_

from core import audit
from core.audit import notification_rows
from core.db import id_list, id_values
from core.errors import Conflict, InvalidAction, ValidationFailed
from core.models import AuditEvent, Notification, Ticket, User, ticket_followers
from core.permissions import require
from core.tickets import ALIAS_DEPTH_LIMIT, resolve_ticket
from core.uow import UnitOfWork

TRASH = "trash"
MAX_BULK = 10_000
CHUNK = 1000  # bound parameters per IN (...) list, well under SQLite's and PostgreSQL's limits

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


@dataclass
class _Target:
    """What resolving, checking and trashing a ticket read: plain columns, not an ORM entity, so 10,000 are cheap."""

    id: int
    name: str
    deleted_at: datetime | None
    deleted_reason: str | None
    merged_into_id: int | None
    follower_ids: list[int] = field(default_factory=list)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


_T = cast(Table, Ticket.__table__)
_COLUMNS = (_T.c.id, _T.c.name, _T.c.deleted_at, _T.c.deleted_reason, _T.c.merged_into_id)


def _load(uow: UnitOfWork, ids: Sequence[int]) -> dict[int, _Target]:
    rows = uow.session.execute(select(*_COLUMNS).where(_T.c.id.in_(id_list(uow.session, ids))))
    found = {row[0]: _Target(*row) for row in rows}
    followers = select(ticket_followers.c.ticket_id, ticket_followers.c.user_id) \
        .where(ticket_followers.c.ticket_id.in_(id_list(uow.session, ids))).order_by(ticket_followers.c.user_id)
    for ticket_id, user_id in uow.session.execute(followers):
        found[ticket_id].follower_ids.append(user_id)
    return found


def _resolve_many(uow: UnitOfWork, ids: Sequence[int]) -> tuple[dict[int, _Target], list[int]]:
    """Map each requested id to its ticket, following merge aliases level by level (batched)."""
    loaded = _load(uow, ids)
    missing = [i for i in ids if i not in loaded]
    target = {i: loaded[i] for i in ids if i in loaded}
    for _ in range(ALIAS_DEPTH_LIMIT):
        pending = sorted({t.merged_into_id for t in target.values() if t.merged_into_id is not None})
        if not pending:
            return target, missing
        loaded = _load(uow, pending)
        for requested, ticket in list(target.items()):
            if ticket.merged_into_id is not None:
                nxt = loaded.get(ticket.merged_into_id)
                if nxt is None:
                    del target[requested]
                    missing.append(requested)
                else:
                    target[requested] = nxt
    raise Conflict("A merge chain is broken; ask an administrator to check the tickets.")


_TRASHED = ["deleted_at", "deleted_reason", "deleted_by_id", "updated_at", "version"]  # what _trash changes
_EVENTS = cast(Table, AuditEvent.__table__)
_NOTIFICATIONS = cast(Table, Notification.__table__)


def _trash(uow: UnitOfWork, actor: User, tickets: list[_Target]) -> None:
    """Move live tickets to the trash with batched statements; a concurrent change makes it a conflict."""
    now = uow.now()
    stmt = (
        update(_T)
        .where(_T.c.id.in_(id_list(uow.session, [t.id for t in tickets])), _T.c.deleted_at.is_(None),
               _T.c.merged_into_id.is_(None))
        .values(deleted_at=now, deleted_reason=TRASH, deleted_by_id=actor.id, updated_at=now,
                version=_T.c.version + 1)
    )
    result: Any = uow.session.execute(stmt)
    if int(result.rowcount or 0) != len(tickets):
        raise Conflict("Some of these tickets were changed by someone else meanwhile; reload and try again.")
    # Every ticket's audit event in one INSERT .. SELECT; the ids come back (matched by ticket id: rows may
    # return in any order) for the followers' notifications.
    source = id_values(uow.session.get_bind().dialect.name, [t.id for t in tickets])
    detail_type = _EVENTS.c.detail.type
    values = select(literal(now, _EVENTS.c.at.type), literal(actor.id, _EVENTS.c.actor_id.type),
                    literal("ticket.deleted", _EVENTS.c.action.type), source.c.value,
                    cast_(literal({"reason": TRASH}, detail_type), detail_type))
    returned = uow.session.execute(insert(_EVENTS).from_select(["at", "actor_id", "action", "ticket_id", "detail"],
                                                               values).returning(_EVENTS.c.id, _EVENTS.c.ticket_id))
    event_ids = {tid: eid for eid, tid in returned.tuples()}
    notified = [(event_ids[t.id], t.id, t.name, t.follower_ids) for t in tickets if t.follower_ids]
    rows = notification_rows(uow, actor=actor, action="ticket.deleted", events=notified)
    if rows:
        uow.session.execute(insert(_NOTIFICATIONS), rows)  # one executemany


def delete_ticket(*, uow: UnitOfWork, actor: User, ticket_id: int) -> Ticket:
    """Move one ticket (and with it its conversations) to the trash."""
    require(actor, "ticket.delete")
    ticket = resolve_ticket(uow, ticket_id)
    if ticket.is_deleted:
        where = "spam" if ticket.deleted_reason == "spam" else "trash"
        raise InvalidAction(f"Ticket {ticket.id} is already in the {where}.")
    uow.flush()
    _trash(uow, actor, [_Target(ticket.id, ticket.name, None, None, None, [f.id for f in ticket.followers])])
    uow.commit()
    uow.session.expire(ticket, _TRASHED)  # the UPDATE bypassed the identity map: read these again
    return ticket


def delete_tickets(*, uow: UnitOfWork, actor: User, ticket_ids: Sequence[int], confirm_count: int) -> int:
    """Bulk delete: `confirm_count` must match the distinct ids; any bad id refuses all, naming the ids."""
    require(actor, "ticket.delete")
    ids = sorted(set(ticket_ids))
    if not ids:
        raise ValidationFailed("Choose at least one ticket.", field="ids")
    if len(ids) > MAX_BULK:
        raise ValidationFailed(f"At most {MAX_BULK} tickets can be deleted at once.", field="ids")
    if confirm_count != len(ids):
        raise ValidationFailed(
            f"confirm_count is {confirm_count} but {len(ids)} tickets were chosen; confirm the right number.",
            field="confirm_count",
        )
    target, missing = _resolve_many(uow, ids)
    deleted = sorted(i for i, t in target.items() if t.is_deleted)
    if missing or deleted:
        parts = []
        if missing:
            parts.append(f"not found: {', '.join(map(str, sorted(missing)))}")
        if deleted:
            parts.append(f"already deleted: {', '.join(map(str, deleted))}")
        rejected = sorted(set(missing) | set(deleted))
        raise ValidationFailed(f"Nothing was deleted; {'; '.join(parts)}.", field="ids", ids=rejected)
    # Two requested ids may be aliases of one merged ticket: it is deleted once.
    tickets = list({t.id: t for t in target.values()}.values())
    _trash(uow, actor, tickets)
    uow.commit()
    return len(tickets)


def restore_ticket(*, uow: UnitOfWork, actor: User, ticket_id: int) -> Ticket:
    """Take a ticket out of the trash, unless the retention period has passed."""
    require(actor, "ticket.restore")
    ticket = resolve_ticket(uow, ticket_id)
    if ticket.deleted_at is None:
        raise InvalidAction(f"Ticket {ticket.id} is not deleted; there is nothing to restore.")
    if ticket.deleted_reason == "spam":
        raise InvalidAction(f"Ticket {ticket.id} was deleted as spam; mark its conversations as not spam instead.")
    days = uow.settings.retention_days
    if ticket.deleted_at < uow.now() - timedelta(days=days):
        raise InvalidAction(f"Ticket {ticket.id} was deleted more than {days} days ago; it has expired and is gone.",
                            code="expired")
    ticket.deleted_at = ticket.deleted_reason = ticket.deleted_by_id = None
    ticket.touch(uow.now())
    audit.record(uow, actor=actor, action="ticket.restored", ticket=ticket, detail={"from": TRASH})
    uow.commit()
    return ticket
