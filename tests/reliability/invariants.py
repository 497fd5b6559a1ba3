"""What must hold in the database after any mix of concurrent actions, checked with SQL."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import Connection, text

from core.db import make_engine
from tests.reliability.soak import SoakReport

# Where a conversation is: exactly one of these holds for every conversation row.
PLACES = {
    "spam": "c.spam_at IS NOT NULL",
    "trash": "c.spam_at IS NULL AND t.deleted_at IS NOT NULL",
    "inbox": "c.spam_at IS NULL AND (t.id IS NULL OR t.deleted_at IS NULL) AND c.location = 'inbox' "
             "AND c.inbox_id IS NOT NULL",
    "help_desk": "c.spam_at IS NULL AND c.location = 'help_desk' AND c.inbox_id IS NULL AND t.id IS NOT NULL "
                 "AND t.deleted_at IS NULL AND t.merged_into_id IS NULL",
}


def _scalar(conn: Connection, sql: str) -> int:
    return int(conn.execute(text(sql)).scalar_one())


def storage_problems(conn: Connection) -> list[str]:
    """Structural invariants that hold whatever the clients did."""
    problems = []
    orphans = _scalar(conn, "SELECT count(*) FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id "
                            "WHERE c.id IS NULL")
    if orphans:
        problems.append(f"{orphans} message(s) are in no conversation")
    cases = " + ".join(f"(CASE WHEN {cond} THEN 1 ELSE 0 END)" for cond in PLACES.values())
    misplaced = conn.execute(text(
        f"SELECT c.id, {cases} AS places FROM conversations c LEFT JOIN tickets t ON t.id = c.ticket_id "
        f"WHERE {cases} <> 1"
    )).all()
    if misplaced:
        problems.append(f"{len(misplaced)} conversation(s) are not in exactly one place: {misplaced[:10]}")
    on_alias = _scalar(conn, "SELECT count(*) FROM conversations c JOIN tickets t ON t.id = c.ticket_id "
                             "WHERE t.merged_into_id IS NOT NULL")
    if on_alias:
        problems.append(f"{on_alias} conversation(s) still hang on a merged (alias) ticket")
    half_spam = _scalar(conn, "SELECT count(*) FROM tickets t JOIN conversations c ON c.ticket_id = t.id "
                              "WHERE t.deleted_reason = 'spam' AND c.spam_at IS NULL")
    if half_spam:
        problems.append(f"{half_spam} live conversation(s) belong to tickets deleted as spam")
    problems += alias_problems(conn)
    return problems


def alias_problems(conn: Connection) -> list[str]:
    """Every merge alias chain ends at a ticket that is not an alias: no loops, no dangling links."""
    links = dict(conn.execute(text("SELECT id, merged_into_id FROM tickets")).tuples().all())
    problems = []
    for start in links:
        seen, current = set(), start
        while links.get(current) is not None:
            if current in seen:
                problems.append(f"merge alias loop through ticket {start}: {sorted(seen)}")
                break
            seen.add(current)
            current = links[current]
            if current not in links:
                problems.append(f"ticket {start}'s alias chain points at missing ticket {current}")
                break
    return problems


def audit_problems(conn: Connection, report: SoakReport) -> list[str]:
    """Every successful request left its audit event, and no failed one left any."""
    rows = conn.execute(text("SELECT action, detail FROM audit_events")).tuples().all()
    counts: Counter[str] = Counter(action for action, _ in rows)
    restored: Counter[Any] = Counter((_detail(d) or {}).get("from") for a, d in rows if a == "ticket.restored")
    expected = {
        "ticket.created": report.seeded_tickets,
        "ticket.updated": report.ok("edit"),
        "ticket.merged": report.ok("merge"),
        "ticket.split": 2 * report.ok("split"),
        "ticket.deleted": report.ok("delete") + report.bulk_deleted,
        "conversation.not_spam": report.ok("not_spam"),
        "conversation.moved": report.ok("move"),
        "message.incoming": report.ok("message"),
    }
    problems = [f"{action}: {counts[action]} audit events for {want} successful requests"
                for action, want in expected.items() if counts[action] != want]
    if restored["trash"] != report.ok("restore"):
        problems.append(f"ticket.restored from trash: {restored['trash']} events, {report.ok('restore')} restores")
    if restored["spam"] != report.restored_by_not_spam:
        problems.append(f"ticket.restored from spam: {restored['spam']} events, "
                        f"{report.restored_by_not_spam} not-spam answers said so")
    audited_spam = {cid for a, d in rows if a == "ticket.spam"
                    for cid in (_detail(d) or {}).get("conversation_ids", [])}
    unaudited = report.spam_marked - audited_spam
    if unaudited:
        problems.append(f"conversations marked spam with no ticket.spam event: {sorted(unaudited)[:10]}")
    if counts["ticket.spam"] > report.ok("spam"):
        problems.append(f"{counts['ticket.spam']} ticket.spam events for {report.ok('spam')} spam requests")
    return problems


def _detail(value: Any) -> dict[str, Any] | None:
    if isinstance(value, str):
        import json

        return dict(json.loads(value))
    return value


def lost_update_problems(report: SoakReport) -> list[str]:
    """Optimistic locking: each successful edit moved the version on by one from the version it was sent with,
    and no two successful edits started from the same version of one ticket."""
    problems = [f"ticket {tid}: edit sent version {sent} but produced {new}"
                for tid, sent, new in report.edits if new != sent + 1]
    twice = [key for key, n in Counter((tid, sent) for tid, sent, _ in report.edits).items() if n > 1]
    if twice:
        problems.append(f"lost updates: several edits succeeded from the same (ticket, version): {twice[:10]}")
    return problems


def check_invariants(database_url: str, report: SoakReport) -> list[str]:
    """Every problem found; empty when the soak left a consistent database."""
    problems = [f"unexpected response: {line}" for line in report.unexpected[:20]]
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            problems += storage_problems(conn)
            problems += audit_problems(conn, report)
            messages = _scalar(conn, "SELECT count(*) FROM messages")
            want = report.seeded_messages + report.ok("message")
            if messages != want:
                problems.append(f"{messages} messages in the database, {want} were written")
    finally:
        engine.dispose()
    problems += lost_update_problems(report)
    if "Traceback" in report.server_logs:
        problems.append("a server logged a traceback:\n" + report.server_logs[-3000:])
    return problems
