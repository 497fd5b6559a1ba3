"""Merging two tickets over the REST API (real HTTP, both databases)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update

from core.models import AuditEvent, Company, Deal, Notification, Ticket, User
from core.uow import UnitOfWork
from tests.support import Agent, Clock, ticket_payload

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


def _ticket(agent: Agent, name: str, **extra: Any) -> dict[str, Any]:
    response = agent.post("/tickets", json=ticket_payload(name=name, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _merge(agent: Agent, ids: list[int], primary: int) -> Any:
    return agent.post("/tickets/merge", json={"ticket_ids": ids, "primary_id": primary})


def _follow(uow_factory: Factory, ticket_id: int, *user_ids: int) -> None:
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        ticket.followers.extend(u for uid in user_ids if (u := uow.session.get(User, uid)) is not None)
        uow.commit()


def _events(uow_factory: Factory, ticket_id: int) -> list[tuple[str, dict[str, Any]]]:
    """(action, detail) of a ticket's audit events, oldest first."""
    with uow_factory() as uow:
        rows = uow.session.execute(select(AuditEvent.action, AuditEvent.detail)
                                   .where(AuditEvent.ticket_id == ticket_id).order_by(AuditEvent.id))
        return [(action, dict(detail)) for action, detail in rows]


def _notifications(uow_factory: Factory, user_id: int) -> list[tuple[str, int | None]]:
    """(action, ticket id) of a user's notifications, oldest first."""
    with uow_factory() as uow:
        rows = uow.session.execute(select(Notification.action, Notification.ticket_id)
                                   .where(Notification.user_id == user_id).order_by(Notification.id))
        return [(action, ticket_id) for action, ticket_id in rows]


def test_merge_creates_new_ticket_with_primary_properties_and_older_created_at(
    agent: Agent, admin: Agent, clock: Clock
) -> None:
    clock.set(T0)
    older = _ticket(agent, "Invoice is wrong", priority="LOW", category="BILLING_ISSUE")
    clock.advance(hours=3)
    newer = _ticket(agent, "Billing question", priority="URGENT", category="GENERAL_INQUIRY", owner_id=admin.id,
                    contact={"name": "Dana Doe", "email": "dana@shop.example"}, status="WAITING_ON_US")
    agent.post(f"/tickets/{older['id']}/read")
    clock.advance(hours=1)
    response = _merge(agent, [older["id"], newer["id"]], newer["id"])
    assert response.status_code == 200, response.text
    merged = response.json()
    assert merged["id"] not in (older["id"], newer["id"])
    for field in ("name", "description", "owner_id", "priority", "category", "pipeline", "status", "channel",
                  "contact_id"):
        assert merged[field] == newer[field], field
    assert datetime.fromisoformat(merged["created_at"]) == T0
    assert merged["unread"] is True
    assert merged["conversation_ids"] == sorted(older["conversation_ids"] + newer["conversation_ids"])
    assert merged["merged_from_ids"] == sorted([older["id"], newer["id"]])
    assert {c["name"] for c in merged["contacts"]} == {"Casey Customer", "Dana Doe"}


def test_merge_takes_properties_from_whichever_ticket_is_primary(agent: Agent) -> None:
    first = _ticket(agent, "First", priority="LOW")
    second = _ticket(agent, "Second", priority="HIGH")
    merged = _merge(agent, [first["id"], second["id"]], first["id"]).json()
    assert (merged["name"], merged["priority"]) == ("First", "LOW")


