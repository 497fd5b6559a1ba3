"""Email intake: thread a parsed email into its conversation, or open a new ticket in the help desk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select

from core import audit
from core.attachments import Upload, keep_what_fits
from core.mail.parse import ParsedEmail, parse_email, thread_keys
from core.models import HELP_DESK, Conversation, Message, Ticket, User
from core.permissions import require
from core.schemas import ContactIn, MessageIn
from core.tickets import add_message_row, find_or_create_contact
from core.uow import UnitOfWork

Outcome = Literal["new_ticket", "threaded", "duplicate", "spam", "inbox"]
MAX_SUBJECT = 300


@dataclass(frozen=True)
class IntakeResult:
    outcome: Outcome
    ticket_id: int | None
    conversation_id: int
    message_id: int


def ingest_raw_email(*, uow: UnitOfWork, actor: User | None, raw: bytes) -> IntakeResult:
    """Parse a raw RFC 822 message (size-limited) and take it in."""
    if actor is not None:
        require(actor, "email.ingest")
    parsed = parse_email(raw, max_bytes=uow.settings.max_email_bytes)
    return ingest_email(uow=uow, actor=actor, parsed=parsed)


def _message_in(parsed: ParsedEmail) -> MessageIn:
    return MessageIn.model_construct(
        direction="incoming", sender_name=parsed.from_name or parsed.from_email, sender_email=parsed.from_email,
        subject=parsed.subject[:998] or None, text=parsed.text or "(no text)", html=parsed.html,
        sent_at=parsed.sent_at,
    )


def _keep_files(uow: UnitOfWork, message: Message, parsed: ParsedEmail) -> dict[str, object]:
    """Attach the email's files; ones over the limits are left out (never the email) and named in the audit."""
    dropped = keep_what_fits(uow, message, [Upload(a.filename, a.data) for a in parsed.attachments])
    return {"attachments_dropped": dropped} if dropped else {}


def _thread(uow: UnitOfWork, parsed: ParsedEmail) -> Conversation | None:
    keys = thread_keys(parsed)
    if not keys:
        return None
    rows = {m.email_message_id: m for m in uow.session.scalars(
        select(Message).where(Message.email_message_id.in_(keys)))}
    for key in keys:
        if key in rows:
            return rows[key].conversation
    return None


def ingest_email(*, uow: UnitOfWork, actor: User | None, parsed: ParsedEmail) -> IntakeResult:
    """Idempotent by Message-ID; replies thread by In-Reply-To/References; a spam thread stays in spam."""
    if parsed.message_id:
        seen = uow.session.scalar(select(Message).where(Message.email_message_id == parsed.message_id))
        if seen is not None:
            return IntakeResult("duplicate", seen.conversation.ticket_id, seen.conversation_id, seen.id)
    conversation = _thread(uow, parsed)
    data = _message_in(parsed)
    if conversation is not None:
        ticket = conversation.ticket
        if conversation.spam_at is not None:
            message = add_message_row(uow, conversation, data, author=None, email_message_id=parsed.message_id,
                                      in_reply_to=parsed.in_reply_to)
            files = _keep_files(uow, message, parsed)
            uow.session.flush()
            audit.record(uow, actor=actor, action="email.received_in_spam", ticket_id=conversation.ticket_id,
                         conversation_id=conversation.id, detail={"message_id": message.id, **files}, notify=False)
            uow.commit()
            return IntakeResult("spam", conversation.ticket_id, conversation.id, message.id)
        if ticket is None or not ticket.is_deleted:
            message = add_message_row(uow, conversation, data, author=None, email_message_id=parsed.message_id,
                                      in_reply_to=parsed.in_reply_to)
            files = _keep_files(uow, message, parsed)
            uow.session.flush()
            if ticket is not None and conversation.location == HELP_DESK:
                ticket.unread = True
                ticket.touch(uow.now())
            audit.record(uow, actor=actor, action="message.incoming", ticket=ticket, conversation_id=conversation.id,
                         detail={"message_id": message.id, "via": "email", **files})
            uow.commit()
            outcome: Outcome = "threaded" if conversation.location == HELP_DESK else "inbox"
            return IntakeResult(outcome, ticket.id if ticket else None, conversation.id, message.id)
        return _new_ticket(uow, actor, parsed, data, reply_to_deleted=ticket)
    return _new_ticket(uow, actor, parsed, data, reply_to_deleted=None)


def _new_ticket(uow: UnitOfWork, actor: User | None, parsed: ParsedEmail, data: MessageIn,
                *, reply_to_deleted: Ticket | None) -> IntakeResult:
    now = uow.now()
    contact = find_or_create_contact(uow, ContactIn.model_construct(name=parsed.from_name,
                                                                    email=parsed.from_email or None))
    name = " ".join(parsed.subject.split())[:MAX_SUBJECT] or f"Email from {parsed.from_name or parsed.from_email}"
    ticket = Ticket(name=name, channel="email", contact=contact, unread=True, created_at=now, updated_at=now,
                    last_activity_at=now)
    if contact is not None:
        ticket.contacts.append(contact)
    conversation = Conversation(channel="email", location=HELP_DESK, ticket=ticket, contact=contact,
                                created_at=now, last_message_at=now)
    uow.session.add_all([ticket, conversation])
    message = add_message_row(uow, conversation, data, author=None, email_message_id=parsed.message_id,
                              in_reply_to=parsed.in_reply_to)
    files = _keep_files(uow, message, parsed)
    uow.session.flush()
    detail: dict[str, object] = {"channel": "email", "via": "email", "message_id": message.id, **files}
    if reply_to_deleted is not None:
        detail["reply_to_deleted_ticket_id"] = reply_to_deleted.id
        audit.record(uow, actor=actor, action="email.reply_to_deleted", ticket_id=reply_to_deleted.id,
                     detail={"new_ticket_id": ticket.id}, notify=False)
    audit.record(uow, actor=actor, action="ticket.created", ticket=ticket, detail=detail)
    uow.commit()
    return IntakeResult("new_ticket", ticket.id, conversation.id, message.id)
