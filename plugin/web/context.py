"""What every signed-in page shows around its content: the nav's inboxes and the notifications bell."""

from __future__ import annotations

from typing import Any

from core import inboxes, notifications
from core.models import User
from core.uow import UnitOfWork

VIEWS = [("open", "All open"), ("mine", "Mine"), ("unassigned", "Unassigned"), ("unread", "Unread"),
         ("spam", "Spam"), ("trash", "Trash")]


def chrome(uow: UnitOfWork, user: User, **extra: Any) -> dict[str, Any]:
    """Context for the layout: the user, the inboxes in the nav, the unread notification count."""
    _, unread = notifications.list_notifications(uow=uow, actor=user, unread_only=True, limit=1)
    return {"user": user, "nav_inboxes": inboxes.list_inboxes(uow=uow, actor=user), "unread_notifications": unread,
            "views": VIEWS, "current_view": "", "current_inbox": None, "q": "", **extra}
