"""Seed the demo workspace from seed_data.json (written by us; no real customer data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select

from core import audit, users
from core.models import (
    HELP_DESK,
    INBOX,
    Company,
    Contact,
    Conversation,
    Deal,
    Inbox,
    Message,
    Ticket,
    User,
)
from core.uow import UnitOfWork
from core.workspace import update_ai_settings


@dataclass(frozen=True)
class DemoLogin:
    email: str
    password: str
    role: str
    token: str


def load_seed_data() -> dict[str, Any]:
    """The demo data set shipped inside the package."""
    return json.loads(resources.files("core.demo").joinpath("seed_data.json").read_text(encoding="utf-8"))


def _role(spec: dict[str, Any]) -> str:
    parts = ["super admin"] if spec.get("super_admin") else ["agent"]
    parts += spec.get("permissions", [])
    return ", ".join(parts)


def _fresh_tokens(uow: UnitOfWork, data: dict[str, Any]) -> list[DemoLogin]:
    """The workspace exists already: hand out new API tokens (old ones cannot be shown again)."""
    logins = []
    for spec in data["users"]:
        user = uow.session.scalar(select(User).where(User.email == spec["email"]))
        if user is not None:
            logins.append(DemoLogin(spec["email"], spec["password"], _role(spec),
                                    users.issue_token(uow=uow, user=user, name="demo")))
    return logins


def seed(*, uow: UnitOfWork, data: dict[str, Any] | None = None) -> tuple[bool, list[DemoLogin]]:
    """Create the demo workspace once; returns (created, logins) — logins get fresh tokens every time."""
    data = data or load_seed_data()
    first_email = data["users"][0]["email"]
    if uow.session.scalar(select(User.id).where(User.email == first_email)) is not None:
        return False, _fresh_tokens(uow, data)
    logins: list[DemoLogin] = []
    people: dict[str, User] = {}
    for spec in data["users"]:
        user = users.create_user(uow=uow, actor=None, email=spec["email"], name=spec["name"],
                                 password=spec["password"], super_admin=spec.get("super_admin", False),
                                 permissions=tuple(spec.get("permissions", ())))
        token = users.issue_token(uow=uow, user=user, name="demo")
        people[spec["key"]] = user
        logins.append(DemoLogin(spec["email"], spec["password"], _role(spec), token))
    now = uow.now()
    inboxes = {i["key"]: Inbox(name=i["name"]) for i in data["inboxes"]}
    companies = {c["key"]: Company(name=c["name"], domain=c.get("domain")) for c in data["companies"]}
    uow.session.add_all([*inboxes.values(), *companies.values()])
    uow.session.flush()
    contacts = {
        c["key"]: Contact(name=c["name"], email=c["email"],
                          company_id=companies[c["company"]].id if c.get("company") else None)
        for c in data["contacts"]
    }
    deals = {
        d["key"]: Deal(name=d["name"], amount=d.get("amount"),
                       company_id=companies[d["company"]].id if d.get("company") else None)
        for d in data["deals"]
    }
    uow.session.add_all([*contacts.values(), *deals.values()])
    uow.session.flush()

    def messages_for(spec: dict[str, Any], conversation: Conversation, contact: Contact, start: Any) -> None:
        for m in spec["messages"]:
            author = people.get(m["from"]) if m["from"] != "contact" else None
            sent = start + timedelta(minutes=m.get("minutes_after_start", 0))
            conversation.messages.append(Message(
                direction=m["direction"],
                sender_name=author.name if author else contact.name,
                sender_email=author.email if author else contact.email,
                author_id=author.id if author else None,
                subject=m.get("subject"), text=m["text"], sent_at=sent, created_at=sent,
            ))
            conversation.last_message_at = sent

    for spec in data["tickets"]:
        contact = contacts[spec["contact"]]
        start = now - timedelta(hours=spec.get("age_hours", 24))
        owner = people.get(spec["owner"]) if spec.get("owner") else None
        ticket = Ticket(
            name=spec["name"], description=spec.get("description", ""), owner=owner,
            priority=spec.get("priority"), category=spec.get("category"), status=spec.get("status", "NEW"),
            channel=spec["channel"], contact=contact, unread=spec.get("unread", False),
            created_at=start, updated_at=start, last_activity_at=start,
        )
        ticket.contacts.append(contact)
        ticket.companies.extend(companies[k] for k in spec.get("companies", []))
        ticket.deals.extend(deals[k] for k in spec.get("deals", []))
        ticket.followers.extend(people[k] for k in spec.get("followers", []))
        conversation = Conversation(channel=spec["channel"], location=HELP_DESK, ticket=ticket, contact=contact,
                                    assignee_id=owner.id if owner else None, created_at=start)
        messages_for(spec, conversation, contact, start)
        ticket.last_activity_at = ticket.updated_at = conversation.last_message_at
        uow.session.add_all([ticket, conversation])
        uow.session.flush()
        audit.record(uow, actor=None, action="ticket.created", ticket=ticket, detail={"source": "demo"},
                     notify=False)
    for spec in data.get("inbox_conversations", []):
        contact = contacts[spec["contact"]]
        start = now - timedelta(hours=spec.get("age_hours", 5))
        assignee = people.get(spec["assignee"]) if spec.get("assignee") else None
        conversation = Conversation(channel=spec["channel"], location=INBOX, inbox_id=inboxes[spec["inbox"]].id,
                                    contact=contact, assignee_id=assignee.id if assignee else None,
                                    created_at=start)
        messages_for(spec, conversation, contact, start)
        uow.session.add(conversation)
    uow.commit()
    update_ai_settings(uow=uow, actor=None, changes={"ai_conversation_data": True, "ai_copilot": True})
    return True, logins
