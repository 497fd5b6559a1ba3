"""List pages: the help desk, a conversations inbox, and the user's notifications."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from core import directory, inboxes, notifications, tickets
from plugin.deps import UoW
from plugin.web.actions import BULK_ACTIONS, CONVERSATION_ACTIONS, menu
from plugin.web.auth import FormUser, PageUser
from plugin.web.context import VIEWS, chrome
from plugin.web.render import WebRoute, redirect, render

router = APIRouter(route_class=WebRoute)
PAGE_SIZE = 50


@router.get("/helpdesk", name="web_helpdesk")
def helpdesk(
    request: Request, uow: UoW, user: PageUser, view: str = "open",
    q: str | None = Query(None, max_length=200), cursor: str | None = Query(None, max_length=500),
) -> Response:
    items, next_cursor = tickets.list_tickets(uow=uow, actor=user, view=view, q=q, limit=PAGE_SIZE, cursor=cursor)
    title = dict(VIEWS).get(view, view.capitalize())
    return render(request, "helpdesk/list.html", chrome(
        uow, user, tickets=items, next_cursor=next_cursor, cursor=cursor or "", current_view=view, q=q or "",
        title=title, bulk_actions=menu(BULK_ACTIONS, None, user)))


@router.get("/inboxes/{inbox_id}", name="web_inbox")
def inbox(request: Request, inbox_id: int, uow: UoW, user: PageUser) -> Response:
    conversations = inboxes.inbox_conversations(uow=uow, actor=user, inbox_id=inbox_id)
    people = {u.id: u.name for u in directory.list_agents(uow=uow, actor=user)}
    context = chrome(uow, user, conversations=conversations, people=people, current_inbox=inbox_id)
    context["inbox_name"] = next((i.name for i in context["nav_inboxes"] if i.id == inbox_id), f"Inbox {inbox_id}")
    context["row_actions"] = {c.id: menu(CONVERSATION_ACTIONS, c, user) for c in conversations}
    return render(request, "inbox/page.html", context)


@router.get("/notifications", name="web_notifications")
def notification_list(request: Request, uow: UoW, user: PageUser) -> Response:
    items, _ = notifications.list_notifications(uow=uow, actor=user, limit=100)
    return render(request, "notifications.html", chrome(uow, user, items=items))


@router.post("/notifications/read", name="web_notifications_read")
def notifications_read(request: Request, uow: UoW, user: FormUser) -> Response:
    notifications.mark_read(uow=uow, actor=user)
    return redirect(request, "/notifications", notice="notifications_read")
