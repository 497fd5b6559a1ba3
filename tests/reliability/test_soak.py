"""Concurrency soak on PostgreSQL: 2 server processes, 32 clients, overlapping tickets; then the invariants hold.

CI runs it for DESKPILOT_SOAK_SECONDS (default 12); `make soak` runs the full 60 s (scripts/soak.py).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from core.schemas import TicketCreate
from core.tickets import create_ticket
from core.uow import UnitOfWork
from tests.reliability.invariants import check_invariants, lost_update_problems, storage_problems
from tests.reliability.procs import pg_base_url, scratch_database
from tests.reliability.soak import SoakConfig, SoakReport, run
from tests.support import ticket_payload

SECONDS = float(os.environ.get("DESKPILOT_SOAK_SECONDS", "12"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _pg_or_skip() -> str:
    url = pg_base_url()
    if url is None:
        if os.environ.get("CI"):
            pytest.fail("DESKPILOT_TEST_DATABASE_URL must be set in CI: the soak runs on PostgreSQL")
        pytest.skip("the soak needs PostgreSQL (DESKPILOT_TEST_DATABASE_URL)")
    return url


def test_soak_keeps_every_invariant_under_concurrent_actions(tmp_path: Path) -> None:
    url = scratch_database(_pg_or_skip(), "soak")
    report = run(SoakConfig(database_url=url, log_dir=tmp_path, seconds=SECONDS))
    figures = report.figures()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "soak.json").write_text(json.dumps(figures, indent=2))
    print("soak figures:", json.dumps(figures))

    assert check_invariants(url, report) == []
    # The soak exercised what it claims to: every action succeeded at least once and races produced 409s.
    for action in ("edit", "merge", "split", "spam", "not_spam", "delete", "bulk_delete", "restore", "move"):
        assert report.ok(action) > 0, f"the soak never completed a {action}"
    assert figures["conflicts_409"] > 0
    assert figures["requests"] >= 20 * SECONDS


def _ticket(uow_factory: Callable[[], UnitOfWork], name: str) -> int:
    with uow_factory() as uow:
        return create_ticket(uow=uow, actor=None, data=TicketCreate.model_validate(ticket_payload(name=name))).id


def test_invariant_checks_catch_broken_storage(engine: Engine, uow_factory: Callable[[], UnitOfWork]) -> None:
    """The checks are not vacuous: corrupt a database by hand and each one speaks up."""
    a, b, c = (_ticket(uow_factory, f"Ticket {n}") for n in range(3))
    with engine.connect() as conn:
        assert storage_problems(conn) == []
    with engine.begin() as conn:
        conn.execute(text("UPDATE tickets SET merged_into_id = :b WHERE id = :a"), {"a": a, "b": b})
        conn.execute(text("UPDATE tickets SET merged_into_id = :a WHERE id = :b"), {"a": a, "b": b})
        conn.execute(text("UPDATE tickets SET deleted_at = created_at, deleted_reason = 'spam' WHERE id = :c"),
                     {"c": c})
    with engine.connect() as conn:
        found = "\n".join(storage_problems(conn))
    assert "alias loop" in found
    assert "hang on a merged (alias) ticket" in found
    assert "belong to tickets deleted as spam" in found


def test_lost_update_check_flags_two_edits_from_one_version() -> None:
    report = SoakReport(edits=[(7, 3, 4), (7, 3, 4)])
    assert any("lost updates" in p for p in lost_update_problems(report))


def test_audit_check_flags_a_success_without_its_event(engine: Engine, db_url: str) -> None:
    report = SoakReport()
    report.statuses[("edit", 200)] = 1
    found = "\n".join(check_invariants(db_url, report))
    assert "ticket.updated: 0 audit events for 1 successful requests" in found
