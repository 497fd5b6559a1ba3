"""Delivery of replies as the API sees it: the chat outbox the host drains, and retrying a failed email."""

from __future__ import annotations

from sqlalchemy import select

from core import audit
from core.errors import InvalidAction, NotFound, ValidationFailed
from core.mail import queue
from core.mail.outbound import HOST_DELIVERED_CHANNELS, NOT_CONFIGURED
from core.models import Conversation, Message, User
from core.permissions import require
from core.uow import UnitOfWork

MAX_LIMIT = 500


def get_message(*, uow: UnitOfWork, actor: User, message_id: int) -> Message:
    """One message, with its delivery status and attachments."""
    require(actor, "ticket.view")
    message = uow.session.get(Message, message_id)
    if message is None:
        raise NotFound(f"Message {message_id} not found.")
    return message


def list_outbox(*, uow: UnitOfWork, actor: User, channel: str = "chat", limit: int = 100) -> list[Message]:
    """Replies the host application still has to deliver on `channel`, oldest first."""
    require(actor, "ticket.view")
    if channel not in HOST_DELIVERED_CHANNELS:
        raise ValidationFailed(
            f"The outbox holds replies the host delivers ({', '.join(sorted(HOST_DELIVERED_CHANNELS))}); "
            f"'{channel}' replies are not delivered by the host.", field="channel",
        )
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {MAX_LIMIT}.", field="limit")
    stmt = (
        select(Message).join(Conversation, Message.conversation_id == Conversation.id)
        .where(Message.delivery_status == "queued", Message.direction == "outgoing", Conversation.channel == channel)
        .order_by(Message.created_at, Message.id).limit(limit)
    )
    return list(uow.session.scalars(stmt))


def mark_delivered(*, uow: UnitOfWork, actor: User, message_id: int) -> Message:
    """The host delivered a chat reply; it leaves the outbox (idempotent)."""
    require(actor, "message.create")
    message = get_message(uow=uow, actor=actor, message_id=message_id)
    if message.conversation.channel not in HOST_DELIVERED_CHANNELS or message.delivery_status is None:
        raise InvalidAction(f"Message {message.id} is not a reply the host delivers.")
    if message.delivery_status != "sent":
        message.delivery_status = "sent"
        message.delivery_error = None
        audit.record(uow, actor=actor, action="message.delivered", ticket_id=message.conversation.ticket_id,
                     conversation_id=message.conversation_id, detail={"message_id": message.id}, notify=False)
        uow.commit()
    return message


def retry_delivery(*, uow: UnitOfWork, actor: User, message_id: int) -> Message:
    """Put a queued or failed email reply back in the queue with fresh attempts; it is sent after the commit."""
    require(actor, "message.create")
    # Locked (PostgreSQL): a send in progress finishes first, so a just-sent reply is not queued again.
    message = uow.session.scalar(select(Message).where(Message.id == message_id).with_for_update())
    if message is None:
        raise NotFound(f"Message {message_id} not found.")
    if message.conversation.channel != "email" or message.delivery_status is None:
        raise InvalidAction(f"Message {message.id} is not an email reply, so there is nothing to send.")
    if message.delivery_status == "sent":
        raise InvalidAction(f"Message {message.id} was already sent.")
    message.delivery_status = "queued"
    message.delivery_attempts = 0
    message.delivery_error = None if uow.settings.smtp_host else NOT_CONFIGURED
    audit.record(uow, actor=actor, action="message.delivery_retried", ticket_id=message.conversation.ticket_id,
                 conversation_id=message.conversation_id, detail={"message_id": message.id}, notify=False)
    queue.send_after_commit(uow, "reply", message)
    uow.commit()
    return message
