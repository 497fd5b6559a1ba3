"""Plain data handed to prompts and models: no ORM objects cross into the AI layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PromptMessage:
    """One message of a conversation as the AI sees it.

    direction is "incoming" (customer), "outgoing" (agent reply) or "comment" (internal note).
    """

    id: int
    direction: str
    sender_name: str
    text: str
    subject: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class TicketFacts:
    """The ticket's properties that a prompt may use."""

    id: int
    name: str
    description: str
    priority: str | None
    category: str | None
    status: str
    status_label: str
    channel: str
    owner_name: str | None = None
    contacts: list[str] = field(default_factory=list)
    companies: list[str] = field(default_factory=list)
    deals: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AIInput:
    """Everything a name or summary request is built from."""

    ticket: TicketFacts
    messages: list[PromptMessage]
