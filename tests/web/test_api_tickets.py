"""Tickets over the REST API (real HTTP, both databases)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from core.models import User
from tests.support import Agent, ticket_payload


def test_api_requires_a_token(anon: httpx.Client) -> None:
    response = anon.get("/tickets")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert anon.get("/tickets", headers={"Authorization": "Bearer dp_wrong"}).status_code == 401


def test_a_list_without_a_valid_token_is_401_whatever_else_is_wrong(
    anon: httpx.Client, agent: Agent, uow_factory: Callable,  # type: ignore[type-arg]
) -> None:
    """The list reads the page and checks the token in one statement: nothing of the page leaks to a bad
    token, a bad token is reported before bad input (as on every other route), and a deactivated user's
    token stops working at once."""
    agent.post("/tickets", json=ticket_payload(name="Only for signed-in eyes", owner_id=agent.id))
    for headers in ({}, {"Authorization": "Bearer dp_wrong"}, {"Authorization": "Basic abc"}):
        for params in ({}, {"view": "mine"}, {"view": "bogus"}, {"limit": "0"}, {"cursor": "garbage!!"}):
            response = anon.get("/tickets", params=params, headers=headers)
            assert response.status_code == 401, (headers, params, response.text)
            assert response.json()["error"]["code"] == "unauthenticated" and "signed-in" not in response.text
    assert agent.get("/tickets", params={"view": "mine"}).json()["items"][0]["name"] == "Only for signed-in eyes"
    assert agent.get("/tickets", params={"view": "trash"}).json() == {"items": [], "next_cursor": None}
    with uow_factory() as uow:
        user = uow.session.get(User, agent.id)
        user.is_active = False
        uow.commit()
    response = agent.get("/tickets")
    assert response.status_code == 401 and "signed-in" not in response.text


def test_healthz_is_open(server) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_create_ticket_with_conversation_and_contact(agent: Agent) -> None:
    response = agent.post("/tickets", json=ticket_payload(priority="HIGH", category="PRODUCT_ISSUE"))
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["name"] == "Printer on fire"
    assert ticket["priority"] == "HIGH" and ticket["status"] == "NEW" and ticket["pipeline"] == "support"
    assert ticket["unread"] is True and ticket["version"] == 1
    assert len(ticket["conversation_ids"]) == 1
    assert [c["name"] for c in ticket["contacts"]] == ["Casey Customer"]
    convs = agent.get(f"/tickets/{ticket['id']}/conversations").json()
    assert convs[0]["channel"] == "email" and convs[0]["location"] == "help_desk"
    assert convs[0]["messages"][0]["text"].startswith("The printer in room 4")


def test_create_rejects_bad_enum_naming_the_field(agent: Agent) -> None:
    for field, value in (("priority", "SEVERE"), ("category", "OTHER"), ("channel", "pigeon")):
        response = agent.post("/tickets", json=ticket_payload(**{field: value}))
        assert response.status_code == 422
        assert response.json()["error"]["field"] == field


def test_edit_properties_and_stale_version_conflicts(agent: Agent, admin: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    edited = agent.patch(f"/tickets/{ticket['id']}", json={
        "owner_id": admin.id, "priority": "URGENT", "category": "BILLING_ISSUE", "status": "WAITING_ON_US",
        "description": "Smoke everywhere", "version": ticket["version"]})
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["owner_id"], body["priority"], body["status"], body["status_label"]) == (
        admin.id, "URGENT", "WAITING_ON_US", "Waiting on us")
    assert body["version"] == ticket["version"] + 1
    stale = admin.patch(f"/tickets/{ticket['id']}", json={"name": "Mine now", "version": ticket["version"]})
    assert stale.status_code == 409
    assert agent.get(f"/tickets/{ticket['id']}").json()["name"] == "Printer on fire"


def test_edit_rejects_bad_values_naming_the_field(agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    cases = {"priority": "SOON", "category": "NOPE", "status": "DONE", "owner_id": 999999}
    for field, value in cases.items():
        response = agent.patch(f"/tickets/{ticket['id']}", json={field: value})
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == field
    after = agent.get(f"/tickets/{ticket['id']}").json()
    assert after["version"] == ticket["version"]


def test_unknown_ticket_is_404_with_error_body(agent: Agent) -> None:
    response = agent.get("/tickets/424242")
    assert response.status_code == 404
    assert set(response.json()["error"]) >= {"code", "message"}


def test_views_and_search(agent: Agent, admin: Agent) -> None:
    mine = agent.post("/tickets", json=ticket_payload(name="Refund for order 10482", owner_id=agent.id)).json()
    theirs = agent.post("/tickets", json=ticket_payload(name="Label printer jam", text="Shipping labels jam",
                                                       owner_id=admin.id)).json()
    nobody = agent.post("/tickets", json=ticket_payload(name="Question about plans", text="Which plan has SSO?")).json()
    agent.post(f"/tickets/{theirs['id']}/read")

    def ids(**params: str) -> set[int]:
        response = agent.get("/tickets", params=params)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["items"]}

    assert ids(view="all") == {mine["id"], theirs["id"], nobody["id"]}
    assert ids(view="mine") == {mine["id"]}
    assert ids(view="unassigned") == {nobody["id"]}
    assert ids(view="unread") == {mine["id"], nobody["id"]}
    assert ids(q="refund") == {mine["id"]}
    assert ids(q="SSO") == {nobody["id"]}, "search covers message text"
    assert agent.get("/tickets", params={"view": "bogus"}).status_code == 422


def test_cursor_pagination_visits_every_ticket_once(agent: Agent) -> None:
    created = {agent.post("/tickets", json=ticket_payload(name=f"Ticket {i}")).json()["id"] for i in range(7)}
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = agent.get("/tickets", params=params).json()
        seen.extend(t["id"] for t in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(created)
    assert agent.get("/tickets", params={"cursor": "garbage!!"}).status_code == 422
    assert agent.get("/tickets", params={"limit": "0"}).status_code == 422


def test_incoming_message_makes_ticket_unread(agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    assert agent.post(f"/tickets/{ticket['id']}/read").json()["unread"] is False
    conv = ticket["conversation_ids"][0]
    reply = agent.post(f"/conversations/{conv}/messages", json={"direction": "outgoing", "text": "On our way."})
    assert reply.status_code == 201 and reply.json()["sender_name"] == "Agent"
    assert agent.get(f"/tickets/{ticket['id']}").json()["unread"] is False
    incoming = agent.post(f"/conversations/{conv}/messages", json={
        "direction": "incoming", "sender_name": "Casey", "sender_email": "casey@shop.example", "text": "Thanks!"})
    assert incoming.status_code == 201
    assert agent.get(f"/tickets/{ticket['id']}").json()["unread"] is True
    assert agent.post("/conversations/99999/messages", json={"text": "x"}).status_code == 404


def test_associations_add_and_remove(agent: Agent, uow_factory: Callable) -> None:  # type: ignore[type-arg]
    from core.models import Company, Deal

    with uow_factory() as uow:
        company, deal = Company(name="Acme Shops"), Deal(name="Acme renewal", amount=5000)
        uow.session.add_all([company, deal])
        uow.commit()
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    added = agent.post(f"/tickets/{ticket['id']}/associations", json={"kind": "companies", "id": company.id})
    assert [c["name"] for c in added.json()["companies"]] == ["Acme Shops"]
    agent.post(f"/tickets/{ticket['id']}/associations", json={"kind": "deals", "id": deal.id})
    removed = agent.delete(f"/tickets/{ticket['id']}/associations/companies/{company.id}").json()
    assert removed["companies"] == [] and [d["name"] for d in removed["deals"]] == ["Acme renewal"]
    missing = agent.post(f"/tickets/{ticket['id']}/associations", json={"kind": "deals", "id": 9999})
    assert missing.status_code == 422
    found = agent.get("/records/companies", params={"q": "acme"}).json()
    assert [r["name"] for r in found] == ["Acme Shops"]


def test_malformed_json_is_a_4xx_not_a_500(agent: Agent) -> None:
    response = agent.post("/tickets", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert agent.post("/tickets", json={"name": ""}).status_code == 422
    assert agent.patch("/tickets/abc", json={}).status_code == 422


def test_inboxes_list_their_conversations(agent: Agent, uow_factory: Callable) -> None:  # type: ignore[type-arg]
    from core.inboxes import create_inbox
    from core.models import INBOX, Conversation, Message

    with uow_factory() as uow:
        inbox = create_inbox(uow=uow, actor=None, name="Billing inbox")
        conv = Conversation(channel="email", location=INBOX, inbox_id=inbox.id)
        conv.messages.append(Message(direction="incoming", sender_name="Dee", text="Invoice please"))
        uow.session.add(conv)
        uow.commit()
    assert [i["name"] for i in agent.get("/inboxes").json()] == ["Billing inbox"]
    convs = agent.get(f"/inboxes/{inbox.id}/conversations").json()
    assert [m["text"] for m in convs[0]["messages"]] == ["Invoice please"]
    assert agent.get("/inboxes/999/conversations").status_code == 404


def _message(text: str, at: str) -> dict[str, str]:
    return {"direction": "incoming", "sender_name": "Casey", "sender_email": "casey@shop.example", "text": text,
            "sent_at": at}


def test_messages_page_through_every_conversation_newest_first(agent: Agent) -> None:
    first = agent.post("/tickets", json=ticket_payload(name="Long thread", messages=[
        _message(f"first {n}", f"2026-03-0{1 + n // 2}T09:00:00Z") for n in range(5)])).json()  # pairs share a time
    second = agent.post("/tickets", json=ticket_payload(name="Follow-up", messages=[
        _message("second 0", "2026-03-02T12:00:00Z"), _message("second 1", "2026-03-09T09:00:00Z")])).json()
    merged = agent.post("/tickets/merge", json={"ticket_ids": [first["id"], second["id"]],
                                                "primary_id": first["id"]})
    assert merged.status_code == 200, merged.text
    merged_id, conversations = merged.json()["id"], set(merged.json()["conversation_ids"])
    assert len(conversations) == 2
    thread = [m for c in agent.get(f"/tickets/{merged_id}/conversations").json() for m in c["messages"]]
    expected = [m["text"] for m in sorted(thread, key=lambda m: (m["sent_at"], m["id"]), reverse=True)]
    assert len(expected) == 7

    seen: list[str] = []
    cursor = None
    for _ in range(4):
        params: dict[str, object] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = agent.get(f"/tickets/{first['id']}/messages", params=params)  # an old id resolves to the merge
        assert page.status_code == 200, page.text
        assert len(page.json()["items"]) <= 3
        seen += [m["text"] for m in page.json()["items"]]
        assert {m["conversation_id"] for m in page.json()["items"]} <= conversations
        cursor = page.json()["next_cursor"]
        if not cursor:
            break
    assert seen == expected, "each message once, newest first, across both conversations"
    assert seen[0] == "second 1" and len(seen) == len(set(seen))


def test_messages_page_rejects_bad_input(agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    for params, field in (({"limit": 0}, "limit"), ({"limit": 201}, "limit"), ({"cursor": "not-ours"}, "cursor")):
        response = agent.get(f"/tickets/{ticket['id']}/messages", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["error"]["field"] == field
    assert agent.get("/tickets/987654/messages").status_code == 404
