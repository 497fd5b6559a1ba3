"""Full-text ticket search over names, descriptions and message text.

SQLite: FTS5 tables `ticket_fts` (over tickets.name, tickets.description) and `message_fts` (over
messages.text), external content kept in step by triggers. PostgreSQL: GIN indexes on `to_tsvector`
of the same text. Both are made by migration 0003; the models do not declare them.

A query matches tickets where one document (the ticket's name and description, or one message)
contains every word of the query as a word prefix, case-insensitively ("refu ord" finds "Refund
for order 10482"). Queries shorter than MIN_QUERY characters match ticket names as substrings
instead: a one- or two-letter prefix would match most of the index. All digits also match the
ticket number.
"""

from __future__ import annotations

import json
import re
import time
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import BindParameter, Boolean, ColumnElement, String, bindparam, func, literal_column, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

from core.db import GENERIC_PLAN_ENGINES
from core.models import Ticket

MIN_QUERY = 3
MAX_TERMS = 8
MAX_TERM_CHARS = 40
WORD = re.compile(r"[^\W_]+")  # letters and digits: both FTS5's unicode61 and PostgreSQL split on the rest

# Names of the objects migration 0003 creates; Alembic's autogenerate comparison skips them.
SQLITE_FTS_TABLES = ("ticket_fts", "message_fts")
# What each FTS5 table indexes: (content table, columns).
SQLITE_FTS_CONTENT = {"ticket_fts": ("tickets", ("name", "description")), "message_fts": ("messages", ("text",))}
PG_FTS_INDEXES = ("ix_tickets_fts", "ix_messages_fts")
TS_CONFIG = "'simple'::regconfig"  # no stemming and no stop words: predictable prefix matches


def is_search_object(name: str | None) -> bool:
    """Whether a table, index or trigger belongs to full-text search (kept out of the models on purpose)."""
    if not name:
        return False
    return name in PG_FTS_INDEXES or any(name == t or name.startswith(f"{t}_") for t in SQLITE_FTS_TABLES)


def terms(q: str) -> list[str]:
    """The query's words, lower-cased, at most MAX_TERMS of them."""
    return [w.casefold()[:MAX_TERM_CHARS] for w in WORD.findall(q)][:MAX_TERMS]


def fts5_query(words: list[str]) -> str:
    """An FTS5 query: every word as a prefix (`"refu"* "ord"*`); words are letters and digits only."""
    return " ".join(f'"{w}"*' for w in words)


def tsquery(words: list[str]) -> str:
    """A PostgreSQL tsquery: every word as a prefix (`refu:* & ord:*`)."""
    return " & ".join(f"{w}:*" for w in words)


class TicketTextMatch(ColumnElement[bool]):
    """`tickets.id IN (tickets whose name, description or a message matches)`, compiled per database."""

    __visit_name__ = "ticket_text_match"
    type = Boolean()
    _is_implicitly_boolean = True  # already a predicate: no "= 1" appended on SQLite
    inherit_cache = True
    _traverse_internals = [("fts_param", InternalTraversal.dp_clauseelement),
                           ("ts_param", InternalTraversal.dp_clauseelement),
                           ("like_param", InternalTraversal.dp_clauseelement)]

    def __init__(self, words: list[str] | None) -> None:
        """Bound to `words`; with None, to named parameters supplied at execution (see `parameters`)."""
        unique = words is not None
        values = self.parameters(" ".join(words)) if words is not None else {}
        self.fts_param: BindParameter[str] = bindparam("fts_query", values.get("fts_query"), String, unique=unique)
        self.ts_param: BindParameter[str] = bindparam("ts_query", values.get("ts_query"), String, unique=unique)
        self.like_param: BindParameter[str] = bindparam("like_query", values.get("like_query"), String,
                                                         unique=unique)

    @classmethod
    def parametrized(cls) -> TicketTextMatch:
        """The condition with named parameters, for statements built once and run many times."""
        return cls(None)

    @staticmethod
    def parameters(q: str) -> dict[str, str]:
        """Values of the named parameters for the query text `q`."""
        words = terms(q)
        return {"fts_query": fts5_query(words), "ts_query": tsquery(words), "like_query": f"%{' '.join(words)}%"}


