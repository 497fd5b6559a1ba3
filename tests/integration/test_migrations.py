"""Alembic migrations produce exactly the models' schema, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from core.migrate import current_revision, upgrade
from core.models import Base, exists_on
from core.search import is_search_object


def test_migrations_produce_the_models_schema(engine: Engine, db_url: str) -> None:
    with engine.connect() as conn:
        # Full-text search objects (FTS5 tables and their shadow tables, GIN indexes) are migration-only.
        dialect = engine.dialect.name
        opts = {"compare_type": True, "include_name": lambda name, *_: not is_search_object(name),
                "include_object": lambda obj, name, type_, *_: exists_on(dialect, name, type_)}
        diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
    assert diff == []
    assert set(inspect(engine).get_table_names()) >= set(Base.metadata.tables)


def test_init_is_idempotent_and_reports_head(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)
    assert current_revision(db_url) is not None
