"""Shape, referential integrity and coverage of the demo data set (core/demo/seed_data.json).

`_problems()` validates a loaded data set and returns readable messages; the real file must have none,
and the mutation tests at the bottom prove the validator notices when something is broken.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

SEED_PATH = Path(__file__).resolve().parents[2] / "core" / "demo" / "seed_data.json"

TOP_LEVEL_KEYS = {"users", "inboxes", "companies", "contacts", "deals", "tickets", "inbox_conversations"}
USER_KEYS = {"key", "email", "name", "password", "super_admin", "permissions"}
TICKET_KEYS = {
    "name", "description", "channel", "priority", "category", "status", "owner", "contact", "companies", "deals",
    "unread", "followers", "age_hours", "messages",
}
CONVERSATION_KEYS = {"inbox", "channel", "contact", "assignee", "age_hours", "messages"}
MESSAGE_REQUIRED = {"direction", "from", "text", "minutes_after_start"}

PERMISSIONS = {"delete_tickets", "account_access"}
CHANNELS = {"email", "chat"}
PRIORITIES = {"LOW", "MEDIUM", "HIGH", "URGENT", None}
CATEGORIES = {"PRODUCT_ISSUE", "BILLING_ISSUE", "FEATURE_REQUEST", "GENERAL_INQUIRY", None}
STATUSES = {"NEW", "WAITING_ON_CONTACT", "WAITING_ON_US", "CLOSED"}
DIRECTIONS = {"incoming", "outgoing", "comment"}

EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Nine or more digits in a row, allowing single separators: looks like a phone or card number.
LONG_NUMBER_RE = re.compile(r"\d(?:[ ./()-]?\d){8,}")


def _load() -> dict[str, Any]:
    with SEED_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    return _load()


def _public(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("direction") != "comment"]


def _message_problems(where: str, channel: str, age_hours: float, messages: Any, user_keys: set[str],
                      min_messages: int, max_messages: int) -> list[str]:
    problems: list[str] = []
    if not isinstance(messages, list) or not (min_messages <= len(messages) <= max_messages):
        return [f"{where}: needs {min_messages}-{max_messages} messages"]
    if messages[0].get("direction") != "incoming":
        problems.append(f"{where}: first message must be incoming")
    previous = -1
    first_public = True
    for i, msg in enumerate(messages):
        at = f"{where} message {i}"
        missing = MESSAGE_REQUIRED - msg.keys()
        extra = msg.keys() - MESSAGE_REQUIRED - {"subject"}
        if missing or extra:
            problems.append(f"{at}: missing {sorted(missing)} / unexpected {sorted(extra)}")
            continue
        direction, sender = msg["direction"], msg["from"]
        if direction not in DIRECTIONS:
            problems.append(f"{at}: bad direction {direction!r}")
        if direction == "incoming" and sender != "contact":
            problems.append(f"{at}: incoming message must be from 'contact'")
        if direction != "incoming" and sender not in user_keys:
            problems.append(f"{at}: {direction} message from unknown user {sender!r}")
        if not isinstance(msg["text"], str) or not msg["text"].strip():
            problems.append(f"{at}: empty text")
        minute = msg["minutes_after_start"]
        if not isinstance(minute, int) or isinstance(minute, bool):
            problems.append(f"{at}: minutes_after_start must be an integer")
            continue
        if i == 0 and minute != 0:
            problems.append(f"{at}: first message must be at minute 0")
        if minute < previous:
            problems.append(f"{at}: messages out of order")
        if minute > age_hours * 60:
            problems.append(f"{at}: message is later than the conversation's age")
        previous = minute
        subject = msg.get("subject")
        if channel == "email" and direction != "comment":
            if not isinstance(subject, str) or not subject.strip():
                problems.append(f"{at}: email message without subject")
            elif not first_public and not subject.startswith("Re: "):
                problems.append(f"{at}: email reply subject should start with 'Re: '")
        elif "subject" in msg:
            problems.append(f"{at}: only email messages (not chat or comments) have a subject")
        if direction != "comment":
            first_public = False
    return problems


def _problems(data: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if set(data) != TOP_LEVEL_KEYS:
        return [f"top-level keys {sorted(data)} != {sorted(TOP_LEVEL_KEYS)}"]

    def keys_of(kind: str) -> set[str]:
        keys = [item.get("key") for item in data[kind]]
        for key, count in Counter(keys).items():
            if not isinstance(key, str) or not key or count > 1:
                problems.append(f"{kind}: key {key!r} missing or duplicated")
        return {k for k in keys if isinstance(k, str)}

    user_keys, inbox_keys = keys_of("users"), keys_of("inboxes")
    company_keys, contact_keys, deal_keys = keys_of("companies"), keys_of("contacts"), keys_of("deals")

    # Users
    emails = Counter(u.get("email", "").lower() for u in data["users"])
    problems += [f"users: duplicate email {e}" for e, n in emails.items() if n > 1]
    for user in data["users"]:
        where = f"user {user.get('key')}"
        if set(user) != USER_KEYS:
            problems.append(f"{where}: keys {sorted(user)} != {sorted(USER_KEYS)}")
            continue
        if not user["email"].endswith("@northwind.example"):
            problems.append(f"{where}: email must be @northwind.example")
        if not re.fullmatch(r"demo-[a-z]+-2026", user["password"]):
            problems.append(f"{where}: password should look like demo-<name>-2026")
        if not isinstance(user["super_admin"], bool):
            problems.append(f"{where}: super_admin must be a boolean")
        perms = user["permissions"]
        if not isinstance(perms, list) or not set(perms) <= PERMISSIONS or len(set(perms)) != len(perms):
            problems.append(f"{where}: bad permissions {perms!r}")

    # Inboxes, companies, contacts, deals
    for inbox in data["inboxes"]:
        if set(inbox) != {"key", "name"} or not inbox["name"].strip():
            problems.append(f"inbox {inbox.get('key')}: needs exactly key and name")
    company_of_contact: dict[str, str | None] = {}
    for company in data["companies"]:
        if set(company) != {"key", "name", "domain"} or not company["domain"].endswith(".example"):
            problems.append(f"company {company.get('key')}: needs key, name and a .example domain")
    for contact in data["contacts"]:
        where = f"contact {contact.get('key')}"
        if set(contact) != {"key", "name", "email", "company"}:
            problems.append(f"{where}: needs exactly key, name, email, company")
            continue
        if not contact["email"].endswith(".example"):
            problems.append(f"{where}: email must use a .example domain")
        if contact["company"] is not None and contact["company"] not in company_keys:
            problems.append(f"{where}: unknown company {contact['company']!r}")
        company_of_contact[contact["key"]] = contact["company"]
    company_of_deal: dict[str, str] = {}
    for deal in data["deals"]:
        where = f"deal {deal.get('key')}"
        if set(deal) != {"key", "name", "amount", "company"}:
            problems.append(f"{where}: needs exactly key, name, amount, company")
            continue
        if deal["company"] not in company_keys:
            problems.append(f"{where}: unknown company {deal['company']!r}")
        if not isinstance(deal["amount"], int) or isinstance(deal["amount"], bool) or deal["amount"] <= 0:
            problems.append(f"{where}: amount must be a positive integer")
        company_of_deal[deal["key"]] = deal["company"]

    # Tickets
    for n, ticket in enumerate(data["tickets"]):
        where = f"ticket {n} ({ticket.get('name')!r})"
        if set(ticket) != TICKET_KEYS:
            problems.append(f"{where}: keys differ by {sorted(set(ticket) ^ TICKET_KEYS)}")
            continue
        for field in ("name", "description"):
            if not isinstance(ticket[field], str) or not ticket[field].strip():
                problems.append(f"{where}: empty {field}")
        for field, allowed in (("channel", CHANNELS), ("priority", PRIORITIES), ("category", CATEGORIES),
                               ("status", STATUSES)):
            if ticket[field] not in allowed:
                problems.append(f"{where}: bad {field} {ticket[field]!r}")
        if ticket["owner"] is not None and ticket["owner"] not in user_keys:
            problems.append(f"{where}: unknown owner {ticket['owner']!r}")
        if ticket["contact"] not in contact_keys:
            problems.append(f"{where}: unknown contact {ticket['contact']!r}")
        for field, known in (("companies", company_keys), ("deals", deal_keys), ("followers", user_keys)):
            refs = ticket[field]
            if not isinstance(refs, list) or len(set(refs)) != len(refs):
                problems.append(f"{where}: {field} must be a list without duplicates")
                continue
            problems += [f"{where}: unknown {field[:-1]} {r!r}" for r in refs if r not in known]
        contact_company = company_of_contact.get(ticket["contact"])
        if contact_company is not None and contact_company not in ticket["companies"]:
            problems.append(f"{where}: contact's company {contact_company!r} not associated")
        for deal in ticket["deals"]:
            if deal in company_of_deal and company_of_deal[deal] not in ticket["companies"]:
                problems.append(f"{where}: deal {deal!r} belongs to a company not associated")
        if not isinstance(ticket["unread"], bool):
            problems.append(f"{where}: unread must be a boolean")
        age = ticket["age_hours"]
        if not isinstance(age, int | float) or isinstance(age, bool) or age <= 0:
            problems.append(f"{where}: age_hours must be a positive number")
            continue
        msg_problems = _message_problems(where, ticket["channel"], age, ticket["messages"], user_keys, 2, 8)
        problems += msg_problems
        if msg_problems:
            continue
        # The status must fit the conversation: who is expected to speak next?
        public = _public(ticket["messages"])
        last = public[-1]["direction"]
        if ticket["status"] == "NEW" and any(m["direction"] == "outgoing" for m in public):
            problems.append(f"{where}: NEW ticket already has an agent reply")
        if ticket["status"] == "WAITING_ON_CONTACT" and last != "outgoing":
            problems.append(f"{where}: waiting on contact, but the contact spoke last")
        if ticket["status"] == "WAITING_ON_US" and last != "incoming":
            problems.append(f"{where}: waiting on us, but an agent spoke last")
        if ticket["unread"] and last != "incoming":
            problems.append(f"{where}: unread, but the last public message is not from the contact")

    # Inbox conversations
    for n, conv in enumerate(data["inbox_conversations"]):
        where = f"inbox conversation {n}"
        if set(conv) != CONVERSATION_KEYS:
            problems.append(f"{where}: keys differ by {sorted(set(conv) ^ CONVERSATION_KEYS)}")
            continue
        if conv["inbox"] not in inbox_keys:
            problems.append(f"{where}: unknown inbox {conv['inbox']!r}")
        if conv["channel"] not in CHANNELS:
            problems.append(f"{where}: bad channel {conv['channel']!r}")
        if conv["contact"] not in contact_keys:
            problems.append(f"{where}: unknown contact {conv['contact']!r}")
        if conv["assignee"] is not None and conv["assignee"] not in user_keys:
            problems.append(f"{where}: unknown assignee {conv['assignee']!r}")
        age = conv["age_hours"]
        if not isinstance(age, int | float) or isinstance(age, bool) or age <= 0:
            problems.append(f"{where}: age_hours must be a positive number")
            continue
        problems += _message_problems(where, conv["channel"], age, conv["messages"], user_keys, 1, 8)

    # Fictional data only: .example addresses, nothing that looks like a phone or card number.
    for text in _all_texts(data):
        problems += [f"non-.example email address {e!r}" for e in EMAIL_RE.findall(text)
                     if not e.lower().endswith(".example")]
        problems += [f"phone/card-like number {m!r}" for m in LONG_NUMBER_RE.findall(text)]
    return problems


def _all_texts(data: dict[str, Any]) -> list[str]:
    texts: list[str] = []
    for ticket in data["tickets"]:
        texts += [ticket.get("name", ""), ticket.get("description", "")]
        texts += [m.get(f) or "" for m in ticket.get("messages", []) for f in ("text", "subject")]
    for conv in data["inbox_conversations"]:
        texts += [m.get(f) or "" for m in conv.get("messages", []) for f in ("text", "subject")]
    return [t for t in texts if isinstance(t, str)]


# ── the real file ───────────────────────────────────────────────────────────


def test_file_is_json_with_the_expected_sections() -> None:
    assert set(_load()) == TOP_LEVEL_KEYS


def test_seed_data_has_no_problems(data: dict[str, Any]) -> None:
    assert _problems(data) == []


def test_minimum_counts(data: dict[str, Any]) -> None:
    assert len(data["users"]) >= 5
    assert len(data["inboxes"]) >= 3
    assert len(data["companies"]) >= 6
    assert len(data["contacts"]) >= 20
    assert len(data["deals"]) >= 6
    assert len(data["inbox_conversations"]) >= 6
    channels = Counter(t["channel"] for t in data["tickets"])
    assert len(data["tickets"]) >= 44
    assert channels["email"] >= 28
    assert channels["chat"] >= 14
    with_company = sum(c["company"] is not None for c in data["contacts"])
    assert with_company > len(data["contacts"]) / 2, "most contacts should belong to a company"
    assert {c["inbox"] for c in data["inbox_conversations"]} == {i["key"] for i in data["inboxes"]}


def test_users_have_the_required_permission_mix(data: dict[str, Any]) -> None:
    mixes = Counter((u["super_admin"], frozenset(u["permissions"])) for u in data["users"])
    assert mixes[(True, frozenset(PERMISSIONS))] >= 1
    assert mixes[(False, frozenset({"delete_tickets"}))] >= 1
    assert mixes[(False, frozenset({"account_access"}))] >= 1
    assert mixes[(False, frozenset())] >= 2


def test_tickets_cover_every_property_value(data: dict[str, Any]) -> None:
    tickets = data["tickets"]
    assert {t["priority"] for t in tickets} == PRIORITIES
    assert {t["category"] for t in tickets} == CATEGORIES
    assert {t["status"] for t in tickets} == STATUSES
    assert sum(t["owner"] is None for t in tickets) >= 3, "some tickets must be unassigned"
    assert 6 <= sum(t["unread"] for t in tickets) <= 12, "about 8 tickets should be unread"
    assert sum(bool(t["followers"]) for t in tickets) >= 3
    assert sum(bool(t["deals"]) for t in tickets) >= 3
    assert any(m["direction"] == "comment" for t in tickets for m in t["messages"])


def test_conversations_are_substantial(data: dict[str, Any]) -> None:
    sizes = [len(t["messages"]) for t in data["tickets"]]
    assert sum(sizes) / len(sizes) >= 3.5
    assert sizes.count(8) >= 2, "two tickets should have a long (8 message) thread"


def test_a_customer_pasted_html_that_must_be_escaped(data: dict[str, Any]) -> None:
    texts = [m["text"] for t in data["tickets"] for m in t["messages"] if m["direction"] == "incoming"]
    assert any(re.search(r"<(b|i|script)>", text) for text in texts)


# ── the validator itself must be able to fail ─────────────────────────────


def _set_owner(d: dict[str, Any]) -> None:
    d["tickets"][0]["owner"] = "nobody"


def _first_outgoing(d: dict[str, Any]) -> None:
    d["tickets"][0]["messages"][0]["direction"] = "outgoing"
    d["tickets"][0]["messages"][0]["from"] = d["users"][0]["key"]


def _bad_priority(d: dict[str, Any]) -> None:
    d["tickets"][0]["priority"] = "CRITICAL"


def _one_message(d: dict[str, Any]) -> None:
    d["tickets"][0]["messages"] = d["tickets"][0]["messages"][:1]


def _drop_subject(d: dict[str, Any]) -> None:
    email = next(t for t in d["tickets"] if t["channel"] == "email")
    del email["messages"][0]["subject"]


def _duplicate_user_email(d: dict[str, Any]) -> None:
    d["users"][1]["email"] = d["users"][0]["email"].upper()


def _unknown_inbox(d: dict[str, Any]) -> None:
    d["inbox_conversations"][0]["inbox"] = "marketing"


def _unknown_deal(d: dict[str, Any]) -> None:
    d["tickets"][0]["deals"].append("no-such-deal")


def _real_looking_email(d: dict[str, Any]) -> None:
    d["tickets"][0]["messages"][0]["text"] += "\nWrite to me at someone@realmail.com"


def _phone_number(d: dict[str, Any]) -> None:
    d["tickets"][0]["messages"][0]["text"] += "\nCall me on 0151 496 0722"


def _status_mismatch(d: dict[str, Any]) -> None:
    ticket = next(t for t in d["tickets"] if t["status"] == "WAITING_ON_US")
    ticket["status"] = "WAITING_ON_CONTACT"


def _message_after_age(d: dict[str, Any]) -> None:
    d["tickets"][0]["messages"][-1]["minutes_after_start"] = int(d["tickets"][0]["age_hours"] * 60) + 1


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_set_owner, "unknown owner"),
        (_first_outgoing, "first message must be incoming"),
        (_bad_priority, "bad priority"),
        (_one_message, "needs 2-8 messages"),
        (_drop_subject, "without subject"),
        (_duplicate_user_email, "duplicate email"),
        (_unknown_inbox, "unknown inbox"),
        (_unknown_deal, "unknown deal"),
        (_real_looking_email, "non-.example email"),
        (_phone_number, "phone/card-like number"),
        (_status_mismatch, "waiting on contact"),
        (_message_after_age, "later than the conversation's age"),
    ],
)
def test_validator_catches_broken_data(data: dict[str, Any], break_it: Any, expected: str) -> None:
    broken = copy.deepcopy(data)
    break_it(broken)
    problems = _problems(broken)
    assert any(expected in p for p in problems), problems
