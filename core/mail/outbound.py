"""Outbound email: compose a reply with the thread's headers, send it over SMTP (aiosmtplib), record the outcome."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from sqlalchemy import select

from core import attachments as attachment_store
from core import audit
from core.config import Settings
from core.mail import queue
from core.models import Conversation, Message
from core.uow import UnitOfWork

log = logging.getLogger("deskpilot.mail")

NOT_CONFIGURED = "SMTP is not configured (set DESKPILOT_SMTP_HOST); the reply waits in the queue."
NO_RECIPIENT = "The conversation has no customer email address to send the reply to."
HOST_DELIVERED_CHANNELS = frozenset({"chat"})  # the host application delivers these (GET /outbox)
MAX_REFERENCES = 50
MAX_ERROR_CHARS = 1000
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)


class SendFailure(Exception):
    """A failed SMTP attempt: `permanent` (5xx) ones are not retried."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def sender_domain(settings: Settings) -> str:
    """The domain of the From address, used for Message-IDs."""
    domain = parseaddr(settings.smtp_from)[1].rpartition("@")[2].strip().lower()
    return re.sub(r"[^a-z0-9.-]", "", domain) or "deskpilot.localhost"


def new_message_id(settings: Settings) -> str:
    """A globally unique Message-ID in our own domain."""
    return f"<{uuid.uuid4().hex}@{sender_domain(settings)}>"


def reply_subject(conversation: Conversation, exclude: Message | None = None) -> str:
    """ "Re: " and the thread's latest subject (never "Re: Re: ..."); the ticket name if no message has one."""
    subjects = [m.subject for m in conversation.messages if m.subject and m is not exclude]
    base = subjects[-1] if subjects else (conversation.ticket.name if conversation.ticket else "")
    base = _REPLY_PREFIX.sub("", " ".join(base.split()))
    return f"Re: {base}"[:998] if base else "Re: your request"


def recipient(conversation: Conversation) -> tuple[str, str] | None:
    """(name, address) of the customer: the conversation's contact, else the latest incoming sender."""
    contact = conversation.contact or (conversation.ticket.contact if conversation.ticket else None)
    if contact is not None and contact.email:
        return contact.name, contact.email
    for message in reversed(conversation.messages):
        if message.direction == "incoming" and message.sender_email:
            return message.sender_name, message.sender_email
    return None


def prepare_delivery(uow: UnitOfWork, conversation: Conversation, message: Message) -> None:
    """Give an outgoing message its delivery: SMTP for email (with thread ids), the outbox for chat; notes never."""
    if message.direction != "outgoing":
        return
    if conversation.channel in HOST_DELIVERED_CHANNELS:
        message.delivery_status = "queued"
        return
    if conversation.channel != "email":
        return
    thread = [m.email_message_id for m in conversation.messages if m.email_message_id and m is not message]
    message.email_message_id = new_message_id(uow.settings)
    message.in_reply_to = thread[-1] if thread else None
    message.subject = " ".join((message.subject or reply_subject(conversation, exclude=message)).split())[:998]
    message.delivery_status = "queued"
    message.delivery_attempts = 0
    message.delivery_error = None if uow.settings.smtp_host else NOT_CONFIGURED
    queue.send_after_commit(uow, "reply", message)


def references(conversation: Conversation, message: Message) -> list[str]:
    """The thread's Message-IDs before `message`, oldest first (the root and the newest when there are many)."""
    ids: list[str] = []
    for other in conversation.messages:
        if other is message:
            break
        if other.email_message_id and other.email_message_id not in ids:
            ids.append(other.email_message_id)
    return ids if len(ids) <= MAX_REFERENCES else [ids[0], *ids[-(MAX_REFERENCES - 1) :]]


