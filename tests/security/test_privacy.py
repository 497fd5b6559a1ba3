"""Privacy: with AI access off nothing reaches the provider; with it on, PII is redacted in what is sent.

Both are measured at the fake provider server: the bytes it received and the requests it parsed.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.fakes import FakeOpenAIServer
from tests.security.conftest import AIDesk

ADMIN, AGENT = "admin@desk.example", "agent@desk.example"
NAMES_REPLY = json.dumps({"suggestions": ["Refund for a double charge", "Card charged twice", "Billing mix-up"]})
SUMMARY_REPLY = json.dumps({"summary": "The customer was charged twice and wants a refund; nothing done yet."})

# Each PII value, and the digits/letters-only form it must not appear in either.
PII = {
    "email": ["jo.bloggs@home.example", "casey@shop.example", "billing+eu@acme-corp.example"],
    "phone": ["+44 20 7946 0958", "(555) 123-4567", "020 7946 0958"],
    "card": ["4111 1111 1111 1111", "5500-0000-0000-0004", "4012888888881881"],
    "iban": ["GB82 WEST 1234 5698 7654 32", "DE89370400440532013000"],
}
TEXT = ("Hi, I was charged twice. Reach me at jo.bloggs@home.example or +44 20 7946 0958, office (555) 123-4567, "
        "or 020 7946 0958. Cards used: 4111 1111 1111 1111 and 5500-0000-0000-0004 and 4012888888881881. "
        "Refund to IBAN GB82 WEST 1234 5698 7654 32 or DE89370400440532013000, cc billing+eu@acme-corp.example")


def _ai_calls(desk: AIDesk, email: str, ticket_id: int) -> list[tuple[str, int, str]]:
    """Every AI entry point, over the API and from the web UI: (what, status, error code)."""
    api = desk.api(email)
    web = desk.web(email)
    found = []
    for what, response in (
        ("api name", api.post(f"/tickets/{ticket_id}/ai/name")),
        ("api summary", api.post(f"/tickets/{ticket_id}/ai/summary")),
        ("api name regenerate", api.post(f"/tickets/{ticket_id}/ai/name", json={"exclude": ["Old name"]})),
        ("web names", web.post_json(f"/tickets/{ticket_id}/ai/names", {"exclude": []})),
        ("web summary", web.post(f"/tickets/{ticket_id}/summary")),
    ):
        code = response.json().get("error", {}).get("code", "") if "json" in response.headers.get(
            "content-type", "") else ""
        found.append((what, response.status_code, code))
    return found


@pytest.mark.parametrize("off", [("ai_conversation_data",), ("ai_copilot",), ("ai_conversation_data", "ai_copilot")])
def test_ai_access_off_sends_zero_bytes_to_the_provider(off: tuple[str, ...], ai_desk: AIDesk,
                                                        provider: FakeOpenAIServer) -> None:
    ai_desk.set_ai(ai_conversation_data="ai_conversation_data" not in off, ai_copilot="ai_copilot" not in off)
    ticket = ai_desk.ticket(AGENT, name="Charged twice", channel="email", messages=[
        {"direction": "incoming", "sender_name": "Jo", "sender_email": "jo.bloggs@home.example", "text": TEXT}])
    for email in (AGENT, ADMIN):  # super admins are gated the same way
        calls = _ai_calls(ai_desk, email, ticket["id"])
        assert [(what, status) for what, status, _ in calls] == [(what, 403) for what, _, _ in calls]
        assert {code for _, _, code in calls} == {"ai_disabled"}
    assert provider.bytes_received == 0
    assert provider.requests == []


def _sent_text(provider: FakeOpenAIServer) -> str:
    """Everything the provider received: each request body as parsed JSON, re-serialised, plus headers."""
    return "\n".join(json.dumps(r.json, ensure_ascii=False) + json.dumps(r.headers) for r in provider.requests)


def _compact(text: str) -> str:
    return re.sub(r"[^0-9A-Za-z@.+]", "", text)


def _redaction_leaks(sent: str) -> list[str]:
    compact = _compact(sent)
    leaks = []
    for kind, values in PII.items():
        for value in values:
            if value in sent or _compact(value) in compact:
                leaks.append(f"{kind}: {value}")
    return leaks


def test_redaction_removes_pii_from_the_bytes_sent(ai_desk: AIDesk, provider: FakeOpenAIServer) -> None:
    ai_desk.set_ai(ai_conversation_data=True, ai_copilot=True, ai_redact_pii=True)
    ticket = ai_desk.ticket(
        AGENT, name="Refund to GB82 WEST 1234 5698 7654 32 for jo.bloggs@home.example", channel="email",
        description="Customer phone +44 20 7946 0958, card 4111 1111 1111 1111.",
        contact={"name": "", "email": "casey@shop.example"},
        messages=[{"direction": "incoming", "sender_name": "casey@shop.example", "sender_email": "casey@shop.example",
                   "subject": "Card 5500-0000-0000-0004 charged twice, call (555) 123-4567", "text": TEXT}])
    # An email whose sender gave no display name: its address is all there is to call the sender by.
    raw = (b"From: billing+eu@acme-corp.example\r\nTo: help@desk.example\r\nSubject: Re: charged twice\r\n"
           b"Message-ID: <pii-1@acme-corp.example>\r\n\r\nIBAN DE89370400440532013000, card 4012888888881881.")
    inbound = ai_desk.api(ADMIN).post("/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"})
    assert inbound.status_code == 201
    provider.enqueue_reply(NAMES_REPLY)
    provider.enqueue_reply(SUMMARY_REPLY)
    provider.enqueue_reply(NAMES_REPLY)
    provider.enqueue_reply(SUMMARY_REPLY)
    api = ai_desk.api(AGENT)
    for tid in (ticket["id"], inbound.json()["ticket_id"]):
        assert api.post(f"/tickets/{tid}/ai/name").status_code == 200
        assert api.post(f"/tickets/{tid}/ai/summary").status_code == 200
    assert len(provider.requests) == 4 and provider.bytes_received > 0
    sent = _sent_text(provider)
    assert "charged twice" in sent  # the conversation itself did go out
    assert _redaction_leaks(sent) == []
    assert {"[email]", "[phone]", "[card]", "[iban]"} <= set(re.findall(r"\[\w+\]", sent))


def test_without_redaction_the_same_pii_would_be_sent(ai_desk: AIDesk, provider: FakeOpenAIServer) -> None:
    """The check above can fail: with redaction switched off, the same detector finds every value."""
    ai_desk.set_ai(ai_conversation_data=True, ai_copilot=True, ai_redact_pii=False)
    ticket = ai_desk.ticket(AGENT, name="Charged twice", channel="email", messages=[
        {"direction": "incoming", "sender_name": "Jo", "sender_email": "jo.bloggs@home.example", "text": TEXT}])
    provider.enqueue_reply(SUMMARY_REPLY)
    assert ai_desk.api(AGENT).post(f"/tickets/{ticket['id']}/ai/summary").status_code == 200
    leaks: list[Any] = _redaction_leaks(_sent_text(provider))
    assert len(leaks) == sum(len(v) for v in PII.values()) - 1  # all but the cc address, which is in TEXT too