def matching_ids_sql(dialect: str, param: str) -> str:
    """SELECT of the ids of matching tickets (duplicates possible), `param` being the bound query text."""
    if dialect == "sqlite":
        return (f"SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH {param} UNION ALL "
                "SELECT c.ticket_id FROM message_fts JOIN messages m ON m.id = message_fts.rowid "
                "JOIN conversations c ON c.id = m.conversation_id "
                f"WHERE message_fts MATCH {param} AND c.ticket_id IS NOT NULL")
    return (f"SELECT t.id FROM tickets t WHERE to_tsvector({TS_CONFIG}, t.name || ' ' || t.description) "
            f"@@ to_tsquery({TS_CONFIG}, {param}) UNION ALL "
            "SELECT c.ticket_id FROM messages m JOIN conversations c ON c.id = m.conversation_id "
            f"WHERE to_tsvector({TS_CONFIG}, m.text) @@ to_tsquery({TS_CONFIG}, {param}) AND c.ticket_id IS NOT NULL")


def text_matches_each(c: Any) -> ColumnElement[bool]:
    """PostgreSQL: whether the ticket with columns `c` matches :ts_query, worked out for that ticket alone
    (its name and description, then its messages) instead of gathering every match from the index.
    For list pages of a common word, where a few tickets in the view's order fill the page."""
    from core.models import Conversation, Message

    config: ColumnElement[Any] = literal_column(TS_CONFIG)
    query = func.to_tsquery(config, bindparam("ts_query", type_=String))
    conversations, messages = Conversation.__table__, Message.__table__
    # An aggregate, not EXISTS: PostgreSQL would turn EXISTS into one hashed set of every match.
    in_messages = func.coalesce(
        select(func.bool_or(func.to_tsvector(config, messages.c.text).op("@@")(query)))
        .select_from(conversations.join(messages, messages.c.conversation_id == conversations.c.id))
        .where(conversations.c.ticket_id == c.id).scalar_subquery(), False)
    in_ticket = func.to_tsvector(config, c.name.concat(" ").concat(c.description)).op("@@")(query)
    return or_(in_ticket, in_messages)


