"""`deskpilot import`: load JSON Lines conversations or an mbox into the help desk, skipping duplicates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from core import audit
from core.inbound import ingest_email
from core.mail.importers import (
    ImportedConversation,
    SkippedRecord,
    count_records,
    detect_format,
    read_jsonl,
    read_mbox,
)
from core.models import CATEGORIES, HELP_DESK, AuditEvent, Conversation, Message, Ticket
from core.schemas import ContactIn, MessageIn
from core.tickets import add_message_row, find_or_create_contact
from core.uow import UnitOfWork


@dataclass
class ImportReport:
    total: int = 0
    tickets: int = 0
    messages: int = 0
    threaded: int = 0
    duplicates: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)


def import_path(*, uow: UnitOfWork, path: Path, on_progress: Callable[[int, int], None] | None = None) -> ImportReport:
    """Import every record of `path`; a bad record is skipped and reported, never aborting the file."""
    fmt = detect_format(path)
    report = ImportReport(total=count_records(path))
    done = 0
    if fmt == "jsonl":
        known = _imported_external_ids(uow)
        for record in read_jsonl(path):
            done += 1
            if isinstance(record, SkippedRecord):
                report.skipped += 1
                report.problems.append(f"line {record.position}: {record.reason}")
            else:
                _import_conversation(uow, record, known, report)
            if on_progress:
                on_progress(done, report.total)
    else:
        for parsed in read_mbox(path, max_bytes=uow.settings.max_email_bytes):
            done += 1
            if isinstance(parsed, SkippedRecord):
                report.skipped += 1
                report.problems.append(f"message {parsed.position}: {parsed.reason}")
            else:
                result = ingest_email(uow=uow, actor=None, parsed=parsed)
                report.messages += result.outcome != "duplicate"
                report.tickets += result.outcome == "new_ticket"
                report.threaded += result.outcome in ("threaded", "inbox", "spam")
                report.duplicates += result.outcome == "duplicate"
            if on_progress:
                on_progress(done, report.total)
    return report


def _imported_external_ids(uow: UnitOfWork) -> set[str]:
    rows = uow.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "ticket.imported"))
    return {str(d.get("external_id")) for d in rows if isinstance(d, dict)}


def _ticket_name(record: ImportedConversation) -> str:
    subject = " ".join((record.subject or "").split())
    if subject:
        return subject[:300]
    first = next((m.text for m in record.messages if m.text.strip()), "")
    words = " ".join(first.split())
    return (words[:77] + "...") if len(words) > 80 else (words or f"Imported conversation {record.external_id}")


def _import_conversation(uow: UnitOfWork, record: ImportedConversation, known: set[str], report: ImportReport) -> None:
    if record.external_id in known or not record.messages:
        report.duplicates += record.external_id in known
        report.skipped += not record.messages
        return
    ids = [m.message_id for m in record.messages if m.message_id]
    taken = set(uow.session.scalars(select(Message.email_message_id).where(Message.email_message_id.in_(ids))))
    if ids and ids[0] in taken:
        report.duplicates += 1
        return
    now = uow.now()
    first_in = next((m for m in record.messages if m.direction == "incoming"), record.messages[0])
    contact = find_or_create_contact(
        uow, ContactIn.model_construct(name=first_in.sender_name, email=first_in.sender_email or None)
    )
    hint = (record.category_hint or "").upper()
    ticket = Ticket(name=_ticket_name(record), channel=record.channel, contact=contact, unread=True,
                    category=hint if hint in CATEGORIES else None, created_at=now, updated_at=now,
                    last_activity_at=now)
    if contact is not None:
        ticket.contacts.append(contact)
    conversation = Conversation(channel=record.channel, location=HELP_DESK, ticket=ticket, contact=contact,
                                created_at=now, last_message_at=now)
    uow.session.add_all([ticket, conversation])
    seen: set[str] = set()
    for m in record.messages:
        mid = m.message_id if m.message_id and m.message_id not in taken and m.message_id not in seen else None
        if mid:
            seen.add(mid)
        data = MessageIn.model_construct(direction=m.direction, sender_name=m.sender_name,
                                         sender_email=m.sender_email or None, subject=m.subject or None,
                                         text=m.text or "(no text)", html=m.html, sent_at=m.sent_at)
        add_message_row(uow, conversation, data, author=None, email_message_id=mid, in_reply_to=m.in_reply_to)
    if conversation.messages:
        created = min(msg.sent_at for msg in conversation.messages)
        ticket.created_at = created
        ticket.last_activity_at = ticket.updated_at = conversation.last_message_at
    uow.session.flush()
    audit.record(uow, actor=None, action="ticket.imported", ticket=ticket,
                 detail={"external_id": record.external_id, "messages": len(record.messages)}, notify=False)
    uow.commit()
    known.add(record.external_id)
    report.tickets += 1
    report.messages += len(record.messages)
