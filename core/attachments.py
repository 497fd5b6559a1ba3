"""Attachments: limits, content types sniffed from the bytes, and one storage interface (disk or database)."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete

from core import audit
from core.config import Settings
from core.errors import DeskpilotError, InvalidAction, NotFound, PayloadTooLarge, ValidationFailed
from core.models import Attachment, AttachmentBlob, Message, User
from core.permissions import require
from core.uow import UnitOfWork

OCTET_STREAM = "application/octet-stream"
MAX_FILES_PER_MESSAGE = 20
MAX_FILENAME_CHARS = 255
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")

# Magic numbers of the types we accept; everything else is judged by whether it reads as text.
SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty archive
)


class UnsupportedMediaType(DeskpilotError):
    """The file's content (sniffed, not as declared) is not an allowed type."""

    code = "unsupported_media_type"


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the sender gave it and its bytes."""

    filename: str
    data: bytes


def sniff(data: bytes) -> str:
    """The content type the bytes really have (the declared type is never trusted)."""
    for magic, content_type in SIGNATURES:
        if data.startswith(magic):
            return content_type
    return "text/plain" if _looks_like_text(data[:8192]) else OCTET_STREAM


def _looks_like_text(sample: bytes) -> bool:
    if b"\x00" in sample:
        return False
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(sample) - 3:  # only a character cut off at the end of the sample is forgiven
            return False
        text = sample[: exc.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\n\r\f" for ch in text)


def clean_filename(name: str | None) -> str:
    """A display- and header-safe file name: no directories, control characters or leading dots."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name or ""))[-1]
    base = re.sub(r"[\x00-\x1f\x7f\"]+", "", base).strip().lstrip(".").strip()
    if len(base) > MAX_FILENAME_CHARS:
        stem, dot, ext = base.rpartition(".")
        keep = ext if dot and len(ext) <= 16 else ""
        base = (stem if keep else base)[: MAX_FILENAME_CHARS - len(keep) - 1] + (f".{keep}" if keep else "")
    return base or "attachment"


def check(settings: Settings, upload: Upload) -> str:
    """The sniffed content type of an acceptable file; too big is 413, a refused type 415."""
    if len(upload.data) > settings.max_attachment_bytes:
        raise PayloadTooLarge(
            f"'{clean_filename(upload.filename)}' is {len(upload.data):,} bytes; "
            f"the limit is {settings.max_attachment_bytes:,} bytes.",
            limit=settings.max_attachment_bytes,
        )
    content_type = sniff(upload.data)
    if content_type not in settings.attachment_allowed_types:
        allowed = ", ".join(settings.attachment_allowed_types)
        raise UnsupportedMediaType(
            f"'{clean_filename(upload.filename)}' is {content_type}, which is not allowed (allowed: {allowed})."
        )
    return content_type


# --- storage ---------------------------------------------------------------------------------------


class AttachmentStore(Protocol):
    """Where attachment bytes live. Calls happen inside the action's unit of work."""

    def put(self, uow: UnitOfWork, key: str, data: bytes) -> None: ...

    def get(self, uow: UnitOfWork, key: str) -> bytes: ...

    def discard(self, uow: UnitOfWork, keys: Sequence[str]) -> None: ...


class DiskStore:
    """Files under a directory; removal waits for the commit so a rolled-back purge keeps the bytes."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise NotFound("No such attachment file.")
        return self.root / key

    def put(self, uow: UnitOfWork, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)

    def get(self, uow: UnitOfWork, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound("The attachment's file is missing from the attachment store.") from exc

    def discard(self, uow: UnitOfWork, keys: Sequence[str]) -> None:
        paths = [self._path(k) for k in keys if _KEY.match(k)]

        def remove() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        uow.after_commit(remove)


class DatabaseStore:
    """Bytes in the `attachment_blobs` table, written and removed in the action's own transaction."""

    def put(self, uow: UnitOfWork, key: str, data: bytes) -> None:
        uow.session.add(AttachmentBlob(key=key, data=data))

    def get(self, uow: UnitOfWork, key: str) -> bytes:
        blob = uow.session.get(AttachmentBlob, key)
        if blob is None:
            raise NotFound("The attachment's bytes are missing from the attachment store.")
        return blob.data

    def discard(self, uow: UnitOfWork, keys: Sequence[str]) -> None:
        for start in range(0, len(keys), 1000):
            uow.session.execute(delete(AttachmentBlob).where(AttachmentBlob.key.in_(keys[start:start + 1000]))
                                .execution_options(synchronize_session=False))


