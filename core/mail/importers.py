"""Readers for `deskpilot import FILE`: JSON Lines conversations and mbox mailboxes. Pure: no database.

A bad record never aborts a file. Each reader yields, in file order, either a record or a `SkippedRecord`
naming its 1-based position (the line for JSON Lines, the message for mbox) and the reason, so the caller
can count and report skips. Only an unreadable file (`OSError`) or an unknown format (`ValueError`) raises.
"""

from __future__ import annotations

import json
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr
from os import PathLike
from pathlib import Path
from typing import Any, BinaryIO, Literal

from core.errors import InvalidEmail, PayloadTooLarge
from core.mail.parse import (
    DEFAULT_MAX_BYTES,
    MAX_NAME_CHARS,
    MAX_SUBJECT_CHARS,
    ParsedEmail,
    html_to_text,
    normalize_message_id,
    parse_email,
    sanitize_html,
)

Direction = Literal["incoming", "outgoing"]
Channel = Literal["email", "chat"]
ImportFormat = Literal["jsonl", "mbox"]
StrPath = str | PathLike[str]

_DIRECTIONS: dict[str, Direction] = {"customer": "incoming", "agent": "outgoing"}


@dataclass
class ImportedMessage:
    """One message of an imported conversation, ready to store."""

    direction: Direction
    sender_name: str
    sender_email: str
    subject: str
    text: str
    html: str | None = None
    sent_at: datetime | None = None
    message_id: str | None = None
    in_reply_to: str | None = None

    @classmethod
    def from_parsed(cls, parsed: ParsedEmail, *, direction: Direction = "incoming") -> ImportedMessage:
        """The message a parsed email becomes (mbox imports and inbound mail)."""
        return cls(
            direction=direction,
            sender_name=parsed.from_name,
            sender_email=parsed.from_email,
            subject=parsed.subject,
            text=parsed.text,
            html=parsed.html,
            sent_at=parsed.sent_at,
            message_id=parsed.message_id,
            in_reply_to=parsed.in_reply_to,
        )


@dataclass
class ImportedConversation:
    """One imported conversation; `category_hint` is the source's own label, not a ticket category."""

    external_id: str
    subject: str
    channel: Channel
    category_hint: str | None
    messages: list[ImportedMessage] = field(default_factory=list)


@dataclass(frozen=True)
class SkippedRecord:
    """A record that could not be imported: its 1-based line (JSON Lines) or message (mbox) number."""

    position: int
    reason: str


def detect_format(path: StrPath) -> ImportFormat:
    """The import format named by the file's extension (`.jsonl`/`.ndjson` or `.mbox`)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix in (".mbox", ".mbx"):
        return "mbox"
    raise ValueError(f"Cannot import {Path(path).name}: expected a .jsonl or .mbox file.")


def count_records(path: StrPath) -> int:
    """How many records the reader will yield (non-blank lines, or mbox `From ` separators), for a progress bar."""
    with open(path, "rb") as fh:
        if detect_format(path) == "jsonl":
            return sum(1 for _, line in _numbered_lines(fh) if line.strip())
        return sum(1 for line in fh if line.startswith(b"From "))  # the same rule `mailbox.mbox` splits on


def read_jsonl(path: StrPath) -> Iterator[ImportedConversation | SkippedRecord]:
    """Conversations from a JSON Lines file (one per non-blank line); a malformed line yields a `SkippedRecord`."""
    with open(path, "rb") as fh:
        for number, line in _numbered_lines(fh):
            if not line.strip():
                continue
            result: ImportedConversation | SkippedRecord
            try:
                record = json.loads(line)
            except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
                result = SkippedRecord(number, f"not valid JSON: {exc}")
            else:
                try:
                    result = _conversation(record)
                except (ValueError, TypeError) as exc:
                    result = SkippedRecord(number, str(exc))
            yield result


def read_mbox(path: StrPath, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Iterator[ParsedEmail | SkippedRecord]:
    """Parsed emails from an mbox file, in file order; a message that fails to parse yields a `SkippedRecord`."""
    try:
        box = mailbox.mbox(path, create=False)
    except mailbox.NoSuchMailboxError as exc:
        raise FileNotFoundError(f"No such mbox file: {path}") from exc
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            result: ParsedEmail | SkippedRecord
            try:
                result = parse_email(box.get_bytes(key), max_bytes=max_bytes)
            except (InvalidEmail, PayloadTooLarge) as exc:
                result = SkippedRecord(number, exc.message)
            yield result
    finally:
        box.close()


def _numbered_lines(fh: BinaryIO) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(fh, start=1):
        yield number, line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line


def _conversation(record: Any) -> ImportedConversation:
    if not isinstance(record, dict):
        raise ValueError("the line is not a JSON object")
    external_id = record.get("id")
    if isinstance(external_id, bool) or not isinstance(external_id, str | int) or not str(external_id).strip():
        raise ValueError('the record has no "id"')
    raw_messages = record.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise ValueError('the record has no "messages"')
    subject = _string(record, "subject", "the record") or ""
    messages = [_message(raw, number, subject) for number, raw in enumerate(raw_messages, start=1)]
    is_chat = "twitter" in str(record.get("source") or "").lower() or any("tweet_id" in m for m in raw_messages)
    category = record.get("category")
    return ImportedConversation(
        external_id=str(external_id).strip(),
        subject=subject or messages[0].subject,
        channel="chat" if is_chat else "email",
        category_hint=(category.strip() or None) if isinstance(category, str) else None,
        messages=messages,
    )


def _message(raw: Any, number: int, conversation_subject: str) -> ImportedMessage:
    where = f"message {number}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} is not a JSON object")
    role = raw.get("from")
    direction = _DIRECTIONS.get(role) if isinstance(role, str) else None
    if direction is None:
        raise ValueError(f'{where}: "from" must be "customer" or "agent"')
    sender_name, sender_email = _sender(_string(raw, "sender", where))
    html = sanitize_html(html_source) if (html_source := _string(raw, "html", where)) else None
    text = _string(raw, "text", where) or ""
    return ImportedMessage(
        direction=direction,
        sender_name=sender_name,
        sender_email=sender_email,
        subject=(_string(raw, "subject", where) or conversation_subject)[:MAX_SUBJECT_CHARS],
        text=text.strip() or (html_to_text(html) if html else ""),
        html=html or None,
        sent_at=_timestamp(raw.get("sent_at")),
        message_id=normalize_message_id(_string(raw, "message_id", where)),
        in_reply_to=normalize_message_id(_string(raw, "in_reply_to", where)),
    )


def _string(record: dict[str, Any], key: str, where: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f'{where}: "{key}" must be a string')
    # NUL and lone surrogates (legal in JSON escapes) cannot be stored in PostgreSQL text.
    return value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _sender(value: str | None) -> tuple[str, str]:
    """`"Name" <addr>` or a bare address gives (name, address); anything else is a handle with no address."""
    if not value or not value.strip():
        return "", ""
    name, address = parseaddr(value)
    if "@" in address and not any(ch.isspace() for ch in address):
        return " ".join(name.split())[:MAX_NAME_CHARS], address.lower()
    return " ".join(value.split())[:MAX_NAME_CHARS], ""


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
