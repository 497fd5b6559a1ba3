"""The ticket thread's composer (a reply to the customer or an internal note, with files), attachment
downloads for signed-in users, and retrying a reply that could not be sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from core import attachments, tickets
from core.errors import DeskpilotError, PayloadTooLarge, ValidationFailed
from core.mail import outbox
from core.models import Message
from core.schemas import MessageIn
from plugin.deps import State, UoW
from plugin.web.auth import FormUser, PageUser
from plugin.web.forms import show_refusal, ticket_page
from plugin.web.render import WebRoute, redirect

router = APIRouter(route_class=WebRoute)
KINDS = {"reply": "outgoing", "note": "comment"}
FORM_OVERHEAD = 1_000_000  # the text fields and multipart boundaries around the files


def upload_budget(request: Request, state: State) -> None:
    """Refuse an oversized body from its declared length, before the form (and its files) is parsed."""
    declared = request.headers.get("content-length", "")
    budget = state.settings.max_attachment_bytes * attachments.MAX_FILES_PER_MESSAGE + FORM_OVERHEAD
    if declared.isdigit() and int(declared) > budget:
        raise PayloadTooLarge(f"The upload is {int(declared):,} bytes; at most {budget:,} bytes at once.")


async def _uploads(form: Any, max_bytes: int) -> list[attachments.Upload]:
    """The chosen files, each read up to the limit (core refuses a bigger one); an empty file input is none."""
    found = []
    for item in form.getlist("files"):
        if not isinstance(item, UploadFile):
            continue
        data = await item.read(max_bytes + 1)
        await item.close()
        if item.filename or data:
            found.append(attachments.Upload(item.filename or "attachment", data))
    return found


def _status(exc: DeskpilotError) -> int | None:
    return 415 if isinstance(exc, attachments.UnsupportedMediaType) else None


@router.post("/tickets/{ticket_id}/conversations/{conversation_id}/messages", name="web_compose",
             dependencies=[Depends(upload_budget)])
async def compose(request: Request, ticket_id: int, conversation_id: int, state: State, uow: UoW,
                  user: FormUser) -> Response:
    """Send a reply (email replies are queued for delivery) or add an internal note, with any files."""
    form = await request.form()  # already read by the CSRF check; this is the cached copy
    kind = str(form.get("kind") or "reply")
    try:
        if kind not in KINDS:
            raise ValidationFailed("Choose a reply or an internal note.", field="kind")
        files = await _uploads(form, state.settings.max_attachment_bytes)
        try:
            data = MessageIn(direction=KINDS[kind], text=str(form.get("text") or "").strip())
        except ValidationError:
            raise ValidationFailed("Write a message first.", field="text") from None
        message: Message = await run_in_threadpool(
            tickets.add_message, uow=uow, actor=user, conversation_id=conversation_id, data=data, files=files)
    except DeskpilotError as exc:
        return await run_in_threadpool(show_refusal, request, uow, exc, ticket_page(uow, user, ticket_id),
                                       _status(exc))
    return redirect(request, f"/tickets/{ticket_id}", c=conversation_id,
                    notice="reply_saved" if kind == "reply" else "note_added", anchor=f"m{message.id}")


@router.post("/tickets/{ticket_id}/messages/{message_id}/retry", name="web_retry_delivery")
def retry(request: Request, ticket_id: int, message_id: int, uow: UoW, user: FormUser) -> Response:
    """Queue a failed (or waiting) email reply again."""
    try:
        message = outbox.retry_delivery(uow=uow, actor=user, message_id=message_id)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, ticket_page(uow, user, ticket_id))
    return redirect(request, f"/tickets/{ticket_id}", c=message.conversation_id, notice="retry_queued",
                    anchor=f"m{message.id}")


def _disposition(filename: str) -> str:
    plain = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.get("/attachments/{attachment_id}", name="web_attachment")
def download(attachment_id: int, uow: UoW, user: PageUser) -> Response:
    """The file, always as a download and never rendered in our origin."""
    attachment, data = attachments.get_attachment(uow=uow, actor=user, attachment_id=attachment_id)
    return Response(data, media_type=attachment.content_type, headers={
        "Content-Disposition": _disposition(attachment.filename),
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, no-store",
    })
