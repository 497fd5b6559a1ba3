"""The UI's action registry: what the ticket Actions menu, the help desk bulk bar and inbox rows offer.

An entry either posts straight to a route (`post`) or opens a `<dialog>` whose body is a template partial
(`dialog`). Entries the user may not take stay visible but disabled, with the reason from `core.permissions`.
To add an action: append a `UIAction` to the right list, put its dialog partial under
`templates/ticket/actions/` (or `helpdesk/actions/`, `inbox/actions/`) and its routes in a web module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core.models import User
from core.permissions import can, reason


def _always(subject: Any, user: User) -> bool:
    return True


@dataclass(frozen=True)
class UIAction:
    key: str  # the manifest's `ui.ticket_header_actions` id, e.g. "mark_unread"
    label: str
    permission: str  # an action name from core.permissions.ACTIONS
    post: str | None = None  # path template, e.g. "/tickets/{id}/unread": a one-click form POST
    dialog: str | None = None  # template partial rendered inside the action's <dialog>
    shown: Callable[[Any, User], bool] = _always  # e.g. Restore only for deleted tickets
    label_for: Callable[[Any, User], str] | None = None  # e.g. Follow / Unfollow

    def __post_init__(self) -> None:
        if (self.post is None) == (self.dialog is None):
            raise ValueError(f"UI action {self.key!r} needs exactly one of `post` or `dialog`.")


@dataclass(frozen=True)
class MenuEntry:
    key: str
    label: str
    enabled: bool
    reason: str
    post: str | None
    dialog: str | None


TICKET_ACTIONS: list[UIAction] = [
    UIAction("mark_unread", "Mark as unread", "ticket.mark_read", post="/tickets/{id}/unread"),
]
BULK_ACTIONS: list[UIAction] = []  # e.g. UIAction("bulk_delete", "Delete", "ticket.delete", dialog=...)
CONVERSATION_ACTIONS: list[UIAction] = []  # e.g. UIAction("move_conversation", "Move", "conversation.move", ...)


def menu(actions: list[UIAction], subject: Any, user: User) -> list[MenuEntry]:
    """The entries to render for `subject` (a ticket, a conversation, or None for bulk actions)."""
    entries = []
    for action in actions:
        if not action.shown(subject, user):
            continue
        allowed = can(user, action.permission)
        label = action.label_for(subject, user) if action.label_for else action.label
        post = action.post.format(id=getattr(subject, "id", "")) if action.post else None
        entries.append(MenuEntry(key=action.key, label=label, enabled=allowed,
                                 reason="" if allowed else reason(action.permission), post=post,
                                 dialog=action.dialog))
    return entries
