"""Fixtures: every storage test runs on SQLite and on PostgreSQL (DESKPILOT_TEST_DATABASE_URL)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from core.config import Settings
from core.db import make_engine, make_session_factory
from core.migrate import upgrade
from core.models import Base
from core.uow import UnitOfWork
from tests.support import Agent, Clock, LiveServer, create_user

pytest_plugins = ["tests.browser"]  # the one shared Chromium (Playwright allows one sync instance)

PG_ENV = "DESKPILOT_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


def _pg_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{PG_ENV} must be set in CI: the PostgreSQL half of the suite may not be skipped")
        pytest.skip(f"{PG_ENV} is not set, so the PostgreSQL half of this test cannot run")
    return url


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database per backend, made once per session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'deskpilot.db'}"
    else:
        url = _pg_url()
        _reset_postgres(url)
    upgrade(url)
    yield url


@pytest.fixture(scope="session")
def engine(database: str) -> Iterator[Engine]:
    eng = make_engine(database)
    yield eng
    eng.dispose()


def _truncate(engine: Engine) -> None:
    """Empty every table. A background worker of the previous test (the mail queue) may still hold row
    locks for a moment, which can make the wipe lose a deadlock: wait a little and try again."""
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    for attempt in range(10):
        try:
            with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(text("SET LOCAL lock_timeout = '5s'"))
                    conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                else:
                    for name in tables:
                        conn.execute(text(f"DELETE FROM {name}"))
            return
        except OperationalError:
            if attempt == 9:
                raise
            time.sleep(0.2 * (attempt + 1))


@pytest.fixture(scope="session")
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db_url(database: str, engine: Engine, clock: Clock) -> str:
    """An empty, migrated database of the current backend."""
    _truncate(engine)
    clock.reset()
    return database


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url)


@pytest.fixture
def uow_factory(db_url: str, engine: Engine, clock: Clock) -> Callable[[], UnitOfWork]:
    factory = make_session_factory(engine)
    settings = Settings(database_url=db_url)
    return lambda: UnitOfWork(factory, settings=settings, clock=clock)


@pytest.fixture(scope="session")
def server(database: str, clock: Clock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """deskpilot served over real HTTP on 127.0.0.1, one per backend."""
    from plugin.app import create_app

    settings = Settings(database_url=database, llm_max_retries=0, llm_timeout=10, purge_interval_seconds=0,
                        attachments_dir=str(tmp_path_factory.mktemp("attachments")))
    live = LiveServer(create_app(settings, clock=clock)).start()
    yield live
    live.stop()


@pytest.fixture
def make_agent(server: LiveServer, uow_factory: Callable[[], UnitOfWork]) -> Iterator[Callable[..., Agent]]:
    clients: list[httpx.Client] = []

    def make(email: str, **kw: object) -> Agent:
        user, token = create_user(uow_factory, email, **kw)  # type: ignore[arg-type]
        client = httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                              timeout=30)
        clients.append(client)
        return Agent(id=user.id, email=user.email, token=token, client=client)

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def admin(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent("admin@desk.example", super_admin=True)


@pytest.fixture
def agent(make_agent: Callable[..., Agent]) -> Agent:
    return make_agent("agent@desk.example")


@pytest.fixture
def anon(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url + "/api/v1", timeout=30) as client:
        yield client


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
