"""Benchmark environment: seeded databases (cached) and deskpilot server processes on 127.0.0.1.

SQLite: the seeded file is cached under bench-results/cache, keyed by ticket count, seed, schema
revision and the generator's source; each run works on a fresh copy. PostgreSQL: a template database
is seeded once per key on the configured server (never the test database itself) and each run gets a
fresh `CREATE DATABASE ... TEMPLATE` copy.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from core.db import make_engine, make_session_factory
from core.loadgen import generate
from core.migrate import alembic_config, upgrade

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench-results"
PG_PREFIX = "deskpilot_bench_"
Progress = Callable[[int, int], None]


def head_revision(app_dir: Path = ROOT) -> str:
    """The schema revision the checkout in `app_dir` migrates to (another checkout: a before/after run)."""
    from alembic.script import ScriptDirectory

    config = alembic_config("sqlite://")
    config.set_main_option("script_location", str(app_dir / "core" / "migrations"))
    return str(ScriptDirectory.from_config(config).get_current_head())


def dataset_key(tickets: int, seed: int, revision: str) -> str:
    """Cache key of a seeded database: what it holds and the code that made it."""
    digest = hashlib.sha256()
    for path in [*sorted((ROOT / "core" / "loadgen").glob("*.py")),
                 *sorted((ROOT / "core" / "migrations" / "versions").glob("*.py"))]:  # index options too
        digest.update(path.read_bytes())
    return f"t{tickets}_s{seed}_r{revision}_{digest.hexdigest()[:8]}"


def _seed(url: str, tickets: int, seed: int, progress: Progress | None, revision: str) -> float:
    upgrade(url, revision)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        generate(engine=engine, tickets=tickets, seed=seed, on_progress=progress)
        elapsed = time.perf_counter() - started
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    return elapsed


@dataclass(frozen=True)
class Seeded:
    """A run's database and how long seeding it took (now, or when the cached copy was made)."""

    url: str
    seconds: float | None
    cached: bool


def _seed_seconds(marker: Path, seconds: float | None = None) -> float | None:
    if seconds is not None:
        marker.write_text(json.dumps({"seconds": seconds}))
        return seconds
    return float(json.loads(marker.read_text())["seconds"]) if marker.exists() else None


def prepare_sqlite(tickets: int, seed: int, revision: str, progress: Progress | None = None) -> Seeded:
    """A fresh copy of the cached seeded SQLite file at schema `revision` (seeded now if not cached)."""
    cache = RESULTS / "cache" / f"sqlite_{dataset_key(tickets, seed, revision)}.db"
    marker = cache.with_suffix(".json")
    cached = cache.exists()
    if not cached:
        cache.parent.mkdir(parents=True, exist_ok=True)
        for stale in cache.parent.glob(f"sqlite_t*_r{revision}_*"):
            stale.unlink()
        building = cache.with_name(cache.name + ".building")
        _seed_seconds(marker, _seed(f"sqlite:///{building}", tickets, seed, progress, revision))
        building.rename(cache)
    work = RESULTS / "work" / "sqlite.db"
    work.parent.mkdir(parents=True, exist_ok=True)
    for old in work.parent.glob("sqlite.db*"):
        old.unlink()
    shutil.copyfile(cache, work)
    return Seeded(f"sqlite:///{work}", _seed_seconds(marker), cached)


def prepare_postgres(server_url: str, tickets: int, seed: int, revision: str,
                     progress: Progress | None = None) -> Seeded:
    """A fresh copy of the seeded template database on the server of `server_url` (seeded now if missing)."""
    base = make_url(server_url)
    template = PG_PREFIX + dataset_key(tickets, seed, revision).lower()
    run = PG_PREFIX + "run"
    marker = RESULTS / "cache" / f"{template}.json"
    marker.parent.mkdir(parents=True, exist_ok=True)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    cached = True
    try:
        with admin.connect() as conn:
            existing = set(conn.scalars(select(text("datname")).select_from(text("pg_database"))
                                        .where(text(f"datname LIKE '{PG_PREFIX}%'"))))
            if template not in existing:
                for stale in {d for d in existing - {run} if f"_r{revision}_" in d or d.endswith("building")}:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)'))
                building = PG_PREFIX + "building"
                conn.execute(text(f'CREATE DATABASE "{building}"'))
                cached = False
                _seed_seconds(marker, _seed(base.set(database=building).render_as_string(hide_password=False),
                                            tickets, seed, progress, revision))
                conn.execute(text(f'ALTER DATABASE "{building}" RENAME TO "{template}"'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{run}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{run}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()
    return Seeded(base.set(database=run).render_as_string(hide_password=False), _seed_seconds(marker), cached)


@dataclass
class Accounts:
    """API tokens for the benchmark: a super admin, the agent who owns most tickets, and more agents."""

    admin: str
    owner: str
    agents: list[str] = field(default_factory=list)


def accounts(url: str, agent_count: int) -> Accounts:
    """Create the bench super admin and issue tokens to seeded agents (who own tickets: the Mine view)."""
    from core import users
    from core.models import Ticket, User
    from core.uow import UnitOfWork

    engine = make_engine(url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            admin = users.create_user(uow=uow, actor=None, email="bench-admin@bench.example", name="Bench Admin",
                                      super_admin=True, permissions=("delete_tickets",))
            admin_token = users.issue_token(uow=uow, user=admin)
            owners = uow.session.execute(
                select(Ticket.owner_id).where(Ticket.owner_id.is_not(None)).group_by(Ticket.owner_id)
                .order_by(func.count().desc()).limit(agent_count + 1)).scalars().all()
            tokens = []
            for user_id in owners:
                user = uow.session.get(User, user_id)
                assert user is not None
                tokens.append(users.issue_token(uow=uow, user=user))
    finally:
        engine.dispose()
    return Accounts(admin=admin_token, owner=tokens[0], agents=tokens[1:])


def ai_users(url: str, count: int) -> list[str]:
    """Tokens of `count` new agents (AI requests are rate limited per user: a benchmark takes turns)."""
    from core import users
    from core.uow import UnitOfWork

    run = uuid.uuid4().hex[:8]
    engine = make_engine(url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            return [users.issue_token(uow=uow, user=users.create_user(
                uow=uow, actor=None, email=f"bench-ai-{run}-{n}@bench.example", name=f"Bench AI {n}"))
                for n in range(count)]
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`uvicorn plugin.app:create_app` in a subprocess on 127.0.0.1 (the app from `app_dir`)."""

    def __init__(self, url: str, *, app_dir: Path = ROOT, workers: int = 1, env: dict[str, str] | None = None) -> None:
        self.url, self.app_dir, self.workers = url, app_dir, workers
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> Server:
        env = {**os.environ, "PYTHONPATH": str(self.app_dir), "DESKPILOT_DATABASE_URL": self.url,
               "DESKPILOT_PURGE_INTERVAL_SECONDS": "0", "DESKPILOT_MAIL_QUEUE_INTERVAL_SECONDS": "0",
               "DESKPILOT_ATTACHMENTS_DIR": str(RESULTS / "work" / "attachments"), **self.extra_env}
        (RESULTS / "work").mkdir(parents=True, exist_ok=True)
        log = (RESULTS / "work" / f"server-{self.port}.log").open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "plugin.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(self.workers), "--log-level", "warning"],
            cwd=self.app_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {log.name}")
            try:
                if httpx.get(self.base_url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server did not answer /healthz within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def rss_mb(self) -> float:
        """Resident memory of the serving process (MB)."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
        return kb / 1024

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
