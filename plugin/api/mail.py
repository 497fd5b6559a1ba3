"""Replies with files, attachments, delivery (retry, chat outbox) and the user's email preference."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from core import attachments
from core.errors import PayloadTooLarge, ValidationFailed
from core.mail import notify, outbox
from core.schemas import MessageIn, Strict
from core.tickets import add_message
from plugin.deps import CurrentUser, State, UoW
from plugin.errors import error_response
from plugin.schemas import MessageOut

T = TypeVar("T")
FORM_OVERHEAD = 1_000_000  # room for the text fields and multipart boundaries


# The mail queue is started with the server by plugin.app.start_background.
router = APIRouter(tags=["email"])


class OutboxItem(MessageOut):
    ticket_id: int | None
    contact_id: int | None
    contact_email: str | None


class OutboxPage(BaseModel):
    items: list[OutboxItem]


class PreferencesIn(Strict):
    email_notifications: bool


class PreferencesOut(BaseModel):
    email_notifications: bool


async def _files(request: Request, max_bytes: int, *, field: str = "files") -> tuple[list[attachments.Upload], Any]:
    """The uploaded files (each read up to the limit, so an oversized one is a 413) and the other form fields."""
    declared = request.headers.get("content-length", "")
    budget = max_bytes * attachments.MAX_FILES_PER_MESSAGE + FORM_OVERHEAD
    if declared.isdigit() and int(declared) > budget:
        raise PayloadTooLarge(f"The upload is {int(declared):,} bytes; at most {budget:,} bytes per request.")
    form = await request.form(max_files=attachments.MAX_FILES_PER_MESSAGE, max_fields=20)
    uploads = []
    for item in form.getlist(field):
        if not isinstance(item, UploadFile):
            raise ValidationFailed(f"'{field}' must be files.", field=field)
        data = await item.read(max_bytes + 1)
        await item.close()
        uploads.append(attachments.Upload(item.filename or "attachment", data))
    return uploads, form


def _unsupported_as_415(call: Callable[..., T], **kwargs: Any) -> T | Response:
    try:
        return call(**kwargs)
    except attachments.UnsupportedMediaType as exc:
        return error_response(415, exc.code, exc.message, field="files")


@router.post("/conversations/{conversation_id}/messages/multipart", response_model=MessageOut, status_code=201,
             tags=["conversations"])
async def add_message_with_files(conversation_id: int, request: Request, state: State, uow: UoW,
                                 user: CurrentUser) -> Any:
    """Like POST /conversations/{id}/messages, as multipart/form-data with `files` (an email reply sends them)."""
    uploads, form = await _files(request, state.settings.max_attachment_bytes)
    fields = {k: v for k, v in form.items() if k != "files" and isinstance(v, str)}
    try:
        data = MessageIn.model_validate(fields)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "body"
        raise ValidationFailed(f"{field}: {first['msg']}", field=field) from exc
    result = await run_in_threadpool(_unsupported_as_415, add_message, uow=uow, actor=user,
                                     conversation_id=conversation_id, data=data, files=uploads)
    return result if isinstance(result, Response) else MessageOut.build(result)


@router.post("/messages/{message_id}/attachments", response_model=MessageOut, status_code=201)
async def upload_attachments(message_id: int, request: Request, state: State, uow: UoW, user: CurrentUser) -> Any:
    """Add files (multipart field `files`, repeatable) to a note or an incoming message."""
    uploads, _ = await _files(request, state.settings.max_attachment_bytes)
    result = await run_in_threadpool(_unsupported_as_415, attachments.add_attachments, uow=uow, actor=user,
                                     message_id=message_id, uploads=uploads)
    if isinstance(result, Response):
        return result
    return MessageOut.build(outbox.get_message(uow=uow, actor=user, message_id=message_id))


def _disposition(filename: str) -> str:
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/attachments/{attachment_id}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_attachment(attachment_id: int, uow: UoW, user: CurrentUser) -> Response:
    """The file, always as a download (never rendered inline)."""
    attachment, data = attachments.get_attachment(uow=uow, actor=user, attachment_id=attachment_id)
    return Response(data, media_type=attachment.content_type, headers={
        "Content-Disposition": _disposition(attachment.filename),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })


@router.get("/messages/{message_id}", response_model=MessageOut)
def get_message(message_id: int, uow: UoW, user: CurrentUser) -> MessageOut:
    return MessageOut.build(outbox.get_message(uow=uow, actor=user, message_id=message_id))


@router.post("/messages/{message_id}/retry", response_model=MessageOut, status_code=202)
def retry_delivery(message_id: int, uow: UoW, user: CurrentUser) -> MessageOut:
    """Queue a failed (or waiting) email reply again; it is sent in the background."""
    return MessageOut.build(outbox.retry_delivery(uow=uow, actor=user, message_id=message_id))


@router.get("/outbox", response_model=OutboxPage)
def list_outbox(uow: UoW, user: CurrentUser, channel: str = "chat", limit: int = 100) -> OutboxPage:
    """Chat replies the host application has yet to deliver, oldest first."""
    items = []
    for message in outbox.list_outbox(uow=uow, actor=user, channel=channel, limit=limit):
        conversation = message.conversation
        contact = conversation.contact
        items.append(OutboxItem(**MessageOut.build(message).model_dump(), ticket_id=conversation.ticket_id,
                                contact_id=conversation.contact_id, contact_email=contact.email if contact else None))
    return OutboxPage(items=items)


@router.post("/outbox/{message_id}/delivered", response_model=MessageOut)
def mark_delivered(message_id: int, uow: UoW, user: CurrentUser) -> MessageOut:
    """The host delivered this chat reply."""
    return MessageOut.build(outbox.mark_delivered(uow=uow, actor=user, message_id=message_id))


@router.get("/me/preferences", response_model=PreferencesOut, tags=["users"])
def get_preferences(user: CurrentUser) -> PreferencesOut:
    return PreferencesOut(email_notifications=user.email_notifications)


@router.put("/me/preferences", response_model=PreferencesOut, tags=["users"])
def set_preferences(body: PreferencesIn, uow: UoW, user: CurrentUser) -> PreferencesOut:
    """Opt in or out of follow notifications by email."""
    updated = notify.set_email_notifications(uow=uow, actor=user, enabled=body.email_notifications)
    return PreferencesOut(email_notifications=updated.email_notifications)
