"""Read paths: B1 list pages, B2 search as you type, B3 opening a long ticket, B8 memory after 1,000 lists."""

from __future__ import annotations

import re
from collections.abc import Callable
from itertools import cycle
from typing import Any

import httpx
from sqlalchemy import select, text

from bench.common import Context, Result, fetch, get, ok
from bench.env import Server
from bench.timing import Sampled, in_turn, interleaved, merge
from core.loadgen import long_tickets
from core.models import Contact, Ticket

API = "/api/v1"
VIEWS = ("all", "open", "unread", "mine", "unassigned", "spam", "trash")
COMMON_WORDS = ("printer", "invoice", "refund")


def _healthz(client: httpx.Client) -> Callable[[], Any]:
    return lambda: ok(client.get("/healthz"))


def _cursor_after(client: httpx.Client, view: str, pages: int) -> str | None:
    cursor = None
    for _ in range(pages):
        page = get(client, f"{API}/tickets", view=view, limit=50, **({"cursor": cursor} if cursor else {}))
        cursor = page["next_cursor"]
        if not cursor:
            break
    return cursor


def b1_list_pages(ctx: Context) -> list[Result]:
    """Every view's first page and third page (keyset cursor), 50 tickets, against /healthz; the views are
    sampled in turn, so that a busy moment of the machine does not land on one view's samples only."""
    with ctx.client() as admin, ctx.client(ctx.accounts.owner) as owner:
        lists = {}
        for view in VIEWS:
            client = owner if view == "mine" else admin
            cursor = _cursor_after(client, view, 2)
            pages = cycle([{"view": view, "limit": 50}, {"view": view, "limit": 50, "cursor": cursor or ""}])
            lists[view] = lambda c=client, p=pages: fetch(c, f"{API}/tickets", **next(p))
        per_view = {view: sampled.summary()
                    for view, sampled in in_turn(lists, _healthz(admin), rounds=ctx.rounds).items()}
        # The floor under every API call: authentication, a unit of work, the dependencies. Not a target.
        floor = interleaved(lambda: fetch(admin, f"{API}/inboxes"), _healthz(admin), rounds=ctx.rounds).summary()
    worst = max(per_view, key=lambda v: per_view[v]["ratio"])
    ratio = per_view[worst]["ratio"]
    return [
        Result("B1", ctx.backend, "list page of 50 (API, every view)", "≤ 3× /healthz",
               f"{per_view[worst]['median_ms']:.1f} ms worst ({worst}); /healthz "
               f"{per_view[worst]['reference_ms']:.2f} ms", ratio <= 3, ratio, {"views": per_view}),
        Result("B1", ctx.backend, "for scale: GET /inboxes, the cheapest authenticated call", "—",
               f"{floor['median_ms']:.1f} ms", None, floor["ratio"], floor),
    ]


