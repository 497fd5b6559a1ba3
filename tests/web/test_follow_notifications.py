"""Follow / unfollow, follower notifications and the activity timeline over the REST API (both databases)."""

from __future__ import annotations

from collections.abc import Callable

from core.models import Ticket
from core.uow import UnitOfWork
from tests.support import Agent, ticket_payload

INCOMING = {"direction": "incoming", "sender_name": "Casey Customer", "sender_email": "casey@shop.example",
            "text": "Any news?"}


def _alias(uow_factory: Callable[[], UnitOfWork], alias_id: int, into_id: int) -> None:
    """Make `alias_id` an alias of `into_id`, as a merge leaves it."""
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, alias_id)
        assert ticket is not None
        ticket.merged_into_id = into_id
        uow.commit()


def _actions(agent: Agent) -> list[str]:
    body = agent.get("/notifications").json()
    return [n["action"] for n in reversed(body["items"])]


def test_follow_and_unfollow_are_idempotent(agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    assert ticket["following"] is False
    for _ in range(2):
        followed = agent.post(f"/tickets/{ticket['id']}/follow")
        assert followed.status_code == 200, followed.text
        assert followed.json()["following"] is True and followed.json()["follower_ids"] == [agent.id]
    for _ in range(2):
        unfollowed = agent.delete(f"/tickets/{ticket['id']}/follow")
        assert unfollowed.status_code == 200, unfollowed.text
        assert unfollowed.json()["following"] is False and unfollowed.json()["follower_ids"] == []
    actions = [e["action"] for e in agent.get(f"/tickets/{ticket['id']}/activity").json()]
    assert actions.count("ticket.followed") == 1 and actions.count("ticket.unfollowed") == 1


def test_follow_on_an_alias_follows_the_merged_ticket(
    agent: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    old = agent.post("/tickets", json=ticket_payload(name="Old")).json()
    merged = agent.post("/tickets", json=ticket_payload(name="Merged")).json()
    _alias(uow_factory, old["id"], merged["id"])
    response = agent.post(f"/tickets/{old['id']}/follow")
    assert response.status_code == 200 and response.json()["id"] == merged["id"]
    assert agent.get(f"/tickets/{merged['id']}").json()["follower_ids"] == [agent.id]


def test_follow_unknown_ticket_is_404(agent: Agent) -> None:
    assert agent.post("/tickets/987654/follow").status_code == 404
    assert agent.delete("/tickets/987654/follow").status_code == 404


def test_following_notifies_nobody(make_agent: Callable[..., Agent]) -> None:
    watcher, newcomer = make_agent("watcher@desk.example"), make_agent("newcomer@desk.example")
    ticket = watcher.post("/tickets", json=ticket_payload()).json()
    watcher.post(f"/tickets/{ticket['id']}/follow")
    newcomer.post(f"/tickets/{ticket['id']}/follow")
    newcomer.delete(f"/tickets/{ticket['id']}/follow")
    assert watcher.get("/notifications").json() == {"items": [], "unread_count": 0}


def test_follower_is_notified_of_activity_by_others_and_non_follower_of_nothing(
    make_agent: Callable[..., Agent],
) -> None:
    follower = make_agent("follower@desk.example")
    bystander = make_agent("bystander@desk.example")
    lead = make_agent("lead@desk.example", permissions=("delete_tickets",))
    ticket = lead.post("/tickets", json=ticket_payload()).json()
    tid, conv = ticket["id"], ticket["conversation_ids"][0]
    follower.post(f"/tickets/{tid}/follow")

    assert lead.post(f"/conversations/{conv}/messages", json=INCOMING).status_code == 201
    assert lead.patch(f"/tickets/{tid}", json={"priority": "HIGH"}).status_code == 200
    assert lead.delete(f"/tickets/{tid}").status_code == 200
    assert lead.post(f"/tickets/{tid}/restore").status_code == 200
    assert lead.post(f"/tickets/{tid}/spam", json={"conversation_ids": [conv]}).json()["ticket_deleted"] is True
    assert lead.post(f"/conversations/{conv}/not-spam").status_code == 200

    assert _actions(follower) == ["message.incoming", "ticket.updated", "ticket.deleted", "ticket.restored",
                                  "ticket.spam", "ticket.restored"]
    body = follower.get("/notifications").json()
    assert body["unread_count"] == 6
    first = body["items"][-1]
    assert set(first) == {"id", "ticket_id", "action", "text", "created_at", "read"}
    assert first["ticket_id"] == tid and first["read"] is False and "Printer on fire" in first["text"]
    assert bystander.get("/notifications").json() == {"items": [], "unread_count": 0}


def test_follower_is_never_notified_of_their_own_actions(make_agent: Callable[..., Agent]) -> None:
    me = make_agent("me@desk.example", permissions=("delete_tickets",))
    ticket = me.post("/tickets", json=ticket_payload()).json()
    tid, conv = ticket["id"], ticket["conversation_ids"][0]
    me.post(f"/tickets/{tid}/follow")
    me.post(f"/conversations/{conv}/messages", json=INCOMING)
    me.patch(f"/tickets/{tid}", json={"status": "WAITING_ON_US"})
    me.delete(f"/tickets/{tid}")
    me.post(f"/tickets/{tid}/restore")
    me.post(f"/tickets/{tid}/spam", json={"conversation_ids": [conv]})
    me.post(f"/conversations/{conv}/not-spam")
    assert me.get("/notifications").json() == {"items": [], "unread_count": 0}


def test_unfollowed_user_stops_getting_notifications(make_agent: Callable[..., Agent]) -> None:
    follower, editor = make_agent("f@desk.example"), make_agent("e@desk.example")
    tid = editor.post("/tickets", json=ticket_payload()).json()["id"]
    follower.post(f"/tickets/{tid}/follow")
    editor.patch(f"/tickets/{tid}", json={"priority": "LOW"})
    follower.delete(f"/tickets/{tid}/follow")
    editor.patch(f"/tickets/{tid}", json={"priority": "HIGH"})
    assert _actions(follower) == ["ticket.updated"]


def test_mark_read_touches_only_my_notifications(make_agent: Callable[..., Agent]) -> None:
    alice, bob, editor = (make_agent(f"{n}@desk.example") for n in ("alice", "bob", "editor"))
    tid = editor.post("/tickets", json=ticket_payload()).json()["id"]
    alice.post(f"/tickets/{tid}/follow")
    bob.post(f"/tickets/{tid}/follow")
    for priority in ("LOW", "MEDIUM", "HIGH"):
        editor.patch(f"/tickets/{tid}", json={"priority": priority})
    alice_ids = [n["id"] for n in alice.get("/notifications").json()["items"]]
    bob_ids = [n["id"] for n in bob.get("/notifications").json()["items"]]

    refused = alice.post("/notifications/read", json={"ids": [alice_ids[0], bob_ids[0]]})
    assert refused.status_code == 422 and refused.json()["error"]["ids"] == [bob_ids[0]]
    assert alice.get("/notifications").json()["unread_count"] == 3

    marked = alice.post("/notifications/read", json={"ids": [alice_ids[0]]})
    assert marked.status_code == 200 and marked.json() == {"marked": 1, "unread_count": 2}
    unread = alice.get("/notifications", params={"unread_only": "true"}).json()
    assert [n["id"] for n in unread["items"]] == alice_ids[1:] and unread["unread_count"] == 2
    assert alice.post("/notifications/read").json() == {"marked": 2, "unread_count": 0}
    assert all(n["read"] for n in alice.get("/notifications").json()["items"])
    assert bob.get("/notifications").json()["unread_count"] == 3


def test_activity_is_newest_first_with_actor_names(make_agent: Callable[..., Agent]) -> None:
    lead = make_agent("lead@desk.example", permissions=("delete_tickets",))
    tid = lead.post("/tickets", json=ticket_payload()).json()["id"]
    lead.patch(f"/tickets/{tid}", json={"priority": "URGENT"})
    lead.post(f"/tickets/{tid}/follow")
    lead.delete(f"/tickets/{tid}")
    response = lead.get(f"/tickets/{tid}/activity")
    assert response.status_code == 200, response.text
    events = response.json()
    assert [e["action"] for e in events] == ["ticket.deleted", "ticket.followed", "ticket.updated", "ticket.created"]
    assert set(events[0]) == {"id", "at", "actor_id", "actor_name", "action", "detail"}
    assert events[0]["actor_id"] == lead.id and events[0]["actor_name"] == "Lead"
    assert events[2]["detail"]["changes"]["priority"] == {"from": None, "to": "URGENT"}
    assert len(lead.get(f"/tickets/{tid}/activity", params={"limit": 2}).json()) == 2


def test_activity_of_an_alias_shows_the_merged_tickets_history(
    agent: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    old = agent.post("/tickets", json=ticket_payload(name="Old")).json()
    merged = agent.post("/tickets", json=ticket_payload(name="Merged")).json()
    agent.patch(f"/tickets/{old['id']}", json={"priority": "LOW"})
    _alias(uow_factory, old["id"], merged["id"])
    via_alias = agent.get(f"/tickets/{old['id']}/activity").json()
    assert via_alias == agent.get(f"/tickets/{merged['id']}/activity").json()
    assert {e["action"] for e in via_alias} == {"ticket.created", "ticket.updated"}
    assert len([e for e in via_alias if e["action"] == "ticket.created"]) == 2


def test_activity_of_unknown_ticket_is_404(agent: Agent) -> None:
    assert agent.get("/tickets/987654/activity").status_code == 404
