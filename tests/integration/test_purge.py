"""Purge of trash and spam past the retention period: core, the scheduler and `deskpilot purge` (both databases)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from core.actions.delete import delete_ticket, restore_ticket
from core.actions.spam import mark_not_spam, mark_spam
from core.config import Settings
from core.db import make_session_factory
from core.errors import InvalidAction
from core.models import AuditEvent, Conversation, Message, Ticket, User
from core.purge import PurgeResult, purge, start_purge_scheduler
from core.schemas import MessageIn, TicketCreate
from core.tickets import create_ticket
from core.uow import UnitOfWork
from tests.support import Clock, create_user

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
UowFactory = Callable[[], UnitOfWork]


@pytest.fixture
def lead_id(uow_factory: UowFactory) -> int:
    user, _ = create_user(uow_factory, "lead@desk.example", permissions=("delete_tickets",), password=None)
    return user.id


def _ticket(uow_factory: UowFactory, name: str, conversations: int = 1) -> tuple[int, list[int]]:
    with uow_factory() as uow:
        ticket = create_ticket(uow=uow, actor=None, data=TicketCreate(
            name=name, messages=[MessageIn(sender_name="Casey", text=f"{name}: help")]))
        for i in range(conversations - 1):
            extra = Conversation(channel="email", ticket=ticket, created_at=uow.now(), last_message_at=uow.now())
            extra.messages.append(Message(direction="incoming", text=f"{name}: extra {i}", sent_at=uow.now()))
            uow.session.add(extra)
        uow.commit()
        return ticket.id, [c.id for c in ticket.conversations]


def _act(uow_factory: UowFactory, lead_id: int, action: Callable[..., object], **kw: object) -> object:
    with uow_factory() as uow:
        actor = uow.session.get(User, lead_id)
        return action(uow=uow, actor=actor, **kw)


def _purge(uow_factory: UowFactory) -> PurgeResult:
    with uow_factory() as uow:
        return purge(uow=uow)


def _exists(uow_factory: UowFactory, model: type, ident: int) -> bool:
    with uow_factory() as uow:
        return uow.session.get(model, ident) is not None


def _message_count(uow_factory: UowFactory, conversation_ids: list[int]) -> int:
    with uow_factory() as uow:
        stmt = select(func.count(Message.id)).where(Message.conversation_id.in_(conversation_ids))
        return int(uow.session.scalar(stmt) or 0)


def test_purge_keeps_trash_until_ninety_days_have_passed(
    uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    kept, _ = _ticket(uow_factory, "Kept")
    gone, gone_convs = _ticket(uow_factory, "Gone", conversations=2)
    for tid in (kept, gone):
        _act(uow_factory, lead_id, delete_ticket, ticket_id=tid)

    clock.set(T0 + timedelta(days=89, hours=23))
    assert _purge(uow_factory) == PurgeResult(tickets=0, conversations=0)
    _act(uow_factory, lead_id, restore_ticket, ticket_id=kept)

    clock.set(T0 + timedelta(days=90))
    assert _purge(uow_factory) == PurgeResult(tickets=0, conversations=0)

    clock.set(T0 + timedelta(days=90, seconds=1))
    assert _purge(uow_factory) == PurgeResult(tickets=1, conversations=0)
    assert not _exists(uow_factory, Ticket, gone) and _exists(uow_factory, Ticket, kept)
    assert not any(_exists(uow_factory, Conversation, c) for c in gone_convs)
    assert _message_count(uow_factory, gone_convs) == 0
    with uow_factory() as uow:
        history = uow.session.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == gone)).all()
    assert set(history) == {"ticket.created", "ticket.deleted"}


def test_restore_is_refused_once_the_retention_period_has_passed(
    uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    tid, _ = _ticket(uow_factory, "Late")
    _act(uow_factory, lead_id, delete_ticket, ticket_id=tid)
    clock.set(T0 + timedelta(days=90, seconds=1))
    with pytest.raises(InvalidAction, match="expired"):
        _act(uow_factory, lead_id, restore_ticket, ticket_id=tid)


def test_purge_removes_old_spam_conversations_and_keeps_their_live_ticket(
    uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    tid, (real, junk) = _ticket(uow_factory, "Mixed", conversations=2)
    _act(uow_factory, lead_id, mark_spam, ticket_id=tid, conversation_ids=[junk])
    clock.set(T0 + timedelta(days=89, hours=23))
    assert _purge(uow_factory).conversations == 0
    clock.set(T0 + timedelta(days=90, seconds=1))
    assert _purge(uow_factory) == PurgeResult(tickets=0, conversations=1)
    assert not _exists(uow_factory, Conversation, junk) and _message_count(uow_factory, [junk]) == 0
    assert _exists(uow_factory, Conversation, real) and _exists(uow_factory, Ticket, tid)


def test_purge_removes_tickets_spam_deleted_after_retention(
    uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    tid, convs = _ticket(uow_factory, "Spam", conversations=2)
    _act(uow_factory, lead_id, mark_spam, ticket_id=tid, conversation_ids=convs)
    clock.set(T0 + timedelta(days=90, seconds=1))
    assert _purge(uow_factory) == PurgeResult(tickets=1, conversations=2)
    assert not _exists(uow_factory, Ticket, tid) and _message_count(uow_factory, convs) == 0


def test_not_spam_is_refused_once_the_retention_period_has_passed(
    uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    tid, convs = _ticket(uow_factory, "Spam")
    _act(uow_factory, lead_id, mark_spam, ticket_id=tid, conversation_ids=convs)
    clock.set(T0 + timedelta(days=90, seconds=1))
    with pytest.raises(InvalidAction, match="expired"):
        _act(uow_factory, lead_id, mark_not_spam, conversation_id=convs[0])


def test_purge_takes_the_merge_aliases_of_a_purged_ticket(
    uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    first, _ = _ticket(uow_factory, "First")
    second, _ = _ticket(uow_factory, "Second")
    merged, _ = _ticket(uow_factory, "Merged")
    with uow_factory() as uow:  # as a merge leaves them: first -> second -> merged
        for alias, into in ((first, second), (second, merged)):
            row = uow.session.get(Ticket, alias)
            assert row is not None
            row.merged_into_id = into
        uow.commit()
    _act(uow_factory, lead_id, delete_ticket, ticket_id=first)
    clock.set(T0 + timedelta(days=91))
    assert _purge(uow_factory) == PurgeResult(tickets=1, conversations=0)
    assert not any(_exists(uow_factory, Ticket, t) for t in (first, second, merged))


def test_purge_leaves_live_tickets_and_recent_deletions(
    uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    live, _ = _ticket(uow_factory, "Live")
    clock.set(T0 + timedelta(days=60))
    recent, _ = _ticket(uow_factory, "Recent")
    _act(uow_factory, lead_id, delete_ticket, ticket_id=recent)
    clock.set(T0 + timedelta(days=120))
    assert _purge(uow_factory) == PurgeResult(tickets=0, conversations=0)
    assert _exists(uow_factory, Ticket, live) and _exists(uow_factory, Ticket, recent)


def test_purge_follows_the_retention_setting_and_an_explicit_now(
    db_url: str, engine: Engine, clock: Clock, uow_factory: UowFactory, lead_id: int
) -> None:
    clock.set(T0)
    tid, _ = _ticket(uow_factory, "Short-lived")
    _act(uow_factory, lead_id, delete_ticket, ticket_id=tid)
    short = Settings(database_url=db_url, retention_days=7)
    with UnitOfWork(make_session_factory(engine), settings=short, clock=clock) as uow:
        assert purge(uow=uow, now=T0 + timedelta(days=7)).tickets == 0
    with UnitOfWork(make_session_factory(engine), settings=short, clock=clock) as uow:
        assert purge(uow=uow, now=T0 + timedelta(days=7, seconds=1)).tickets == 1


def test_deskpilot_purge_command_removes_old_trash(
    db_url: str, uow_factory: UowFactory, clock: Clock, lead_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugin.cli import app

    real_now = datetime.now(UTC)
    clock.set(real_now - timedelta(days=91))
    old, _ = _ticket(uow_factory, "Old")
    _act(uow_factory, lead_id, delete_ticket, ticket_id=old)
    clock.set(real_now - timedelta(days=89))
    young, _ = _ticket(uow_factory, "Young")
    _act(uow_factory, lead_id, delete_ticket, ticket_id=young)
    clock.reset()
    monkeypatch.setenv("DESKPILOT_DATABASE_URL", db_url)
    result = CliRunner().invoke(app, ["purge"])
    assert result.exit_code == 0, result.output
    assert "Purged 1 tickets and 0 spam conversations." in result.output
    assert not _exists(uow_factory, Ticket, old) and _exists(uow_factory, Ticket, young)


@dataclass
class _State:
    settings: Settings
    factory: Callable[[], UnitOfWork]

    def uow(self) -> UnitOfWork:
        return self.factory()


def _purge_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "deskpilot-purge"]


def test_purge_scheduler_purges_in_the_background_until_stopped(
    db_url: str, uow_factory: UowFactory, clock: Clock, lead_id: int
) -> None:
    clock.set(T0)
    tid, _ = _ticket(uow_factory, "Old")
    _act(uow_factory, lead_id, delete_ticket, ticket_id=tid)
    clock.set(T0 + timedelta(days=91))
    stop = start_purge_scheduler(_State(Settings(database_url=db_url, purge_interval_seconds=3600), uow_factory))
    try:
        deadline = time.monotonic() + 10
        while _exists(uow_factory, Ticket, tid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _exists(uow_factory, Ticket, tid)
        assert len(_purge_threads()) == 1 and _purge_threads()[0].daemon
    finally:
        stop()
    assert _purge_threads() == []


def test_purge_scheduler_is_off_when_the_interval_is_zero(db_url: str, uow_factory: UowFactory) -> None:
    stop = start_purge_scheduler(_State(Settings(database_url=db_url, purge_interval_seconds=0), uow_factory))
    assert _purge_threads() == []
    stop()