def typed_queries(ctx: Context, tickets: int = 12) -> dict[str, list[str]]:
    """What an agent types in the merge dialog to find a ticket, keystroke by keystroke (3+ characters)."""
    with ctx.engine.connect() as conn:
        total = conn.scalar(select(Ticket.id).order_by(Ticket.id.desc()).limit(1)) or 1
        picks = conn.execute(
            select(Ticket.id, Ticket.name, Contact.name).join(Contact, Contact.id == Ticket.contact_id)
            .where(Ticket.deleted_at.is_(None), Ticket.merged_into_id.is_(None),
                   Ticket.id.in_([1 + i * total // tickets for i in range(tickets)] + [total - i for i in range(20)]))
            .order_by(Ticket.id).limit(tickets)).all()
        words: dict[str, list[str]] = {"customer name": [], "order number": [], "subject word": []}
        for ticket_id, name, contact in picks:
            words["customer name"].append(contact.split()[-1])
            words["subject word"].append(max(re.findall(r"[A-Za-z]+", name) or ["ticket"], key=len))
            texts = conn.execute(text(
                "SELECT m.text FROM messages m JOIN conversations c ON c.id = m.conversation_id "
                "WHERE c.ticket_id = :t ORDER BY m.id"), {"t": ticket_id}).scalars()
            number = next((n for t in texts for n in re.findall(r"\b\d{5}\b", t)), str(ticket_id))
            words["order number"].append(number)
    words["common word"] = list(COMMON_WORDS)
    return {kind: [w[:k] for w in found for k in range(3, len(w) + 1)] for kind, found in words.items()}


def b2_search_as_you_type(ctx: Context) -> Result:
    """Each typed prefix as `q=` (limit 10, the merge dialog's list), against /healthz."""
    queries = typed_queries(ctx)
    per_kind: dict[str, Sampled] = {}
    with ctx.client() as client:
        for kind, prefixes in queries.items():
            parts = [interleaved(lambda q=q: fetch(client, f"{API}/tickets", q=q, limit=10), _healthz(client),
                                 rounds=max(2, ctx.rounds // 20), warmup=1) for q in prefixes]
            per_kind[kind] = merge(parts)
    everything = merge(list(per_kind.values()))
    ratio = everything.ratio
    data = {"overall": everything.summary(), "kinds": {k: v.summary() for k, v in per_kind.items()},
            "queries": queries}
    return Result("B2", ctx.backend, "search as you type (q=, merge dialog)", "≤ 5× /healthz",
                  f"{everything.median_ms:.1f} ms median of {len(everything.samples)} keystrokes; "
                  f"common words {per_kind['common word'].median_ms:.0f} ms", ratio <= 5, ratio, data)


def b3_long_ticket(ctx: Context) -> list[Result]:
    """A ticket with 200 messages: the ticket (≤ 3×), a page of its messages (≤ 5×), and (for scale) all 200."""
    (ticket_id,) = long_tickets(engine=ctx.engine, count=1, messages=200, seed=ctx.seed + 3)
    with ctx.client() as client:
        ticket = interleaved(lambda: fetch(client, f"{API}/tickets/{ticket_id}"), _healthz(client), rounds=ctx.rounds)
        first = get(client, f"{API}/tickets/{ticket_id}/messages", limit=50)
        pages = cycle([{"limit": 50}, {"limit": 50, "cursor": first["next_cursor"]}])
        page = interleaved(lambda: fetch(client, f"{API}/tickets/{ticket_id}/messages", **next(pages)),
                           _healthz(client), rounds=ctx.rounds)
        thread = interleaved(lambda: fetch(client, f"{API}/tickets/{ticket_id}/conversations"), _healthz(client),
                             rounds=ctx.rounds)
    return [
        Result("B3", ctx.backend, "open a ticket with 200 messages", "≤ 3× /healthz",
               f"{ticket.median_ms:.1f} ms", ticket.ratio <= 3, ticket.ratio, ticket.summary()),
        Result("B3", ctx.backend, "its messages, a page of 50 (newest, then older)", "≤ 5× /healthz",
               f"{page.median_ms:.1f} ms", page.ratio <= 5, page.ratio, page.summary()),
        Result("B3", ctx.backend, "for scale: the whole thread at once (200 messages)", "—",
               f"{thread.median_ms:.1f} ms", None, thread.ratio, thread.summary()),
    ]


def b8_memory(ctx: Context, server: Server, requests: int = 1000) -> Result:
    """Resident memory of a fresh server (offline model) after 1,000 list requests over every view."""
    before = server.rss_mb()
    cursors: dict[str, str | None] = {}
    with ctx.client() as admin, ctx.client(ctx.accounts.owner) as owner:
        for n in range(requests):
            view = VIEWS[n % len(VIEWS)]
            client = owner if view == "mine" else admin
            cursor = cursors.get(view)
            page = get(client, f"{API}/tickets", view=view, limit=50, **({"cursor": cursor} if cursor else {}))
            cursors[view] = page["next_cursor"]
    after = server.rss_mb()
    return Result("B8", ctx.backend, "server memory after 1,000 list requests (offline model)", "≤ 200 MB RSS",
                  f"{after:.0f} MB (at start {before:.0f} MB)", after <= 200, None,
                  {"rss_mb_before": round(before, 1), "rss_mb_after": round(after, 1), "requests": requests})