def compose_reply(uow: UnitOfWork, message: Message) -> EmailMessage:
    """The email for a queued reply; raises `SendFailure` (permanent) when it cannot be addressed."""
    conversation = message.conversation
    to = recipient(conversation)
    if to is None:
        raise SendFailure(NO_RECIPIENT, permanent=True)
    email = EmailMessage()
    email["From"] = uow.settings.smtp_from
    email["To"] = formataddr((" ".join(to[0].split()), to[1]))
    email["Subject"] = " ".join((message.subject or reply_subject(conversation, exclude=message)).split())
    email["Date"] = format_datetime(message.sent_at)
    email["Message-ID"] = message.email_message_id or new_message_id(uow.settings)
    if message.in_reply_to:
        email["In-Reply-To"] = message.in_reply_to
    thread = references(conversation, message)
    if thread:
        email["References"] = " ".join(thread)
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    for item in message.attachments:
        maintype, _, subtype = item.content_type.partition("/")
        email.add_attachment(
            attachment_store.read_bytes(uow, item), maintype=maintype, subtype=subtype, filename=item.filename
        )
    return email


def smtp_send(settings: Settings, email: EmailMessage) -> None:
    """Hand one email to the configured SMTP server; raise `SendFailure` with the server's reason."""
    import aiosmtplib  # imported here so the CLI and app start without it

    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        asyncio.run(
            aiosmtplib.send(
                email,
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_user or None,
                password=password,
                use_tls=settings.smtp_tls,
                start_tls=settings.smtp_starttls and not settings.smtp_tls,
                timeout=settings.smtp_timeout,
            )
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        reason = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        raise SendFailure(f"Recipient refused: {reason}"[:MAX_ERROR_CHARS], all(c >= 500 for c in codes)) from exc
    except aiosmtplib.SMTPAuthenticationError as exc:  # a settings problem: fixable, so retried
        raise SendFailure(f"SMTP login failed: {exc.code} {exc.message}"[:MAX_ERROR_CHARS], False) from exc
    except aiosmtplib.SMTPResponseException as exc:
        raise SendFailure(f"{exc.code} {exc.message}"[:MAX_ERROR_CHARS], 500 <= exc.code < 600) from exc
    except (aiosmtplib.SMTPException, OSError) as exc:
        detail = str(exc) or type(exc).__name__
        where = f"{settings.smtp_host}:{settings.smtp_port}"
        raise SendFailure(f"Could not deliver through {where}: {detail}"[:MAX_ERROR_CHARS], False) from exc


def retry_delay(settings: Settings, attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: backoff, x4 each time."""
    return float(settings.smtp_retry_backoff * 4 ** max(attempts - 1, 0))


def deliver_reply(*, uow: UnitOfWork, message_id: int) -> float | None:
    """One attempt at a queued email reply; returns the delay before the next attempt, or None when done."""
    stmt = select(Message).where(Message.id == message_id).with_for_update(skip_locked=True)
    message = uow.session.scalar(stmt)  # on PostgreSQL the row stays locked while sending: no double send
    if message is None or message.delivery_status != "queued" or message.conversation.channel != "email":
        return None
    settings = uow.settings
    if not settings.smtp_host:
        if message.delivery_error != NOT_CONFIGURED:
            message.delivery_error = NOT_CONFIGURED
            uow.commit()
        return None
    message.delivery_attempts += 1
    try:
        smtp_send(settings, compose_reply(uow, message))
    except SendFailure as failure:
        message.delivery_error = failure.reason
        if failure.permanent or message.delivery_attempts >= settings.smtp_max_attempts:
            message.delivery_status = "failed"
            audit.record(
                uow,
                actor=None,
                action="message.delivery_failed",
                ticket_id=message.conversation.ticket_id,
                conversation_id=message.conversation_id,
                detail={"message_id": message.id, "error": failure.reason, "attempts": message.delivery_attempts},
                notify=False,
            )
            uow.commit()
            log.warning(
                "reply %s failed after %s attempt(s): %s", message.id, message.delivery_attempts, failure.reason
            )
            return None
        uow.commit()
        return retry_delay(settings, message.delivery_attempts)
    message.delivery_status = "sent"
    message.delivery_error = None
    message.sent_via_smtp_at = uow.now()
    uow.commit()
    return None
