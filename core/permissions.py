"""Permissions as a table of named actions, with one `require` choke point."""

from __future__ import annotations

from enum import Enum

from core.errors import AIDisabled, PermissionDenied
from core.models import User, WorkspaceSettings


class Rule(Enum):
    ANY_USER = "any user"
    ACCOUNT_ACCESS = "account_access"
    DELETE_TICKETS = "delete_tickets"
    SUPER_ADMIN = "super admin"


# Every action a user can take. The manifest's permissions/actions must match this table (tested).
ACTIONS: dict[str, Rule] = {
    "ticket.view": Rule.ANY_USER,
    "ticket.create": Rule.ANY_USER,
    "ticket.edit": Rule.ANY_USER,
    "ticket.follow": Rule.ANY_USER,
    "ticket.mark_read": Rule.ANY_USER,
    "ticket.split": Rule.ANY_USER,
    "ticket.merge": Rule.ANY_USER,
    "message.create": Rule.ANY_USER,
    "notification.view": Rule.ANY_USER,
    "ai.use": Rule.ANY_USER,
    "conversation.move": Rule.ACCOUNT_ACCESS,
    "email.ingest": Rule.ACCOUNT_ACCESS,
    "ticket.spam": Rule.DELETE_TICKETS,
    "ticket.delete": Rule.DELETE_TICKETS,
    "ticket.restore": Rule.DELETE_TICKETS,
    "settings.ai": Rule.SUPER_ADMIN,
    "users.manage": Rule.SUPER_ADMIN,
}

FLAGS = ("account_access", "delete_tickets")


def can(user: User | None, action: str) -> bool:
    """Pure check: may `user` take `action`? Super admins may take every action."""
    rule = ACTIONS[action]
    if user is None or not user.is_active:
        return False
    if user.is_super_admin or rule is Rule.ANY_USER:
        return True
    if rule is Rule.SUPER_ADMIN:
        return False
    return user.has_flag(rule.value)


def reason(action: str) -> str:
    """Why an action may be refused, for disabled buttons and error messages."""
    rule = ACTIONS[action]
    if rule is Rule.SUPER_ADMIN:
        return "Only super admins can do this."
    if rule is Rule.ANY_USER:
        return "You must be signed in."
    return f"This needs the {rule.value} permission (or super admin)."


def require(user: User | None, action: str) -> User:
    """Raise `PermissionDenied` unless `user` may take `action`; return the user."""
    if not can(user, action):
        raise PermissionDenied(reason(action), action=action)
    assert user is not None
    return user


def ai_off_settings(settings: WorkspaceSettings) -> list[str]:
    """Names of the AI access settings that are off (empty when AI may run)."""
    off = []
    if not settings.ai_conversation_data:
        off.append("conversation_data")
    if not settings.ai_copilot:
        off.append("copilot")
    return off


def require_ai(settings: WorkspaceSettings) -> None:
    """Refuse AI unless admins switched on both customer conversation data and copilot."""
    off = ai_off_settings(settings)
    if off:
        labels = {"conversation_data": "customer conversation data", "copilot": "copilot"}
        names = " and ".join(f"'{labels[o]}'" for o in off)
        raise AIDisabled(
            f"AI access is off: a super admin must switch on {names} in AI settings.", off=off
        )
