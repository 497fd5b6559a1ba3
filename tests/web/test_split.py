"""Splitting messages off a ticket (REST API over real HTTP, plus the chat setting at the core level)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from core.actions.split import SplitTicketDetails, split_ticket
from core.config import Settings
from core.db import make_session_factory
from core.errors import InvalidAction
from core.models import AuditEvent, Message, Notification, Ticket, User
from core.uow import UnitOfWork
from tests.support import Agent, Clock, ticket_payload

T0 = datetime(2026, 4, 6, 8, 0, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


def _thread(agent: Agent, uow_factory: Factory, channel: str = "email", name: str = "Two problems") -> dict[str, Any]:
    """A ticket with three messages an hour apart, each carrying an email Message-ID."""
    people = [("incoming", "Casey Customer", "casey@shop.example"), ("outgoing", "Agent", "agent@desk.example"),
              ("incoming", "Casey Customer", "casey@shop.example")]
    messages = [{"direction": d, "sender_name": n, "sender_email": e, "subject": name, "text": f"Message {i}",
                 "sent_at": (T0 + timedelta(hours=i)).isoformat()} for i, (d, n, e) in enumerate(people)]
    ticket = agent.post("/tickets", json=ticket_payload(name=name, channel=channel, messages=messages))
    assert ticket.status_code == 201, ticket.text
    body = dict(ticket.json())
    with uow_factory() as uow:
        rows = list(uow.session.scalars(select(Message).order_by(Message.sent_at, Message.id)
                                        .where(Message.conversation_id == body["conversation_ids"][0])))
        for row in rows:
            row.email_message_id = f"<{channel}-{body['id']}-{row.id}@shop.example>"
        uow.commit()
        body["message_ids"] = [m.id for m in rows]
    return body


def _split(agent: Agent, ticket_id: int, message_ids: list[int], **details: Any) -> Any:
    return agent.post(f"/tickets/{ticket_id}/split",
                      json={"message_ids": message_ids, "ticket": {"name": "Second problem", **details}})


def _messages(agent: Agent, ticket_id: int) -> list[dict[str, Any]]:
    return [m for c in agent.get(f"/tickets/{ticket_id}/conversations").json() for m in c["messages"]]


def test_split_moves_chosen_messages_intact_to_new_ticket(agent: Agent, admin: Agent,
                                                          uow_factory: Factory, clock: Clock) -> None:
    clock.set(T0 + timedelta(days=1))
    original = _thread(agent, uow_factory)
    before = {m["id"]: m for m in _messages(agent, original["id"])}
    chosen = original["message_ids"][1:]
    response = _split(agent, original["id"], chosen, description="The label printer", priority="HIGH",
                      category="PRODUCT_ISSUE", owner_id=admin.id, status="WAITING_ON_US")
    assert response.status_code == 201, response.text
    new = response.json()
    assert (new["name"], new["description"], new["priority"], new["category"], new["owner_id"], new["status"]) == (
        "Second problem", "The label printer", "HIGH", "PRODUCT_ISSUE", admin.id, "WAITING_ON_US")
    assert new["channel"] == "email" and new["contact_id"] == original["contact_id"]
    assert [c["id"] for c in new["contacts"]] == [original["contact_id"]]
    [conversation] = agent.get(f"/tickets/{new['id']}/conversations").json()
    assert conversation["id"] not in original["conversation_ids"]
    assert (conversation["channel"], conversation["location"]) == ("email", "help_desk")
    assert conversation["contact_id"] == original["contact_id"]
    assert conversation["last_message_at"] == before[chosen[-1]]["sent_at"]
    assert [m["id"] for m in conversation["messages"]] == chosen
    for moved in conversation["messages"]:
        assert {k: v for k, v in moved.items() if k != "conversation_id"} == {
            k: v for k, v in before[moved["id"]].items() if k != "conversation_id"}
    left = agent.get(f"/tickets/{original['id']}").json()
    assert left["conversation_ids"] == original["conversation_ids"] and left["version"] == original["version"] + 1
    assert [m["id"] for m in _messages(agent, original["id"])] == original["message_ids"][:1]


def test_split_requires_a_name(agent: Agent, uow_factory: Factory) -> None:
    original = _thread(agent, uow_factory)
    for ticket in ({}, {"name": "   "}, {"description": "no name"}):
        response = agent.post(f"/tickets/{original['id']}/split",
                              json={"message_ids": original["message_ids"][-1:], "ticket": ticket})
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "ticket.name"


def test_split_refuses_messages_of_another_ticket(agent: Agent, uow_factory: Factory) -> None:
    original = _thread(agent, uow_factory)
    other = _thread(agent, uow_factory, name="Other")
    foreign = [other["message_ids"][0], 987654]
    response = _split(agent, original["id"], [original["message_ids"][1], *foreign])
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "message_ids" and error["ids"] == sorted(foreign)
    assert str(other["message_ids"][0]) in error["message"]


def test_split_takes_messages_from_one_conversation(agent: Agent, uow_factory: Factory) -> None:
    a = _thread(agent, uow_factory, name="A")
    b = _thread(agent, uow_factory, name="B")
    merged = agent.post("/tickets/merge", json={"ticket_ids": [a["id"], b["id"]], "primary_id": a["id"]}).json()
    response = _split(agent, merged["id"], [a["message_ids"][2], b["message_ids"][2]])
    assert response.status_code == 422
    assert "one conversation" in response.json()["error"]["message"]
    assert _split(agent, merged["id"], b["message_ids"][1:]).status_code == 201


def test_split_leaves_at_least_one_message(agent: Agent, uow_factory: Factory) -> None:
    original = _thread(agent, uow_factory)
    response = _split(agent, original["id"], original["message_ids"])
    assert response.status_code == 422
    assert "at least one message must stay" in response.json()["error"]["message"].lower()


def test_split_refuses_chat_ticket_by_default(agent: Agent, uow_factory: Factory) -> None:
    chat = _thread(agent, uow_factory, channel="chat")
    response = _split(agent, chat["id"], chat["message_ids"][1:])
    assert response.status_code == 422
    message = response.json()["error"]["message"]
    assert "Only email tickets can be split" in message and "split_allow_chat" in message


@pytest.mark.parametrize("allow_chat", [False, True])
def test_split_allows_chat_only_with_setting(allow_chat: bool, agent: Agent, uow_factory: Factory,
                                             engine: Engine, db_url: str, clock: Clock) -> None:
    chat = _thread(agent, uow_factory, channel="chat")
    phone = _thread(agent, uow_factory, channel="phone")
    factory = make_session_factory(engine)
    settings = Settings(database_url=db_url, split_allow_chat=allow_chat)
    details = SplitTicketDetails(name="Chat split")

    def split(ticket: dict[str, Any]) -> Ticket:
        with UnitOfWork(factory, settings=settings, clock=clock) as uow:
            actor = uow.session.get(User, agent.id)
            return split_ticket(uow=uow, actor=actor, ticket_id=ticket["id"],  # type: ignore[arg-type]
                                message_ids=ticket["message_ids"][1:], details=details)

    if allow_chat:
        new = split(chat)
        assert new.channel == "chat" and new.name == "Chat split"
    else:
        with pytest.raises(InvalidAction, match="split_allow_chat"):
            split(chat)
    with pytest.raises(InvalidAction, match="phone conversation"):
        split(phone)


def test_split_validates_owner_and_status(agent: Agent, uow_factory: Factory) -> None:
    original = _thread(agent, uow_factory)
    cases = {"owner_id": 987654, "status": "DONE", "pipeline": "sales", "priority": "SOON"}
    for field, value in cases.items():
        response = _split(agent, original["id"], original["message_ids"][1:], **{field: value})
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["field"] == f"ticket.{field}"


def test_split_is_recorded_on_both_tickets(agent: Agent, uow_factory: Factory) -> None:
    original = _thread(agent, uow_factory)
    chosen = original["message_ids"][1:]
    new = _split(agent, original["id"], chosen).json()
    with uow_factory() as uow:
        rows = uow.session.execute(select(AuditEvent.ticket_id, AuditEvent.detail)
                                   .where(AuditEvent.action == "ticket.split").order_by(AuditEvent.id)).all()
    assert [tid for tid, _ in rows] == [original["id"], new["id"]]
    assert [detail["other_ticket_id"] for _, detail in rows] == [new["id"], original["id"]]
    assert all(detail["message_ids"] == chosen for _, detail in rows)


def test_split_notifies_followers_of_original_not_the_actor(
    agent: Agent, admin: Agent, uow_factory: Factory
) -> None:
    original = _thread(agent, uow_factory)
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, original["id"])
        assert ticket is not None
        ticket.followers.extend([uow.session.get(User, agent.id), uow.session.get(User, admin.id)])  # type: ignore[list-item]
        uow.commit()
    _split(agent, original["id"], original["message_ids"][1:])
    with uow_factory() as uow:
        rows = uow.session.execute(select(Notification.user_id, Notification.action, Notification.ticket_id)).all()
    assert [tuple(r) for r in rows] == [(admin.id, "ticket.split", original["id"])]


def test_split_through_alias_acts_on_merged_ticket(agent: Agent, uow_factory: Factory) -> None:
    a = _thread(agent, uow_factory, name="A")
    b = _thread(agent, uow_factory, name="B")
    merged = agent.post("/tickets/merge", json={"ticket_ids": [a["id"], b["id"]], "primary_id": a["id"]}).json()
    response = _split(agent, a["id"], a["message_ids"][1:])
    assert response.status_code == 201, response.text
    assert len(agent.get(f"/tickets/{merged['id']}").json()["conversation_ids"]) == 2


def test_failed_split_changes_nothing(agent: Agent, uow_factory: Factory) -> None:
    original = _thread(agent, uow_factory)
    before = (agent.get(f"/tickets/{original['id']}").json(), _messages(agent, original["id"]))
    attempts: list[tuple[list[int], dict[str, Any]]] = [
        (original["message_ids"], {}),
        (original["message_ids"][1:], {"owner_id": 987654}),
        (original["message_ids"][1:], {"status": "DONE"}),
        ([original["message_ids"][1], 987654], {}),
    ]
    for message_ids, details in attempts:
        assert _split(agent, original["id"], message_ids, **details).status_code == 422
    assert (agent.get(f"/tickets/{original['id']}").json(), _messages(agent, original["id"])) == before
    with uow_factory() as uow:
        assert uow.session.scalars(select(Ticket.id)).all() == [original["id"]]
        assert uow.session.scalars(select(AuditEvent.action).where(AuditEvent.action == "ticket.split")).all() == []


def test_split_refuses_deleted_ticket(agent: Agent, uow_factory: Factory) -> None:
    original = _thread(agent, uow_factory)
    with uow_factory() as uow:
        uow.session.execute(update(Ticket).where(Ticket.id == original["id"])
                            .values(deleted_at=T0, deleted_reason="trash"))
        uow.commit()
    response = _split(agent, original["id"], original["message_ids"][1:])
    assert response.status_code == 422 and "trash" in response.json()["error"]["message"]
