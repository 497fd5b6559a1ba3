"""Pooled PostgreSQL connections are checked with a round trip only after sitting idle."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, exc, text

from core.db import make_engine
from tests.support import Agent


@pytest.fixture
def killer(db_url: str) -> Iterator[Engine]:
    other = make_engine(db_url)
    yield other
    other.dispose()


def _pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")))


def _terminate(killer: Engine, pid: int) -> None:
    with killer.connect() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        conn.commit()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_an_idle_connection_that_died_is_replaced_before_use(db_url: str, killer: Engine,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db_url, ping_after_idle=0)  # every connection back from the pool counts as idle
    pings = _count_pings(engine, monkeypatch)
    try:
        first = _pid(engine)
        assert pings == []  # a new connection is not checked
        _terminate(killer, first)
        second = _pid(engine)  # no error: the check found the dead connection and the pool opened another
        assert len(pings) == 1
        assert second != first
        assert _pid(engine) == second  # and the new one is kept
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_connection_used_a_moment_ago_is_not_pinged_and_a_dead_one_fails_once(
        db_url: str, killer: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(db_url, ping_after_idle=3600)
    pings = _count_pings(engine, monkeypatch)
    try:
        first = _pid(engine)
        assert [_pid(engine) for _ in range(3)] == [first] * 3
        assert pings == []  # no round trip of its own before each use
        _terminate(killer, first)
        with pytest.raises(exc.OperationalError), engine.connect() as conn:
            conn.scalar(text("SELECT 1"))
        assert _pid(engine) != first  # the failure discarded the dead connection: the next request works
    finally:
        engine.dispose()


def _count_pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record the dialect's liveness checks (each still runs)."""
    pings: list[object] = []
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return real(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counted)
    return pings


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_database_restart_costs_one_clear_503_per_pool_then_requests_work(
        agent: Agent, engine: Engine, killer: Engine) -> None:
    assert agent.get("/tickets").status_code == 200
    assert agent.get("/me").status_code == 200
    with killer.connect() as conn:  # what a restart does to every pooled connection
        killed = conn.scalar(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                  "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.commit()
    engine.dispose()  # the tests' own pool held some of them too
    assert killed >= 2
    for path in ("/tickets", "/me"):  # the read pool, then the general pool
        lost = agent.get(path)
        assert lost.status_code == 503, lost.text
        assert lost.json()["error"]["code"] == "database_unavailable"
        assert lost.headers["Retry-After"] == "1"
        assert agent.get(path).status_code == 200
