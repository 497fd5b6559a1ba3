"""Conversation inbox routes."""

from __future__ import annotations

from fastapi import APIRouter

from core import inboxes
from plugin.deps import CurrentUser, UoW
from plugin.schemas import ConversationOut, InboxOut

router = APIRouter(tags=["inboxes"])


@router.get("/inboxes", response_model=list[InboxOut])
def list_inboxes(uow: UoW, user: CurrentUser) -> list[InboxOut]:
    return [InboxOut.build(i) for i in inboxes.list_inboxes(uow=uow, actor=user)]


@router.get("/inboxes/{inbox_id}/conversations", response_model=list[ConversationOut])
def inbox_conversations(inbox_id: int, uow: UoW, user: CurrentUser) -> list[ConversationOut]:
    return [ConversationOut.build(c) for c in inboxes.inbox_conversations(uow=uow, actor=user, inbox_id=inbox_id)]
