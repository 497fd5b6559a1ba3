"""search and list indexes

Full-text search (SQLite: FTS5 tables kept in step by triggers; PostgreSQL: GIN indexes on
to_tsvector) and one partial index per list view in the view's keyset order.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

TOKENIZE = "tokenize='unicode61 remove_diacritics 2'"
# detail=none: rowids only (no positions), which is all a words-as-prefixes query needs; it builds in
# a third of the time. prefix='3': the three-letter prefix queries of search-as-you-type stay cheap.
FTS_OPTIONS = f"detail=none, prefix='3', {TOKENIZE}"

SQLITE_FTS = [
    f"CREATE VIRTUAL TABLE ticket_fts USING fts5(name, description, content='tickets', content_rowid='id', "
    f"{FTS_OPTIONS})",
    "CREATE TRIGGER ticket_fts_ai AFTER INSERT ON tickets BEGIN "
    "INSERT INTO ticket_fts(rowid, name, description) VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER ticket_fts_ad AFTER DELETE ON tickets BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, name, description) VALUES ('delete', old.id, old.name, old.description); "
    "END",
    "CREATE TRIGGER ticket_fts_au AFTER UPDATE OF name, description ON tickets BEGIN "
    "INSERT INTO ticket_fts(ticket_fts, rowid, name, description) VALUES ('delete', old.id, old.name, old.description); "
    "INSERT INTO ticket_fts(rowid, name, description) VALUES (new.id, new.name, new.description); END",
    "INSERT INTO ticket_fts(ticket_fts) VALUES ('rebuild')",
    f"CREATE VIRTUAL TABLE message_fts USING fts5(text, content='messages', content_rowid='id', {FTS_OPTIONS})",
    "CREATE TRIGGER message_fts_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER message_fts_ad AFTER DELETE ON messages BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER message_fts_au AFTER UPDATE OF text ON messages BEGIN "
    "INSERT INTO message_fts(message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO message_fts(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO message_fts(message_fts) VALUES ('rebuild')",
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS message_fts_au", "DROP TRIGGER IF EXISTS message_fts_ad",
    "DROP TRIGGER IF EXISTS message_fts_ai", "DROP TABLE IF EXISTS message_fts",
    "DROP TRIGGER IF EXISTS ticket_fts_au", "DROP TRIGGER IF EXISTS ticket_fts_ad",
    "DROP TRIGGER IF EXISTS ticket_fts_ai", "DROP TABLE IF EXISTS ticket_fts",
]
# The expressions must stay exactly those of core.search.matching_ids_sql, or the indexes go unused.
# A small pending list: new rows still go into the index in batches, but a search never has to scan
# megabytes of not-yet-merged entries (the default 4 MB list cost ~5 ms per query).
PG_GIN = "WITH (gin_pending_list_limit = 256)"
PG_FTS = [
    "CREATE INDEX ix_tickets_fts ON tickets USING gin "
    f"(to_tsvector('simple'::regconfig, name || ' ' || description)) {PG_GIN}",
    f"CREATE INDEX ix_messages_fts ON messages USING gin (to_tsvector('simple'::regconfig, text)) {PG_GIN}",
]
PG_FTS_DROP = ["DROP INDEX IF EXISTS ix_messages_fts", "DROP INDEX IF EXISTS ix_tickets_fts"]


def _where(condition):
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.drop_index('ix_tickets_merged_into_id', table_name='tickets')
    op.create_index('ix_tickets_merged_into_id', 'tickets', ['merged_into_id'], unique=False,
                    **_where('merged_into_id IS NOT NULL'))
    op.create_index('ix_tickets_unmerged_activity', 'tickets', ['last_activity_at', 'id'], unique=False,
                    **_where('merged_into_id IS NULL'))
    op.create_index('ix_tickets_live_owner', 'tickets', ['owner_id', 'last_activity_at', 'id'], unique=False,
                    **_where('deleted_at IS NULL AND merged_into_id IS NULL'))
    op.create_index('ix_tickets_deleted_activity', 'tickets', ['deleted_reason', 'last_activity_at', 'id'],
                    unique=False, **_where('deleted_at IS NOT NULL'))
    op.create_index('ix_conversations_spam_ticket', 'conversations', ['ticket_id'], unique=False,
                    **_where('spam_at IS NOT NULL'))
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS if dialect == 'sqlite' else PG_FTS if dialect == 'postgresql' else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_FTS_DROP if dialect == 'sqlite' else PG_FTS_DROP if dialect == 'postgresql' else []:
        op.execute(statement)
    op.drop_index('ix_conversations_spam_ticket', table_name='conversations')
    op.drop_index('ix_tickets_deleted_activity', table_name='tickets')
    op.drop_index('ix_tickets_live_owner', table_name='tickets')
    op.drop_index('ix_tickets_unmerged_activity', table_name='tickets')
    op.drop_index('ix_tickets_merged_into_id', table_name='tickets')
    op.create_index('ix_tickets_merged_into_id', 'tickets', ['merged_into_id'], unique=False)
