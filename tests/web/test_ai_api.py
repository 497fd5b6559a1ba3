"""AI over the REST API: gating, offline names and summaries, Insert, Regenerate, a real provider server."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.fakes.openai_server import FakeOpenAIServer
from tests.support import Agent, ticket_payload

THREAD = [
    {"direction": "incoming", "sender_name": "Rosa Diaz", "sender_email": "rosa@bakery.example",
     "subject": "Shipping labels print blank",
     "text": "Hi, since this morning every shipping label prints blank. We have 40 orders waiting for pickup "
             "at 4pm. The printer test page works fine. Can you help us urgently?"},
    {"direction": "outgoing", "sender_name": "Agent", "text": "Sorry about that! We found a bug in the label "
     "template and rolled back the change. Could you try printing order 10482 again?"},
    {"direction": "incoming", "sender_name": "Rosa Diaz", "sender_email": "rosa@bakery.example",
     "text": "Order 10482 printed, thanks. But the labels for international orders still come out blank."},
]


def _enable(admin: Agent, **extra: object) -> None:
    response = admin.put("/settings/ai", json={"conversation_data": True, "copilot": True, **extra})
    assert response.status_code == 200, response.text


def _ticket(agent: Agent) -> dict:  # type: ignore[type-arg]
    response = agent.post("/tickets", json=ticket_payload(name="Labels", messages=THREAD))
    assert response.status_code == 201, response.text
    return response.json()


def test_ai_refused_naming_the_setting_that_is_off(admin: Agent, agent: Agent) -> None:
    ticket = _ticket(agent)
    response = agent.post(f"/tickets/{ticket['id']}/ai/name", json={})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "ai_disabled" and set(error["off"]) == {"conversation_data", "copilot"}
    admin.put("/settings/ai", json={"conversation_data": True})
    error = agent.post(f"/tickets/{ticket['id']}/ai/summary").json()["error"]
    assert error["off"] == ["copilot"] and "copilot" in error["message"]


def test_only_super_admins_see_or_change_ai_settings(admin: Agent, agent: Agent) -> None:
    assert agent.get("/settings/ai").status_code == 403
    assert agent.put("/settings/ai", json={"copilot": True}).status_code == 403
    assert agent.put("/settings/ai", json={"api_base": "http://evil.example/v1"}).status_code == 403
    settings = admin.get("/settings/ai").json()
    assert settings["enabled"] is False and settings["model"] == "offline"
    bad = admin.put("/settings/ai", json={"api_base": "file:///etc/passwd"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "llm_api_base"


def test_offline_names_insert_and_regenerate(admin: Agent, agent: Agent) -> None:
    _enable(admin)
    ticket = _ticket(agent)
    first = agent.post(f"/tickets/{ticket['id']}/ai/name", json={})
    assert first.status_code == 200, first.text
    body = first.json()
    names = body["suggestions"]
    assert body["model"] == "offline" and len(names) == 3
    assert len({n.lower() for n in names}) == 3
    assert all(0 < len(n) <= 80 and "\n" not in n and '"' not in n and "<" not in n for n in names)
    shown = list(names)
    for _ in range(2):
        again = agent.post(f"/tickets/{ticket['id']}/ai/name", json={"exclude": shown}).json()["suggestions"]
        assert len(again) == 3 and not {n.lower() for n in again} & {s.lower() for s in shown}
        shown += again
    inserted = agent.patch(f"/tickets/{ticket['id']}", json={"name": names[0], "name_source": "ai"})
    assert inserted.status_code == 200 and inserted.json()["name"] == names[0]
    activity = agent.get(f"/tickets/{ticket['id']}/activity").json()
    rename = next(a for a in activity if a["action"] == "ticket.updated")
    assert rename["detail"]["name_source"] == "ai" and rename["detail"]["changes"]["name"]["to"] == names[0]
    calls = [a["detail"] for a in activity if a["action"] == "ai.name"]
    assert len(calls) == 3 and all(c["model"] == "offline" and c["outcome"] == "ok" for c in calls)


def test_offline_summary_goes_outdated_and_regenerates(admin: Agent, agent: Agent) -> None:
    _enable(admin)
    ticket = _ticket(agent)
    made = agent.post(f"/tickets/{ticket['id']}/ai/summary")
    assert made.status_code == 200, made.text
    summary = made.json()
    assert summary["model"] == "offline" and len(summary["summary"]) > 20
    fresh = agent.get(f"/tickets/{ticket['id']}").json()["summary"]
    assert fresh["text"] == summary["summary"] and fresh["outdated"] is False
    conv = ticket["conversation_ids"][0]
    agent.post(f"/conversations/{conv}/messages", json={"direction": "incoming", "text": "Any news?"})
    assert agent.get(f"/tickets/{ticket['id']}").json()["summary"]["outdated"] is True
    again = agent.post(f"/tickets/{ticket['id']}/ai/summary").json()
    assert again["covers_message_id"] > summary["covers_message_id"]
    assert agent.get(f"/tickets/{ticket['id']}").json()["summary"]["outdated"] is False


def test_ticket_without_conversation_cannot_be_named(admin: Agent, agent: Agent) -> None:
    _enable(admin)
    empty = agent.post("/tickets", json={"name": "Call back Mr. Smith", "channel": "phone"}).json()
    response = agent.post(f"/tickets/{empty['id']}/ai/name", json={})
    assert response.status_code == 422


@pytest.fixture
def provider() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(default_reply=None) as fake:
        yield fake


def test_real_provider_server_end_to_end_and_zero_bytes_while_off(
    admin: Agent, agent: Agent, provider: FakeOpenAIServer
) -> None:
    ticket = _ticket(agent)
    admin.put("/settings/ai", json={"model": "openai/test-model", "api_base": provider.base_url})
    assert agent.post(f"/tickets/{ticket['id']}/ai/name", json={}).status_code == 403
    assert agent.post(f"/tickets/{ticket['id']}/ai/summary").status_code == 403
    assert provider.bytes_received == 0 and provider.requests == []
    _enable(admin)
    provider.enqueue_reply(json.dumps({"suggestions": ["Blank shipping labels", "International labels blank",
                                                       "Label template bug"]}))
    named = agent.post(f"/tickets/{ticket['id']}/ai/name", json={"exclude": ["Labels"]})
    assert named.status_code == 200, named.text
    assert named.json()["suggestions"][0] == "Blank shipping labels"
    request = provider.requests[-1]
    assert request.path.endswith("/chat/completions") and request.json["model"] == "test-model"
    assert "rosa@bakery.example" not in json.dumps(request.json), "emails are redacted by default"
    provider.enqueue_error(503, {"error": {"message": "overloaded"}})
    failed = agent.post(f"/tickets/{ticket['id']}/ai/summary")
    assert failed.status_code == 502 and failed.json()["error"]["code"] == "ai_unavailable"
    assert agent.get(f"/tickets/{ticket['id']}").json()["summary"] is None
    provider.enqueue_error(429, {"error": {"message": "slow"}}, headers={"Retry-After": "9"})
    limited = agent.post(f"/tickets/{ticket['id']}/ai/summary")
    assert limited.status_code == 503 and limited.headers["retry-after"] == "9"
