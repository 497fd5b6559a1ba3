"""Spam and not spam over the REST API (both databases)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core.models import Conversation, Message, Ticket
from core.uow import UnitOfWork
from tests.support import Agent, ticket_payload


@pytest.fixture
def lead(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent("lead@desk.example", permissions=("delete_tickets",))


def _second_conversation(uow_factory: Callable[[], UnitOfWork], ticket_id: int, text: str) -> int:
    """Attach another conversation to a ticket (as a merge or a move into the help desk would)."""
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        conversation = Conversation(channel="chat", ticket=ticket, created_at=uow.now(), last_message_at=uow.now())
        conversation.messages.append(Message(direction="incoming", sender_name="Sam Spammer",
                                             sender_email="sam@spam.example", text=text, sent_at=uow.now()))
        uow.session.add(conversation)
        uow.commit()
        return conversation.id


def _ids(agent: Agent, view: str) -> list[int]:
    return [t["id"] for t in agent.get("/tickets", params={"view": view}).json()["items"]]


def _two_conversation_ticket(lead: Agent, uow_factory: Callable[[], UnitOfWork]) -> tuple[int, int, int]:
    ticket = lead.post("/tickets", json=ticket_payload()).json()
    extra = _second_conversation(uow_factory, ticket["id"], "Cheap watches, click here")
    return ticket["id"], ticket["conversation_ids"][0], extra


def test_spam_some_conversations_keeps_the_ticket(lead: Agent, uow_factory: Callable[[], UnitOfWork]) -> None:
    tid, real, junk = _two_conversation_ticket(lead, uow_factory)
    response = lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [junk]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket_deleted"] is False
    assert body["ticket"]["id"] == tid and body["ticket"]["deleted"] is False
    spam_flags = {c["id"]: c["spam"] for c in lead.get(f"/tickets/{tid}/conversations").json()}
    assert spam_flags == {real: False, junk: True}
    assert tid in _ids(lead, "all") and tid in _ids(lead, "spam") and tid not in _ids(lead, "trash")


def test_spam_all_conversations_deletes_the_ticket(lead: Agent, uow_factory: Callable[[], UnitOfWork]) -> None:
    tid, real, junk = _two_conversation_ticket(lead, uow_factory)
    lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [junk]})
    response = lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [real]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ticket_deleted"] is True
    assert body["ticket"]["deleted"] is True and body["ticket"]["deleted_reason"] == "spam"
    assert tid in _ids(lead, "spam") and tid not in _ids(lead, "all") and tid not in _ids(lead, "trash")
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, tid)
        assert ticket is not None and ticket.deleted_by_id == lead.id and ticket.deleted_at is not None


def test_spam_refuses_conversations_of_another_ticket_naming_them(
    lead: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    tid, real, _ = _two_conversation_ticket(lead, uow_factory)
    other = lead.post("/tickets", json=ticket_payload(name="Other")).json()
    foreign = other["conversation_ids"][0]
    response = lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [real, foreign, 999999]})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "conversation_ids" and error["ids"] == [foreign, 999999]
    assert str(foreign) in error["message"]
    assert not any(c["spam"] for c in lead.get(f"/tickets/{tid}/conversations").json())
    assert not any(c["spam"] for c in lead.get(f"/tickets/{other['id']}/conversations").json())


def test_spam_needs_delete_tickets_permission(agent: Agent, lead: Agent) -> None:
    ticket = lead.post("/tickets", json=ticket_payload()).json()
    conv = ticket["conversation_ids"][0]
    refused = agent.post(f"/tickets/{ticket['id']}/spam", json={"conversation_ids": [conv]})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert lead.get(f"/tickets/{ticket['id']}").json()["deleted"] is False
    lead.post(f"/tickets/{ticket['id']}/spam", json={"conversation_ids": [conv]})
    assert agent.post(f"/conversations/{conv}/not-spam").status_code == 403
    assert lead.get(f"/tickets/{ticket['id']}").json()["deleted_reason"] == "spam"


def test_spam_unknown_ticket_is_404(lead: Agent) -> None:
    assert lead.post("/tickets/987654/spam", json={"conversation_ids": [1]}).status_code == 404
    assert lead.post("/conversations/987654/not-spam").status_code == 404


def test_spam_needs_at_least_one_conversation(lead: Agent) -> None:
    tid = lead.post("/tickets", json=ticket_payload()).json()["id"]
    response = lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": []})
    assert response.status_code == 422 and response.json()["error"]["field"] == "conversation_ids"


def test_spam_refuses_a_ticket_in_the_trash(lead: Agent) -> None:
    ticket = lead.post("/tickets", json=ticket_payload()).json()
    lead.delete(f"/tickets/{ticket['id']}")
    response = lead.post(f"/tickets/{ticket['id']}/spam", json={"conversation_ids": ticket["conversation_ids"]})
    assert response.status_code == 422
    assert lead.get(f"/tickets/{ticket['id']}").json()["deleted_reason"] == "trash"


def test_not_spam_restores_the_conversation_and_the_ticket_spam_deleted(lead: Agent) -> None:
    ticket = lead.post("/tickets", json=ticket_payload()).json()
    tid, conv = ticket["id"], ticket["conversation_ids"][0]
    lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [conv]})
    response = lead.post(f"/conversations/{conv}/not-spam")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conversation_id"] == conv and body["ticket_restored"] is True
    assert body["ticket"]["deleted"] is False and body["ticket"]["deleted_reason"] is None
    assert tid in _ids(lead, "all") and tid not in _ids(lead, "spam")
    assert lead.get(f"/tickets/{tid}/conversations").json()[0]["spam"] is False


def test_not_spam_leaves_a_live_ticket_live(lead: Agent, uow_factory: Callable[[], UnitOfWork]) -> None:
    tid, _, junk = _two_conversation_ticket(lead, uow_factory)
    lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [junk]})
    body = lead.post(f"/conversations/{junk}/not-spam").json()
    assert body["ticket_restored"] is False and body["ticket"]["deleted"] is False
    assert tid not in _ids(lead, "spam")


def test_not_spam_does_not_pull_a_trashed_ticket_out_of_the_trash(
    lead: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    tid, _, junk = _two_conversation_ticket(lead, uow_factory)
    lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [junk]})
    lead.delete(f"/tickets/{tid}")
    body = lead.post(f"/conversations/{junk}/not-spam").json()
    assert body["ticket_restored"] is False and body["ticket"]["deleted_reason"] == "trash"
    assert tid in _ids(lead, "trash")


def test_not_spam_refuses_a_conversation_that_is_not_spam(lead: Agent) -> None:
    conv = lead.post("/tickets", json=ticket_payload()).json()["conversation_ids"][0]
    response = lead.post(f"/conversations/{conv}/not-spam")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_action"


def test_spam_on_an_alias_acts_on_the_merged_ticket(lead: Agent, uow_factory: Callable[[], UnitOfWork]) -> None:
    old = lead.post("/tickets", json=ticket_payload(name="Old")).json()
    merged = lead.post("/tickets", json=ticket_payload(name="Merged")).json()
    with uow_factory() as uow:
        alias = uow.session.get(Ticket, old["id"])
        assert alias is not None
        alias.merged_into_id = merged["id"]
        uow.commit()
    response = lead.post(f"/tickets/{old['id']}/spam", json={"conversation_ids": merged["conversation_ids"]})
    assert response.status_code == 200, response.text
    assert response.json()["ticket"]["id"] == merged["id"] and response.json()["ticket_deleted"] is True


def test_spam_list_shows_spam_conversations_with_a_preview(
    lead: Agent, agent: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    tid, real, junk = _two_conversation_ticket(lead, uow_factory)
    clean = lead.post("/tickets", json=ticket_payload(name="Clean")).json()["id"]
    lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [junk]})
    response = agent.get("/spam")
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["id"] for i in items] == [junk]
    item = items[0]
    assert set(item) == {"id", "ticket_id", "ticket_name", "channel", "spam_at", "sender_name", "sender_email",
                         "preview"}
    assert (item["ticket_id"], item["ticket_name"], item["channel"]) == (tid, "Printer on fire", "chat")
    assert item["preview"] == "Cheap watches, click here" and item["sender_email"] == "sam@spam.example"
    assert _ids(agent, "spam") == [tid] and clean not in _ids(agent, "spam")
    assert real not in [i["id"] for i in items]
