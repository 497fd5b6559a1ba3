"""Alembic environment: deskpilot builds the Config in code (core.migrate), no alembic.ini needed."""

from alembic import context
from sqlalchemy import pool

from core.db import make_engine
from core.models import Base, exists_on
from core.search import is_search_object

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def include_name(name, type_, parent_names) -> bool:
    """Full-text search objects (FTS5 tables, GIN indexes) live in migrations only, not in the models."""
    return not is_search_object(name)


def _run(connection) -> None:
    dialect = connection.dialect.name
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=dialect == "sqlite", compare_type=True, include_name=include_name,
                      include_object=lambda obj, name, type_, *_: exists_on(dialect, name, type_))
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
