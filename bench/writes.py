"""Write paths: B4 merge and split of long tickets, B5 bulk delete of 10,000 tickets against raw SQL."""

from __future__ import annotations

import json
import random
import statistics
import time
from datetime import UTC, datetime

from sqlalchemy import select, text

from bench.common import Context, Result, ok
from bench.timing import timed
from core.loadgen import long_tickets
from core.models import Ticket, User

API = "/api/v1"
MERGE_MESSAGES = 500
SPLIT_OFF = 250
BULK = 10_000


def _first_messages(ctx: Context, ticket_id: int, count: int) -> list[int]:
    with ctx.engine.connect() as conn:
        return list(conn.scalars(text(
            "SELECT m.id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            "WHERE c.ticket_id = :t ORDER BY m.sent_at, m.id LIMIT :n"), {"t": ticket_id, "n": count}))


def b4_merge_and_split(ctx: Context, repeats: int = 5) -> list[Result]:
    """Merge two tickets of 500 messages each; split 250 of a 500-message ticket off (HTTP wall time)."""
    pairs = long_tickets(engine=ctx.engine, count=2 * (repeats + 1), messages=MERGE_MESSAGES, seed=ctx.seed + 4)
    splits = long_tickets(engine=ctx.engine, count=repeats + 1, messages=MERGE_MESSAGES, seed=ctx.seed + 5)
    merges, cuts = [], []
    with ctx.client() as client:
        for n in range(repeats + 1):  # the first of each warms the server up and is not counted
            a, b = pairs[2 * n], pairs[2 * n + 1]
            seconds = timed(lambda a=a, b=b: ok(client.post(f"{API}/tickets/merge",
                                                            json={"ticket_ids": [a, b], "primary_id": a})))
            if n:
                merges.append(seconds)
            chosen = _first_messages(ctx, splits[n], SPLIT_OFF)
            body = {"message_ids": chosen, "ticket": {"name": "Split off for the benchmark"}}
            seconds = timed(lambda t=splits[n], body=body: ok(client.post(f"{API}/tickets/{t}/split", json=body)))
            if n:
                cuts.append(seconds)
    merge_ms, split_ms = statistics.median(merges) * 1000, statistics.median(cuts) * 1000
    return [
        Result("B4", ctx.backend, "merge two tickets of 500 messages each", "≤ 100 ms", f"{merge_ms:.0f} ms",
               merge_ms <= 100, None, {"samples_ms": [round(s * 1000, 1) for s in merges]}),
        Result("B4", ctx.backend, "split 250 messages off a 500-message ticket", "≤ 100 ms", f"{split_ms:.0f} ms",
               split_ms <= 100, None, {"samples_ms": [round(s * 1000, 1) for s in cuts]}),
    ]


def _raw_trash(ctx: Context, ids: list[int], actor_id: int) -> float:
    """The same change as a delete to the trash, as one hand-written UPDATE through the driver."""
    now = datetime.now(UTC)
    raw = ctx.engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        if ctx.backend == "sqlite":
            cursor.execute(
                "UPDATE tickets SET deleted_at = ?, deleted_reason = 'trash', deleted_by_id = ?, updated_at = ?, "
                "version = version + 1 WHERE id IN (SELECT value FROM json_each(?))",
                (now.isoformat(" ", "microseconds")[:26], actor_id, now.isoformat(" ", "microseconds")[:26],
                 json.dumps(ids)))
        else:
            cursor.execute(
                "UPDATE tickets SET deleted_at = %s, deleted_reason = 'trash', deleted_by_id = %s, updated_at = %s, "
                "version = version + 1 WHERE id = ANY(%s)", (now, actor_id, now, ids))
        raw.commit()
        return time.perf_counter() - started
    finally:
        raw.close()


def _restore(ctx: Context, ids: list[int]) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(text("UPDATE tickets SET deleted_at = NULL, deleted_reason = NULL, deleted_by_id = NULL "
                          "WHERE id IN (SELECT value FROM json_each(:ids))" if ctx.backend == "sqlite" else
                          "UPDATE tickets SET deleted_at = NULL, deleted_reason = NULL, deleted_by_id = NULL "
                          "WHERE id = ANY(CAST(:ids AS bigint[]))"),
                     {"ids": json.dumps(ids) if ctx.backend == "sqlite" else ids})


def b5_bulk_delete(ctx: Context, repeats: int = 3) -> Result:
    """Bulk delete 10,000 live tickets over the API; then, on the same rows, the raw SQL equivalent.

    The raw statement runs second, on pages the API call has just read: the comparison favours it.
    """
    with ctx.engine.connect() as conn:
        live = list(conn.scalars(select(Ticket.id).where(Ticket.deleted_at.is_(None), Ticket.merged_into_id.is_(None))))
        admin_id = conn.scalar(select(User.id).where(User.email == "bench-admin@bench.example"))
    random.Random(ctx.seed).shuffle(live)
    size = min(BULK, len(live) // repeats)  # a small --tickets run deletes fewer
    api, raw = [], []
    with ctx.client(timeout=300) as client:
        for n in range(repeats):
            ids = live[n * size:(n + 1) * size]
            api.append(timed(lambda ids=ids: ok(client.post(f"{API}/tickets/bulk-delete",
                                                            json={"ids": ids, "confirm_count": len(ids)}))))
            _restore(ctx, ids)
            raw.append(_raw_trash(ctx, ids, int(admin_id or 0)))
    api_s, raw_s = statistics.median(api), statistics.median(raw)
    ratio = api_s / raw_s
    return Result("B5", ctx.backend, f"bulk delete {size:,} tickets", "≤ 3 s and ≤ 4× raw SQL",
                  f"{api_s:.2f} s; raw UPDATE {raw_s * 1000:.0f} ms", api_s <= 3 and ratio <= 4, ratio,
                  {"api_s": [round(s, 3) for s in api], "raw_s": [round(s, 3) for s in raw]})
