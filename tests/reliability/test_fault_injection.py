"""A failure at any step of merge, split, move, spam or bulk delete leaves the database exactly as it was.

Faults are injected at the database boundary, not by patching our code: a SQLAlchemy `before_cursor_execute`
listener raises on the k-th statement the action sends (and a `commit` listener fails the commit itself).
At collection the actions run once on a scratch SQLite database to count and name their statements, so each
step is its own test; on each backend a guard test checks the action sends the same statements there.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from core.config import Settings
from core.db import make_engine, make_session_factory
from core.models import Base
from core.uow import UnitOfWork
from tests.reliability.scenarios import SCENARIOS, run_action
from tests.reliability.snapshot import snapshot

COMMIT = "commit"


class InjectedFault(Exception):
    """The error the injector raises in place of a database statement."""


def _label(statement: str) -> str:
    """`UPDATE tickets`, `SELECT conversations`, `INSERT audit_events`: what a statement does to which table."""
    verb = statement.split(None, 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else '?'}"


Step = tuple[str, int]  # (statement label, which occurrence of it): the same step on every backend


def _steps(labels: list[str]) -> list[Step]:
    seen: dict[str, int] = {}
    steps = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        steps.append((label, seen[label]))
    return steps


class FaultInjector:
    """Records the statements sent on `engine` while active and raises at step `fail_at` (or at commit)."""

    def __init__(self, engine: Engine, fail_at: Step | str | None = None) -> None:
        self.engine, self.fail_at = engine, fail_at
        self.statements: list[str] = []
        self.fired = False

    def _before(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        label = _label(statement)
        self.statements.append(label)
        if self.fail_at == (label, self.statements.count(label)):
            self.fired = True
            raise InjectedFault(f"injected at {self.fail_at}: {statement[:120]}")

    def _commit(self, conn: Any) -> None:
        if self.fail_at == COMMIT:
            self.fired = True
            raise InjectedFault("injected at commit")

    @contextmanager
    def active(self) -> Iterator[FaultInjector]:
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "commit", self._commit)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._before)
            event.remove(self.engine, "commit", self._commit)


def _statements(engine: Engine, factory: Callable[[], UnitOfWork], name: str) -> list[str]:
    ctx = SCENARIOS[name].build(factory)
    with FaultInjector(engine).active() as counter:
        run_action(factory, name, ctx)
    return counter.statements


def _count_on_scratch_sqlite() -> dict[str, list[str]]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'count.db'}"
        engine = make_engine(url)
        try:
            Base.metadata.create_all(engine)
            factory = make_session_factory(engine)
            settings = Settings(database_url=url)
            steps = {}
            for name in SCENARIOS:
                Base.metadata.drop_all(engine)
                Base.metadata.create_all(engine)
                steps[name] = _statements(engine, lambda: UnitOfWork(factory, settings=settings), name)
            return steps
        finally:
            engine.dispose()


STEPS = _count_on_scratch_sqlite()
CASES = [pytest.param(name, step, id=f"{name}-{k:02d}-{step[0].replace(' ', '_')}")
         for name, labels in STEPS.items() for k, step in enumerate(_steps(labels), start=1)]
CASES += [pytest.param(name, COMMIT, id=f"{name}-{len(labels) + 1:02d}-COMMIT") for name, labels in STEPS.items()]


@pytest.mark.parametrize(("action", "step"), CASES)
def test_a_fault_at_any_step_changes_nothing(
    action: str, step: Step | str, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    ctx = SCENARIOS[action].build(uow_factory)
    before = snapshot(engine)
    with FaultInjector(engine, fail_at=step).active() as injector:
        try:
            run_action(uow_factory, action, ctx)
        except InjectedFault:
            pass
    if not injector.fired:
        assert step not in _steps(injector.statements)
        # PostgreSQL sends some repeated INSERTs as one batched statement: that step does not exist on this
        # backend (asserted just above), so there is nothing to inject.
        return
    assert snapshot(engine) == before
    # And the same action still succeeds afterwards: nothing was left locked or half-claimed.
    run_action(uow_factory, action, ctx)
    assert snapshot(engine) != before


def _is_subsequence(part: list[Step], whole: list[Step]) -> bool:
    rest = iter(whole)
    return all(step in rest for step in part)


@pytest.mark.parametrize("action", list(SCENARIOS))
def test_fault_steps_cover_every_statement_on_this_backend(
    action: str, engine: Engine, uow_factory: Callable[[], UnitOfWork]
) -> None:
    """The per-step tests were named on SQLite; every statement this backend sends must be one of them, in order."""
    here = _steps(_statements(engine, uow_factory, action))
    assert _is_subsequence(here, _steps(STEPS[action])), (here, STEPS[action])


def test_every_action_has_several_steps() -> None:
    assert {name: len(labels) >= 5 for name, labels in STEPS.items()} == dict.fromkeys(SCENARIOS, True)
