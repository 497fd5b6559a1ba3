"""Email intake over HTTP: the body is one raw RFC 822 message."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from core import inbound
from core.errors import PayloadTooLarge
from plugin.deps import CurrentUser, State, UoW

router = APIRouter(tags=["email"])


async def _read_limited(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The email is {int(declared):,} bytes; the limit is {limit:,} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The email is over the limit of {limit:,} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/inbound/email",
    status_code=201,
    openapi_extra={"requestBody": {"required": True, "content": {"message/rfc822": {"schema": {"type": "string"}}}}},
)
async def inbound_email(request: Request, state: State, uow: UoW, user: CurrentUser) -> JSONResponse:
    """Take in one email: threads into its conversation, else opens a new ticket (idempotent by Message-ID)."""
    raw = await _read_limited(request, state.settings.max_email_bytes)
    result = await run_in_threadpool(inbound.ingest_raw_email, uow=uow, actor=user, raw=raw)
    body = {"outcome": result.outcome, "ticket_id": result.ticket_id, "conversation_id": result.conversation_id,
            "message_id": result.message_id}
    return JSONResponse(body, status_code=200 if result.outcome == "duplicate" else 201)