@compiles(TicketTextMatch, "sqlite")
def _match_sqlite(element: TicketTextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    # Checked ticket by ticket against the set of matching message ids (made once): when a word is
    # common, a scan in list order finds a page after a few tickets, with no per-match joins.
    param = compiler.process(element.fts_param, **kw)
    return (f"(tickets.id IN (SELECT rowid FROM ticket_fts WHERE ticket_fts MATCH {param}) OR EXISTS ("
            "SELECT 1 FROM conversations c JOIN messages m ON m.conversation_id = c.id WHERE c.ticket_id = tickets.id "
            f"AND m.id IN (SELECT rowid FROM message_fts WHERE message_fts MATCH {param})))")


@compiles(TicketTextMatch, "postgresql")
def _match_postgresql(element: TicketTextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    return f"tickets.id IN ({matching_ids_sql('postgresql', compiler.process(element.ts_param, **kw))})"


@compiles(TicketTextMatch)
def _match_other(element: TicketTextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    """Databases without a full-text index here: a case-insensitive substring match on the name."""
    return f"lower(tickets.name) LIKE {compiler.process(element.like_param, **kw)}"


@contextmanager
def custom_plans(session: Session) -> Iterator[None]:
    """PostgreSQL: plan each statement for its own values while searching. psycopg prepares a statement
    after five runs, and PostgreSQL then settles on one generic plan; for search, whose costs depend on
    the words, that plan was about three times slower. Elsewhere generic plans save the planning.
    Preparing is switched off on the client for the duration (no round trip to the server), so the
    search's statements go as unnamed ones, each planned for its values; on a connection opened to
    force generic plans (core.db.make_engine) the setting is changed for the duration instead."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        yield
        return
    if bind in GENERIC_PLAN_ENGINES:
        session.execute(sql_text("SET plan_cache_mode = force_custom_plan"))
        try:
            yield
        finally:
            session.execute(sql_text("SET plan_cache_mode = force_generic_plan"))
        return
    driver: Any = session.connection().connection.driver_connection
    before = driver.prepare_threshold
    driver.prepare_threshold = None
    try:
        yield
    finally:
        driver.prepare_threshold = before


def _ticket_number(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) < 19 else None


def search_condition(q: str) -> ColumnElement[bool]:
    """Tickets matching `q` (see the module docstring), as a WHERE condition for any ticket query."""
    text = q.strip()
    words = terms(text)
    condition: ColumnElement[bool] = (
        Ticket.name.ilike(f"%{text}%") if len(text) < MIN_QUERY or not words else TicketTextMatch(words)
    )
    number = _ticket_number(text)
    return or_(condition, Ticket.id == number) if number is not None else condition


PG_DENSE_HITS = 9000
SEARCH_ID_CAP = 500  # tickets fetched as an id list before a list page scans instead (SQLite; see above for PG)


def _explained_hits(session: Session, query: str) -> int:
    """PostgreSQL's own estimate of how many index hits `query` has (its statistics, no execution)."""
    raw = session.execute(sql_text(f"EXPLAIN (FORMAT JSON) {matching_ids_sql('postgresql', ':q')}"),
                          {"q": query}).scalar()
    plan: Any = json.loads(raw) if isinstance(raw, str) else raw
    return int(plan[0]["Plan"]["Plan Rows"])


@dataclass(frozen=True)
class WordStats:
    """One full-text index's statistics as ANALYZE left them: its rows, its most common words and the
    share of rows holding each, and the smallest share it kept (an unlisted word is rarer than that)."""

    rows: float
    common: dict[str, float]
    min_share: float

    @cached_property
    def any_common(self) -> float:
        """Share of rows holding at least one listed word (the words taken as independent)."""
        return _either(self.common.values())

    def share(self, prefix: str) -> float:
        """Estimated share of rows holding a word that starts with `prefix`, worked out as PostgreSQL's
        planner does for a prefix query: the listed words that match, plus the unlisted rest in the
        proportion matching among the listed ones; at least what an unlisted word gets; a flat 2% when
        fewer than 100 words are listed."""
        if len(self.common) < 100:
            return 0.02
        matching = [share for word, share in self.common.items() if word.startswith(prefix)]
        estimate = _either(matching) + (1.0 - self.any_common) * len(matching) / len(self.common)
        return max(estimate, min(0.005, self.min_share / 2))


def _either(shares: Iterable[float]) -> float:
    """P(any of independent events) from their probabilities."""
    total = 0.0
    for share in shares:
        total += share - total * share
    return min(max(total, 0.0), 1.0)


# Per table: what its index's statistics live under in pg_stats.
_STATS_OF = {"tickets": "ix_tickets_fts", "messages": "ix_messages_fts"}
STATS_MAX_AGE = 300.0  # seconds before the statistics are read again (they change with ANALYZE only)
_stats_cache: weakref.WeakKeyDictionary[Any, tuple[float, dict[str, WordStats] | None]] = weakref.WeakKeyDictionary()


def _word_stats(session: Session) -> dict[str, WordStats] | None:
    """The search indexes' statistics, read once per STATS_MAX_AGE per engine; None before ANALYZE."""
    engine = session.get_bind()
    cached = _stats_cache.get(engine)
    now = time.monotonic()
    if cached is not None and now - cached[0] < STATS_MAX_AGE:
        return cached[1]
    rows: dict[str, float] = {name: float(count) for name, count in session.execute(sql_text(
        "SELECT relname, reltuples FROM pg_class WHERE oid IN (to_regclass('tickets'), to_regclass('messages'))"))}
    found: dict[str, WordStats] = {}
    for table, words, shares in session.execute(sql_text(
            "SELECT tablename, most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
            "WHERE schemaname = current_schema() AND tablename IN ('ix_tickets_fts', 'ix_messages_fts')")):
        if words and shares and len(shares) > len(words):
            table_name = next(t for t, index in _STATS_OF.items() if index == table)
            found[table_name] = WordStats(rows.get(table_name, -1.0), dict(zip(words, shares, strict=False)),
                                          float(shares[len(words)]))
    stats = found if len(found) == len(_STATS_OF) and all(s.rows >= 0 for s in found.values()) else None
    _stats_cache[engine] = (now, stats)
    return stats


def _estimated_hits(session: Session, words: list[str]) -> float:
    """How many index hits the prefix query of `words` has, as the planner would estimate it: from the
    indexes' statistics, kept in the process (no round trip), or by asking EXPLAIN before ANALYZE ran."""
    stats = _word_stats(session)
    if stats is None:
        return _explained_hits(session, tsquery(words))
    hits = 0.0
    for table in _STATS_OF:
        share = 1.0
        for word in words:
            share *= stats[table].share(word)
        hits += share * stats[table].rows
    return hits


# Counts the index entries of a query, at most :n per table: reading entries alone, with no join.
_SQLITE_HIT_COUNT = sql_text(
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM ticket_fts WHERE ticket_fts MATCH :q LIMIT :n)) "
    "+ (SELECT count(*) FROM (SELECT 1 FROM message_fts WHERE message_fts MATCH :q LIMIT :n))")


def _sqlite_hits_exceed(session: Session, query: str, limit: int) -> bool:
    """SQLite: whether the FTS5 query has more than `limit` hits. Counting entries costs a fraction of
    reading them as tickets (two lookups each, messages to conversations), so a common word goes to
    the scan in list order without first reading `limit` hits only to drop them."""
    return int(session.execute(_SQLITE_HIT_COUNT, {"q": query, "n": limit + 1}).scalar_one()) > limit


def matching_ticket_ids(session: Session, q: str, *, cap: int) -> list[int] | None:
    """Ids of the tickets matching `q` if at most `cap` do; None if more match or no index applies.

    A short id list lets the database fetch and sort just those rows; when a word is common, a scan
    in the list's own order (with `search_condition`) finds a page of matches sooner.
    """
    text = q.strip()
    words = terms(text)
    dialect = session.get_bind().dialect.name
    if len(text) < MIN_QUERY or not words or dialect not in ("sqlite", "postgresql"):
        return None
    query = fts5_query(words) if dialect == "sqlite" else tsquery(words)
    raw_cap = cap * 4  # hits repeat a ticket once per matching message
    if dialect == "postgresql":
        # Reading every hit costs about 10 ms per 1,000 here, while checking tickets one by one in list
        # order costs about 5 ms divided by the share (in %) of tickets that match; they cross near
        # PG_DENSE_HITS. The planner's statistics tell which side of it a query is on, for the cost of
        # planning it; below, up to that many hits are read (so up to ~5,000 tickets come as ids).
        if _estimated_hits(session, words) > PG_DENSE_HITS:
            return None
        if cap >= SEARCH_ID_CAP:  # the default (a smaller cap is a caller's, e.g. a test's, choice)
            cap = raw_cap = PG_DENSE_HITS
    elif _sqlite_hits_exceed(session, query, raw_cap):
        return None
    hits = session.execute(sql_text(f"SELECT * FROM ({matching_ids_sql(dialect, ':q')}) AS hits LIMIT :n"),
                           {"q": query, "n": raw_cap}).scalars().all()
    found = set(hits)
    if len(found) > cap or len(hits) == raw_cap:
        return None
    number = _ticket_number(text)
    if number is not None:
        found.add(number)
    return sorted(found)
