"""A deadlock that surfaces in a query's autoflush (not in flush()/commit()) is a 409 Conflict, not a 500.

Found by the soak: two merges locking tickets in opposite orders; PostgreSQL broke the deadlock by failing
one of them inside `session.execute(update(...))`'s autoflush, which the unit of work did not map.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, select

from core.errors import Conflict
from core.models import Ticket
from core.schemas import TicketCreate
from core.tickets import create_ticket
from core.uow import UnitOfWork
from tests.support import ticket_payload


# PostgreSQL only: SQLite has one write lock for the whole database, so there is no row-level deadlock to provoke.
@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_deadlock_in_autoflush_becomes_conflict(engine: Engine, uow_factory: Callable[[], UnitOfWork]) -> None:
    assert engine.dialect.name == "postgresql"
    ids = []
    for _ in range(2):
        with uow_factory() as uow:
            ids.append(create_ticket(uow=uow, actor=None, data=TicketCreate.model_validate(ticket_payload())).id)
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def edit(first: int, second: int) -> None:
        try:
            with uow_factory() as uow:
                ticket = uow.session.get(Ticket, first)
                assert ticket is not None
                ticket.name = f"first {first}"
                uow.flush()  # holds the row lock on `first`
                barrier.wait()
                other = uow.session.get(Ticket, second)
                assert other is not None
                other.name = f"then {second}"
                uow.session.execute(select(Ticket.id))  # autoflush: waits for the other's lock -> deadlock
                uow.commit()
            outcomes.append("committed")
        except Conflict:
            outcomes.append("conflict")
        except Exception as exc:  # noqa: BLE001 - the bug being guarded: anything else is a 500
            outcomes.append(f"{type(exc).__name__}")

    threads = [threading.Thread(target=edit, args=pair) for pair in (ids, ids[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["committed", "conflict"]
