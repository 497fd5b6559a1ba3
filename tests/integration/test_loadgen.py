"""The bulk load generator (`deskpilot seed`) makes realistic, consistent data on both databases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from core.loadgen import generate, long_tickets
from core.models import AuditEvent, Contact, Conversation, Message, Ticket, User, ticket_followers
from core.schemas import MessageIn
from core.search import matching_ticket_ids
from core.tickets import add_message
from core.uow import UnitOfWork

N = 600


@pytest.fixture
def seeded(db_url: str, engine: Engine) -> Engine:
    report = generate(engine=engine, tickets=N, seed=7)
    assert report.tickets == N and len(report.ticket_ids) == N
    return engine


def test_seed_makes_tickets_with_conversations_messages_and_people(seeded: Engine) -> None:
    with seeded.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Ticket)) == N
        agents = set(conn.scalars(select(User.id)))
        owners = set(conn.scalars(select(Ticket.owner_id).where(Ticket.owner_id.is_not(None))))
        assert owners and owners <= agents, "owners are among the generated users"
        assert conn.scalar(select(func.count()).select_from(Contact)) >= N // 4
        assert conn.scalar(select(func.count()).select_from(ticket_followers)) > 0
        per_ticket = Counter(conn.scalars(
            select(Conversation.ticket_id).join(Ticket, Ticket.id == Conversation.ticket_id)
            .where(Ticket.merged_into_id.is_(None))))
        live_or_deleted = conn.scalar(select(func.count()).select_from(Ticket).where(Ticket.merged_into_id.is_(None)))
        assert len(per_ticket) == live_or_deleted, "every ticket that is not an alias has a conversation"
        assert set(per_ticket.values()) <= {1, 2, 3}
        per_conversation = list(Counter(conn.scalars(select(Message.conversation_id))).values())
        assert 4 <= sum(per_conversation) / len(per_conversation) <= 6, "about five messages per conversation"
        created = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "ticket.created")
        assert conn.scalar(created) == N


def test_seed_includes_unread_trash_spam_and_merged_tickets(seeded: Engine) -> None:
    with seeded.connect() as conn:
        def count(*where: object) -> int:
            return int(conn.scalar(select(func.count()).select_from(Ticket).where(*where)) or 0)

        assert count(Ticket.unread.is_(True), Ticket.deleted_at.is_(None)) > 0
        assert count(Ticket.deleted_reason == "trash") > 0
        assert count(Ticket.deleted_reason == "spam") > 0
        assert conn.scalar(select(func.count()).select_from(Conversation).where(Conversation.spam_at.is_not(None))) > 0
        aliases = list(conn.execute(select(Ticket.id, Ticket.merged_into_id).where(Ticket.merged_into_id.is_not(None))))
        assert aliases and all(target > 0 for _, target in aliases)
        assert conn.scalar(select(func.count()).select_from(Conversation).where(Conversation.ticket_id.in_(
            [a for a, _ in aliases]))) == 0, "an alias's conversations belong to the merged ticket"
        assert len(set(conn.scalars(select(Ticket.status)))) >= 3
        assert len(set(conn.scalars(select(Ticket.name)))) > N // 2, "names vary"


def test_seeded_activity_matches_the_last_message(seeded: Engine) -> None:
    with seeded.connect() as conn:
        rows = conn.execute(
            select(Ticket.id, Ticket.created_at, Ticket.last_activity_at, func.max(Message.sent_at))
            .join(Conversation, Conversation.ticket_id == Ticket.id)
            .join(Message, Message.conversation_id == Conversation.id)
            .group_by(Ticket.id, Ticket.created_at, Ticket.last_activity_at).limit(200)
        ).all()
    assert rows
    for _, created, last_activity, last_message in rows:
        assert created <= last_message == last_activity


def test_seeded_text_is_searchable_and_search_stays_in_step(
    seeded: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    with uow_factory() as uow:
        ticket_id, conversation_id, text_ = uow.session.execute(
            select(Conversation.ticket_id, Message.conversation_id, Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.ticket_id.is_not(None)).order_by(Message.id.desc()).limit(1)
        ).one()
        word = max(text_.split(), key=len).strip(".,!?;:")
        found = matching_ticket_ids(uow.session, word, cap=N)
        assert found is None or ticket_id in found, f"{word!r} from the last seeded message is found"
        actor = uow.session.get(User, uow.session.scalar(select(User.id).order_by(User.id)))
        assert actor is not None
        add_message(uow=uow, actor=actor, conversation_id=conversation_id,
                    data=MessageIn(direction="comment", text="Zanzibarquux reproduction steps attached"))
    with uow_factory() as uow:
        assert matching_ticket_ids(uow.session, "zanzibarq", cap=10) == [ticket_id], "later messages are indexed"


def test_seeding_twice_adds_more(seeded: Engine) -> None:
    generate(engine=seeded, tickets=50, seed=7)
    with seeded.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Ticket)) == N + 50
        if seeded.dialect.name == "postgresql":
            next_id = conn.scalar(text("SELECT nextval(pg_get_serial_sequence('tickets', 'id'))"))
            assert next_id > conn.scalar(select(func.max(Ticket.id))), "the id sequence moved past the loaded rows"


def test_long_tickets_have_one_conversation_of_the_asked_length(db_url: str, engine: Engine) -> None:
    ids = long_tickets(engine=engine, count=2, messages=120)
    with engine.connect() as conn:
        for tid in ids:
            (conversation,) = conn.scalars(select(Conversation.id).where(Conversation.ticket_id == tid))
            messages = select(func.count()).select_from(Message).where(Message.conversation_id == conversation)
            assert conn.scalar(messages) == 120
            assert conn.scalar(select(Ticket.channel).where(Ticket.id == tid)) == "email"


def test_seed_command_reports_what_it_added(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from core.migrate import upgrade
    from plugin.cli import app

    url = f"sqlite:///{tmp_path}/seed.db"
    upgrade(url)
    monkeypatch.setenv("DESKPILOT_DATABASE_URL", url)
    result = CliRunner().invoke(app, ["seed", "--tickets", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Added 40 tickets" in result.output


def test_seeded_tickets_know_their_latest_spam_conversation(seeded: Engine) -> None:
    with seeded.connect() as conn:
        rows = conn.execute(text("SELECT t.last_spam_at, (SELECT max(c.spam_at) FROM conversations c "
                                 "WHERE c.ticket_id = t.id) FROM tickets t")).all()
    assert [row for row in rows if row[0] != row[1]] == []
    assert sum(row[0] is not None for row in rows) > 0, "some seeded tickets have spam"


def test_seed_fills_an_older_schema_leaving_out_newer_columns(tmp_path: Path) -> None:
    """A before/after benchmark seeds the schema of an earlier checkout with today's generator."""
    from core.db import make_engine
    from core.migrate import upgrade

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url, "0003")  # before tickets.last_spam_at
    engine = make_engine(url)
    try:
        assert generate(engine=engine, tickets=40, seed=3).tickets == 40
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM tickets")) == 40
            assert "last_spam_at" not in {row[1] for row in conn.execute(text("PRAGMA table_info(tickets)"))}
    finally:
        engine.dispose()


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_seeded_postgres_tables_are_vacuumed_and_analysed(seeded: Engine) -> None:
    """Index-only scans need the visibility map a bulk load leaves unset; the planner needs statistics."""
    with seeded.connect() as conn:
        rows = conn.execute(text("SELECT relname, relallvisible, relpages, reltuples FROM pg_class "
                                 "WHERE relname IN ('tickets', 'conversations', 'messages')")).all()
    assert len(rows) == 3
    for name, all_visible, pages, tuples in rows:
        assert pages > 0 and all_visible == pages, (name, all_visible, pages)
        assert tuples > 0, name  # analysed: -1 means never
