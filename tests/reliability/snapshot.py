"""A full snapshot of the database: every row of every table, to prove a failed action changed nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, select

from core.models import Base

Snapshot = dict[str, list[tuple[Any, ...]]]


def snapshot(engine: Engine) -> Snapshot:
    """Every row of every table, in primary-key order."""
    with engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables}
