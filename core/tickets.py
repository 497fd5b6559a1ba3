"""Tickets: create, read (aliases resolved), list with views, edit properties, associations, read state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, exists, func, literal, select, tuple_
from sqlalchemy.orm import noload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from core import audit, search, users
from core.attachments import Upload, attach_all
from core.db import sql_limit
from core.errors import Conflict, InvalidAction, NotFound, ValidationFailed
from core.listing import TicketListItem, decode_cursor, encode_cursor, list_page, page_parameters, token_page
from core.mail.outbound import prepare_delivery
from core.models import (
    HELP_DESK,
    PIPELINES,
    Attachment,
    Company,
    Contact,
    Conversation,
    Deal,
    Message,
    Ticket,
    User,
)
from core.permissions import require
from core.schemas import AssociationChange, ContactIn, MessageIn, TicketCreate, TicketUpdate
from core.uow import UnitOfWork

ALIAS_DEPTH_LIMIT = 64


def resolve_ticket(uow: UnitOfWork, ticket_id: int) -> Ticket:
    """Load a ticket, following merge aliases to the ticket that absorbed it (cycle-safe)."""
    ticket = uow.session.get(Ticket, ticket_id)
    seen: set[int] = set()
    while ticket is not None and ticket.merged_into_id is not None:
        if ticket.id in seen or len(seen) > ALIAS_DEPTH_LIMIT:
            raise Conflict(f"Ticket {ticket_id} has a broken merge chain.")
        seen.add(ticket.id)
        ticket = uow.session.get(Ticket, ticket.merged_into_id)
    if ticket is None:
        raise NotFound(f"Ticket {ticket_id} not found.")
    return ticket


def get_ticket(*, uow: UnitOfWork, actor: User, ticket_id: int) -> Ticket:
    """Any user may view a ticket; an alias id returns the merged ticket."""
    require(actor, "ticket.view")
    return resolve_ticket(uow, ticket_id)


def writable_ticket(uow: UnitOfWork, ticket_id: int) -> Ticket:
    """Resolve a ticket that is about to change; tickets in the trash or spam must be restored first."""
    ticket = resolve_ticket(uow, ticket_id)
    if ticket.is_deleted:
        where = "spam" if ticket.deleted_reason == "spam" else "trash"
        raise InvalidAction(f"Ticket {ticket.id} is in the {where}; restore it first.")
    return ticket


def check_status(pipeline: str, status: str) -> None:
    """Refuse a pipeline or status that does not exist."""
    if pipeline not in PIPELINES:
        raise ValidationFailed(f"Unknown pipeline '{pipeline}'.", field="pipeline")
    statuses = PIPELINES[pipeline]["statuses"]
    if status not in statuses:
        raise ValidationFailed(
            f"Unknown status '{status}' for pipeline '{pipeline}'; use one of {', '.join(statuses)}.",
            field="status",
        )


def check_user(uow: UnitOfWork, user_id: int | None, field: str = "owner_id", label: str = "Owner") -> User | None:
    """The active user with this id (None stays None), or a validation error naming `field`."""
    if user_id is None:
        return None
    user = uow.session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(f"{label} {user_id} is not a user.", field=field)
    return user


def find_or_create_contact(uow: UnitOfWork, data: ContactIn | None, *, fallback_name: str = "") -> Contact | None:
    """Match a contact by email, else create one; None when nothing identifies the person."""
    if data is None:
        return None
    if data.email:
        found = uow.session.scalar(select(Contact).where(Contact.email == data.email).order_by(Contact.id))
        if found is not None:
            return found
    name = data.name or fallback_name or (data.email or "")
    if not name:
        return None
    contact = Contact(name=name, email=data.email)
    uow.session.add(contact)
    return contact


def add_message_row(uow: UnitOfWork, conversation: Conversation, data: MessageIn, *, author: User | None,
                    email_message_id: str | None = None, in_reply_to: str | None = None) -> Message:
    """Append a message row to a conversation (no permission check: callers have done it)."""
    sent_at = data.sent_at or uow.now()
    sender_name, sender_email = data.sender_name, data.sender_email
    if data.direction != "incoming" and author is not None:
        sender_name = sender_name or author.name
        sender_email = sender_email or author.email
    message = Message(
        direction=data.direction,
        sender_name=sender_name,
        sender_email=sender_email,
        author_id=author.id if author is not None and data.direction != "incoming" else None,
        subject=data.subject,
        text=data.text,
        html=data.html,
        sent_at=sent_at,
        email_message_id=email_message_id,
        in_reply_to=in_reply_to,
        created_at=uow.now(),
    )
    conversation.messages.append(message)
    conversation.last_message_at = max(conversation.last_message_at or sent_at, sent_at)
    return message


def create_ticket(*, uow: UnitOfWork, actor: User | None, data: TicketCreate) -> Ticket:
    """Create a ticket in the help desk with its first conversation and messages."""
    if actor is not None:
        require(actor, "ticket.create")
    check_status(data.pipeline, data.status)
    owner = check_user(uow, data.owner_id)
    now = uow.now()
    first_sender = next((m for m in data.messages if m.direction == "incoming"), None)
    contact_in = data.contact or (
        ContactIn(name=first_sender.sender_name, email=first_sender.sender_email) if first_sender else None
    )
    contact = find_or_create_contact(uow, contact_in)
    ticket = Ticket(
        name=data.name,
        description=data.description,
        owner=owner,
        priority=data.priority,
        category=data.category,
        pipeline=data.pipeline,
        status=data.status,
        channel=data.channel,
        contact=contact,
        unread=any(m.direction == "incoming" for m in data.messages),
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    if contact is not None:
        ticket.contacts.append(contact)
    uow.session.add(ticket)
    if data.messages:
        conversation = Conversation(
            channel=data.channel, location=HELP_DESK, ticket=ticket, contact=contact,
            assignee_id=owner.id if owner else None, created_at=now, last_message_at=now,
        )
        uow.session.add(conversation)
        for message in data.messages:
            add_message_row(uow, conversation, message, author=actor)
    uow.session.flush()
    audit.record(uow, actor=actor, action="ticket.created", ticket=ticket, detail={"channel": data.channel})
    uow.commit()
    return ticket


UPDATABLE = ("name", "description", "owner_id", "priority", "category", "pipeline", "status")


def update_ticket(*, uow: UnitOfWork, actor: User, ticket_id: int, data: TicketUpdate) -> Ticket:
    """Edit properties; a stale `version` is a conflict so no one overwrites a change they did not see."""
    require(actor, "ticket.edit")
    ticket = writable_ticket(uow, ticket_id)
    if data.version is not None and data.version != ticket.version:
        raise Conflict(
            f"Ticket {ticket.id} changed since you loaded it (version {data.version}, now {ticket.version}); "
            "reload and try again.",
            current_version=ticket.version,
        )
    fields = data.model_fields_set & set(UPDATABLE)
    for required in ("name", "pipeline", "status"):
        if required in fields and getattr(data, required) is None:
            raise ValidationFailed(f"{required} cannot be empty.", field=required)
    if "owner_id" in fields:
        check_user(uow, data.owner_id)
    pipeline = data.pipeline if "pipeline" in fields else ticket.pipeline
    status = data.status if "status" in fields else ticket.status
    if "pipeline" in fields or "status" in fields:
        assert pipeline is not None and status is not None
        check_status(pipeline, status)
    changes: dict[str, Any] = {}
    for field in sorted(fields):
        old, new = getattr(ticket, field), getattr(data, field)
        if old != new:
            changes[field] = {"from": old, "to": new}
            setattr(ticket, field, new)
    if changes:
        ticket.touch(uow.now())
        detail: dict[str, Any] = {"changes": changes}
        if "name" in changes and data.name_source == "ai":
            detail["name_source"] = "ai"
        audit.record(uow, actor=actor, action="ticket.updated", ticket=ticket, detail=detail)
        uow.commit()
    return ticket


_ASSOC = {"contacts": Contact, "companies": Company, "deals": Deal}


def change_association(
    *, uow: UnitOfWork, actor: User, ticket_id: int, change: AssociationChange, add: bool
) -> Ticket:
    """Associate or dissociate a contact, company or deal (idempotent)."""
    require(actor, "ticket.edit")
    ticket = writable_ticket(uow, ticket_id)
    record = uow.session.get(_ASSOC[change.kind], change.id)
    if record is None:
        raise ValidationFailed(f"No {change.kind[:-1] if change.kind != 'companies' else 'company'} "
                               f"with id {change.id}.", field="id")
    items: list[Any] = getattr(ticket, change.kind)
    present = record in items
    if add and not present:
        items.append(record)
    elif not add and present:
        items.remove(record)
    else:
        return ticket
    ticket.touch(uow.now())
    audit.record(
        uow, actor=actor, action="ticket.association_added" if add else "ticket.association_removed",
        ticket=ticket, detail={"kind": change.kind, "id": change.id, "name": getattr(record, "name", "")},
    )
    uow.commit()
    return ticket


def set_read_state(*, uow: UnitOfWork, actor: User, ticket_id: int, unread: bool) -> Ticket:
    """Mark a ticket unread for everyone, or read (the first person to open it clears the flag)."""
    require(actor, "ticket.mark_read")
    ticket = resolve_ticket(uow, ticket_id)
    if ticket.unread != unread:
        ticket.unread = unread
        audit.record(uow, actor=actor, action="ticket.unread" if unread else "ticket.read", ticket=ticket)
        uow.commit()
    return ticket


def live_conversation(uow: UnitOfWork, conversation_id: int, *, before: str = "first") -> Conversation:
    """A conversation that may change: not in spam, and not on a ticket in the trash."""
    conversation = uow.session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound(f"Conversation {conversation_id} not found.")
    if conversation.spam_at is not None:
        raise InvalidAction(f"Conversation {conversation_id} is in spam; mark it as not spam {before}.")
    ticket = conversation.ticket
    if ticket is not None and ticket.is_deleted:
        raise InvalidAction(f"Ticket {ticket.id} is in the trash; restore it {before}.")
    return conversation


def add_message(
    *, uow: UnitOfWork, actor: User, conversation_id: int, data: MessageIn, files: Sequence[Upload] = ()
) -> Message:
    """Add a message (with files); an incoming one marks the ticket unread, a reply is queued for delivery."""
    require(actor, "message.create")
    conversation = live_conversation(uow, conversation_id)
    ticket = conversation.ticket
    message = add_message_row(uow, conversation, data, author=actor)
    attach_all(uow, message, files)
    prepare_delivery(uow, conversation, message)  # email replies are sent after the commit; notes never
    uow.session.flush()
    if ticket is not None:
        ticket.touch(uow.now())
        if data.direction == "incoming":
            ticket.unread = True
        action = {"incoming": "message.incoming", "outgoing": "message.outgoing", "comment": "message.comment"}
        audit.record(
            uow, actor=actor, action=action[data.direction], ticket=ticket, conversation_id=conversation.id,
            detail={"message_id": message.id},
        )
    uow.commit()
    return message


def search_condition(q: str) -> Any:
    """Text search over name, description and message text (full-text index; see core.search)."""
    return search.search_condition(q)


def list_tickets(
    *, uow: UnitOfWork, actor: User, view: str = "all", q: str | None = None, limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[TicketListItem], str | None]:
    """A page of tickets, most recent activity first, with a keyset cursor for the next page."""
    require(actor, "ticket.view")
    return list_page(uow=uow, actor=actor, view=view, q=q, limit=limit, cursor=cursor)


def list_tickets_by_token(
    *, uow: UnitOfWork, token: str | None, view: str = "all", limit: int = 50, cursor: str | None = None,
) -> tuple[User, list[TicketListItem], str | None]:
    """`list_tickets` (no search) for the holder of an API token, who is authenticated by the statement that
    reads the page. Errors come as in two steps: a missing or bad token (401) before bad input (422), and
    the page is only returned to an active user allowed to view tickets (else 401 / 403)."""
    token_hash = users.presented_token_hash(token)
    try:
        params = page_parameters(view=view, limit=limit, cursor=cursor)
    except ValidationFailed:
        users.authenticate_token(uow=uow, token=token)
        raise
    holder, items, next_cursor = token_page(uow, token_hash=token_hash, view=view, params=params, limit=limit)
    actor = require(users.token_holder(holder), "ticket.view")
    return actor, items, next_cursor


def merged_from_ids(uow: UnitOfWork, ticket: Ticket) -> list[int]:
    """Every id that now resolves to `ticket` through merges (direct and indirect)."""
    found: list[int] = []
    frontier = [ticket.id]
    while frontier and len(found) < 10_000:
        rows = list(uow.session.scalars(select(Ticket.id).where(Ticket.merged_into_id.in_(frontier))))
        found.extend(rows)
        frontier = rows
    return sorted(found)


def latest_message_id(uow: UnitOfWork, ticket: Ticket) -> int | None:
    """Id of the newest message on the ticket's live conversations (for summary freshness)."""
    return uow.session.scalar(
        select(func.max(Message.id))
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Conversation.ticket_id == ticket.id, Conversation.spam_at.is_(None))
    )


