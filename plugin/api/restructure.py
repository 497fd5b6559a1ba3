"""Restructuring routes: split a ticket, merge two, move a conversation between an inbox and the help desk."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from core.actions.merge import MergeRequest, merge_tickets
from core.actions.move import MoveRequest, move_conversation
from core.actions.split import SplitRequest, split_ticket
from plugin.deps import CurrentUser, UoW
from plugin.schemas import ConversationOut, TicketOut

router = APIRouter()


class MoveOut(BaseModel):
    conversation: ConversationOut
    ticket: TicketOut | None


@router.post("/tickets/merge", response_model=TicketOut, tags=["tickets"])
def merge(body: MergeRequest, uow: UoW, user: CurrentUser) -> TicketOut:
    ticket = merge_tickets(uow=uow, actor=user, ticket_ids=body.ticket_ids, primary_id=body.primary_id)
    return TicketOut.build(uow, ticket, user)


@router.post("/tickets/{ticket_id}/split", response_model=TicketOut, status_code=201, tags=["tickets"])
def split(ticket_id: int, body: SplitRequest, uow: UoW, user: CurrentUser) -> TicketOut:
    ticket = split_ticket(uow=uow, actor=user, ticket_id=ticket_id, message_ids=body.message_ids,
                          details=body.ticket)
    return TicketOut.build(uow, ticket, user)


@router.post("/conversations/{conversation_id}/move", response_model=MoveOut, tags=["conversations"])
def move(conversation_id: int, body: MoveRequest, uow: UoW, user: CurrentUser) -> MoveOut:
    conversation, ticket = move_conversation(
        uow=uow, actor=user, conversation_id=conversation_id, to=body.to, assignee_id=body.assignee_id,
        pipeline=body.pipeline, status=body.status, comment=body.comment,
    )
    return MoveOut(conversation=ConversationOut.build(conversation),
                   ticket=TicketOut.build(uow, ticket, user) if ticket is not None else None)
