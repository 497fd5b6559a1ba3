"""Conversation inboxes (distinct from the help desk) and their conversations."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from core import audit
from core.errors import Conflict, NotFound
from core.models import INBOX, Conversation, Inbox, User
from core.permissions import require
from core.uow import UnitOfWork


def list_inboxes(*, uow: UnitOfWork, actor: User) -> list[Inbox]:
    require(actor, "ticket.view")
    return list(uow.session.scalars(select(Inbox).order_by(Inbox.id)))


def get_inbox(uow: UnitOfWork, inbox_id: int) -> Inbox:
    inbox = uow.session.get(Inbox, inbox_id)
    if inbox is None:
        raise NotFound(f"Inbox {inbox_id} not found.")
    return inbox


def inbox_conversations(*, uow: UnitOfWork, actor: User, inbox_id: int) -> list[Conversation]:
    """Conversations currently in an inbox (not in the help desk, not spam), newest first."""
    require(actor, "ticket.view")
    get_inbox(uow, inbox_id)
    stmt = (
        select(Conversation)
        .where(Conversation.inbox_id == inbox_id, Conversation.location == INBOX, Conversation.spam_at.is_(None))
        .options(selectinload(Conversation.messages))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    return list(uow.session.scalars(stmt))


def create_inbox(*, uow: UnitOfWork, actor: User | None, name: str) -> Inbox:
    """Create an inbox (super admins, or the CLI/demo with `actor=None`)."""
    if actor is not None:
        require(actor, "users.manage")
    if uow.session.scalar(select(Inbox.id).where(Inbox.name == name)) is not None:
        raise Conflict(f"An inbox named {name!r} already exists.")
    inbox = Inbox(name=name)
    uow.session.add(inbox)
    uow.session.flush()
    audit.record(uow, actor=actor, action="inbox.created", detail={"inbox_id": inbox.id, "name": name})
    uow.commit()
    return inbox
