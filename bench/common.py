"""What every benchmark scenario shares: the run context, results, and an API client."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from bench.env import Accounts


@dataclass
class Context:
    """One backend's run: its database, the server's address, tokens and how hard to measure."""

    backend: str
    url: str
    engine: Engine
    base_url: str
    accounts: Accounts
    app_dir: Path
    rounds: int = 40
    seed: int = 0
    b9_seconds: float = 30.0

    def client(self, token: str | None = None, timeout: float = 60, base_url: str | None = None) -> httpx.Client:
        """An API client (keep-alive) for the bench admin, or for `token`."""
        return httpx.Client(base_url=base_url or self.base_url, timeout=timeout,
                            headers={"Authorization": f"Bearer {token or self.accounts.admin}"})


@dataclass
class Result:
    """One target's outcome on one backend."""

    id: str
    backend: str
    what: str
    target: str
    measured: str
    passed: bool | None
    ratio: float | None = None
    data: dict[str, Any] = field(default_factory=dict)


def ok(response: httpx.Response) -> httpx.Response:
    """The response, or an error naming the request when it failed (a benchmark must not time errors)."""
    if response.status_code >= 400:
        raise RuntimeError(f"{response.request.method} {response.request.url} -> {response.status_code}: "
                           f"{response.text[:300]}")
    return response


def fetch(client: httpx.Client, path: str, **params: Any) -> httpx.Response:
    """GET that must succeed, its body received in full but not decoded: what a latency sample times
    (turning the JSON into Python objects is the client's work, not the server's latency)."""
    return ok(client.get(path, params=params or None))


def get(client: httpx.Client, path: str, **params: Any) -> Any:
    """GET that must succeed; the decoded JSON."""
    return fetch(client, path, **params).json()
