"""The concurrency soak: client threads hammer overlapping tickets through several server processes.

Used by tests/reliability/test_soak.py (short, in CI) and scripts/soak.py (the full 60 s). Each client picks
an action at random (seeded), mostly on tickets other clients touch too, and records every status it gets.
`check_invariants` then reads the database directly and reconciles it with what the clients saw.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from core import inboxes, tickets, users
from core.config import Settings
from core.db import make_engine, make_session_factory
from core.schemas import TicketCreate
from core.uow import UnitOfWork
from tests.reliability.procs import ServerProcess

EXPECTED_REFUSALS = {404, 409, 422}
WEIGHTS = {"edit": 30, "merge": 8, "split": 8, "spam": 6, "not_spam": 4, "delete": 5, "bulk_delete": 3,
           "restore": 6, "move": 5, "message": 5, "list": 5}


@dataclass
class SoakConfig:
    database_url: str
    log_dir: Path
    seconds: float = 12.0
    clients: int = 32
    servers: int = 2
    tickets: int = 48
    agents: int = 8
    seed: int = 20261101


@dataclass
class SoakReport:
    """What the clients saw; `statuses[(action, status)]` counts responses."""

    seconds: float = 0.0
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)  # 5xx, transport errors, statuses no action should give
    edits: list[tuple[int, int, int]] = field(default_factory=list)  # (ticket id, sent version, new version)
    bulk_deleted: int = 0
    restored_by_not_spam: int = 0
    spam_marked: set[int] = field(default_factory=set)  # conversation ids of successful spam requests
    seeded_tickets: int = 0
    seeded_messages: int = 0
    server_logs: str = ""

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def ok(self, action: str) -> int:
        """Successful (2xx) responses to an action."""
        return sum(n for (a, s), n in self.statuses.items() if a == action and 200 <= s < 300)

    def figures(self) -> dict[str, Any]:
        """The headline numbers for the README and the command's output."""
        actions = sorted({a for a, _ in self.statuses})
        return {
            "seconds": round(self.seconds, 1), "requests": self.requests,
            "requests_per_second": round(self.requests / self.seconds) if self.seconds else 0,
            "successful_writes": sum(self.ok(a) for a in actions if a not in ("list", "read")),
            "conflicts_409": sum(n for (_, s), n in self.statuses.items() if s == 409),
            "by_action": {a: {str(s): n for (x, s), n in sorted(self.statuses.items()) if x == a} for a in actions},
            "unexpected": len(self.unexpected),
        }


def seed(config: SoakConfig) -> tuple[list[str], list[int], list[int], int]:
    """Agents with every permission, two inboxes, and email tickets of three messages each."""
    engine = make_engine(config.database_url)
    factory = make_session_factory(engine)
    settings = Settings(database_url=config.database_url)
    tokens, ticket_ids, inbox_ids, messages = [], [], [], 0
    try:
        for n in range(config.agents):
            with UnitOfWork(factory, settings=settings) as uow:
                user = users.create_user(uow=uow, actor=None, email=f"soak{n}@desk.example", name=f"Soak {n}",
                                         permissions=("delete_tickets", "account_access"))
                tokens.append(users.issue_token(uow=uow, user=user))
        for name in ("Sales", "Billing"):
            with UnitOfWork(factory, settings=settings) as uow:
                inbox_ids.append(inboxes.create_inbox(uow=uow, actor=None, name=name).id)
        for n in range(config.tickets):
            body = {"name": f"Soak ticket {n}", "channel": "email",
                    "contact": {"name": f"Customer {n}", "email": f"customer{n}@shop.example"},
                    "messages": [{"direction": "incoming", "sender_name": f"Customer {n}",
                                  "sender_email": f"customer{n}@shop.example", "subject": f"Case {n}",
                                  "text": f"Message {m} of case {n}."} for m in range(3)]}
            with UnitOfWork(factory, settings=settings) as uow:
                ticket = tickets.create_ticket(uow=uow, actor=None, data=TicketCreate.model_validate(body))
                ticket_ids.append(ticket.id)
            messages += 3
    finally:
        engine.dispose()
    return tokens, ticket_ids, inbox_ids, messages


