"""A realistic day of a support team, every action in sequence over the REST API."""

from __future__ import annotations

from collections.abc import Callable

from core.purge import purge
from core.uow import UnitOfWork
from tests.support import Agent, Clock


def _mail(mid: str, subject: str, text: str, sender: str = "Rosa Diaz <rosa@bakery.example>",
          reply_to: str | None = None) -> bytes:
    head = [f"From: {sender}", f"Subject: {subject}", f"Message-ID: {mid}"]
    if reply_to:
        head += [f"In-Reply-To: {reply_to}", f"References: {reply_to}"]
    return ("\r\n".join(head) + f"\r\n\r\n{text}\r\n").encode()


def test_a_day_at_the_help_desk(make_agent: Callable[..., Agent], uow_factory: Callable[[], UnitOfWork],
                                clock: Clock) -> None:
    admin = make_agent("ana@desk.example", super_admin=True)
    ben = make_agent("ben@desk.example", permissions=("delete_tickets",))
    chloe = make_agent("chloe@desk.example", permissions=("account_access",))
    dev = make_agent("dev@desk.example")

    def mail(raw: bytes) -> dict:  # type: ignore[type-arg]
        response = chloe.post("/inbound/email", content=raw, headers={"content-type": "message/rfc822"})
        assert response.status_code in (200, 201), response.text
        return response.json()

    # 08:00 — mail comes in: a problem, the same problem again, and spam.
    labels = mail(_mail("<a1@bakery.example>", "Labels print blank", "All shipping labels print blank."))
    again = mail(_mail("<b1@bakery.example>", "Blank labels again??", "Still blank, 40 orders waiting."))
    spam = mail(_mail("<s1@seo.example>", "Rank #1 on search", "Cheap SEO.", sender="SEO <x@seo.example>"))
    unread = {t["id"] for t in dev.get("/tickets", params={"view": "unread"}).json()["items"]}
    assert {labels["ticket_id"], again["ticket_id"], spam["ticket_id"]} <= unread

    # 08:15 — Dev follows the labels ticket and opens it; Chloe triages it.
    assert dev.post(f"/tickets/{labels['ticket_id']}/follow").json()["following"] is True
    assert dev.post(f"/tickets/{labels['ticket_id']}/read").json()["unread"] is False
    triaged = chloe.patch(f"/tickets/{labels['ticket_id']}", json={
        "priority": "URGENT", "category": "PRODUCT_ISSUE", "owner_id": dev.id, "status": "WAITING_ON_US"})
    assert triaged.status_code == 200
    assert dev.get("/notifications").json()["unread_count"] == 1

    # 08:30 — the two label tickets are one problem: merge, labels is the primary.
    merged = dev.post("/tickets/merge", json={"ticket_ids": [labels["ticket_id"], again["ticket_id"]],
                                             "primary_id": labels["ticket_id"]})
    assert merged.status_code == 200, merged.text
    ticket = merged.json()
    assert ticket["priority"] == "URGENT" and ticket["owner_id"] == dev.id
    assert sorted(ticket["merged_from_ids"]) == sorted([labels["ticket_id"], again["ticket_id"]])
    assert dev.get(f"/tickets/{again['ticket_id']}").json()["id"] == ticket["id"]
    assert len(ticket["conversation_ids"]) == 2

    # 09:00 — Rosa replies on the first thread with a new topic; Dev answers, then splits it off.
    topic = mail(_mail("<a2@bakery.example>", "Re: Labels print blank", "Also: can I add a second shop?",
                       reply_to="<a1@bakery.example>"))
    assert topic["ticket_id"] == ticket["id"] and topic["outcome"] == "threaded"
    conv = topic["conversation_id"]
    reply = dev.post(f"/conversations/{conv}/messages", json={"direction": "outgoing", "text": "Fixed the labels!"})
    assert reply.status_code == 201
    split = dev.post(f"/tickets/{ticket['id']}/split", json={"message_ids": [topic["message_id"]],
                                                             "ticket": {"name": "Second shop question"}})
    assert split.status_code == 201, split.text
    second = split.json()

    # 09:30 — Chloe moves the second-shop conversation to the Sales inbox, with a note.
    from core.inboxes import create_inbox

    with uow_factory() as uow:
        sales = create_inbox(uow=uow, actor=None, name="Sales")
    moved = chloe.post(f"/conversations/{second['conversation_ids'][0]}/move", json={
        "to": sales.id, "status": "WAITING_ON_CONTACT", "comment": "Sales will call back."})
    assert moved.status_code == 200, moved.text
    assert moved.json()["conversation"]["location"] == "inbox"
    assert dev.post(f"/conversations/{second['conversation_ids'][0]}/move", json={"to": "help_desk"}).status_code == 403

    # 10:00 — Ben deals with the spam, changes his mind once, then deletes it for real.
    spam_ticket = ben.get(f"/tickets/{spam['ticket_id']}").json()
    marked = ben.post(f"/tickets/{spam['ticket_id']}/spam", json={"conversation_ids": spam_ticket["conversation_ids"]})
    assert marked.json()["ticket_deleted"] is True
    assert ben.post(f"/conversations/{spam['conversation_id']}/not-spam").json()["ticket_restored"] is True
    ben.post(f"/tickets/{spam['ticket_id']}/spam", json={"conversation_ids": spam_ticket["conversation_ids"]})
    assert spam["ticket_id"] in {t["id"] for t in ben.get("/tickets", params={"view": "spam"}).json()["items"]}

    # 11:00 — clean-up: Ben deletes the second-shop ticket, restores it, then bulk-deletes two old ones.
    assert dev.delete(f"/tickets/{second['id']}").status_code == 403
    assert ben.delete(f"/tickets/{second['id']}").json() == {"deleted": 1}
    assert second["id"] in {t["id"] for t in ben.get("/tickets", params={"view": "trash"}).json()["items"]}
    assert ben.post(f"/tickets/{second['id']}/restore").status_code == 200
    old = [ben.post("/tickets", json={"name": f"Old {i}", "channel": "phone"}).json()["id"] for i in range(2)]
    assert ben.post("/tickets/bulk-delete", json={"ids": old, "confirm_count": 3}).status_code == 422
    assert ben.post("/tickets/bulk-delete", json={"ids": old, "confirm_count": 2}).json() == {"deleted": 2}

    # 12:00 — Dev marks the merged ticket unread for the team and reads the day's notifications.
    assert dev.post(f"/tickets/{ticket['id']}/unread").json()["unread"] is True
    assert admin.post(f"/tickets/{ticket['id']}/read").json()["unread"] is False
    notes = dev.get("/notifications").json()
    assert {n["action"] for n in notes["items"]} >= {"ticket.updated", "message.incoming"}
    assert dev.post("/notifications/read", json={}).json()["unread_count"] == 0
    actions = [a["action"] for a in dev.get(f"/tickets/{ticket['id']}/activity").json()]
    for action in ("ticket.created", "ticket.updated", "ticket.merged", "ticket.split", "message.outgoing"):
        assert action in actions

    # 91 days later — the purge removes the spam and the trash for good.
    clock.advance(days=91)
    with uow_factory() as uow:
        result = purge(uow=uow)
    assert result.tickets >= 3
    assert admin.get(f"/tickets/{spam['ticket_id']}").status_code == 404
    assert admin.get(f"/tickets/{old[0]}").status_code == 404
    assert admin.get(f"/tickets/{ticket['id']}").status_code == 200
