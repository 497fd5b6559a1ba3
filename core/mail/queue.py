"""The mail queue: one worker thread per database engine sends after commit, retries with backoff, rescans.

The database is the queue (a reply's `delivery_status` is `queued` until sent); this worker only decides
when to try. A reply queued by a process that died is found again by the rescan, or by the retry endpoint.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, select

from core.config import Settings
from core.db import make_session_factory
from core.models import Conversation, Message
from core.uow import UnitOfWork

log = logging.getLogger("deskpilot.mail")
Kind = Literal["reply", "notification"]


@dataclass(frozen=True)
class Job:
    """Deliver one reply or one notification email, with the settings of the action that queued it."""

    kind: Kind
    ident: int
    settings: Settings
    clock: Callable[[], datetime]
    attempt: int = 1


class MailQueue:
    """A timed work list drained by one daemon thread; `submit` never blocks on the network."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> None:
        from core.mail.notify import install  # follow-notification emails ride on this queue

        install()
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._factory = make_session_factory(engine)
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, Job]] = []
        self._due: dict[tuple[str, int], float] = {}
        self._seq = itertools.count()
        self._stopping = False
        interval = settings.mail_queue_interval_seconds
        self._interval = float(interval) if interval > 0 else None
        self._next_scan = time.monotonic() if self._interval else float("inf")
        self._thread = threading.Thread(target=self._run, name="deskpilot-mail", daemon=True)
        self._thread.start()

    def submit(self, job: Job, delay: float = 0.0, *, sooner: bool = True) -> None:
        """Schedule `job` in `delay` seconds; a job already waiting moves earlier only if `sooner`."""
        due = time.monotonic() + delay
        key = (job.kind, job.ident)
        with self._cv:
            current = self._due.get(key)
            if current is not None and (current <= due or not sooner):
                return
            self._due[key] = due
            heapq.heappush(self._heap, (due, next(self._seq), job))
            self._cv.notify()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker (a send in progress finishes first)."""
        with self._cv:
            self._stopping = True
            self._cv.notify()
        self._thread.join(timeout)

    def _next(self) -> Job | Literal["scan"] | None:
        with self._cv:
            while not self._stopping:
                now = time.monotonic()
                if now >= self._next_scan:
                    self._next_scan = now + (self._interval or float("inf"))
                    return "scan"
                while self._heap and self._due.get((self._heap[0][2].kind, self._heap[0][2].ident)) != self._heap[0][0]:
                    heapq.heappop(self._heap)  # superseded by an earlier submit of the same job
                if self._heap and self._heap[0][0] <= now:
                    due, _, job = heapq.heappop(self._heap)
                    del self._due[(job.kind, job.ident)]
                    return job
                wake = min(self._heap[0][0] if self._heap else float("inf"), self._next_scan)
                self._cv.wait(None if wake == float("inf") else max(wake - now, 0.0))
        return None

    def _run(self) -> None:
        while (item := self._next()) is not None:
            try:
                if isinstance(item, Job):
                    self._process(item)
                else:
                    self.rescan()
            except Exception:  # one bad job must not stop the queue; the message stays queued for a rescan
                log.exception("mail queue: %s failed", item)

    def _process(self, job: Job) -> None:
        from core.mail.notify import deliver_notification
        from core.mail.outbound import deliver_reply

        with UnitOfWork(self._factory, settings=job.settings, clock=job.clock) as uow:
            if job.kind == "reply":
                delay = deliver_reply(uow=uow, message_id=job.ident)
            else:
                delay = deliver_notification(uow=uow, notification_id=job.ident, attempt=job.attempt)
        if delay is not None:
            self.submit(replace(job, attempt=job.attempt + 1), delay)

    def rescan(self) -> int:
        """Queue every email reply still waiting in the database (after a restart, or a lost kick)."""
        if not self.settings.smtp_host:
            return 0
        with UnitOfWork(self._factory, settings=self.settings, clock=self.clock) as uow:
            ids = list(
                uow.session.scalars(
                    select(Message.id)
                    .join(Conversation, Message.conversation_id == Conversation.id)
                    .where(Message.delivery_status == "queued", Conversation.channel == "email")
                    .order_by(Message.id)
                    .limit(1000)
                )
            )
        for ident in ids:
            self.submit(Job("reply", ident, self.settings, self.clock), sooner=False)
        return len(ids)


_queues: dict[int, MailQueue] = {}
_registry_lock = threading.Lock()


def queue_for(engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> MailQueue:
    """The engine's queue, started on first use."""
    with _registry_lock:
        found = _queues.get(id(engine))
        if found is None:
            found = _queues[id(engine)] = MailQueue(engine, settings, clock)
        return found


def existing_queue(engine: Any) -> MailQueue | None:
    """The engine's queue if this process started one."""
    return _queues.get(id(engine))


def start(engine: Engine, settings: Settings, clock: Callable[[], datetime]) -> Callable[[], None]:
    """Start the engine's queue now (a server's startup: it rescans for waiting replies); returns `stop`."""
    mail_queue = queue_for(engine, settings, clock)

    def stop() -> None:
        with _registry_lock:
            if _queues.get(id(engine)) is mail_queue:
                del _queues[id(engine)]
        mail_queue.stop()

    return stop


def send_after_commit(uow: UnitOfWork, kind: Kind, row: Any) -> None:
    """Queue `row` (a Message or Notification) for delivery once `uow` commits; a rollback sends nothing."""
    engine = uow.session.get_bind()
    settings, clock = uow.settings, uow.clock

    def hook() -> None:
        try:
            queue_for(engine, settings, clock).submit(Job(kind, row.id, settings, clock))  # type: ignore[arg-type]
        except Exception:  # the action has committed: never fail it; the row stays queued for a rescan or retry
            log.exception("mail queue: could not queue %s %s", kind, row.id)

    uow.after_commit(hook)
