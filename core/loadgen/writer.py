"""Batched bulk writes for the load generator: executemany on SQLite, COPY on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import JSON, Connection, Table, func, insert, inspect, select, text

from core.models import AuditEvent, Company, Contact, Conversation, Inbox, Message, Ticket, User
from core.search import SQLITE_FTS_CONTENT

INBOXES = ("Support inbox", "Sales inbox")


def table_of(model: Any) -> Table:
    """A mapped class's table, typed as one."""
    return cast(Table, model.__table__)


ID_TABLES = (table_of(User), table_of(Company), table_of(Contact), table_of(Ticket), table_of(Conversation),
             table_of(Message), table_of(AuditEvent))


class Ids:
    """Next free id per table, read once: rows get explicit ids so children need no RETURNING."""

    def __init__(self, conn: Connection) -> None:
        self._next = {t: int(conn.scalar(select(func.coalesce(func.max(t.c.id), 0))) or 0) + 1 for t in ID_TABLES}

    def take(self, model: Any, count: int = 1) -> int:
        table = model.__table__
        first = self._next[table]
        self._next[table] = first + count
        return first


class Writer:
    """Batched writes: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.pg = conn.dialect.name == "postgresql"
        self._live: dict[str, set[str]] = {}

    def write(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = [name for name in rows[0] if name in self._live_columns(table)]
        if not self.pg:
            self._executemany(table, cols, rows)
            return
        as_json = {c for c in cols if isinstance(table.c[c].type, JSON)}
        raw = self.conn.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(cols)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([json.dumps(row[c]) if c in as_json else row[c] for c in cols])

    def _live_columns(self, table: Table) -> set[str]:
        """The table's columns in this database: an older schema (a before/after benchmark of an earlier
        checkout) lacks newer ones, which are then left out."""
        if table.name not in self._live:
            self._live[table.name] = {column["name"] for column in inspect(self.conn).get_columns(table.name)}
        return self._live[table.name]

    def _executemany(self, table: Table, cols: list[str], rows: list[dict[str, Any]]) -> None:
        """The compiled Core INSERT run by the driver; only columns with a bind processor are converted."""
        dialect = self.conn.dialect
        compiled = insert(table).compile(dialect=dialect, column_keys=cols)
        order = list(compiled.positiontup or cols)
        for name in order:
            if name not in rows[0]:
                value = _default(table, name)
                for row in rows:
                    row[name] = value
            process = self._processor(table, name, rows[0][name])
            if process is not None:
                for row in rows:
                    row[name] = process(row[name])
        # Straight to the driver (same connection and transaction): statement event hooks would walk every value.
        raw = self.conn.connection.driver_connection
        assert raw is not None
        raw.executemany(str(compiled), list(map(itemgetter(*order), rows)))

    def _processor(self, table: Table, name: str, sample: Any) -> Callable[[Any], Any] | None:
        """The column type's bind processor; for UTC datetimes a C-speed equivalent, checked against it."""
        dialect = self.conn.dialect
        process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None and isinstance(sample, datetime) and process(sample) == _sqlite_stamp(sample):
            return _sqlite_stamp
        return process


def _sqlite_stamp(value: datetime | None) -> str | None:
    """What SQLAlchemy stores for a UTC datetime on SQLite ('2026-01-02 03:04:05.000006')."""
    return None if value is None else value.isoformat(" ", "microseconds")[:26]


def _default(table: Table, name: str) -> Any:
    """A column we did not set (added by a later migration): its scalar default."""
    default = table.c[name].default
    if default is None or not default.is_scalar:
        raise ValueError(f"loadgen sets no value for {table.name}.{name}, which has no scalar default")
    return default.arg  # type: ignore[attr-defined]


@contextmanager
def load_pragmas(conn: Connection) -> Iterator[None]:
    """SQLite: skip fsyncs and use a big page cache while loading (restored afterwards: pooled connection)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    conn.exec_driver_sql("PRAGMA synchronous=OFF")
    conn.exec_driver_sql("PRAGMA cache_size=-262144")
    conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
    conn.commit()  # end SQLAlchemy's autobegun (empty) transaction so the load can begin its own
    try:
        yield
    finally:
        conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
        conn.exec_driver_sql("PRAGMA cache_size=-2000")
        conn.exec_driver_sql("PRAGMA temp_store=DEFAULT")
        conn.commit()


@contextmanager
def fts_paused(conn: Connection, first_ids: dict[str, int]) -> Iterator[None]:
    """SQLite: index the loaded rows in one pass at the end instead of row by row through the FTS triggers.

    `first_ids` maps a content table to the first id this load adds; the triggers come back unchanged,
    all inside the load's transaction.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    prefixes = tuple(f"{name}_" for name in SQLITE_FTS_CONTENT)
    rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
    triggers = [(name, sql) for name, sql in rows if name.startswith(prefixes)]
    for name, _ in triggers:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for fts, (table, columns) in SQLITE_FTS_CONTENT.items():
        if any(name.startswith(f"{fts}_") for name, _ in triggers):
            cols = ", ".join(columns)
            conn.execute(text(f"INSERT INTO {fts}(rowid, {cols}) SELECT id, {cols} FROM {table} WHERE id >= :first"),
                         {"first": first_ids[table]})
    for _, sql in triggers:
        conn.exec_driver_sql(sql)


def ensure_inboxes(conn: Connection) -> list[int]:
    table = table_of(Inbox)
    existing = {name: iid for iid, name in conn.execute(select(table.c.id, table.c.name))}
    for name in INBOXES:
        if name not in existing:
            conn.execute(insert(table).values(name=name))
    return [iid for iid, name in conn.execute(select(table.c.id, table.c.name)) if name in INBOXES]


def finish_postgres(conn: Connection) -> None:
    """Move the id sequences past the explicit ids, and refresh the planner's statistics."""
    for table in ID_TABLES:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                          f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"))


