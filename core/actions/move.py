"""Move a conversation between a conversations inbox and the help desk."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast

from pydantic import Field
from sqlalchemy import CursorResult, update

from core import audit
from core.actions.merge import claim_tickets
from core.errors import Conflict, InvalidAction, ValidationFailed
from core.models import DEFAULT_PIPELINE, HELP_DESK, INBOX, Conversation, Inbox, Ticket, User
from core.permissions import require
from core.schemas import MessageIn, Strict
from core.tickets import add_message_row, check_status, check_user, live_conversation
from core.uow import UnitOfWork

Place = Literal["help_desk"] | int


class MoveRequest(Strict):
    """Body of `POST /conversations/{id}/move`: `to` is "help_desk" or an inbox id."""

    to: Place
    assignee_id: int | None = None
    pipeline: str | None = Field(None, max_length=40)
    status: str | None = Field(None, max_length=40)
    comment: str | None = Field(None, max_length=100_000)


def move_conversation(
    *, uow: UnitOfWork, actor: User, conversation_id: int, to: Place, assignee_id: int | None = None,
    pipeline: str | None = None, status: str | None = None, comment: str | None = None,
) -> tuple[Conversation, Ticket | None]:
    """Move a conversation into the help desk (making a ticket if it has none) or out to an inbox."""
    require(actor, "conversation.move")
    conversation = live_conversation(uow, conversation_id, before="before moving the conversation")
    ticket = conversation.ticket
    origin = _place(conversation)
    inbox = _target_inbox(uow, conversation, to)
    assignee = _check_assignee(uow, assignee_id)
    if (pipeline or status) and ticket is None and inbox is not None:
        raise ValidationFailed(f"Conversation {conversation_id} has no ticket to set a status on.",
                               field="status" if status else "pipeline")
    new_pipeline, new_status = _pipeline_and_status(ticket, pipeline, status)

    _claim_conversation(uow, conversation)
    now = uow.now()
    created = ticket is None and inbox is None
    if inbox is None:
        conversation.location, conversation.inbox_id = HELP_DESK, None
    else:
        conversation.location, conversation.inbox_id = INBOX, inbox.id
    if assignee is not None:
        conversation.assignee_id = assignee.id
    if ticket is None and inbox is None:
        ticket = _ticket_for(conversation, new_pipeline, new_status, now)
        uow.session.add(ticket)
    changes: dict[str, Any] = {}
    if ticket is not None and not created:
        for field, value in (("pipeline", new_pipeline), ("status", new_status)):
            if getattr(ticket, field) != value:
                changes[field] = {"from": getattr(ticket, field), "to": value}
                setattr(ticket, field, value)
        ticket.touch(now)
        claim_tickets(uow, ticket)
    note = None
    if comment:
        internal_note = MessageIn.model_validate({"direction": "comment", "text": comment})
        note = add_message_row(uow, conversation, internal_note, author=actor)
    uow.flush()
    if created:
        assert ticket is not None
        audit.record(uow, actor=actor, action="ticket.created", ticket=ticket, conversation_id=conversation.id,
                     detail={"channel": conversation.channel, "from_conversation_id": conversation.id})
    detail: dict[str, Any] = {"conversation_id": conversation.id, "from": origin, "to": _place(conversation),
                              "ticket_created": created}
    if assignee is not None:
        detail["assignee_id"] = assignee.id
    if changes:
        detail["changes"] = changes
    if note is not None:
        detail["comment_message_id"] = note.id
    audit.record(uow, actor=actor, action="conversation.moved", ticket=ticket, conversation_id=conversation.id,
                 detail=detail)
    uow.commit()
    return conversation, ticket


def _place(conversation: Conversation) -> str | int | None:
    """Where a conversation is, in the request's terms: "help_desk" or its inbox id."""
    return HELP_DESK if conversation.location == HELP_DESK else conversation.inbox_id


def _target_inbox(uow: UnitOfWork, conversation: Conversation, to: Place) -> Inbox | None:
    if to == HELP_DESK:
        if conversation.location == HELP_DESK:
            raise InvalidAction(f"Conversation {conversation.id} is already in the help desk.")
        return None
    inbox = uow.session.get(Inbox, to)
    if inbox is None:
        raise ValidationFailed(f"Inbox {to} does not exist.", field="to")
    if conversation.location == INBOX and conversation.inbox_id == inbox.id:
        raise InvalidAction(f"Conversation {conversation.id} is already in inbox '{inbox.name}'.")
    return inbox


def _pipeline_and_status(ticket: Ticket | None, pipeline: str | None, status: str | None) -> tuple[str, str]:
    """The ticket's pipeline and status after the move; a new pipeline needs a status of its own."""
    current = (ticket.pipeline, ticket.status) if ticket is not None else (DEFAULT_PIPELINE, "NEW")
    new_pipeline = pipeline or current[0]
    if status is None and new_pipeline != current[0]:
        raise ValidationFailed(f"Choose a status in pipeline '{new_pipeline}'.", field="status")
    new_status = status or current[1]
    check_status(new_pipeline, new_status)
    return new_pipeline, new_status


def _check_assignee(uow: UnitOfWork, assignee_id: int | None) -> User | None:
    return check_user(uow, assignee_id, field="assignee_id", label="Assignee")


def _claim_conversation(uow: UnitOfWork, conversation: Conversation) -> None:
    """Conditionally rewrite the row as we read it: a concurrent move (or ticket creation) makes this a conflict."""
    column_is = {
        Conversation.ticket_id: conversation.ticket_id, Conversation.inbox_id: conversation.inbox_id,
        Conversation.location: conversation.location,
    }
    where = [col.is_(None) if value is None else col == value for col, value in column_is.items()]
    result = cast(CursorResult[Any], uow.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.spam_at.is_(None), *where)
        .values(location=conversation.location)
        .execution_options(synchronize_session=False)
    ))
    if result.rowcount != 1:
        uow.rollback()
        raise Conflict(f"Conversation {conversation.id} was changed by someone else; reload and try again.")


def _ticket_for(conversation: Conversation, pipeline: str, status: str, now: datetime) -> Ticket:
    """A new help desk ticket for a conversation that has none."""
    first_subject = next((" ".join(m.subject.split()) for m in conversation.messages if m.subject
                          and m.subject.strip()), "")
    contact = conversation.contact
    who = (contact.name or contact.email or "") if contact is not None else ""
    name = first_subject or (f"Conversation with {who}" if who else f"Conversation {conversation.id}")
    return Ticket(
        name=name[:300], channel=conversation.channel, contact=contact,
        contacts=[contact] if contact is not None else [], owner_id=conversation.assignee_id,
        pipeline=pipeline, status=status, conversations=[conversation],
        unread=any(m.direction == "incoming" for m in conversation.messages),
        created_at=now, updated_at=now, last_activity_at=now,
    )
