"""Ticket routes: parse, one core call, return a schema."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter

from core import tickets
from core.errors import ValidationFailed
from core.schemas import AssociationChange, MessageIn, TicketCreate, TicketUpdate
from plugin.deps import CurrentUser, Read, UoW
from plugin.schemas import ConversationOut, MessageOut, MessagePage, TicketOut, TicketPage

router = APIRouter(tags=["tickets"])
CONVERSATIONS = TypeAdapter(list[ConversationOut])


def dumped(model: BaseModel) -> Response:
    """A read's JSON, serialised once by pydantic-core. Returned as is, FastAPI neither re-validates it
    against `response_model` (a second trip to the thread pool) nor encodes it again; the schema still
    documents the route."""
    return Response(model.model_dump_json(), media_type="application/json")


@router.get("/tickets", response_model=TicketPage)
def list_tickets(
    read: Read, view: str = "all", q: str | None = Query(None, max_length=200),
    limit: int = 50, cursor: str | None = Query(None, max_length=500),
) -> Response:
    if q and q.strip():
        with read.searching(q) as (uow, user):
            items, next_cursor = tickets.list_tickets(uow=uow, actor=user, view=view, q=q, limit=limit,
                                                      cursor=cursor)
    else:  # the token is checked by the statement that reads the page: one round trip
        with read.token_checked_in_core() as (uow, token):
            user, items, next_cursor = tickets.list_tickets_by_token(uow=uow, token=token, view=view, limit=limit,
                                                                    cursor=cursor)
    rows = [TicketOut.list_fields(t, user) for t in items]  # plain values, written as JSON by orjson
    return Response(TicketPage.json_of(rows, next_cursor), media_type="application/json")


@router.post("/tickets", response_model=TicketOut, status_code=201)
def create_ticket(body: TicketCreate, uow: UoW, user: CurrentUser) -> TicketOut:
    return TicketOut.build(uow, tickets.create_ticket(uow=uow, actor=user, data=body), user)


@router.get("/tickets/{ticket_id}", response_model=TicketOut)
def get_ticket(ticket_id: int, read: Read) -> Response:
    with read as (uow, user):
        return dumped(TicketOut.build(uow, tickets.get_ticket(uow=uow, actor=user, ticket_id=ticket_id), user))


def _if_match_version(header: str) -> int:
    """`If-Match: 3`, `"3"` or `W/"3"` -> 3 (the ticket's `version`)."""
    tag = header.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise ValidationFailed("If-Match must be the ticket's version, e.g. If-Match: \"3\".", field="If-Match")
    return int(tag)


@router.patch("/tickets/{ticket_id}", response_model=TicketOut)
def update_ticket(
    ticket_id: int, body: TicketUpdate, uow: UoW, user: CurrentUser,
    if_match: str | None = Header(None, max_length=40, description="The version you edited (same as `version`)."),
) -> TicketOut:
    if if_match is not None:
        version = _if_match_version(if_match)
        if body.version is not None and body.version != version:
            raise ValidationFailed("If-Match and version disagree; send one of them.", field="If-Match")
        body = body.model_copy(update={"version": version})
    ticket = tickets.update_ticket(uow=uow, actor=user, ticket_id=ticket_id, data=body)
    return TicketOut.build(uow, ticket, user)


@router.get("/tickets/{ticket_id}/conversations", response_model=list[ConversationOut])
def ticket_conversations(ticket_id: int, read: Read) -> Response:
    with read as (uow, user):
        found = tickets.ticket_conversations(uow=uow, actor=user, ticket_id=ticket_id)
        return Response(CONVERSATIONS.dump_json([ConversationOut.build(c) for c in found]),
                        media_type="application/json")


@router.get("/tickets/{ticket_id}/messages", response_model=MessagePage)
def ticket_messages(
    ticket_id: int, read: Read, limit: int = 50, cursor: str | None = Query(None, max_length=500),
) -> Response:
    """The ticket's messages over all its conversations, newest first, a page at a time (for long threads)."""
    with read as (uow, user):
        page, next_cursor = tickets.ticket_messages(uow=uow, actor=user, ticket_id=ticket_id, limit=limit,
                                                    cursor=cursor)
        return dumped(MessagePage(items=[MessageOut.build(m) for m in page], next_cursor=next_cursor))


@router.post("/tickets/{ticket_id}/read", response_model=TicketOut)
def mark_read(ticket_id: int, uow: UoW, user: CurrentUser) -> TicketOut:
    return TicketOut.build(uow, tickets.set_read_state(uow=uow, actor=user, ticket_id=ticket_id, unread=False), user)


@router.post("/tickets/{ticket_id}/unread", response_model=TicketOut)
def mark_unread(ticket_id: int, uow: UoW, user: CurrentUser) -> TicketOut:
    return TicketOut.build(uow, tickets.set_read_state(uow=uow, actor=user, ticket_id=ticket_id, unread=True), user)


@router.post("/tickets/{ticket_id}/associations", response_model=TicketOut)
def add_association(ticket_id: int, body: AssociationChange, uow: UoW, user: CurrentUser) -> TicketOut:
    ticket = tickets.change_association(uow=uow, actor=user, ticket_id=ticket_id, change=body, add=True)
    return TicketOut.build(uow, ticket, user)


@router.delete("/tickets/{ticket_id}/associations/{kind}/{record_id}", response_model=TicketOut)
def remove_association(
    ticket_id: int, kind: Literal["contacts", "companies", "deals"], record_id: int, uow: UoW, user: CurrentUser
) -> TicketOut:
    change = AssociationChange(kind=kind, id=record_id)
    ticket = tickets.change_association(uow=uow, actor=user, ticket_id=ticket_id, change=change, add=False)
    return TicketOut.build(uow, ticket, user)


@router.post("/conversations/{conversation_id}/messages", response_model=MessageOut, status_code=201,
             tags=["conversations"])
def add_message(conversation_id: int, body: MessageIn, uow: UoW, user: CurrentUser) -> MessageOut:
    return MessageOut.build(tickets.add_message(uow=uow, actor=user, conversation_id=conversation_id, data=body))