class _Client:
    """One soak client: its own HTTP connection, random generator and view of live tickets."""

    def __init__(self, n: int, base_url: str, token: str, pool: list[int], inbox_ids: list[int],
                 report: SoakReport, lock: threading.Lock, seed: int) -> None:
        self.n, self.pool, self.inbox_ids, self.report, self.lock = n, pool, inbox_ids, report, lock
        self.rng = random.Random(seed * 1000 + n)
        self.http = httpx.Client(base_url=base_url + "/api/v1", headers={"Authorization": f"Bearer {token}"},
                                 timeout=30)
        self.live: list[int] = []
        self.count = 0

    def call(self, action: str, method: str, path: str, **kw: Any) -> httpx.Response | None:
        try:
            response = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            with self.lock:
                self.report.unexpected.append(f"{action} {method} {path}: {type(exc).__name__}: {exc}")
            return None
        status = response.status_code
        with self.lock:
            self.report.statuses[(action, status)] += 1
            if status >= 500 or (status >= 400 and status not in EXPECTED_REFUSALS):
                self.report.unexpected.append(f"{action} {method} {path} -> {status} {response.text[:300]}")
        return response

    def ticket_id(self) -> int:
        if self.live and self.rng.random() < 0.7:
            return self.rng.choice(self.live)
        with self.lock:
            return self.rng.choice(self.pool)

    def adopt(self, ticket_id: int) -> None:
        with self.lock:
            self.pool.append(ticket_id)

    def run(self, deadline: float) -> None:
        actions, weights = list(WEIGHTS), list(WEIGHTS.values())
        try:
            while time.monotonic() < deadline:
                if self.count % 10 == 0:
                    self.refresh()
                self.count += 1
                getattr(self, "do_" + self.rng.choices(actions, weights)[0])()
        finally:
            self.http.close()

    def refresh(self) -> None:
        r = self.call("list", "GET", "/tickets", params={"view": "all", "limit": 50})
        if r is not None and r.status_code == 200:
            self.live = [t["id"] for t in r.json()["items"]]

    do_list = refresh

    def conversations(self, ticket_id: int) -> list[dict[str, Any]]:
        r = self.call("read", "GET", f"/tickets/{ticket_id}/conversations")
        return r.json() if r is not None and r.status_code == 200 else []

    def do_edit(self) -> None:
        r = self.call("read", "GET", f"/tickets/{self.ticket_id()}")
        if r is None or r.status_code != 200 or r.json()["deleted"]:
            return
        ticket = r.json()
        body: dict[str, Any] = {"name": f"Edited by client {self.n}, edit {self.count}"}
        headers = {}
        if self.rng.random() < 0.5:
            body["version"] = ticket["version"]
        else:
            headers["If-Match"] = f'"{ticket["version"]}"'
        r = self.call("edit", "PATCH", f"/tickets/{ticket['id']}", json=body, headers=headers)
        if r is not None and r.status_code == 200:
            with self.lock:
                self.report.edits.append((r.json()["id"], ticket["version"], r.json()["version"]))

    def do_merge(self) -> None:
        a, b = self.ticket_id(), self.ticket_id()
        r = self.call("merge", "POST", "/tickets/merge", json={"ticket_ids": [a, b], "primary_id": a})
        if r is not None and r.status_code == 200:
            self.adopt(r.json()["id"])

    def do_split(self) -> None:
        tid = self.ticket_id()
        splittable = [c for c in self.conversations(tid) if len(c["messages"]) >= 2 and not c["spam"]]
        if not splittable:
            return
        message = self.rng.choice(self.rng.choice(splittable)["messages"])
        body = {"message_ids": [message["id"]], "ticket": {"name": f"Split by client {self.n}"}}
        r = self.call("split", "POST", f"/tickets/{tid}/split", json=body)
        if r is not None and r.status_code == 201:
            self.adopt(r.json()["id"])

    def do_spam(self) -> None:
        tid = self.ticket_id()
        candidates = [c["id"] for c in self.conversations(tid) if not c["spam"]]
        if not candidates:
            return
        cid = self.rng.choice(candidates)
        r = self.call("spam", "POST", f"/tickets/{tid}/spam", json={"conversation_ids": [cid]})
        if r is not None and r.status_code == 200:
            with self.lock:
                self.report.spam_marked.add(cid)

    def do_not_spam(self) -> None:
        r = self.call("read", "GET", "/spam", params={"limit": 20})
        items = r.json()["items"] if r is not None and r.status_code == 200 else []
        if items:
            r = self.call("not_spam", "POST", f"/conversations/{self.rng.choice(items)['id']}/not-spam")
            if r is not None and r.status_code == 200 and r.json()["ticket_restored"]:
                with self.lock:
                    self.report.restored_by_not_spam += 1

    def do_delete(self) -> None:
        self.call("delete", "DELETE", f"/tickets/{self.ticket_id()}")

    def do_bulk_delete(self) -> None:
        ids = sorted({self.ticket_id() for _ in range(3)})
        r = self.call("bulk_delete", "POST", "/tickets/bulk-delete", json={"ids": ids, "confirm_count": len(ids)})
        if r is not None and r.status_code == 200:
            with self.lock:
                self.report.bulk_deleted += r.json()["deleted"]

    def do_restore(self) -> None:
        r = self.call("read", "GET", "/tickets", params={"view": "trash", "limit": 20})
        items = r.json()["items"] if r is not None and r.status_code == 200 else []
        if items:
            self.call("restore", "POST", f"/tickets/{self.rng.choice(items)['id']}/restore")

    def do_move(self) -> None:
        if self.rng.random() < 0.5:
            inbox = self.rng.choice(self.inbox_ids)
            r = self.call("read", "GET", f"/inboxes/{inbox}/conversations")
            items = r.json() if r is not None and r.status_code == 200 else []
            if items:
                self.call("move", "POST", f"/conversations/{self.rng.choice(items)['id']}/move",
                          json={"to": "help_desk"})
            return
        here = [c["id"] for c in self.conversations(self.ticket_id()) if c["location"] == "help_desk"]
        if here:
            self.call("move", "POST", f"/conversations/{self.rng.choice(here)}/move",
                      json={"to": self.rng.choice(self.inbox_ids), "status": "WAITING_ON_US"})

    def do_message(self) -> None:
        conversations = self.conversations(self.ticket_id())
        if conversations:
            cid = self.rng.choice(conversations)["id"]
            self.call("message", "POST", f"/conversations/{cid}/messages",
                      json={"direction": "incoming", "sender_name": "Customer", "text": f"More from {self.n}"})


def run(config: SoakConfig) -> SoakReport:
    """Seed, start the servers, run the clients until the time is up, stop the servers."""
    report = SoakReport()
    tokens, ticket_ids, inbox_ids, messages = seed(config)
    report.seeded_tickets, report.seeded_messages = len(ticket_ids), messages
    config.log_dir.mkdir(parents=True, exist_ok=True)
    servers = [ServerProcess(config.database_url, config.log_dir / f"soak-server-{n}.log")
               for n in range(config.servers)]
    try:
        for server in servers:
            server.start()
        lock = threading.Lock()
        pool = list(ticket_ids)
        clients = [_Client(n, servers[n % len(servers)].url, tokens[n % len(tokens)], pool, inbox_ids, report,
                           lock, config.seed) for n in range(config.clients)]
        started = time.monotonic()
        deadline = started + config.seconds
        threads = [threading.Thread(target=c.run, args=(deadline,), daemon=True) for c in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=config.seconds + 60)
        report.seconds = time.monotonic() - started
        if any(t.is_alive() for t in threads):
            report.unexpected.append("a client thread did not finish within a minute of the deadline")
    finally:
        for server in servers:
            server.stop()
        report.server_logs = "\n".join(s.log_text() for s in servers)
    return report
