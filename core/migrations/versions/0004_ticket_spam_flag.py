"""tickets.last_spam_at, kept by triggers, for the spam view

The spam view lists tickets with a spam conversation. Found by probing conversations ticket by ticket
in activity order, it read ~30 tickets per row shown (spam is a few percent of tickets); the column,
with its own partial index in the view's keyset order, makes it a plain index range like the others.
Triggers on conversations keep it equal to the latest spam_at of the ticket's conversations, whatever
writes them (actions, imports, the load generator, SQL by hand).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

LATEST = "(SELECT max(c.spam_at) FROM conversations c WHERE c.ticket_id = tickets.id)"
SPAM_CHANGED = ("(old.spam_at IS NOT NULL OR new.spam_at IS NOT NULL) "
                "AND (old.spam_at IS NOT new.spam_at OR old.ticket_id IS NOT new.ticket_id)")

SQLITE_TRIGGERS = [
    "CREATE TRIGGER tickets_spam_ai AFTER INSERT ON conversations "
    "WHEN new.spam_at IS NOT NULL AND new.ticket_id IS NOT NULL BEGIN "
    f"UPDATE tickets SET last_spam_at = {LATEST} WHERE id = new.ticket_id; END",
    "CREATE TRIGGER tickets_spam_ad AFTER DELETE ON conversations "
    "WHEN old.spam_at IS NOT NULL AND old.ticket_id IS NOT NULL BEGIN "
    f"UPDATE tickets SET last_spam_at = {LATEST} WHERE id = old.ticket_id; END",
    f"CREATE TRIGGER tickets_spam_au AFTER UPDATE OF spam_at, ticket_id ON conversations WHEN {SPAM_CHANGED} BEGIN "
    f"UPDATE tickets SET last_spam_at = {LATEST} WHERE id IN (old.ticket_id, new.ticket_id); END",
]
PG_TRIGGERS = [
    "CREATE FUNCTION tickets_spam_refresh() RETURNS trigger LANGUAGE plpgsql AS $$\n"
    "DECLARE ids bigint[];\n"
    "BEGIN\n"
    "  IF TG_OP = 'INSERT' THEN ids := ARRAY[NEW.ticket_id];\n"
    "  ELSIF TG_OP = 'DELETE' THEN ids := ARRAY[OLD.ticket_id];\n"
    "  ELSE ids := ARRAY[OLD.ticket_id, NEW.ticket_id];\n"
    "  END IF;\n"
    # Lock the tickets first: the UPDATE below then runs with a snapshot taken after any concurrent
    # writer of the same ticket committed, so the last transaction to commit counts every change.
    "  PERFORM 1 FROM tickets WHERE tickets.id = ANY(ids) ORDER BY tickets.id FOR UPDATE;\n"
    f"  UPDATE tickets SET last_spam_at = {LATEST} WHERE tickets.id = ANY(ids);\n"
    "  RETURN NULL;\n"
    "END $$",
    "CREATE TRIGGER tickets_spam_ai AFTER INSERT ON conversations FOR EACH ROW "
    "WHEN (NEW.spam_at IS NOT NULL AND NEW.ticket_id IS NOT NULL) EXECUTE FUNCTION tickets_spam_refresh()",
    "CREATE TRIGGER tickets_spam_ad AFTER DELETE ON conversations FOR EACH ROW "
    "WHEN (OLD.spam_at IS NOT NULL AND OLD.ticket_id IS NOT NULL) EXECUTE FUNCTION tickets_spam_refresh()",
    "CREATE TRIGGER tickets_spam_au AFTER UPDATE OF spam_at, ticket_id ON conversations FOR EACH ROW "
    f"WHEN ({SPAM_CHANGED.replace('IS NOT new', 'IS DISTINCT FROM new')}) EXECUTE FUNCTION tickets_spam_refresh()",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS tickets_spam_au", "DROP TRIGGER IF EXISTS tickets_spam_ad",
               "DROP TRIGGER IF EXISTS tickets_spam_ai"]
PG_DROP = ["DROP TRIGGER IF EXISTS tickets_spam_au ON conversations",
           "DROP TRIGGER IF EXISTS tickets_spam_ad ON conversations",
           "DROP TRIGGER IF EXISTS tickets_spam_ai ON conversations", "DROP FUNCTION IF EXISTS tickets_spam_refresh()"]


def _where(condition):
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    op.add_column('tickets', sa.Column('last_spam_at', sa.DateTime(timezone=True), nullable=True))
    op.execute(f"UPDATE tickets SET last_spam_at = {LATEST} "
               "WHERE id IN (SELECT ticket_id FROM conversations WHERE spam_at IS NOT NULL)")
    op.create_index('ix_tickets_spam_activity', 'tickets', ['last_activity_at', 'id'], unique=False,
                    **_where('last_spam_at IS NOT NULL AND merged_into_id IS NULL'))
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == 'sqlite' else PG_TRIGGERS if dialect == 'postgresql' else []:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_DROP if dialect == 'sqlite' else PG_DROP if dialect == 'postgresql' else []:
        op.execute(statement)
    op.drop_index('ix_tickets_spam_activity', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('last_spam_at')