def store_for(settings: Settings) -> AttachmentStore:
    """The configured attachment store (disk by default)."""
    if settings.attachments_store == "database":
        return DatabaseStore()
    return DiskStore(settings.attachments_dir)


# --- actions ---------------------------------------------------------------------------------------


def attach(uow: UnitOfWork, message: Message, upload: Upload) -> Attachment:
    """Check one file, store its bytes and add it to `message` (no commit; callers checked permission)."""
    content_type = check(uow.settings, upload)
    key = f"{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}"
    store_for(uow.settings).put(uow, key, upload.data)
    attachment = Attachment(
        filename=clean_filename(upload.filename), content_type=content_type, size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(), storage_key=key, created_at=uow.now(),
    )
    message.attachments.append(attachment)
    return attachment


def attach_all(uow: UnitOfWork, message: Message, uploads: Sequence[Upload]) -> None:
    """Attach every file or none: the first refused one raises."""
    if len(uploads) > MAX_FILES_PER_MESSAGE:
        raise ValidationFailed(f"At most {MAX_FILES_PER_MESSAGE} files per message.", field="files")
    for upload in uploads:
        attach(uow, message, upload)


def keep_what_fits(uow: UnitOfWork, message: Message, uploads: Sequence[Upload]) -> list[dict[str, Any]]:
    """Attach the files that pass the limits (inbound mail is never refused for a file); report the rest."""
    dropped: list[dict[str, Any]] = []
    for index, upload in enumerate(uploads):
        name = clean_filename(upload.filename)
        if index >= MAX_FILES_PER_MESSAGE:
            dropped.append({"filename": name, "reason": f"more than {MAX_FILES_PER_MESSAGE} files"})
            continue
        try:
            attach(uow, message, upload)
        except (PayloadTooLarge, UnsupportedMediaType) as exc:
            dropped.append({"filename": name, "reason": exc.message})
    return dropped


def add_attachments(*, uow: UnitOfWork, actor: User, message_id: int, uploads: Sequence[Upload]) -> list[Attachment]:
    """Upload files onto an existing message (all or nothing); an email reply takes its files when created."""
    require(actor, "message.create")
    message = uow.session.get(Message, message_id)
    if message is None:
        raise NotFound(f"Message {message_id} not found.")
    if not uploads:
        raise ValidationFailed("Choose at least one file.", field="files")
    conversation = message.conversation
    if conversation.spam_at is not None:
        raise InvalidAction(f"Conversation {conversation.id} is in spam; mark it as not spam first.")
    if conversation.ticket is not None and conversation.ticket.is_deleted:
        raise InvalidAction(f"Ticket {conversation.ticket.id} is in the trash; restore it first.")
    if message.direction == "outgoing" and message.delivery_status is not None:
        raise InvalidAction(
            f"Message {message.id} is a reply the customer receives as sent; attach files when you write the reply."
        )
    if len(message.attachments) + len(uploads) > MAX_FILES_PER_MESSAGE:
        raise ValidationFailed(f"A message holds at most {MAX_FILES_PER_MESSAGE} files.", field="files")
    added = [attach(uow, message, upload) for upload in uploads]
    uow.session.flush()
    audit.record(uow, actor=actor, action="message.attachments_added", ticket_id=conversation.ticket_id,
                 conversation_id=conversation.id,
                 detail={"message_id": message.id, "attachment_ids": [a.id for a in added]}, notify=False)
    uow.commit()
    return added


def get_attachment(*, uow: UnitOfWork, actor: User, attachment_id: int) -> tuple[Attachment, bytes]:
    """An attachment's record and bytes, for any signed-in user."""
    require(actor, "ticket.view")
    attachment = uow.session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"Attachment {attachment_id} not found.")
    return attachment, read_bytes(uow, attachment)


def read_bytes(uow: UnitOfWork, attachment: Attachment) -> bytes:
    """The stored bytes of an attachment."""
    return store_for(uow.settings).get(uow, attachment.storage_key)
