"""Row generation for the load generator: tickets with conversations, messages, followers, audit events."""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import Table

from core.loadgen.words import FIRST, LAST, TextMaker, company, surname
from core.loadgen.writer import Ids, table_of
from core.models import (
    AuditEvent,
    Company,
    Contact,
    Conversation,
    Message,
    Ticket,
    User,
    ticket_companies,
    ticket_contacts,
    ticket_followers,
)

PRIORITIES = (("LOW", 30), ("MEDIUM", 40), ("HIGH", 18), ("URGENT", 5), (None, 7))
CATEGORIES = (("PRODUCT_ISSUE", 40), ("BILLING_ISSUE", 25), ("FEATURE_REQUEST", 10), ("GENERAL_INQUIRY", 20),
              (None, 5))
CHANNELS = (("email", 60), ("chat", 20), ("form", 12), ("phone", 8))
OPEN_STATUSES = (("NEW", 30), ("WAITING_ON_CONTACT", 25), ("WAITING_ON_US", 25), ("CLOSED", 20))
Rows = dict[Table, list[dict[str, Any]]]
Person = tuple[int, str, str]  # agent: id, name, email
Customer = tuple[int, str, str, int | None]  # contact: id, name, email, company id


@dataclass
class LoadReport:
    """What one run added."""

    tickets: int = 0
    conversations: int = 0
    messages: int = 0
    users: int = 0
    contacts: int = 0
    ticket_ids: list[int] = field(default_factory=list, repr=False)


