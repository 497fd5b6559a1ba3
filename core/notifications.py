"""In-app notifications: each user reads and clears only their own."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update

from core.audit import NOTIFY_TEXT, follower_notifications  # noqa: F401  (re-exported)
from core.errors import ValidationFailed
from core.models import Notification, User
from core.permissions import require
from core.uow import UnitOfWork

MAX_LIMIT = 200
MAX_MARK_IDS = 1000


def unread_count(uow: UnitOfWork, user: User) -> int:
    """How many of the user's notifications are unread."""
    stmt = select(func.count(Notification.id)).where(Notification.user_id == user.id,
                                                     Notification.read_at.is_(None))
    return int(uow.session.scalar(stmt) or 0)


def list_notifications(
    *, uow: UnitOfWork, actor: User, unread_only: bool = False, limit: int = 50
) -> tuple[list[Notification], int]:
    """The caller's notifications, newest first, with their unread count."""
    require(actor, "notification.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    stmt = select(Notification).where(Notification.user_id == actor.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.id.desc()).limit(limit)
    return list(uow.session.scalars(stmt)), unread_count(uow, actor)


def mark_read(*, uow: UnitOfWork, actor: User, ids: Sequence[int] | None = None) -> int:
    """Mark some (or, with no ids, all) of the caller's notifications read; returns how many changed."""
    require(actor, "notification.view")
    mine = Notification.user_id == actor.id
    stmt = update(Notification).where(mine, Notification.read_at.is_(None))
    if ids is not None:
        wanted = sorted(set(ids))
        if len(wanted) > MAX_MARK_IDS:
            raise ValidationFailed(f"At most {MAX_MARK_IDS} ids at a time.", field="ids")
        found = set(uow.session.scalars(select(Notification.id).where(mine, Notification.id.in_(wanted))))
        unknown = [i for i in wanted if i not in found]
        if unknown:
            # Someone else's notification is reported exactly like a missing one.
            raise ValidationFailed(f"No such notification(s): {', '.join(map(str, unknown))}.", field="ids",
                                   ids=unknown)
        stmt = stmt.where(Notification.id.in_(wanted))
    result = uow.session.execute(stmt.values(read_at=uow.now()).execution_options(synchronize_session=False))
    changed = int(getattr(result, "rowcount", 0) or 0)
    uow.commit()
    return changed
