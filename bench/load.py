"""B9: 16 concurrent agents, mixed reads and writes, against 2 server processes on PostgreSQL."""

from __future__ import annotations

import multiprocessing
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from bench.common import Context, Result
from bench.env import Server
from bench.timing import percentile
from core.models import Contact, Conversation, Ticket

API = "/api/v1"
CLIENTS = 16
PROCESSES = 2  # client processes, so the load generator itself is not one GIL-bound process
OWN_TICKETS = 150
OPERATIONS = (("list", 30), ("next page", 10), ("search", 10), ("ticket", 15), ("thread", 5), ("edit", 10),
              ("reply", 8), ("follow", 6), ("read", 6))
VIEWS = ("all", "open", "unread", "mine", "unassigned")


@dataclass
class Agent:
    """One simulated agent: a token, tickets only it changes, and what it reads and searches."""

    token: str
    own: list[tuple[int, int]]  # (ticket id, conversation id)
    reads: list[int]
    searches: list[str]
    seed: int


@dataclass
class Outcome:
    samples: list[tuple[str, float]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _run_agent(base_url: str, agent: Agent, deadline: float, out: Outcome) -> None:
    rng = random.Random(agent.seed)
    names, weights = zip(*OPERATIONS, strict=True)
    cursor: str | None = None
    following: set[int] = set()
    with httpx.Client(base_url=base_url + API, timeout=30, headers={"Authorization": f"Bearer {agent.token}"}) as c:
        while time.time() < deadline:
            op = rng.choices(names, weights)[0]
            ticket_id, conversation_id = rng.choice(agent.own)
            started = time.perf_counter()
            try:
                if op == "list" or (op == "next page" and not cursor):
                    response = c.get("/tickets", params={"view": rng.choice(VIEWS), "limit": 50})
                    cursor = response.json().get("next_cursor") if response.status_code == 200 else None
                elif op == "next page":
                    response = c.get("/tickets", params={"cursor": cursor, "limit": 50})
                    cursor = response.json().get("next_cursor") if response.status_code == 200 else None
                elif op == "search":
                    response = c.get("/tickets", params={"q": rng.choice(agent.searches), "limit": 10})
                elif op == "ticket":
                    response = c.get(f"/tickets/{rng.choice(agent.reads)}")
                elif op == "thread":
                    response = c.get(f"/tickets/{rng.choice(agent.reads)}/conversations")
                elif op == "edit":
                    response = c.patch(f"/tickets/{ticket_id}", json={"priority": rng.choice(("LOW", "HIGH"))})
                elif op == "reply":
                    response = c.post(f"/conversations/{conversation_id}/messages",
                                      json={"direction": "comment", "text": "Checked with the team, on it."})
                elif op == "follow":
                    response = (c.delete if ticket_id in following else c.post)(f"/tickets/{ticket_id}/follow")
                    following ^= {ticket_id}
                else:
                    response = c.post(f"/tickets/{ticket_id}/{rng.choice(('read', 'unread'))}")
                if response.status_code >= 400:
                    out.errors.append(f"{op}: {response.status_code} {response.text[:200]}")
            except httpx.HTTPError as exc:
                out.errors.append(f"{op}: {type(exc).__name__} {exc}")
            out.samples.append((op, time.perf_counter() - started))


def _client_process(base_url: str, agents: list[Agent], deadline: float) -> Outcome:
    outcomes = [Outcome() for _ in agents]
    threads = [threading.Thread(target=_run_agent, args=(base_url, agent, deadline, outcome))
               for agent, outcome in zip(agents, outcomes, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    merged = Outcome()
    for outcome in outcomes:
        merged.samples.extend(outcome.samples)
        merged.errors.extend(outcome.errors)
    return merged


def _agents(ctx: Context) -> list[Agent]:
    rng = random.Random(ctx.seed + 9)
    with ctx.engine.connect() as conn:
        live = list(conn.execute(
            select(Ticket.id, Conversation.id).join(Conversation, Conversation.ticket_id == Ticket.id)
            .where(Ticket.deleted_at.is_(None), Ticket.merged_into_id.is_(None), Conversation.spam_at.is_(None))))
        surnames = [name.split()[-1][:4] for name in conn.scalars(select(Contact.name).limit(2000))]
    per_ticket = dict(live)  # one conversation per ticket is enough to reply to
    tickets = list(per_ticket.items())
    rng.shuffle(tickets)
    tokens = ctx.accounts.agents[:CLIENTS]
    return [Agent(token=token, own=tickets[n * OWN_TICKETS:(n + 1) * OWN_TICKETS],
                  reads=[t for t, _ in rng.sample(tickets, 500)], searches=rng.sample(surnames, 50), seed=ctx.seed + n)
            for n, token in enumerate(tokens)]


def b9_concurrency(ctx: Context) -> Result:
    """30 s of 16 agents (two client processes of 8 threads) on `deskpilot serve --workers 2`."""
    agents = _agents(ctx)
    with Server(ctx.url, app_dir=ctx.app_dir, workers=2) as server:
        deadline = time.time() + ctx.b9_seconds
        started = time.perf_counter()
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(PROCESSES) as pool:
            parts = pool.starmap(_client_process, [(server.base_url, agents[p::PROCESSES], deadline)
                                                  for p in range(PROCESSES)])
        elapsed = time.perf_counter() - started
    samples = [s for part in parts for s in part.samples]
    errors = [e for part in parts for e in part.errors]
    latencies = [seconds for _, seconds in samples]
    per_op: dict[str, Any] = {}
    for op, _ in OPERATIONS:
        mine = [seconds for name, seconds in samples if name == op]
        if mine:
            per_op[op] = {"count": len(mine), "p50_ms": round(statistics.median(mine) * 1000, 1),
                          "p95_ms": round(percentile(mine, 95) * 1000, 1)}
    throughput = len(samples) / elapsed
    p95 = percentile(latencies, 95) * 1000
    return Result("B9", ctx.backend, f"{len(agents)} concurrent agents, mixed reads/writes, 2 server processes, "
                  f"{ctx.b9_seconds:.0f} s", "0 errors; report throughput and p95",
                  f"{len(errors)} errors; {throughput:.0f} req/s; p95 {p95:.0f} ms", not errors, None,
                  {"requests": len(samples), "errors": len(errors), "error_samples": errors[:10],
                   "throughput_rps": round(throughput, 1), "p50_ms": round(statistics.median(latencies) * 1000, 1),
                   "p95_ms": round(p95, 1), "p99_ms": round(percentile(latencies, 99) * 1000, 1), "operations": per_op})
