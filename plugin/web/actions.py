"""The UI's action registry: what the ticket Actions menu, the help desk bulk bar and inbox rows offer.

An entry either posts straight to a route (`post`) or opens a `<dialog>` whose body is a template partial
(`dialog`). Entries the user may not take stay visible but disabled, with the reason from `core.permissions`.
To add an action: append a `UIAction` to the right list, put its dialog partial under
`templates/ticket/actions/` (or `helpdesk/actions/`, `inbox/actions/`) and its routes in a web module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.models import User
from core.permissions import can, reason


def _always(subject: Any, user: User) -> bool:
    return True


def _no_fields(subject: Any, user: User) -> dict[str, str]:
    return {}


def _live(ticket: Any, user: User) -> bool:
    """Actions that change a ticket are offered only while it is out of the trash and spam."""
    return not ticket.is_deleted


def _in_trash(ticket: Any, user: User) -> bool:
    return bool(ticket.is_deleted and ticket.deleted_reason == "trash")


def _following(ticket: Any, user: User) -> bool:
    return any(f.id == user.id for f in ticket.followers)


@dataclass(frozen=True)
class UIAction:
    key: str  # the manifest's `ui.ticket_header_actions` id, e.g. "mark_unread"
    label: str
    permission: str  # an action name from core.permissions.ACTIONS
    post: str | None = None  # path template, e.g. "/tickets/{id}/unread": a one-click form POST
    dialog: str | None = None  # template partial rendered inside the action's <dialog>
    shown: Callable[[Any, User], bool] = _always  # e.g. Restore only for deleted tickets
    label_for: Callable[[Any, User], str] | None = None  # e.g. Follow / Unfollow
    fields: Callable[[Any, User], dict[str, str]] = _no_fields  # hidden inputs of a one-click POST

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
    fields: dict[str, str] = field(default_factory=dict)


# Same keys, same order as the manifest's `ui.ticket_header_actions` (tested).
TICKET_ACTIONS: list[UIAction] = [
    UIAction("follow", "Follow", "ticket.follow", post="/tickets/{id}/follow",
             label_for=lambda t, u: "Unfollow" if _following(t, u) else "Follow",
             fields=lambda t, u: {"follow": "0" if _following(t, u) else "1"}),
    UIAction("split", "Split ticket", "ticket.split", dialog="ticket/actions/split.html", shown=_live),
    UIAction("merge", "Merge ticket", "ticket.merge", dialog="ticket/actions/merge.html", shown=_live),
    UIAction("mark_unread", "Mark as unread", "ticket.mark_read", post="/tickets/{id}/unread"),
    UIAction("move_conversation", "Move conversation", "conversation.move",
             dialog="ticket/actions/move_conversation.html", shown=_live),
    UIAction("mark_spam", "Mark as spam", "ticket.spam", dialog="ticket/actions/mark_spam.html", shown=_live),
    UIAction("delete", "Delete", "ticket.delete", dialog="ticket/actions/delete.html", shown=_live),
]
# Offered on the banner of a ticket in the trash (not a header action: the manifest does not list it).
TRASH_ACTIONS: list[UIAction] = [
    UIAction("restore", "Restore", "ticket.restore", post="/tickets/{id}/restore", shown=_in_trash),
]
BULK_ACTIONS: list[UIAction] = [
    UIAction("bulk_delete", "Delete", "ticket.delete", dialog="helpdesk/actions/bulk_delete.html"),
]
CONVERSATION_ACTIONS: list[UIAction] = [
    UIAction("move_conversation", "Move", "conversation.move", dialog="inbox/actions/move_conversation.html"),
]


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
                                 dialog=action.dialog, fields=action.fields(subject, user) if allowed else {}))
    return entries
