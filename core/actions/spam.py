"""Mark a ticket's conversations as spam (all of them deletes the ticket) and undo it with "not spam"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from core import audit
from core.errors import InvalidAction, NotFound, ValidationFailed
from core.models import Conversation, Message, Ticket, User
from core.permissions import require
from core.tickets import writable_ticket
from core.uow import UnitOfWork

SPAM = "spam"
PREVIEW_CHARS = 200
MAX_LIMIT = 200


@dataclass(frozen=True)
class SpamResult:
    ticket: Ticket
    ticket_deleted: bool


@dataclass(frozen=True)
class NotSpamResult:
    conversation: Conversation
    ticket: Ticket | None
    ticket_restored: bool


@dataclass(frozen=True)
class SpamConversation:
    """One row of the spam view: the conversation and a preview of its first message."""

    id: int
    ticket_id: int | None
    ticket_name: str | None
    channel: str
    spam_at: datetime
    sender_name: str | None
    sender_email: str | None
    preview: str


def retention_cutoff(uow: UnitOfWork) -> datetime:
    """Anything spammed or deleted before this instant is past the retention period."""
    return uow.now() - timedelta(days=uow.settings.retention_days)


def mark_spam(*, uow: UnitOfWork, actor: User, ticket_id: int, conversation_ids: Sequence[int]) -> SpamResult:
    """Mark the chosen conversations of a ticket as spam; when none is left live, the ticket is deleted."""
    require(actor, "ticket.spam")
    ticket = writable_ticket(uow, ticket_id)
    wanted = sorted(set(conversation_ids))
    if not wanted:
        raise ValidationFailed("Choose at least one conversation.", field="conversation_ids")
    own = {c.id: c for c in ticket.conversations}
    foreign = [i for i in wanted if i not in own]
    if foreign:
        raise ValidationFailed(
            f"Conversation(s) {', '.join(map(str, foreign))} do not belong to ticket {ticket.id}.",
            field="conversation_ids", ids=foreign,
        )
    now = uow.now()
    newly = [own[i] for i in wanted if own[i].spam_at is None]
    for conversation in newly:
        conversation.spam_at = now
    ticket_deleted = all(c.spam_at is not None for c in ticket.conversations)
    if not newly:
        return SpamResult(ticket=ticket, ticket_deleted=False)
    if ticket_deleted:
        ticket.deleted_at, ticket.deleted_reason, ticket.deleted_by_id = now, SPAM, actor.id
    ticket.touch(now)
    audit.record(uow, actor=actor, action="ticket.spam", ticket=ticket,
                 detail={"conversation_ids": [c.id for c in newly], "ticket_deleted": ticket_deleted})
    uow.commit()
    return SpamResult(ticket=ticket, ticket_deleted=ticket_deleted)


def mark_not_spam(*, uow: UnitOfWork, actor: User, conversation_id: int) -> NotSpamResult:
    """Restore a spam conversation, and its ticket too if spam had deleted it."""
    require(actor, "ticket.spam")
    conversation = uow.session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    if conversation.spam_at is None:
        raise InvalidAction(f"Conversation {conversation_id} is not marked as spam.")
    if conversation.spam_at < retention_cutoff(uow):
        raise InvalidAction(
            f"Conversation {conversation_id} was marked as spam more than {uow.settings.retention_days} days "
            "ago; it has expired and is gone.", code="expired",
        )
    now = uow.now()
    conversation.spam_at = None
    ticket = conversation.ticket
    restored = ticket is not None and ticket.is_deleted and ticket.deleted_reason == SPAM
    if ticket is not None:
        ticket.touch(now)
        audit.record(uow, actor=actor, action="conversation.not_spam", ticket=ticket,
                     conversation_id=conversation.id, detail={"ticket_restored": restored})
        if restored:
            ticket.deleted_at = ticket.deleted_reason = ticket.deleted_by_id = None
            audit.record(uow, actor=actor, action="ticket.restored", ticket=ticket,
                         detail={"from": SPAM, "conversation_id": conversation.id})
    else:
        audit.record(uow, actor=actor, action="conversation.not_spam", conversation_id=conversation.id)
    uow.commit()
    return NotSpamResult(conversation=conversation, ticket=ticket, ticket_restored=restored)


def spam_conversations(*, uow: UnitOfWork, actor: User, limit: int = 100) -> list[SpamConversation]:
    """The spam view: spam conversations, most recently marked first, with a first-message preview."""
    require(actor, "ticket.view")
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    first = (
        select(Message.id)
        .where(Message.conversation_id == Conversation.id)
        .order_by(Message.sent_at, Message.id)
        .limit(1)
        .correlate(Conversation)
        .scalar_subquery()
    )
    stmt = (
        select(Conversation.id, Conversation.ticket_id, Ticket.name, Conversation.channel, Conversation.spam_at,
               Message.sender_name, Message.sender_email, func.substr(Message.text, 1, PREVIEW_CHARS))
        .outerjoin(Ticket, Ticket.id == Conversation.ticket_id)
        .outerjoin(Message, Message.id == first)
        .where(Conversation.spam_at.is_not(None))
        .order_by(Conversation.spam_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    return [
        SpamConversation(id=row[0], ticket_id=row[1], ticket_name=row[2], channel=row[3], spam_at=row[4],
                         sender_name=row[5], sender_email=row[6], preview=row[7] or "")
        for row in uow.session.execute(stmt)
    ]
