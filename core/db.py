"""Engine and session factory for SQLite (embedded) and PostgreSQL (production)."""

from __future__ import annotations

import json
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    CompoundSelect,
    Connection,
    Dialect,
    Engine,
    Integer,
    Select,
    bindparam,
    create_engine,
    event,
    exc,
    func,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, sessionmaker

from core.errors import ValidationFailed

INT64 = 2**63
ReadStatement = Select[Any] | CompoundSelect[Any]  # a statement that only reads (see driver_rows)


def _bound_values(parameters: Any) -> Iterator[Any]:
    if isinstance(parameters, dict):
        parameters = parameters.values()
    for value in parameters or ():
        if isinstance(value, (list, tuple, dict)):
            yield from _bound_values(value)
        else:
            yield value


def _refuse_unstorable(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                       executemany: bool) -> None:
    """Input no column can store is a bad value (422), not a database crash (500).

    An id of 10**30 fits no BIGINT; PostgreSQL refuses NUL characters in text. Checked before the statement is
    sent, since PostgreSQL would also abort the whole transaction; SQLite is held to the same rules.
    """
    for value in _bound_values(parameters):
        if isinstance(value, int) and not isinstance(value, bool) and not -INT64 <= value < INT64:
            raise ValidationFailed("A number in the request is too large; ids and counts fit in 64 bits.", field="id")
        if isinstance(value, str) and "\x00" in value:
            raise ValidationFailed("Text cannot contain NUL (\\x00) characters.", field="text")