def _weighted(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    cum = _CUMULATIVE.get(table)
    if cum is None:
        cum = _CUMULATIVE[table] = list(accumulate(w for _, w in table))
    return table[bisect(cum, rng.random() * cum[-1])][0]


_CUMULATIVE: dict[tuple[tuple[Any, int], ...], list[int]] = {}
_DIRECTIONS = ("outgoing", "incoming", "outgoing", "comment")


def _pick(rng: random.Random, items: Any) -> Any:
    """A uniform choice, faster than `random.choice` (no rejection sampling; the bias is negligible)."""
    return items[int(rng.random() * len(items))]


class Generator:
    """Makes the rows; one instance per run, deterministic for a seed."""

    def __init__(self, rng: random.Random, ids: Ids, now: datetime, tag: str) -> None:
        self.rng, self.ids, self.now, self.tag = rng, ids, now, tag
        self.words = TextMaker(rng)
        self.agents: list[Person] = []  # (id, name, email)
        self.contacts: list[Customer] = []  # (id, name, email, company id)
        self.inboxes: list[int] = []

    def directory(self, tickets: int) -> Rows:
        rng, now = self.rng, self.now
        users, companies, contacts = [], [], []
        for _ in range(max(5, min(50, tickets // 2000))):
            uid = self.ids.take(User)
            first, last = rng.choice(FIRST), rng.choice(LAST)
            email = f"{first.lower()}.{last.lower()}.{uid}.{self.tag}@agents.example"
            self.agents.append((uid, f"{first} {last}", email))
            users.append({"id": uid, "email": email, "name": f"{first} {last}", "password_hash": None,
                          "is_super_admin": False, "account_access": rng.random() < 0.3,
                          "delete_tickets": rng.random() < 0.3, "is_active": True, "created_at": now})
        company_ids = []
        for _ in range(max(3, tickets // 40)):
            cid = self.ids.take(Company)
            name = company(rng)
            company_ids.append(cid)
            domain = f"{name.lower().replace(' ', '')}{cid}.example"
            companies.append({"id": cid, "name": name, "domain": domain})
        for _ in range(max(10, tickets // 4)):
            cid = self.ids.take(Contact)
            first, last = rng.choice(FIRST), surname(rng)
            email = f"{first.lower()}.{last.lower()}{cid}@{rng.choice(('mail', 'shop', 'corp'))}.example"
            company_id = rng.choice(company_ids) if rng.random() < 0.6 else None
            self.contacts.append((cid, f"{first} {last}", email, company_id))
            contacts.append({"id": cid, "name": f"{first} {last}", "email": email, "company_id": company_id})
        return {table_of(User): users, table_of(Company): companies, table_of(Contact): contacts}

    @staticmethod
    def empty_rows() -> Rows:
        """Row lists per table, in an order that satisfies the foreign keys."""
        return {t: [] for t in (table_of(Ticket), table_of(Conversation), table_of(Message), ticket_followers,
                                ticket_contacts, ticket_companies, table_of(AuditEvent))}

    def batch(self, count: int, report: LoadReport) -> Rows:
        """`count` tickets (merged ones come with their two aliases) and a few inbox conversations."""
        out = self.empty_rows()
        made = 0
        while made < count:
            if count - made >= 3 and self.rng.random() < 0.01:
                made += self._merged(out, report)
            else:
                self.ticket(out, report)
                made += 1
        for _ in range(count // 50):  # a few conversations still waiting in an inbox
            self.conversation(out, report, None, self._when(), _pick(self.rng, self.contacts), inbox=True)
        return out

    def _when(self) -> datetime:
        return self.now - timedelta(days=730 * self.rng.random() ** 1.6 + self.rng.random())

    def _merged(self, out: Rows, report: LoadReport) -> int:
        """A merged ticket and its two aliases (merged ticket row first: the aliases point at it)."""
        merged = self.ticket(out, report)
        for _ in range(2):
            self.ticket(out, report, alias_of=merged)  # aliases keep no associations; the merged ticket has them
        self._audit(out, merged["id"], "ticket.merged", merged["last_activity_at"], {"source": "loadgen"})
        return 3

    def ticket(self, out: Rows, report: LoadReport, alias_of: dict[str, Any] | None = None) -> dict[str, Any]:
        """A ticket with 1-3 conversations of ~5 messages, followers, a status from its age; or an alias."""
        rng = self.rng
        contact = _pick(rng, self.contacts)
        owner = _pick(rng, self.agents) if rng.random() < 0.85 else None
        row = self._ticket_row(out, report, self._when(), contact, _weighted(rng, CHANNELS), owner, alias_of)
        tid, created, channel = row["id"], row["created_at"], row["channel"]
        if alias_of is not None:
            row["status"] = alias_of["status"]
            return row
        if contact[3] is not None and rng.random() < 0.3:
            out[ticket_companies].append({"ticket_id": tid, "company_id": contact[3]})
        for follower in rng.sample(self.agents, _weighted(rng, ((0, 67), (1, 25), (2, 8)))):
            out[ticket_followers].append({"ticket_id": tid, "user_id": follower[0]})
        spam = rng.random() < 0.01
        start, last, convs = created, created, []
        for n in range(_weighted(rng, ((1, 60), (2, 30), (3, 10)))):
            conv = self.conversation(out, report, row, start, contact, agent=owner or _pick(rng, self.agents),
                                      channel=channel if n == 0 else _weighted(rng, CHANNELS))
            convs.append(conv)
            last = max(last, conv["last_message_at"])
            start = min(last + timedelta(days=rng.uniform(0.5, 20)), self.now - timedelta(minutes=5))
        row["last_activity_at"] = row["updated_at"] = last
        self._state(row, convs, spam, last)
        return row

    def long_ticket(self, out: Rows, report: LoadReport, messages: int) -> dict[str, Any]:
        """A live email ticket with one conversation of `messages` messages (for benchmarks)."""
        contact, owner = _pick(self.rng, self.contacts), _pick(self.rng, self.agents)
        created = self.now - timedelta(days=60)
        row = self._ticket_row(out, report, created, contact, "email", owner, None)
        row["status"] = "WAITING_ON_US"
        conv = self.conversation(out, report, row, created, contact, agent=owner, channel="email", count=messages,
                                 step_minutes=(1, 120))
        row["last_activity_at"] = row["updated_at"] = conv["last_message_at"]
        return row

    def _ticket_row(self, out: Rows, report: LoadReport, created: datetime, contact: Customer, channel: str,
                    owner: Person | None, alias_of: dict[str, Any] | None) -> dict[str, Any]:
        rng = self.rng
        tid = self.ids.take(Ticket)
        row: dict[str, Any] = {
            "id": tid, "name": self.words.name(), "description": self.words.description(),
            "owner_id": owner[0] if owner else None, "priority": _weighted(rng, PRIORITIES),
            "category": _weighted(rng, CATEGORIES), "pipeline": "support", "status": "NEW", "channel": channel,
            "contact_id": contact[0], "unread": False, "version": 1, "deleted_at": None, "deleted_reason": None,
            "deleted_by_id": None, "merged_into_id": alias_of["id"] if alias_of else None,
            "created_at": created, "updated_at": created, "last_activity_at": created, "last_spam_at": None,
        }
        out[table_of(Ticket)].append(row)
        if alias_of is None:
            out[ticket_contacts].append({"ticket_id": tid, "contact_id": contact[0]})
        report.tickets += 1
        report.ticket_ids.append(tid)
        self._audit(out, tid, "ticket.created", created, {"channel": channel, "source": "loadgen"})
        return row

    def _state(self, row: dict[str, Any], convs: list[dict[str, Any]], spam: bool, last: datetime) -> None:
        """Status from age; some unread, some in the trash, some spam."""
        rng = self.rng
        age_days = (self.now - last).days
        row["status"] = ("CLOSED" if rng.random() < 0.9 else "WAITING_ON_CONTACT") if age_days > 30 else \
            _weighted(rng, OPEN_STATUSES)
        row["unread"] = row["status"] != "CLOSED" and rng.random() < 0.35 or rng.random() < 0.02
        deleted = spam or rng.random() < 0.02
        if deleted:
            floor = max(last, self.now - timedelta(days=80))
            when = floor + (self.now - floor) * rng.random()
            row.update(deleted_at=when, deleted_reason="spam" if spam else "trash",
                       deleted_by_id=_pick(rng, self.agents)[0], updated_at=when, unread=False)
        if spam:
            for conv in convs:
                conv["spam_at"] = row["deleted_at"]
        elif len(convs) > 1 and rng.random() < 0.05:
            convs[-1]["spam_at"] = convs[-1]["last_message_at"]
        row["last_spam_at"] = max((c["spam_at"] for c in convs if c["spam_at"] is not None), default=None)

    def conversation(self, out: Rows, report: LoadReport, ticket: dict[str, Any] | None,
                      start: datetime, contact: Customer, *,
                      agent: Person | None = None, channel: str | None = None,
                      inbox: bool = False, count: int | None = None,
                      step_minutes: tuple[float, float] = (3, 2880)) -> dict[str, Any]:
        rng = self.rng
        agent = agent or _pick(rng, self.agents)
        channel = channel or _weighted(rng, CHANNELS)
        cid = self.ids.take(Conversation)
        count = count or max(1, min(12, round(rng.gauss(5, 2))))
        first_mid = self.ids.take(Message, count)
        subject = f"Re: {ticket['name']}" if ticket else self.words.name()
        when, previous, rand, messages = start, None, rng.random, out[table_of(Message)]
        names = {"incoming": contact[1].split(" ", 1), "outgoing": agent[1].split(" ", 1)}
        names["comment"] = names["outgoing"]
        latest = self.now - timedelta(minutes=1)
        email, tag = channel == "email", self.tag
        for i in range(count):
            direction = "incoming" if i == 0 else _DIRECTIONS[int(rand() * 4)]
            incoming = direction == "incoming"
            mid = first_mid + i
            message_id = None
            if email and direction != "comment":
                message_id = f"<{mid}.{tag}@{'mail' if incoming else 'desk'}.example>"
            messages.append({
                "id": mid, "conversation_id": cid, "direction": direction,
                "sender_name": contact[1] if incoming else agent[1],
                "sender_email": contact[2] if incoming else agent[2],
                "author_id": None if incoming else agent[0], "subject": subject if email else None,
                "text": self.words.message(direction, *names[direction]), "html": None, "sent_at": when,
                "email_message_id": message_id, "in_reply_to": previous if message_id else None, "created_at": when,
            })
            previous = message_id or previous
            if i < count - 1:
                when = min(when + timedelta(minutes=step_minutes[0] + rand() * (step_minutes[1] - step_minutes[0])),
                           latest)
        conv = {
            "id": cid, "channel": channel, "location": "inbox" if inbox else "help_desk",
            "inbox_id": _pick(rng, self.inboxes) if inbox else None, "ticket_id": ticket["id"] if ticket else None,
            "assignee_id": agent[0], "contact_id": contact[0], "status": "open", "spam_at": None,
            "created_at": start, "last_message_at": when,
        }
        out[table_of(Conversation)].append(conv)
        report.conversations += 1
        report.messages += count
        return conv

    def _audit(self, out: Rows, ticket_id: int, action: str, at: datetime,
               detail: dict[str, Any]) -> None:
        out[table_of(AuditEvent)].append({"id": self.ids.take(AuditEvent), "at": at, "actor_id": None,
                                          "action": action, "ticket_id": ticket_id, "conversation_id": None,
                                          "detail": detail})


