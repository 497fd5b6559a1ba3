"""Everything the ticket page shows, gathered from core functions (no queries here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import activity, directory, inboxes, tickets, workspace
from core.ai import service
from core.mail.parse import sanitize_html
from core.models import CATEGORIES, PIPELINES, PRIORITIES, Conversation, Inbox, Message, Ticket, User
from core.permissions import ai_off_settings, can
from core.uow import UnitOfWork
from plugin.web.actions import TICKET_ACTIONS, TRASH_ACTIONS, MenuEntry, menu
from plugin.web.labels import activity_lines, ai_off_message

MESSAGES_SHOWN = 100
ASSOCIATION_KINDS = (("contacts", "Contacts"), ("companies", "Companies"), ("deals", "Deals"))


@dataclass(frozen=True)
class AIState:
    enabled: bool
    reason: str  # why the AI controls are off ('' when on)
    model: str


@dataclass(frozen=True)
class SummaryCard:
    text: str | None
    model: str | None
    generated_at: datetime | None
    outdated: bool


@dataclass(frozen=True)
class ActivityItem:
    at: datetime
    headline: str
    lines: list[str]


@dataclass
class TicketView:
    ticket: Ticket
    conversations: list[Conversation]
    selected: Conversation | None
    messages: list[Message]
    earlier_hidden: int
    safe_html: dict[int, str]
    agents: list[User]
    statuses: dict[str, str]
    ai: AIState
    summary: SummaryCard
    activity: list[ActivityItem]
    actions: list[MenuEntry]
    merged_from: list[int]
    trash_actions: list[MenuEntry] = field(default_factory=list)
    inboxes: list[Inbox] = field(default_factory=list)  # destinations of Move conversation
    can_split: bool = False  # the thread shows the split checkboxes
    retention_days: int = 90
    find_kind: str = ""
    find_q: str = ""
    found: list[Any] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)


def _pick(conversations: list[Conversation], wanted: int | None) -> Conversation | None:
    """The conversation asked for, else the most recent one (the list comes most recent first)."""
    return next((c for c in conversations if c.id == wanted), conversations[0] if conversations else None)


def _ai_state(uow: UnitOfWork, user: User) -> AIState:
    settings = workspace.load_settings(uow)
    off = ai_off_settings(settings)
    model = service.model_name(uow, settings)
    if off:
        return AIState(False, ai_off_message(off), model)
    if not can(user, "ai.use"):
        return AIState(False, "You may not use the AI features.", model)
    return AIState(True, "", model)


def _summary(uow: UnitOfWork, ticket: Ticket) -> SummaryCard:
    latest = tickets.latest_message_id(uow, ticket)
    outdated = bool(ticket.summary_text) and latest is not None and latest != ticket.summary_covers_message_id
    return SummaryCard(ticket.summary_text, ticket.summary_model, ticket.summary_generated_at, outdated)


def build_ticket_view(*, uow: UnitOfWork, user: User, ticket: Ticket, conversation_id: int | None = None,
                      show_all: bool = False, find_kind: str = "", find_q: str = "") -> TicketView:
    """Gather the ticket page for `user`; `ticket` is already resolved and marked read."""
    conversations = tickets.ticket_conversations(uow=uow, actor=user, ticket_id=ticket.id)
    selected = _pick(conversations, conversation_id)
    all_messages = list(selected.messages) if selected else []
    shown = all_messages if show_all else all_messages[-MESSAGES_SHOWN:]
    agents = directory.list_agents(uow=uow, actor=user)
    people = {a.id: a.name for a in agents}
    entries = activity.ticket_activity_entries(uow=uow, actor=user, ticket_id=ticket.id, limit=100)
    items = [ActivityItem(e.event.at, *activity_lines(e, people)) for e in entries]
    found: list[Any] = []
    if find_kind in dict(ASSOCIATION_KINDS):
        found = directory.search_records(uow=uow, actor=user, kind=find_kind, q=find_q, limit=10)
    actions = menu(TICKET_ACTIONS, ticket, user)
    can_split = any(a.key == "split" and a.enabled for a in actions) and selected is not None \
        and selected.spam_at is None
    return TicketView(
        ticket=ticket, conversations=conversations, selected=selected, messages=shown,
        earlier_hidden=len(all_messages) - len(shown),
        safe_html={m.id: sanitize_html(m.html) for m in shown if m.html},
        agents=agents, statuses=dict(PIPELINES.get(ticket.pipeline, {}).get("statuses", {})),
        ai=_ai_state(uow, user), summary=_summary(uow, ticket), activity=items,
        actions=actions, merged_from=tickets.merged_from_ids(uow, ticket),
        trash_actions=menu(TRASH_ACTIONS, ticket, user), inboxes=inboxes.list_inboxes(uow=uow, actor=user),
        can_split=can_split, retention_days=uow.settings.retention_days,
        find_kind=find_kind, find_q=find_q, found=found,
        constants={"priorities": PRIORITIES, "categories": CATEGORIES, "kinds": ASSOCIATION_KINDS,
                   "pipelines": PIPELINES},
    )