def test_merge_unions_followers_and_associations(agent: Agent, admin: Agent, uow_factory: Factory) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B", contact={"name": "Dana Doe", "email": "dana@shop.example"})
    with uow_factory() as uow:
        acme, globex = Company(name="Acme"), Company(name="Globex")
        deal = Deal(name="Renewal", amount=1200)
        uow.session.add_all([acme, globex, deal])
        uow.commit()
        ids = {"acme": acme.id, "globex": globex.id, "deal": deal.id}
    _follow(uow_factory, a["id"], agent.id)
    _follow(uow_factory, b["id"], agent.id, admin.id)
    for ticket, kind, rid in ((a, "companies", ids["acme"]), (b, "companies", ids["acme"]),
                              (b, "companies", ids["globex"]), (a, "deals", ids["deal"])):
        assert agent.post(f"/tickets/{ticket['id']}/associations", json={"kind": kind, "id": rid}).status_code == 200
    merged = _merge(agent, [a["id"], b["id"]], a["id"]).json()
    assert merged["follower_ids"] == sorted([agent.id, admin.id])
    assert [c["name"] for c in merged["companies"]] == ["Acme", "Globex"]
    assert [d["name"] for d in merged["deals"]] == ["Renewal"]
    assert {c["name"] for c in merged["contacts"]} == {"Casey Customer", "Dana Doe"}


def test_merge_moves_activity_history_and_notifications(
    agent: Agent, admin: Agent, uow_factory: Factory
) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B")
    _follow(uow_factory, a["id"], admin.id)
    agent.patch(f"/tickets/{a['id']}", json={"priority": "HIGH"})
    assert _notifications(uow_factory, admin.id) == [("ticket.updated", a["id"])]
    merged = _merge(agent, [a["id"], b["id"]], b["id"]).json()
    assert _events(uow_factory, a["id"]) == [] and _events(uow_factory, b["id"]) == []
    events = _events(uow_factory, merged["id"])
    actions = [action for action, _ in events]
    assert actions.count("ticket.created") == 2 and "ticket.updated" in actions
    assert actions[-1] == "ticket.merged"
    assert (events[-1][1]["primary_id"], events[-1][1]["secondary_id"]) == (b["id"], a["id"])
    assert _notifications(uow_factory, admin.id) == [("ticket.updated", merged["id"]), ("ticket.merged", merged["id"])]


def test_merge_notifies_followers_but_not_the_actor(agent: Agent, admin: Agent, uow_factory: Factory) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B")
    _follow(uow_factory, a["id"], agent.id)
    _follow(uow_factory, b["id"], admin.id)
    merged = _merge(admin, [a["id"], b["id"]], a["id"]).json()
    assert _notifications(uow_factory, agent.id) == [("ticket.merged", merged["id"])]
    assert _notifications(uow_factory, admin.id) == []


