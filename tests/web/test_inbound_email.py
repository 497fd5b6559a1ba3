"""POST /inbound/email: threading, idempotency, sanitising and clear 4xx for bad input."""

from __future__ import annotations

from collections.abc import Callable

from tests.support import Agent

FIRST = (
    b"From: Dana Shopper <dana@store.example>\r\nTo: support@desk.example\r\n"
    b"Subject: Checkout button does nothing\r\nMessage-ID: <first-1@store.example>\r\n"
    b"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"When I click Pay the page just reloads. Order #10482.\r\n"
)
REPLY = (
    b"From: Dana Shopper <dana@store.example>\r\nTo: support@desk.example\r\n"
    b"Subject: Re: Checkout button does nothing\r\nMessage-ID: <reply-2@store.example>\r\n"
    b"In-Reply-To: <first-1@store.example>\r\nReferences: <first-1@store.example>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\nStill broken this morning.\r\n"
)
HTML = (
    b"From: Eve <eve@evil.example>\r\nSubject: Look\r\nMessage-ID: <html-3@evil.example>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<p onclick=\"steal()\">Hello<script>alert(1)</script><img src=\"http://tracker.example/p.gif\"></p>"
)


def _post(agent: Agent, raw: bytes):  # type: ignore[no-untyped-def]
    return agent.post("/inbound/email", content=raw, headers={"content-type": "message/rfc822"})


def test_new_email_opens_ticket_and_reply_threads_into_it(make_agent: Callable[..., Agent]) -> None:
    gateway = make_agent("mail@desk.example", permissions=("account_access",))
    first = _post(gateway, FIRST)
    assert first.status_code == 201, first.text
    assert first.json()["outcome"] == "new_ticket"
    ticket_id = first.json()["ticket_id"]
    gateway.post(f"/tickets/{ticket_id}/read")
    reply = _post(gateway, REPLY)
    assert reply.status_code == 201 and reply.json()["outcome"] == "threaded"
    assert reply.json()["ticket_id"] == ticket_id
    ticket = gateway.get(f"/tickets/{ticket_id}").json()
    assert ticket["name"] == "Checkout button does nothing" and ticket["unread"] is True
    messages = gateway.get(f"/tickets/{ticket_id}/conversations").json()[0]["messages"]
    assert [m["email_message_id"] for m in messages] == ["<first-1@store.example>", "<reply-2@store.example>"]
    assert messages[1]["in_reply_to"] == "<first-1@store.example>"


def test_same_message_id_twice_is_ignored(make_agent: Callable[..., Agent]) -> None:
    gateway = make_agent("mail@desk.example", permissions=("account_access",))
    assert _post(gateway, FIRST).status_code == 201
    again = _post(gateway, FIRST)
    assert again.status_code == 200 and again.json()["outcome"] == "duplicate"
    assert len(gateway.get("/tickets").json()["items"]) == 1


def test_html_email_is_sanitised_and_text_kept(make_agent: Callable[..., Agent]) -> None:
    gateway = make_agent("mail@desk.example", permissions=("account_access",))
    created = _post(gateway, HTML).json()
    message = gateway.get(f"/tickets/{created['ticket_id']}/conversations").json()[0]["messages"][0]
    assert "<script" not in message["html"] and "onclick" not in message["html"]
    assert "tracker.example" not in message["html"]
    assert "Hello" in message["text"]


def test_bad_or_oversized_email_is_a_clear_4xx(make_agent: Callable[..., Agent]) -> None:
    gateway = make_agent("mail@desk.example", permissions=("account_access",))
    for raw in (b"", b"\x00\xff\x13garbage", b"not an email at all"):
        response = _post(gateway, raw)
        assert response.status_code == 422, (raw, response.text)
        assert response.json()["error"]["code"] == "invalid_email"
    huge = FIRST + b"x" * 10_000_001
    response = _post(gateway, huge)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]["message"]


def test_only_account_access_may_post_email(agent: Agent) -> None:
    assert _post(agent, FIRST).status_code == 403