def ticket_conversations(*, uow: UnitOfWork, actor: User, ticket_id: int) -> list[Conversation]:
    """The ticket's conversations with their messages, most recent first."""
    ticket = get_ticket(uow=uow, actor=actor, ticket_id=ticket_id)
    stmt = (
        select(Conversation)
        .where(Conversation.ticket_id == ticket.id)
        .options(selectinload(Conversation.messages))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
    )
    return list(uow.session.scalars(stmt))


MESSAGE_PAGE_MAX = 200


def ticket_messages(
    *, uow: UnitOfWork, actor: User, ticket_id: int, limit: int = 50, cursor: str | None = None,
) -> tuple[list[Message], str | None]:
    """A page of the ticket's messages over all its conversations, newest first, and the cursor to older ones.

    A long thread is read a page at a time: the keyset (sent_at, id) walks the messages index of each
    conversation, so a page costs about `limit` rows however long the thread is.
    """
    if not 1 <= limit <= MESSAGE_PAGE_MAX:
        raise ValidationFailed(f"limit must be between 1 and {MESSAGE_PAGE_MAX}.", field="limit")
    ticket = get_ticket(uow=uow, actor=actor, ticket_id=ticket_id)
    # Joined from the ticket's few conversations, each read through the (conversation, sent_at, id) index.
    stmt = (select(Message).join(Conversation, Conversation.id == Message.conversation_id)
            .where(Conversation.ticket_id == ticket.id))
    if cursor:
        stamp, message_id = decode_cursor(cursor)
        after = tuple_(literal(stamp, Message.sent_at.type), literal(message_id, Message.id.type))
        stmt = stmt.where(tuple_(Message.sent_at, Message.id) < after)  # one range of the index
    stmt = stmt.order_by(Message.sent_at.desc(), Message.id.desc()).limit(sql_limit(limit + 1))
    rows = _with_attachments(uow, stmt)
    page = rows[:limit]
    return page, encode_cursor(page[-1].sent_at, page[-1].id) if len(rows) > limit else None


def _with_attachments(uow: UnitOfWork, stmt: Select[Any]) -> list[Message]:
    """The messages of `stmt`, their attachments loaded. Each row says whether its message has any
    (an index probe), so the attachments are read in a second query only when some do: most pages
    have none, and the query the relationship would always send was a fifth of a page's time."""
    flagged = stmt.add_columns(exists().where(Attachment.message_id == Message.id)).options(noload(Message.attachments))
    rows = uow.session.execute(flagged).all()
    with_files = [message for message, has_files in rows if has_files]
    found: dict[int, list[Attachment]] = {message.id: [] for message in with_files}
    if with_files:
        for attachment in uow.session.scalars(
                select(Attachment).where(Attachment.message_id.in_(list(found))).order_by(Attachment.id)):
            found[attachment.message_id].append(attachment)
    for message, _ in rows:
        set_committed_value(message, "attachments", found.get(message.id, []))
    return [message for message, _ in rows]
