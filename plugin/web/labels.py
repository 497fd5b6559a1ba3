"""Human wording for enum values, dates, AI access and activity entries (pure functions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.activity import ActivityEntry

AI_SETTING_LABELS = {"conversation_data": "Customer conversation data", "copilot": "Copilot"}
FIELD_LABELS = {"owner_id": "Owner", "priority": "Priority", "category": "Category", "status": "Status",
                "name": "Name", "description": "Description", "pipeline": "Pipeline"}
ACTIVITY = {
    "ticket.created": "created the ticket",
    "ticket.updated": "changed the ticket",
    "ticket.read": "opened the unread ticket",
    "ticket.unread": "marked the ticket as unread",
    "ticket.association_added": "linked a record",
    "ticket.association_removed": "unlinked a record",
    "ticket.followed": "followed the ticket",
    "ticket.unfollowed": "unfollowed the ticket",
    "ticket.merged": "merged tickets",
    "ticket.split": "split the ticket",
    "ticket.spam": "marked conversations as spam",
    "ticket.deleted": "deleted the ticket",
    "ticket.restored": "restored the ticket",
    "conversation.moved": "moved a conversation",
    "conversation.not_spam": "marked a conversation as not spam",
    "email.received_in_spam": "An email arrived for a conversation in spam",
    "email.reply_to_deleted": "A reply arrived for the deleted ticket",
    "message.incoming": "New message from the customer",
    "message.outgoing": "sent a reply",
    "message.comment": "added an internal note",
    "ai.name": "asked the AI for ticket names",
    "ai.summary": "asked the AI for a summary",
}


def format_datetime(value: datetime | None) -> str:
    """'12 Mar 2025, 14:05 UTC' (empty for None)."""
    if value is None:
        return ""
    return value.strftime("%-d %b %Y, %H:%M UTC")


def enum_label(value: str | None) -> str:
    """'PRODUCT_ISSUE' -> 'Product issue'; None -> '—'."""
    if not value:
        return "—"
    return value.replace("_", " ").capitalize()


def ai_off_message(off: list[str]) -> str:
    """Why the AI controls are off, naming the settings a super admin must switch on."""
    names = " and ".join(f"“{AI_SETTING_LABELS.get(o, o)}”" for o in off)
    return f"AI is off for this workspace: a super admin must switch on {names} in Admin → AI settings."


def _value(field: str, value: Any, people: dict[int, str]) -> str:
    if value is None or value == "":
        return "none"
    if field == "owner_id":
        return people.get(int(value), f"user {value}")
    if field in ("priority", "category"):
        return enum_label(str(value))
    return str(value)


def activity_lines(entry: ActivityEntry, people: dict[int, str]) -> tuple[str, list[str]]:
    """(headline, detail lines) for one activity entry; every string is escaped by the template."""
    event = entry.event
    who = entry.actor_name or ("Customer" if event.action == "message.incoming" else "System")
    text = ACTIVITY.get(event.action, event.action)
    detail: dict[str, Any] = event.detail or {}
    lines: list[str] = []
    if event.action == "ticket.updated":
        for field, change in sorted((detail.get("changes") or {}).items()):
            if isinstance(change, dict):
                lines.append(f"{FIELD_LABELS.get(field, field)}: {_value(field, change.get('from'), people)} → "
                             f"{_value(field, change.get('to'), people)}")
        if detail.get("name_source") == "ai":
            lines.append("Name suggested by the AI")
    elif event.action.startswith("ticket.association"):
        lines.append(f"{enum_label(str(detail.get('kind', '')))}: {detail.get('name', '')}")
    elif event.action.startswith("ai."):
        model = detail.get("model", "")
        lines.append(f"Model {model}" + ("" if detail.get("outcome") == "ok" else f" — failed ({detail.get('error')})"))
    if event.action == "message.incoming":
        return text, lines
    return f"{who} {text}", lines
