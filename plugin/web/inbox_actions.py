"""Conversation actions outside a ticket: Move from a conversations inbox, and the spam view with Not spam."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request, Response

from core import directory, inboxes
from core.actions import move, spam
from core.errors import DeskpilotError
from core.models import User
from core.uow import UnitOfWork
from plugin.deps import UoW
from plugin.web.actions import CONVERSATION_ACTIONS, menu
from plugin.web.auth import FormUser, PageUser
from plugin.web.context import chrome
from plugin.web.forms import Page, ShortField, move_target, optional_int, pipeline_status, show_refusal, ticket_page
from plugin.web.render import WebRoute, redirect, render

router = APIRouter(route_class=WebRoute)
SPAM_SHOWN = 200


def inbox_page(uow: UnitOfWork, user: User, inbox_id: int) -> Page:
    """The conversations inbox page (the same page as `pages.inbox`), for `show_refusal`."""

    def build() -> tuple[str, dict[str, Any]]:
        conversations = inboxes.inbox_conversations(uow=uow, actor=user, inbox_id=inbox_id)
        people = {u.id: u.name for u in directory.list_agents(uow=uow, actor=user)}
        context = chrome(uow, user, conversations=conversations, people=people, current_inbox=inbox_id)
        context["inbox_name"] = next((i.name for i in context["nav_inboxes"] if i.id == inbox_id),
                                     f"Inbox {inbox_id}")
        context["row_actions"] = {c.id: menu(CONVERSATION_ACTIONS, c, user) for c in conversations}
        return "inbox/page.html", context

    return build


@router.post("/inboxes/{inbox_id}/conversations/{conversation_id}/move", name="web_inbox_move")
def move_from_inbox(
    request: Request, inbox_id: int, conversation_id: int, uow: UoW, user: FormUser,
    to: ShortField = "", assignee_id: ShortField = "", status: ShortField = "",
    comment: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """Into the help desk (a ticket is made if it has none; we go to it) or on to another inbox."""
    try:
        pipeline, status_key = pipeline_status(status)
        _, ticket = move.move_conversation(
            uow=uow, actor=user, conversation_id=conversation_id, to=move_target(to),
            assignee_id=optional_int(assignee_id, "assignee_id"), pipeline=pipeline, status=status_key,
            comment=comment.strip() or None)
    except DeskpilotError as exc:
        return show_refusal(request, uow, exc, inbox_page(uow, user, inbox_id))
    if to == "help_desk" and ticket is not None:
        return redirect(request, f"/tickets/{ticket.id}", notice="moved_to_helpdesk")
    return redirect(request, f"/inboxes/{inbox_id}", notice="moved")


def spam_page(uow: UnitOfWork, user: User) -> Page:
    """The spam view: conversations marked as spam, newest first, each with Not spam."""

    def build() -> tuple[str, dict[str, Any]]:
        items = spam.spam_conversations(uow=uow, actor=user, limit=SPAM_SHOWN)
        return "helpdesk/spam.html", chrome(uow, user, items=items, current_view="spam", title="Spam",
                                            retention_days=uow.settings.retention_days)

    return build


@router.get("/helpdesk/spam", name="web_spam")
def spam_view(request: Request, uow: UoW, user: PageUser) -> Response:
    template, context = spam_page(uow, user)()
    return render(request, template, context)


@router.post("/conversations/{conversation_id}/not-spam", name="web_not_spam")
def not_spam(request: Request, conversation_id: int, uow: UoW, user: FormUser,
             back: Annotated[Literal["spam", "ticket"], Form()] = "spam",
             ticket_id: Annotated[int | None, Form()] = None) -> Response:
    """Restore a conversation from spam (and its ticket, if spam had deleted it)."""
    try:
        result = spam.mark_not_spam(uow=uow, actor=user, conversation_id=conversation_id)
    except DeskpilotError as exc:
        page = ticket_page(uow, user, ticket_id) if back == "ticket" and ticket_id else spam_page(uow, user)
        return show_refusal(request, uow, exc, page)
    notice = "not_spam_restored" if result.ticket_restored else "not_spam"
    if back == "ticket" and result.ticket is not None:
        return redirect(request, f"/tickets/{result.ticket.id}", notice=notice)
    return redirect(request, "/helpdesk/spam", notice=notice)