def test_old_ids_are_aliases_for_get_and_patch(agent: Agent) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B")
    merged = _merge(agent, [a["id"], b["id"]], a["id"]).json()
    for old in (a, b):
        got = agent.get(f"/tickets/{old['id']}")
        assert got.status_code == 200 and got.json()["id"] == merged["id"]
    patched = agent.patch(f"/tickets/{b['id']}", json={"name": "Renamed through an alias"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["id"] == merged["id"]
    assert agent.get(f"/tickets/{merged['id']}").json()["name"] == "Renamed through an alias"
    listed = [t["id"] for t in agent.get("/tickets").json()["items"]]
    assert listed == [merged["id"]]


def test_merge_of_merged_away_id_resolves_first(agent: Agent) -> None:
    a, b, c = (_ticket(agent, name) for name in ("A", "B", "C"))
    first = _merge(agent, [a["id"], b["id"]], a["id"]).json()
    second = _merge(agent, [b["id"], c["id"]], c["id"])
    assert second.status_code == 200, second.text
    final = second.json()
    assert final["name"] == "C"
    assert final["merged_from_ids"] == sorted([a["id"], b["id"], c["id"], first["id"]])
    assert sorted(final["conversation_ids"]) == sorted(a["conversation_ids"] + b["conversation_ids"]
                                                       + c["conversation_ids"])
    assert agent.get(f"/tickets/{a['id']}").json()["id"] == final["id"]


def test_merge_refuses_ticket_with_itself(agent: Agent) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B")
    same = _merge(agent, [a["id"], a["id"]], a["id"])
    assert same.status_code == 422 and "itself" in same.json()["error"]["message"]
    merged = _merge(agent, [a["id"], b["id"]], a["id"]).json()
    for pair in ([a["id"], b["id"]], [a["id"], merged["id"]]):
        response = _merge(agent, pair, pair[0])
        assert response.status_code == 422, response.text
        assert "itself" in response.json()["error"]["message"]


def test_merge_refuses_deleted_ticket(agent: Agent, uow_factory: Factory) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B")
    with uow_factory() as uow:
        uow.session.execute(update(Ticket).where(Ticket.id == b["id"])
                            .values(deleted_at=datetime.now(UTC), deleted_reason="trash"))
        uow.commit()
    response = _merge(agent, [a["id"], b["id"]], a["id"])
    assert response.status_code == 422
    assert "deleted" in response.json()["error"]["message"]
    after = agent.get(f"/tickets/{a['id']}").json()
    assert (after["id"], after["version"], after["merged_from_ids"]) == (a["id"], a["version"], [])
    with uow_factory() as uow:
        assert len(list(uow.session.scalars(select(Ticket.id)))) == 2


def test_merge_primary_must_be_one_of_the_tickets(agent: Agent) -> None:
    a, b, c = (_ticket(agent, name) for name in ("A", "B", "C"))
    for primary in (c["id"], 987654):
        response = _merge(agent, [a["id"], b["id"]], primary)
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "primary_id"


def test_merge_takes_exactly_two_tickets(agent: Agent) -> None:
    a, b, c = (_ticket(agent, name) for name in ("A", "B", "C"))
    for ids in ([a["id"]], [a["id"], b["id"], c["id"]]):
        response = _merge(agent, ids, a["id"])
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "ticket_ids"


def test_merge_unknown_ticket_is_404(agent: Agent) -> None:
    a = _ticket(agent, "A")
    assert _merge(agent, [a["id"], 987654], a["id"]).status_code == 404


def test_merge_refuses_cycle_in_forged_alias_chain(agent: Agent, uow_factory: Factory) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B")
    c = _ticket(agent, "C")
    with uow_factory() as uow:
        uow.session.execute(update(Ticket).where(Ticket.id == a["id"]).values(merged_into_id=b["id"]))
        uow.session.execute(update(Ticket).where(Ticket.id == b["id"]).values(merged_into_id=a["id"]))
        uow.commit()
    got = agent.get(f"/tickets/{a['id']}")
    assert got.status_code == 409 and "merge chain" in got.json()["error"]["message"]
    assert _merge(agent, [a["id"], c["id"]], c["id"]).status_code == 409
    assert agent.get(f"/tickets/{c['id']}").json()["merged_from_ids"] == []


def test_thread_view_after_merge_shows_most_recent_conversation_first(agent: Agent, clock: Clock) -> None:
    clock.set(T0)
    a = _ticket(agent, "A")
    clock.advance(hours=1)
    b = _ticket(agent, "B")
    clock.advance(hours=1)
    reply = {"direction": "incoming", "sender_name": "Casey Customer", "sender_email": "casey@shop.example",
             "text": "Still broken."}
    assert agent.post(f"/conversations/{a['conversation_ids'][0]}/messages", json=reply).status_code == 201
    merged = _merge(agent, [a["id"], b["id"]], b["id"]).json()
    thread = agent.get(f"/tickets/{merged['id']}/conversations").json()
    assert [c["id"] for c in thread] == [a["conversation_ids"][0], b["conversation_ids"][0]]
    assert all(c["ticket_id"] == merged["id"] for c in thread)


def test_edit_with_an_old_ids_version_cannot_land_on_the_merged_ticket(agent: Agent) -> None:
    a = _ticket(agent, "A")
    b = _ticket(agent, "B")
    merged = _merge(agent, [a["id"], b["id"]], a["id"]).json()
    assert merged["version"] > max(a["version"], b["version"])
    stale = agent.patch(f"/tickets/{a['id']}", json={"name": "Edited blind", "version": a["version"]})
    assert stale.status_code == 409
    assert agent.get(f"/tickets/{merged['id']}").json()["name"] == "A"
