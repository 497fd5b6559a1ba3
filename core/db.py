"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ValidationFailed

INT64 = 2**63


def _bound_ints(parameters: Any) -> Iterator[int]:
    if isinstance(parameters, dict):
        parameters = parameters.values()
    for value in parameters or ():
        if isinstance(value, int) and not isinstance(value, bool):
            yield value
        elif isinstance(value, (list, tuple, dict)):
            yield from _bound_ints(value)


def _refuse_out_of_range(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                         executemany: bool) -> None:
    """A request's number too big for any id column (an id of 10**30) is a bad value, not a database crash.

    Checked before the statement is sent: the database would fail it (PostgreSQL also aborts the transaction).
    """
    if any(not -INT64 <= value < INT64 for value in _bound_ints(parameters)):
        raise ValidationFailed("A number in the request is too large; ids and counts fit in 64 bits.", field="id")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "before_cursor_execute", _refuse_out_of_range)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "before_cursor_execute", _refuse_out_of_range)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that never autoflush surprises into a half-applied action."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
