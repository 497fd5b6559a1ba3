"""Replies and notes over the REST API: delivery status, the chat outbox, retry and email preferences.

This server has no SMTP configured, so email replies wait in the queue and say why; the real SMTP round trip
is in tests/integration/test_smtp_*.py.
"""

from __future__ import annotations

from typing import Any

import httpx

from core.mail.outbound import NOT_CONFIGURED
from tests.smtp_support import customer_email
from tests.support import Agent, ticket_payload


def _inbound(agent: Agent, raw: bytes) -> dict[str, Any]:
    response = agent.post("/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"})
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _post(agent: Agent, conversation_id: int, direction: str, text: str = "Hello", **extra: Any) -> Any:
    body = {"direction": direction, "text": text, **extra}
    return agent.post(f"/conversations/{conversation_id}/messages", json=body)


def test_email_reply_without_smtp_stays_queued_saying_smtp_is_not_configured(admin: Agent) -> None:
    first = _inbound(admin, customer_email(message_id="<q1@shop.example>"))
    response = _post(admin, first["conversation_id"], "outgoing", "We are on it.")
    assert response.status_code == 201, response.text
    reply = response.json()
    assert (reply["delivery_status"], reply["delivery_error"], reply["delivery_attempts"]) == (
        "queued", NOT_CONFIGURED, 0)
    assert reply["email_message_id"].startswith("<") and reply["in_reply_to"] == "<q1@shop.example>"
    assert reply["subject"] == "Re: Printer on fire" and reply["sent_via_smtp_at"] is None
    listed = admin.get(f"/tickets/{first['ticket_id']}/conversations").json()[0]["messages"][-1]
    assert listed["id"] == reply["id"] and listed["delivery_status"] == "queued"
    retried = admin.post(f"/messages/{reply['id']}/retry")
    assert retried.status_code == 202 and retried.json()["delivery_error"] == NOT_CONFIGURED


def test_second_reply_answers_the_latest_message_and_subject_is_not_re_re(admin: Agent) -> None:
    first = _inbound(admin, customer_email(subject="RE: Re: Printer on fire", message_id="<r1@shop.example>"))
    one = _post(admin, first["conversation_id"], "outgoing").json()
    two = _post(admin, first["conversation_id"], "outgoing").json()
    assert one["subject"] == two["subject"] == "Re: Printer on fire"
    assert two["in_reply_to"] == one["email_message_id"] != two["email_message_id"]


def test_internal_note_has_no_delivery_and_no_message_id(agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    note = _post(agent, ticket["conversation_ids"][0], "comment", "Call them back tomorrow.").json()
    assert (note["delivery_status"], note["email_message_id"], note["in_reply_to"]) == (None, None, None)
    refused = agent.post(f"/messages/{note['id']}/retry")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "invalid_action"


def test_phone_reply_is_recorded_without_delivery(agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload(channel="phone")).json()
    reply = _post(agent, ticket["conversation_ids"][0], "outgoing", "Called back.").json()
    assert reply["delivery_status"] is None and reply["email_message_id"] is None


def test_chat_reply_waits_in_the_outbox_until_the_host_marks_it_delivered(agent: Agent) -> None:
    chat = agent.post("/tickets", json=ticket_payload(name="Chat help", channel="chat")).json()
    email = agent.post("/tickets", json=ticket_payload()).json()
    reply = _post(agent, chat["conversation_ids"][0], "outgoing", "Try turning it off and on.").json()
    _post(agent, chat["conversation_ids"][0], "comment", "Not for the customer")
    _post(agent, email["conversation_ids"][0], "outgoing", "Email, not chat")
    assert reply["delivery_status"] == "queued" and reply["email_message_id"] is None

    items = agent.get("/outbox", params={"channel": "chat"}).json()["items"]
    assert [(i["id"], i["text"], i["ticket_id"], i["contact_email"]) for i in items] == [
        (reply["id"], "Try turning it off and on.", chat["id"], "casey@shop.example")]
    assert agent.post(f"/messages/{reply['id']}/retry").status_code == 422  # the host delivers chat, not SMTP

    delivered = agent.post(f"/outbox/{reply['id']}/delivered")
    assert delivered.status_code == 200 and delivered.json()["delivery_status"] == "sent"
    assert agent.get("/outbox").json()["items"] == []
    assert agent.post(f"/outbox/{reply['id']}/delivered").status_code == 200  # idempotent
    email_reply = agent.get(f"/tickets/{email['id']}/conversations").json()[0]["messages"][-1]
    assert agent.post(f"/outbox/{email_reply['id']}/delivered").status_code == 422


def test_outbox_refuses_channels_the_host_does_not_deliver(agent: Agent) -> None:
    response = agent.get("/outbox", params={"channel": "email"})
    assert response.status_code == 422 and response.json()["error"]["field"] == "channel"


def test_email_notification_preference_is_off_by_default_and_per_user(agent: Agent, admin: Agent) -> None:
    assert agent.get("/me/preferences").json() == {"email_notifications": False}
    assert agent.put("/me/preferences", json={"email_notifications": True}).json() == {"email_notifications": True}
    assert agent.get("/me/preferences").json() == {"email_notifications": True}
    assert admin.get("/me/preferences").json() == {"email_notifications": False}
    assert agent.put("/me/preferences", json={"email_notifications": "maybe"}).status_code == 422
    assert agent.put("/me/preferences", json={"email_notifications": True, "x": 1}).status_code == 422


def test_preferences_and_messages_need_a_signed_in_user(anon: httpx.Client, agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    message_id = agent.get(f"/tickets/{ticket['id']}/conversations").json()[0]["messages"][0]["id"]
    for method, path in (("GET", "/me/preferences"), ("GET", f"/messages/{message_id}"), ("GET", "/outbox"),
                         ("POST", f"/messages/{message_id}/retry")):
        assert anon.request(method, path).status_code == 401, path


def test_multipart_message_is_validated_like_the_json_one(agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    path = f"/conversations/{ticket['conversation_ids'][0]}/messages/multipart"
    bad = agent.post(path, data={"direction": "shout", "text": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "direction"
    assert agent.post(path, data={"direction": "comment"}).json()["error"]["field"] == "text"
    note = agent.post(path, data={"direction": "comment", "text": "No files"})
    assert note.status_code == 201 and note.json()["attachments"] == []
    assert agent.post("/conversations/999999/messages/multipart", data={"text": "x"}).status_code == 404
