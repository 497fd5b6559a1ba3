"""Moving conversations between an inbox and the help desk (REST API over real HTTP, both databases)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, update
from sqlalchemy.orm import ORMExecuteState

from core import inboxes
from core.actions.move import move_conversation
from core.db import make_session_factory
from core.errors import Conflict
from core.models import INBOX, AuditEvent, Contact, Conversation, Message, Notification, Ticket, User
from core.uow import UnitOfWork
from tests.support import Agent, Clock, ticket_payload

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


@pytest.fixture
def mover(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent("lead@desk.example", permissions=("account_access",))


def _inbox(uow_factory: Factory, name: str = "Sales") -> int:
    with uow_factory() as uow:
        return inboxes.create_inbox(uow=uow, actor=None, name=name).id


def _inbox_conversation(uow_factory: Factory, inbox_id: int, subject: str | None = "Quote for 40 seats",
                        contact_name: str = "Robin Buyer") -> int:
    """A ticketless email conversation sitting in an inbox, as mail routing leaves it."""
    with uow_factory() as uow:
        contact = Contact(name=contact_name, email="robin@buyer.example")
        conversation = Conversation(channel="email", location=INBOX, inbox_id=inbox_id, contact=contact,
                                    created_at=T0, last_message_at=T0)
        conversation.messages.append(Message(direction="incoming", sender_name=contact_name,
                                             sender_email="robin@buyer.example", subject=subject,
                                             text="How much for 40 seats?", sent_at=T0))
        uow.session.add(conversation)
        uow.commit()
        return conversation.id


def _move(agent: Agent, conversation_id: int, to: str | int, **extra: Any) -> Any:
    return agent.post(f"/conversations/{conversation_id}/move", json={"to": to, **extra})


def _moved_events(uow_factory: Factory) -> list[tuple[int | None, dict[str, Any]]]:
    with uow_factory() as uow:
        rows = uow.session.execute(select(AuditEvent.ticket_id, AuditEvent.detail)
                                   .where(AuditEvent.action == "conversation.moved").order_by(AuditEvent.id))
        return [(tid, dict(detail)) for tid, detail in rows]


def test_move_needs_account_access(agent: Agent, admin: Agent, mover: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    conversation = _inbox_conversation(uow_factory, inbox)
    refused = _move(agent, conversation, "help_desk")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert _move(mover, conversation, inbox + 1000).status_code == 422
    assert _move(mover, conversation, "help_desk").status_code == 200
    assert _move(admin, conversation, inbox).status_code == 200


def test_move_into_help_desk_creates_ticket_with_comment_and_assignee(
    mover: Agent, agent: Agent, uow_factory: Factory
) -> None:
    inbox = _inbox(uow_factory)
    conversation_id = _inbox_conversation(uow_factory, inbox)
    response = _move(mover, conversation_id, "help_desk", assignee_id=agent.id, comment="Big deal, be quick.")
    assert response.status_code == 200, response.text
    body = response.json()
    conversation, ticket = body["conversation"], body["ticket"]
    assert (conversation["location"], conversation["inbox_id"]) == ("help_desk", None)
    assert conversation["ticket_id"] == ticket["id"] and conversation["assignee_id"] == agent.id
    assert ticket["name"] == "Quote for 40 seats" and ticket["channel"] == "email"
    assert ticket["contact_id"] == conversation["contact_id"] and [c["name"] for c in ticket["contacts"]] == [
        "Robin Buyer"]
    assert ticket["conversation_ids"] == [conversation_id] and ticket["unread"] is True
    note = conversation["messages"][-1]
    assert (note["direction"], note["author_id"], note["text"]) == ("comment", mover.id, "Big deal, be quick.")
    assert ticket["id"] in [t["id"] for t in mover.get("/tickets").json()["items"]]
    assert mover.get(f"/inboxes/{inbox}/conversations").json() == []
    assert _moved_events(uow_factory) == [(ticket["id"], {
        "conversation_id": conversation_id, "from": inbox, "to": "help_desk", "ticket_created": True,
        "assignee_id": agent.id, "comment_message_id": note["id"]})]


def test_move_into_help_desk_names_ticket_after_contact_without_subject(
    mover: Agent, uow_factory: Factory
) -> None:
    conversation_id = _inbox_conversation(uow_factory, _inbox(uow_factory), subject=None)
    ticket = _move(mover, conversation_id, "help_desk").json()["ticket"]
    assert ticket["name"] == "Conversation with Robin Buyer"


def test_move_into_help_desk_reuses_existing_ticket(mover: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    ticket = mover.post("/tickets", json=ticket_payload()).json()
    conversation_id = ticket["conversation_ids"][0]
    assert _move(mover, conversation_id, inbox).status_code == 200
    back = _move(mover, conversation_id, "help_desk")
    assert back.status_code == 200, back.text
    assert back.json()["ticket"]["id"] == ticket["id"]
    assert back.json()["ticket"]["conversation_ids"] == [conversation_id]
    with uow_factory() as uow:
        assert uow.session.scalars(select(Ticket.id)).all() == [ticket["id"]]


def test_move_out_to_inbox_keeps_ticket_in_help_desk(mover: Agent, agent: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    ticket = mover.post("/tickets", json=ticket_payload()).json()
    conversation_id = ticket["conversation_ids"][0]
    response = _move(mover, conversation_id, inbox, assignee_id=agent.id, pipeline="support",
                     status="WAITING_ON_CONTACT", comment="Sales will take it from here.")
    assert response.status_code == 200, response.text
    conversation, moved_ticket = response.json()["conversation"], response.json()["ticket"]
    assert (conversation["location"], conversation["inbox_id"], conversation["ticket_id"]) == (
        "inbox", inbox, ticket["id"])
    assert conversation["assignee_id"] == agent.id and conversation["messages"][-1]["direction"] == "comment"
    assert (moved_ticket["status"], moved_ticket["version"]) == ("WAITING_ON_CONTACT", ticket["version"] + 1)
    assert [t["id"] for t in mover.get("/tickets").json()["items"]] == [ticket["id"]]
    assert mover.get(f"/tickets/{ticket['id']}").json()["conversation_ids"] == [conversation_id]
    assert [c["id"] for c in mover.get(f"/inboxes/{inbox}/conversations").json()] == [conversation_id]
    [(ticket_id, detail)] = _moved_events(uow_factory)
    assert ticket_id == ticket["id"] and (detail["from"], detail["to"]) == ("help_desk", inbox)
    assert detail["changes"] == {"status": {"from": "NEW", "to": "WAITING_ON_CONTACT"}}


def test_move_refuses_unknown_inbox(mover: Agent) -> None:
    ticket = mover.post("/tickets", json=ticket_payload()).json()
    response = _move(mover, ticket["conversation_ids"][0], 987654)
    assert response.status_code == 422 and response.json()["error"]["field"] == "to"
    assert _move(mover, ticket["conversation_ids"][0], "spam_folder").status_code == 422


def test_move_unknown_conversation_is_404(mover: Agent) -> None:
    assert _move(mover, 987654, "help_desk").status_code == 404


def test_move_validates_assignee_pipeline_and_status(mover: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    ticket = mover.post("/tickets", json=ticket_payload()).json()
    cases: list[tuple[dict[str, Any], str]] = [({"assignee_id": 987654}, "assignee_id"), ({"status": "DONE"}, "status"),
             ({"pipeline": "sales", "status": "NEW"}, "pipeline"), ({"pipeline": "sales"}, "status")]
    for extra, field in cases:
        response = _move(mover, ticket["conversation_ids"][0], inbox, **extra)
        assert response.status_code == 422, (extra, response.text)
        assert response.json()["error"]["field"] == field


def test_move_refuses_spam_conversation(mover: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    conversation_id = _inbox_conversation(uow_factory, inbox)
    with uow_factory() as uow:
        uow.session.execute(update(Conversation).where(Conversation.id == conversation_id).values(spam_at=T0))
        uow.commit()
    response = _move(mover, conversation_id, "help_desk")
    assert response.status_code == 422 and "spam" in response.json()["error"]["message"]


def test_move_refuses_moving_where_it_already_is(mover: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    in_inbox = _inbox_conversation(uow_factory, inbox)
    in_help_desk = mover.post("/tickets", json=ticket_payload()).json()["conversation_ids"][0]
    for conversation_id, to in ((in_inbox, inbox), (in_help_desk, "help_desk")):
        response = _move(mover, conversation_id, to)
        assert response.status_code == 422 and "already" in response.json()["error"]["message"]


def test_move_between_inboxes_without_ticket(mover: Agent, uow_factory: Factory) -> None:
    sales, billing = _inbox(uow_factory, "Sales"), _inbox(uow_factory, "Billing")
    conversation_id = _inbox_conversation(uow_factory, sales)
    response = _move(mover, conversation_id, billing)
    assert response.status_code == 200 and response.json()["ticket"] is None
    assert response.json()["conversation"]["inbox_id"] == billing
    refused = _move(mover, conversation_id, sales, status="CLOSED")
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "status"
    assert mover.get(f"/inboxes/{billing}/conversations").json()[0]["id"] == conversation_id


def test_move_notifies_followers_not_the_actor(mover: Agent, agent: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    ticket = mover.post("/tickets", json=ticket_payload()).json()
    with uow_factory() as uow:
        row = uow.session.get(Ticket, ticket["id"])
        assert row is not None
        row.followers.extend([uow.session.get(User, agent.id), uow.session.get(User, mover.id)])  # type: ignore[list-item]
        uow.commit()
    assert _move(mover, ticket["conversation_ids"][0], inbox).status_code == 200
    with uow_factory() as uow:
        rows = uow.session.execute(select(Notification.user_id, Notification.action, Notification.ticket_id)).all()
    assert [tuple(r) for r in rows] == [(agent.id, "conversation.moved", ticket["id"])]


def test_failed_move_changes_nothing(mover: Agent, uow_factory: Factory) -> None:
    inbox = _inbox(uow_factory)
    ticket = mover.post("/tickets", json=ticket_payload()).json()
    conversation_id = ticket["conversation_ids"][0]
    before = (mover.get(f"/tickets/{ticket['id']}").json(), mover.get(f"/tickets/{ticket['id']}/conversations").json())
    for extra in ({"assignee_id": 987654, "comment": "x"}, {"status": "DONE", "comment": "x"}):
        assert _move(mover, conversation_id, inbox, **extra).status_code == 422
    after = (mover.get(f"/tickets/{ticket['id']}").json(), mover.get(f"/tickets/{ticket['id']}/conversations").json())
    assert after == before
    assert _moved_events(uow_factory) == []


def test_racing_moves_of_one_conversation_make_one_ticket(
    mover: Agent, uow_factory: Factory, engine: Engine, clock: Clock
) -> None:
    conversation_id = _inbox_conversation(uow_factory, _inbox(uow_factory))
    barrier = threading.Barrier(2, timeout=20)
    factory = make_session_factory(engine)

    @event.listens_for(factory, "do_orm_execute")
    def _meet_before_first_write(state: ORMExecuteState) -> None:
        if state.is_update and not state.session.info.get("met"):
            state.session.info["met"] = True
            barrier.wait()

    def move(comment: str) -> int | Conflict:
        with UnitOfWork(factory, settings=uow_factory().settings, clock=clock) as uow:
            actor = uow.session.get(User, mover.id)
            assert actor is not None
            try:
                _, ticket = move_conversation(uow=uow, actor=actor, conversation_id=conversation_id,
                                              to="help_desk", comment=comment)
            except Conflict as exc:
                return exc
            assert ticket is not None
            return ticket.id

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(move, ["first", "second"]))
    assert sorted(type(r).__name__ for r in results) == ["Conflict", "int"], results
    with uow_factory() as uow:
        assert uow.session.scalars(select(Ticket.id)).all() == [r for r in results if isinstance(r, int)]
        assert len(uow.session.scalars(select(Message.id).where(Message.direction == "comment")).all()) == 1
