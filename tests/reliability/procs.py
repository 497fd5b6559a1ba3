"""Real deskpilot server processes on 127.0.0.1 and scratch PostgreSQL databases for them.

A server here is `python -m uvicorn plugin.app:create_app --factory` in its own process, so a test can run
several against one database or SIGKILL one in the middle of a request.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import make_url, text
from sqlalchemy.engine import URL

from core.db import make_engine
from core.migrate import upgrade
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
PG_ENV = "DESKPILOT_TEST_DATABASE_URL"


def pg_base_url() -> str | None:
    """The suite's PostgreSQL URL, if set."""
    return os.environ.get(PG_ENV) or None


def scratch_database(base_url: str, suffix: str) -> str:
    """(Re)create the database `<base db>_<suffix>` on the same server, migrated; returns its URL."""
    base: URL = make_url(base_url)
    name = f"{base.database}_{suffix}"
    admin = make_engine(base.render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    return url


class ServerProcess:
    """One uvicorn process serving deskpilot on a free loopback port; its output goes to a log file."""

    def __init__(self, database_url: str, log_path: Path, *, extra_env: dict[str, str] | None = None) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> ServerProcess:
        """Start and wait until /healthz answers."""
        env = {
            **os.environ,
            "DESKPILOT_DATABASE_URL": self.database_url,
            "DESKPILOT_PURGE_INTERVAL_SECONDS": "0",
            "DESKPILOT_MAIL_QUEUE_INTERVAL_SECONDS": "0",
            "DESKPILOT_LLM_MODEL": "offline",
            "LITELLM_OFFLINE_MODE": "true",
            **self.extra_env,
        }
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "plugin.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-access-log", "--log-level", "warning"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not answer within {timeout} s; see {self.log_path}")

    def stop(self) -> None:
        """Ask the server to shut down (SIGTERM), then kill it if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: no shutdown handlers, no rollback from our side; the database must cope."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=15)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