# Engines whose connections were opened with plan_cache_mode=force_generic_plan (see make_engine).
GENERIC_PLAN_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()
# Engines whose connections run each statement in its own transaction (see make_engine).
AUTOCOMMIT_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_when_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection with a round trip only when it has sat unused for `idle_seconds`.

    Connections are dropped while idle (server restarts, idle timeouts, firewalls); one that went back
    to the pool moments ago is alive, and pinging it anyway (SQLAlchemy's pool_pre_ping) cost every
    request a round trip. A dead connection found by the ping is replaced before the request uses it;
    one that dies within `idle_seconds` of its last use fails its next statement, which makes SQLAlchemy
    discard the pool's connections (one failed request per process after a server restart).
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.pop("idle_since", None)
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return  # a new connection, or one in use a moment ago
        try:
            if not engine.dialect.do_ping(dbapi_conn):
                raise exc.DisconnectionError("the connection did not answer")
        except exc.DisconnectionError:
            raise
        except Exception as error:  # the pool retries with a new connection
            raise exc.DisconnectionError(str(error)) from error


def make_engine(url: str, *, generic_plans: bool = False, autocommit: bool = False,
                ping_after_idle: float = PING_AFTER_IDLE_SECONDS, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a busy timeout.

    `generic_plans` (PostgreSQL): prepared statements always run PostgreSQL's generic plan instead of
    planning again for each run's values. Only for statements whose plan does not depend on their
    values (the read endpoints' index-driven queries); searches send theirs unprepared, so they are
    planned for their words either way.

    `autocommit` (PostgreSQL): for a pool that only serves reads (core.uow.UnitOfWork.read_only): its
    connections are opened outside transactions once, instead of being switched at each checkout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "before_cursor_execute", _refuse_unstorable)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if "poolclass" not in kwargs:  # the most recently used connection first: its caches are warm
        kwargs.setdefault("pool_use_lifo", True)
    generic_plans = generic_plans and "options=" not in url and "options" not in kwargs.get("connect_args", {})
    if "options=" not in url:
        # Short queries only: starting parallel workers cost a search 5-7 ms here to save none (a
        # Gather over a few hundred index hits), and a JIT compile ~20 ms. An `options` in the URL
        # (or the caller's connect_args) is left as given.
        options = "-c max_parallel_workers_per_gather=0 -c jit=off"
        if generic_plans:
            options += " -c plan_cache_mode=force_generic_plan"
        connect_args = kwargs.setdefault("connect_args", {})
        connect_args.setdefault("options", options)
    if autocommit:
        kwargs["isolation_level"] = "AUTOCOMMIT"
    engine = create_engine(url, **kwargs)
    if autocommit:
        AUTOCOMMIT_ENGINES.add(engine)
    _ping_when_idle(engine, ping_after_idle)
    event.listen(engine, "before_cursor_execute", _refuse_unstorable)
    if generic_plans:  # only when its connections really start so (see core.search.custom_plans)
        GENERIC_PLAN_ENGINES.add(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that never autoflush surprises into a half-applied action."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def id_values(dialect: str, ids: Sequence[int]) -> Any:
    """A FROM clause of `ids` (column `value`) bound as ONE parameter: a PostgreSQL array or a SQLite JSON
    array. Ten thousand ids then make one short statement, not ten of a thousand placeholders each."""
    if dialect == "postgresql":
        array = bindparam(None, [int(i) for i in ids], type_=postgresql.ARRAY(BigInteger))
        return func.unnest(array).table_valued("value").render_derived()
    return func.json_each(bindparam(None, json.dumps([int(i) for i in ids]))).table_valued("value")


def id_list(session: Session, ids: Iterable[int]) -> Any:
    """SELECT of `ids` bound as one value (see `id_values`), for `column.in_(...)`."""
    return select(id_values(session.get_bind().dialect.name, sorted(ids)).c.value)


def sql_limit(rows: int) -> Any:
    """A LIMIT written into the SQL rather than bound. PostgreSQL plans a prepared statement with a bound
    LIMIT for 10% of the table, prices that plan ~100 times too high and so plans every run afresh."""
    return literal(rows, Integer, literal_execute=True)


@dataclass(frozen=True, slots=True)
class _DriverStatement:
    """A statement as the driver runs it: its SQL, the values it binds (each with its default and its
    type's bind processor) and the result columns whose type changes the driver's value."""

    sql: str
    binds: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    results: tuple[tuple[int, Callable[[Any], Any]], ...]


@lru_cache(maxsize=256)
def _compiled(statement: ReadStatement, dialect: Dialect) -> Any:
    return statement.compile(dialect=dialect)


@lru_cache(maxsize=256)
def _driver_statement(statement: ReadStatement, dialect: Dialect, rendered: tuple[tuple[str, Any], ...],
                      ) -> _DriverStatement | None:
    """`statement` as the driver runs it with the `rendered` values written into its SQL; None when only
    SQLAlchemy can run it (expanding IN lists, escaped parameter names)."""
    compiled = _compiled(statement, dialect)
    if compiled.escaped_bind_names or any(bind.expanding for bind in compiled.binds.values()):
        return None
    placeholders: dict[str, Any] = {bind.key: None for bind in compiled.binds.values() if bind.required}
    expanded = compiled.construct_expanded_state({**placeholders, **dict(rendered)})
    binds = tuple((name, compiled.binds[name].value, compiled.binds[name].type.dialect_impl(dialect)
                   .bind_processor(dialect)) for name in expanded.parameters)
    results = tuple((n, processor) for n, column in enumerate(statement.selected_columns)
                    if (processor := column.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)
    return _DriverStatement(expanded.statement, binds, results)


def driver_rows(connection: Connection, statement: ReadStatement, params: dict[str, Any]) -> Sequence[Sequence[Any]]:
    """The rows of a read-only `statement`, fetched on PostgreSQL with the driver's own cursor.

    SQLAlchemy's way through an execution (cache lookup, execution context, result metadata rebuilt
    from the cursor description) cost a list page about as much as PostgreSQL's own work for it. Here
    the statement is compiled once per set of values written into its SQL (a LIMIT); its values still
    pass the engine's `before_cursor_execute` listeners (`_refuse_unstorable`) and the bind and result
    processors of their types, and psycopg still prepares it once it has run a few times. A driver
    error makes it run once more the usual way, which reports it as SQLAlchemy does (a lost connection
    invalidates the pool: a 503), so only reads may come here. Other databases take the usual way.
    """
    dialect = connection.dialect
    prepared = None
    if dialect.name == "postgresql":
        rendered = sorted((bind.key, params[bind.key])
                          for bind in _compiled(statement, dialect).literal_execute_params if bind.key in params)
        prepared = _driver_statement(statement, dialect, tuple(rendered))
    if prepared is None:
        return connection.execute(statement, params).all()
    values = {}
    for name, default, processor in prepared.binds:
        value = params.get(name, default)
        values[name] = processor(value) if processor is not None else value
    driver = connection.connection.driver_connection
    assert driver is not None, "a checked-out connection has its driver connection"
    try:
        with driver.cursor() as cursor:
            connection.dispatch.before_cursor_execute(connection, cursor, prepared.sql, values, None, False)
            cursor.execute(prepared.sql, values, binary=True)  # binary rows: no timestamps printed and parsed
            rows: Sequence[Sequence[Any]] = cursor.fetchall()
    except dialect.loaded_dbapi.Error:
        return connection.execute(statement, params).all()
    for n, processor in prepared.results:
        rows = [(*row[:n], processor(row[n]), *row[n + 1:]) for row in rows]
    return rows
