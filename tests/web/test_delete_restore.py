"""Delete (single and bulk), the trash view and restore over the REST API (both databases)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event

from core.actions.delete import delete_tickets
from core.models import Ticket, User
from core.uow import UnitOfWork
from tests.support import Agent, Clock, ticket_payload

T0 = datetime(2025, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def lead(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent("lead@desk.example", permissions=("delete_tickets",))


def _new(agent: Agent, name: str = "Printer on fire") -> dict[str, Any]:
    response = agent.post("/tickets", json=ticket_payload(name=name))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _ids(agent: Agent, view: str) -> list[int]:
    return [t["id"] for t in agent.get("/tickets", params={"view": view, "limit": 100}).json()["items"]]


def test_delete_moves_the_ticket_and_its_conversations_to_the_trash(
    lead: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ticket = _new(lead)
    response = lead.delete(f"/tickets/{ticket['id']}")
    assert response.status_code == 200 and response.json() == {"deleted": 1}
    after = lead.get(f"/tickets/{ticket['id']}").json()
    assert after["deleted"] is True and after["deleted_reason"] == "trash"
    assert after["conversation_ids"] == ticket["conversation_ids"]
    assert _ids(lead, "trash") == [ticket["id"]] and ticket["id"] not in _ids(lead, "all")
    with uow_factory() as uow:
        row = uow.session.get(Ticket, ticket["id"])
        assert row is not None and row.deleted_by_id == lead.id and row.deleted_at is not None


def test_delete_needs_delete_tickets_permission(agent: Agent, lead: Agent) -> None:
    ticket = _new(agent)
    for response in (agent.delete(f"/tickets/{ticket['id']}"),
                     agent.post("/tickets/bulk-delete", json={"ids": [ticket["id"]], "confirm_count": 1})):
        assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    assert agent.get(f"/tickets/{ticket['id']}").json()["deleted"] is False
    lead.delete(f"/tickets/{ticket['id']}")
    assert agent.post(f"/tickets/{ticket['id']}/restore").status_code == 403
    assert agent.get(f"/tickets/{ticket['id']}").json()["deleted"] is True


def test_delete_unknown_ticket_is_404(lead: Agent) -> None:
    assert lead.delete("/tickets/987654").status_code == 404
    assert lead.post("/tickets/987654/restore").status_code == 404


def test_delete_refuses_a_ticket_already_deleted(lead: Agent) -> None:
    tid = _new(lead)["id"]
    lead.delete(f"/tickets/{tid}")
    response = lead.delete(f"/tickets/{tid}")
    assert response.status_code == 422 and "already in the trash" in response.json()["error"]["message"]


def test_bulk_delete_needs_confirm_count_equal_to_the_number_of_tickets(lead: Agent) -> None:
    ids = [_new(lead, f"T{i}")["id"] for i in range(3)]
    for wrong in (2, 4):
        response = lead.post("/tickets/bulk-delete", json={"ids": ids, "confirm_count": wrong})
        assert response.status_code == 422 and response.json()["error"]["field"] == "confirm_count"
    assert _ids(lead, "trash") == []
    response = lead.post("/tickets/bulk-delete", json={"ids": ids + ids[:1], "confirm_count": 3})
    assert response.status_code == 200 and response.json() == {"deleted": 3}
    assert sorted(_ids(lead, "trash")) == ids and not set(ids) & set(_ids(lead, "all"))


def test_bulk_delete_is_all_or_nothing_naming_missing_and_deleted_ids(lead: Agent) -> None:
    live = [_new(lead, f"T{i}")["id"] for i in range(2)]
    gone = _new(lead, "Gone")["id"]
    lead.delete(f"/tickets/{gone}")
    response = lead.post("/tickets/bulk-delete", json={"ids": [*live, gone, 987654], "confirm_count": 4})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "ids" and error["ids"] == sorted([gone, 987654])
    assert "987654" in error["message"] and str(gone) in error["message"]
    assert set(live) <= set(_ids(lead, "all")) and _ids(lead, "trash") == [gone]


def test_bulk_delete_refuses_more_than_ten_thousand_ids(lead: Agent) -> None:
    response = lead.post("/tickets/bulk-delete", json={"ids": list(range(1, 10_002)), "confirm_count": 10_001})
    assert response.status_code == 422 and response.json()["error"]["field"] == "ids"


def test_bulk_delete_resolves_aliases_and_notifies_followers(
    lead: Agent, agent: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    old, merged, other = _new(lead, "Old"), _new(lead, "Merged"), _new(lead, "Other")
    with uow_factory() as uow:
        alias = uow.session.get(Ticket, old["id"])
        assert alias is not None
        alias.merged_into_id = merged["id"]
        uow.commit()
    agent.post(f"/tickets/{merged['id']}/follow")
    agent.post(f"/tickets/{other['id']}/follow")
    response = lead.post("/tickets/bulk-delete", json={"ids": [old["id"], other["id"]], "confirm_count": 2})
    assert response.status_code == 200 and response.json() == {"deleted": 2}
    assert sorted(_ids(lead, "trash")) == sorted([merged["id"], other["id"]])
    notes = agent.get("/notifications").json()["items"]
    assert sorted((n["ticket_id"], n["action"]) for n in notes) == sorted(
        [(merged["id"], "ticket.deleted"), (other["id"], "ticket.deleted")])


@contextmanager
def _count_statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def listener(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def test_bulk_delete_does_not_query_per_ticket(
    uow_factory: Callable[[], UnitOfWork], engine: Engine, lead: Agent
) -> None:
    with uow_factory() as uow:
        tickets = [Ticket(name=f"Bulk {i}", created_at=uow.now(), updated_at=uow.now(),
                          last_activity_at=uow.now()) for i in range(600)]
        uow.session.add_all(tickets)
        uow.commit()
        ids = [t.id for t in tickets]
    with uow_factory() as uow, _count_statements(engine) as statements:
        actor = uow.session.get(User, lead.id)
        assert actor is not None
        assert delete_tickets(uow=uow, actor=actor, ticket_ids=ids, confirm_count=600) == 600
    assert len(statements) < 20, statements
    assert len(_ids(lead, "trash")) == 100


def test_trash_view_lists_only_trash_not_spam(lead: Agent) -> None:
    trashed, spammed, live = _new(lead, "Trashed"), _new(lead, "Spammed"), _new(lead, "Live")
    lead.delete(f"/tickets/{trashed['id']}")
    lead.post(f"/tickets/{spammed['id']}/spam", json={"conversation_ids": spammed["conversation_ids"]})
    assert _ids(lead, "trash") == [trashed["id"]]
    assert _ids(lead, "all") == [live["id"]]


def test_restore_brings_a_ticket_back_from_the_trash(lead: Agent) -> None:
    tid = _new(lead)["id"]
    lead.delete(f"/tickets/{tid}")
    response = lead.post(f"/tickets/{tid}/restore")
    assert response.status_code == 200, response.text
    assert response.json()["deleted"] is False and response.json()["deleted_reason"] is None
    assert tid in _ids(lead, "all") and tid not in _ids(lead, "trash")


def test_restore_refuses_a_ticket_that_is_not_deleted(lead: Agent) -> None:
    tid = _new(lead)["id"]
    response = lead.post(f"/tickets/{tid}/restore")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_action"


def test_restore_refuses_a_ticket_spam_deleted(lead: Agent) -> None:
    ticket = _new(lead)
    lead.post(f"/tickets/{ticket['id']}/spam", json={"conversation_ids": ticket["conversation_ids"]})
    response = lead.post(f"/tickets/{ticket['id']}/restore")
    assert response.status_code == 422 and "not spam" in response.json()["error"]["message"]


def test_restore_works_until_the_retention_period_ends(lead: Agent, clock: Clock) -> None:
    clock.set(T0)
    kept, late = _new(lead, "Kept")["id"], _new(lead, "Late")["id"]
    lead.post("/tickets/bulk-delete", json={"ids": [kept, late], "confirm_count": 2})
    clock.set(T0 + timedelta(days=89, hours=23))
    assert lead.post(f"/tickets/{kept}/restore").status_code == 200
    clock.set(T0 + timedelta(days=90, seconds=1))
    response = lead.post(f"/tickets/{late}/restore")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "expired" and "expired" in error["message"]
    assert lead.get(f"/tickets/{late}").json()["deleted"] is True


def test_deleted_ticket_cannot_be_edited_until_restored(lead: Agent) -> None:
    tid = _new(lead)["id"]
    lead.delete(f"/tickets/{tid}")
    assert lead.patch(f"/tickets/{tid}", json={"priority": "HIGH"}).status_code == 422
    lead.post(f"/tickets/{tid}/restore")
    assert lead.patch(f"/tickets/{tid}", json={"priority": "HIGH"}).status_code == 200
