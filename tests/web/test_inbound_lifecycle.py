"""Email that arrives for a thread already in spam or in the trash."""

from __future__ import annotations

from collections.abc import Callable

from tests.support import Agent


def _email(message_id: str, reply_to: str | None = None, subject: str = "Cheap followers") -> bytes:
    headers = ["From: Promo <promo@spam.example>", f"Subject: {subject}", f"Message-ID: {message_id}"]
    if reply_to:
        headers += [f"In-Reply-To: {reply_to}", f"References: {reply_to}"]
    return ("\r\n".join(headers) + "\r\n\r\nBuy now.\r\n").encode()


def _post(agent: Agent, raw: bytes):  # type: ignore[no-untyped-def]
    return agent.post("/inbound/email", content=raw, headers={"content-type": "message/rfc822"})


def test_later_email_in_a_spam_thread_lands_in_spam(make_agent: Callable[..., Agent]) -> None:
    boss = make_agent("boss@desk.example", super_admin=True)
    first = _post(boss, _email("<s1@spam.example>")).json()
    conv = first["conversation_id"]
    spam = boss.post(f"/tickets/{first['ticket_id']}/spam", json={"conversation_ids": [conv]})
    assert spam.status_code == 200 and spam.json()["ticket_deleted"] is True
    again = _post(boss, _email("<s2@spam.example>", reply_to="<s1@spam.example>", subject="Re: Cheap followers"))
    assert again.status_code == 201 and again.json()["outcome"] == "spam"
    assert again.json()["conversation_id"] == conv
    live = {t["id"] for t in boss.get("/tickets", params={"view": "all"}).json()["items"]}
    assert first["ticket_id"] not in live, "the spam thread did not come back into the help desk"
    assert first["ticket_id"] in {t["id"] for t in boss.get("/tickets", params={"view": "spam"}).json()["items"]}


def test_reply_to_a_deleted_ticket_opens_a_new_linked_ticket(make_agent: Callable[..., Agent]) -> None:
    boss = make_agent("boss@desk.example", super_admin=True)
    first = _post(boss, _email("<d1@shop.example>", subject="Where is my parcel")).json()
    assert boss.delete(f"/tickets/{first['ticket_id']}").status_code == 200
    reply = _post(boss, _email("<d2@shop.example>", reply_to="<d1@shop.example>", subject="Re: Where is my parcel"))
    assert reply.status_code == 201 and reply.json()["outcome"] == "new_ticket"
    new_id = reply.json()["ticket_id"]
    assert new_id != first["ticket_id"]
    old = boss.get(f"/tickets/{first['ticket_id']}").json()
    assert old["deleted"] is True, "the deleted ticket is not silently resurrected"
    activity = boss.get(f"/tickets/{new_id}/activity").json()
    created = next(a for a in activity if a["action"] == "ticket.created")
    assert created["detail"]["reply_to_deleted_ticket_id"] == first["ticket_id"]
