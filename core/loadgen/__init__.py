"""Bulk load data for benchmarks and demos at scale (`deskpilot seed --tickets N`).

Rows are generated in Python with explicit ids and written in big batches inside one transaction:
Core `insert()` executemany on SQLite (with load-time PRAGMAs), COPY on PostgreSQL. Full-text search
indexes follow through the database's own triggers (SQLite) or GIN indexes (PostgreSQL).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine, select, text

from core.loadgen.rows import Generator, LoadReport
from core.loadgen.writer import Ids, Writer, ensure_inboxes, finish_postgres, fts_paused, load_pragmas
from core.models import Contact, Message, Ticket, User, utcnow

BATCH = 2000  # tickets per write batch (each brings ~8 messages)
Progress = Callable[[int, int], None]

__all__ = ["LoadReport", "generate", "long_tickets"]


def generate(*, engine: Engine, tickets: int, seed: int = 0, now: datetime | None = None,
             on_progress: Progress | None = None, batch: int = BATCH) -> LoadReport:
    """Add `tickets` generated tickets (with conversations, messages, contacts, agents) in one transaction."""
    if tickets < 1:
        raise ValueError("tickets must be at least 1")
    report = LoadReport()
    with engine.connect() as conn, load_pragmas(conn):
        with conn.begin():
            ids = Ids(conn)
            gen = Generator(random.Random(seed), ids, (now or utcnow()).astimezone(UTC),
                            tag=f"s{seed}t{ids.take(Ticket, 0)}")
            gen.inboxes = ensure_inboxes(conn)
            writer = Writer(conn)
            for table, rows in gen.directory(tickets).items():
                writer.write(table, rows)
            report.users, report.contacts = len(gen.agents), len(gen.contacts)
            done = 0
            with fts_paused(conn, {"tickets": ids.take(Ticket, 0), "messages": ids.take(Message, 0)}):
                while done < tickets:
                    size = min(batch, tickets - done)
                    for table, rows in gen.batch(size, report).items():
                        writer.write(table, rows)
                    done += size
                    if on_progress:
                        on_progress(done, tickets)
            if writer.pg:
                finish_postgres(conn)
        if writer.pg:
            # Statistics for the planner, and the visibility map a bulk load leaves unset: until a vacuum
            # (autovacuum may be off) index-only scans read the table as well, unlike on settled data.
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM (ANALYZE)"))
    return report


def long_tickets(*, engine: Engine, count: int, messages: int, seed: int = 0) -> list[int]:
    """Add `count` live email tickets with one conversation of `messages` messages each; their ids.

    The agents and contacts are the workspace's own (made by `generate` first if there are none).
    """
    with engine.connect() as conn:
        agents = [(int(i), str(n), str(e)) for i, n, e in
                  conn.execute(select(User.id, User.name, User.email).order_by(User.id).limit(50))]
        contacts = [(int(i), str(n), str(e or ""), c) for i, n, e, c in conn.execute(
            select(Contact.id, Contact.name, Contact.email, Contact.company_id).order_by(Contact.id).limit(500))]
    if not agents or not contacts:
        generate(engine=engine, tickets=1, seed=seed)
        return long_tickets(engine=engine, count=count, messages=messages, seed=seed)
    report = LoadReport()
    with engine.begin() as conn:
        ids = Ids(conn)
        gen = Generator(random.Random(seed), ids, utcnow(), tag=f"long{seed}t{ids.take(Ticket, 0)}")
        # Names are split into first and last for signatures: make sure there are two parts.
        gen.agents = [(i, n if " " in n else f"{n} Agent", e) for i, n, e in agents]
        gen.contacts = [(i, n if " " in n else f"{n} Customer", e, c) for i, n, e, c in contacts]
        rows = gen.empty_rows()
        made = [gen.long_ticket(rows, report, messages)["id"] for _ in range(count)]
        writer = Writer(conn)
        for table, batch in rows.items():
            writer.write(table, batch)
        if writer.pg:
            finish_postgres(conn)
    return made
