"""Purge: remove trash and spam older than the retention period for good (audit history stays)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, select, update

from core.actions.delete import chunks
from core.attachments import store_for
from core.config import Settings
from core.models import Attachment, Conversation, Message, Ticket
from core.tickets import ALIAS_DEPTH_LIMIT
from core.uow import UnitOfWork

log = logging.getLogger("deskpilot.purge")


@dataclass(frozen=True)
class PurgeResult:
    tickets: int
    conversations: int


def _alias_ids(uow: UnitOfWork, ticket_ids: list[int]) -> list[int]:
    """Ids merged (directly or through a chain) into the given tickets: they go with them."""
    found: list[int] = []
    frontier = ticket_ids
    for _ in range(ALIAS_DEPTH_LIMIT):
        if not frontier:
            break
        level: list[int] = []
        for part in chunks(frontier):
            level.extend(uow.session.scalars(select(Ticket.id).where(Ticket.merged_into_id.in_(part))))
        found.extend(level)
        frontier = level
    return found


def _attachment_keys(uow: UnitOfWork, spam: Any, ticket_ids: list[int]) -> list[str]:
    """Storage keys of the files on messages about to be purged."""
    base = select(Attachment.storage_key).join(Message, Attachment.message_id == Message.id).join(
        Conversation, Message.conversation_id == Conversation.id)
    keys = set(uow.session.scalars(base.where(spam)))
    for part in chunks(ticket_ids):
        keys.update(uow.session.scalars(base.where(Conversation.ticket_id.in_(part))))
    return sorted(keys)


def purge(*, uow: UnitOfWork, now: datetime | None = None) -> PurgeResult:
    """Delete tickets deleted (trash or spam) and conversations marked spam before the retention cutoff."""
    cutoff = (now or uow.now()) - timedelta(days=uow.settings.retention_days)
    session = uow.session
    spam = Conversation.spam_at < cutoff
    conversations = int(session.scalar(select(func.count(Conversation.id)).where(spam)) or 0)
    ticket_ids = list(session.scalars(
        select(Ticket.id).where(Ticket.deleted_at < cutoff, Ticket.merged_into_id.is_(None)).order_by(Ticket.id)
    ))
    aliases = _alias_ids(uow, ticket_ids)
    doomed_files = _attachment_keys(uow, spam, aliases + ticket_ids)
    # Messages go with their conversation, and conversations, followers and associations with their
    # ticket, through ON DELETE CASCADE; audit events hold plain ids and stay as history.
    session.execute(delete(Conversation).where(spam).execution_options(synchronize_session=False))
    for part in chunks(aliases):
        # Unlink first so alias rows never point at a row deleted before them.
        session.execute(update(Ticket).where(Ticket.id.in_(part)).values(merged_into_id=None)
                        .execution_options(synchronize_session=False))
    for part in chunks(aliases + ticket_ids):
        session.execute(delete(Ticket).where(Ticket.id.in_(part)).execution_options(synchronize_session=False))
    # Attachment rows cascade with their messages; their bytes go too (on disk: once the commit has happened).
    store_for(uow.settings).discard(uow, doomed_files)
    uow.commit()
    if ticket_ids or conversations:
        log.info("purged %d tickets and %d spam conversations older than %s", len(ticket_ids), conversations,
                 cutoff.isoformat())
    return PurgeResult(tickets=len(ticket_ids), conversations=conversations)


class _HasUoW(Protocol):
    settings: Settings

    def uow(self) -> UnitOfWork: ...


def start_purge_scheduler(state: _HasUoW) -> Callable[[], None]:
    """Run `purge` now and then every `settings.purge_interval_seconds` in a daemon thread; returns `stop`."""
    interval = state.settings.purge_interval_seconds
    if interval <= 0:
        return lambda: None
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            try:
                with state.uow() as uow:
                    purge(uow=uow)
            except Exception:  # a failed run must not kill the scheduler; the next run retries
                log.exception("scheduled purge failed")
            stopping.wait(interval)

    thread = threading.Thread(target=run, name="deskpilot-purge", daemon=True)
    thread.start()

    def stop(timeout: float = 10.0) -> None:
        stopping.set()
        thread.join(timeout)

    return stop
