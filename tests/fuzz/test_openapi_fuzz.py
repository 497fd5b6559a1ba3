"""Schemathesis against the live /openapi.json, every operation, as a super admin with a bearer token.

Checks: no 5xx, and every response matches the schema the operation declares (status and body).
Each operation starts from a fresh database with a few tickets, a conversation, an inbox and a deal, and ids
in paths are mostly folded onto those rows, so the fuzzer reaches real objects, not only 404s.
Budget: DESKPILOT_FUZZ_EXAMPLES examples per operation (default 12), derandomized so CI is repeatable.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance
from sqlalchemy import Engine, text

from core import inboxes, workspace
from core.models import Company, Contact, Deal
from core.schemas import TicketCreate
from core.tickets import create_ticket
from core.uow import UnitOfWork
from tests.support import Agent, LiveServer, ticket_payload

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EXAMPLES = int(os.environ.get("DESKPILOT_FUZZ_EXAMPLES", "12"))
SEEDED_IDS = 4
LOOPBACK_BASE = "http://127.0.0.1:9/v1"  # nothing listens there: a fuzzed AI setting can never reach out


def map_path_parameters(ctx: Any, path_parameters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Fold positive ids onto the seeded rows (1..4); zero and negatives stay, for the not-found paths."""
    if not path_parameters:
        return path_parameters
    folded = dict(path_parameters)
    for key, value in folded.items():
        if key.endswith("_id") and isinstance(value, int) and value > 0 and value % 5:
            folded[key] = value % SEEDED_IDS + 1
    return folded


def map_body(ctx: Any, body: Any) -> Any:
    """An AI settings body may only point the model at loopback, never at a host on the network."""
    if isinstance(body, dict) and "api_base" in body and body["api_base"] is not None:
        return {**body, "api_base": LOOPBACK_BASE}
    return body


@schemathesis.serializer("message/rfc822")
def _rfc822(ctx: Any, value: Any) -> bytes:
    """The email intake body is a raw message: the generated string, as UTF-8 bytes."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")


def _static_operations() -> list[str]:
    """Operation labels, read off the app at collection (the test itself fuzzes the live server's schema)."""
    from core.config import Settings
    from plugin.app import create_app

    spec = create_app(Settings(database_url="sqlite:///:memory:")).openapi()
    return [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item]


OPERATIONS = _static_operations()


STATS: Counter[str] = Counter()  # "cases", and "status <n>" per response status


@pytest.fixture(scope="module", autouse=True)
def _report_figures() -> Iterator[None]:
    """After the module: how many cases ran and what they got back (test-artifacts/fuzz-openapi.json)."""
    yield
    if STATS:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "fuzz-openapi.json").write_text(json.dumps(dict(sorted(STATS.items())), indent=2))
        print("openapi fuzz:", dict(sorted(STATS.items())))


@pytest.fixture(autouse=True)
def _settle(engine: Engine) -> Iterator[None]:
    """After an operation, let the server's background work (the mail queue a fuzzed reply kicked) finish,
    so the next test's TRUNCATE does not deadlock with it on PostgreSQL."""
    yield
    if engine.dialect.name != "postgresql":
        return
    time.sleep(0.1)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            busy = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                    "AND pid <> pg_backend_pid() AND state <> 'idle'"))
        if not busy:
            return
        time.sleep(0.05)


@pytest.fixture(scope="session")
def live_schema(server: LiveServer) -> Any:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


def _strategy(operation: Any) -> st.SearchStrategy[Any]:
    """Valid requests and, where the operation has inputs to break, invalid ones."""
    strategies = [operation.as_strategy()]
    try:
        strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
    except Exception:  # noqa: BLE001 - nothing to make invalid (no parameters, no body)
        pass
    return st.one_of(strategies)


def _seed(uow_factory: Callable[[], UnitOfWork]) -> None:
    for n in range(SEEDED_IDS):
        with uow_factory() as uow:
            data = TicketCreate.model_validate(ticket_payload(name=f"Fuzz {n}"))
            create_ticket(uow=uow, actor=None, data=data)
    with uow_factory() as uow:
        for n in range(SEEDED_IDS):
            inboxes.create_inbox(uow=uow, actor=None, name=f"Inbox {n}")
    with uow_factory() as uow:
        uow.session.add_all([Company(name="Acme"), Contact(name="Dana"), Deal(name="Renewal", amount=100)])
        uow.commit()
    with uow_factory() as uow:
        workspace.update_ai_settings(uow=uow, actor=None, changes={"ai_conversation_data": True, "ai_copilot": True,
                                                                   "llm_model": "offline"})


def test_live_schema_is_the_apps_schema(live_schema: Any) -> None:
    assert sorted(f"{op.method.upper()} {op.path}" for op in _live_operations(live_schema)) == sorted(OPERATIONS)


def _live_operations(live_schema: Any) -> list[Any]:
    return [result.ok() for result in live_schema.get_all_operations()]


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_operation_errors_or_breaks_its_schema(
    label: str, live_schema: Any, server: LiveServer, admin: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    _seed(uow_factory)
    method, path = label.split(" ", 1)
    operation = live_schema[path][method]
    auth = {"Authorization": f"Bearer {admin.token}"}

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck), phases=[hypothesis.Phase.generate])
    @hypothesis.given(case=_strategy(operation))
    def fuzz(case: Any) -> None:
        case.path_parameters = map_path_parameters(None, case.path_parameters)
        case.body = map_body(None, case.body)
        response = case.call_and_validate(
            base_url=server.url, headers=auth,
            checks=[not_a_server_error, response_schema_conformance, status_code_conformance])
        STATS["cases"] += 1
        STATS[f"status {response.status_code}"] += 1

    fuzz()
