"""Two merges racing on one ticket: one wins, the other gets a conflict; nothing is duplicated or lost."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from core import tickets
from core.actions.merge import merge_tickets
from core.db import make_session_factory
from core.errors import Conflict
from core.models import Conversation, Ticket, User
from core.schemas import TicketCreate
from core.uow import UnitOfWork
from tests.support import Agent, Clock, create_user, ticket_payload

Factory = Callable[[], UnitOfWork]
ROUNDS = 6


def _meeting_factory(engine: Engine, barrier: threading.Barrier) -> sessionmaker[Session]:
    """Sessions that wait for each other at their first write, so both merges read before either writes."""
    factory = make_session_factory(engine)
    met: set[int] = set()

    @event.listens_for(factory, "before_flush")
    def _meet(session: Session, _context: Any, _instances: Any) -> None:
        if id(session) not in met:
            met.add(id(session))
            barrier.wait()

    return factory


def _tickets(uow_factory: Factory, count: int) -> list[int]:
    ids = []
    for n in range(count):
        with uow_factory() as uow:
            data = TicketCreate.model_validate(ticket_payload(name=f"Race {n}"))
            ids.append(tickets.create_ticket(uow=uow, actor=None, data=data).id)
    return ids


def _assert_every_conversation_on_one_live_ticket(uow_factory: Factory, expected_conversations: int) -> set[int]:
    """Each conversation belongs to exactly one live ticket; returns the live ticket ids."""
    with uow_factory() as uow:
        live = set(uow.session.scalars(select(Ticket.id).where(Ticket.merged_into_id.is_(None),
                                                               Ticket.deleted_at.is_(None))))
        owners = uow.session.execute(select(Conversation.id, Conversation.ticket_id)).all()
    assert len(owners) == expected_conversations
    assert len({cid for cid, _ in owners}) == expected_conversations
    assert all(tid in live for _, tid in owners), (owners, live)
    return live


@pytest.mark.parametrize("same_pair", [False, True], ids=["A+B_vs_A+C", "A+B_vs_A+B"])
def test_racing_merges_one_wins_the_other_conflicts(
    same_pair: bool, engine: Engine, uow_factory: Factory, db_url: str, clock: Clock
) -> None:
    actor_id = create_user(uow_factory, "racer@desk.example")[0].id
    for round_no in range(ROUNDS):
        a, b, c = _tickets(uow_factory, 3)
        requests = [[a, b], [a, b] if same_pair else [a, c]]
        barrier = threading.Barrier(2, timeout=20)
        factory = _meeting_factory(engine, barrier)

        def merge(ids: list[int], factory: sessionmaker[Session] = factory) -> int | Exception:
            with UnitOfWork(factory, settings=uow_factory().settings, clock=clock) as uow:
                actor = uow.session.get(User, actor_id)
                assert actor is not None
                try:
                    return merge_tickets(uow=uow, actor=actor, ticket_ids=ids, primary_id=ids[0]).id
                except Conflict as exc:
                    return exc

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(merge, requests))
        winners = [r for r in results if isinstance(r, int)]
        losers = [r for r in results if isinstance(r, Conflict)]
        assert len(winners) == 1 and len(losers) == 1, (round_no, results)
        live = _assert_every_conversation_on_one_live_ticket(uow_factory, 3 * (round_no + 1))
        with uow_factory() as uow:
            winner = uow.session.get(Ticket, winners[0])
            assert winner is not None and len(winner.conversations) == 2
            merged_away = set(uow.session.scalars(select(Ticket.id).where(Ticket.merged_into_id == winners[0])))
            all_ids = set(uow.session.scalars(select(Ticket.id)))
        assert len(merged_away) == 2 and a in merged_away
        assert winners[0] in live and not (merged_away & live)
        # The loser left nothing behind: no second merged ticket exists.
        assert len(all_ids) == 4 * (round_no + 1)


def test_racing_merges_over_http_never_duplicate_or_fail(
    make_agent: Callable[..., Agent], uow_factory: Factory
) -> None:
    agents = [make_agent("one@desk.example"), make_agent("two@desk.example")]
    rounds = 10
    with ThreadPoolExecutor(max_workers=2) as pool:
        for round_no in range(rounds):
            a, b, c = (agents[0].post("/tickets", json=ticket_payload(name=f"R{round_no}-{n}")).json()["id"]
                       for n in range(3))
            bodies = [{"ticket_ids": [a, b], "primary_id": a}, {"ticket_ids": [a, c], "primary_id": a}]
            responses = list(pool.map(lambda pair: pair[0].post("/tickets/merge", json=pair[1]),
                                      zip(agents, bodies, strict=True)))
            statuses = sorted(r.status_code for r in responses)
            assert statuses in ([200, 409], [200, 200]), [r.text for r in responses]
            if statuses == [200, 200]:
                # Serialised: the later merge resolved `a` to the first merge's ticket and absorbed it.
                first, second = sorted((r.json() for r in responses), key=lambda t: t["id"])
                assert first["id"] in second["merged_from_ids"]
            else:
                loser = next(r for r in responses if r.status_code == 409)
                assert loser.json()["error"]["code"] == "conflict"
    _assert_every_conversation_on_one_live_ticket(uow_factory, 3 * rounds)
