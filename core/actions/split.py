"""Split chosen messages of a ticket off into a new conversation on a new ticket."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import func, select, update

from core import audit
from core.actions.merge import claim_tickets
from core.db import id_list
from core.errors import InvalidAction, ValidationFailed
from core.models import DEFAULT_PIPELINE, HELP_DESK, Conversation, Message, Ticket, User
from core.permissions import require
from core.schemas import Category, Priority, Strict
from core.tickets import check_status, check_user, writable_ticket
from core.uow import UnitOfWork


class SplitTicketDetails(Strict):
    """Properties of the ticket a split creates (name required)."""

    name: str = Field(..., min_length=1, max_length=300)
    description: str = Field("", max_length=100_000)
    pipeline: str = DEFAULT_PIPELINE
    status: str = "NEW"
    owner_id: int | None = None
    priority: Priority | None = None
    category: Category | None = None

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str) -> str:
        return " ".join(value.split())


class SplitRequest(Strict):
    """Body of `POST /tickets/{id}/split`."""

    message_ids: list[int] = Field(..., min_length=1, max_length=1000)
    ticket: SplitTicketDetails


def split_ticket(
    *, uow: UnitOfWork, actor: User, ticket_id: int, message_ids: list[int], details: SplitTicketDetails
) -> Ticket:
    """Move chosen messages (rows intact) to a new conversation on a new ticket; both tickets record it."""
    require(actor, "ticket.split")
    original = writable_ticket(uow, ticket_id)
    chosen = _chosen_messages(uow, original, message_ids)
    source = _single_conversation(uow, chosen)
    _check_channel(uow, source)
    chosen_ids = {m.id for m in chosen}
    # What stays behind, counted by the database (a long thread is not loaded message by message).
    left, latest_left = uow.session.execute(
        select(func.count(), func.max(Message.sent_at))
        .where(Message.conversation_id == source.id, Message.id.not_in(id_list(uow.session, chosen_ids)))
    ).one()
    if not left:
        raise InvalidAction(
            f"At least one message must stay in conversation {source.id}; choose fewer messages to split off."
        )
    owner = _checked_owner(uow, details)
    now = uow.now()
    new_ticket = Ticket(
        name=details.name,
        description=details.description,
        owner=owner,
        priority=details.priority,
        category=details.category,
        pipeline=details.pipeline,
        status=details.status,
        channel=source.channel,
        contact_id=original.contact_id,
        contacts=[original.contact] if original.contact is not None else [],
        unread=False,
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    conversation = Conversation(
        channel=source.channel, location=HELP_DESK, ticket=new_ticket, contact_id=source.contact_id,
        assignee_id=owner.id if owner is not None else source.assignee_id, status=source.status,
        created_at=now, last_message_at=max(m.sent_at for m in chosen),
    )
    uow.session.add_all([new_ticket, conversation])
    uow.flush()  # the new conversation's id, for the move
    # One UPDATE moves the messages (rows intact), not one per message; loaded copies are told.
    uow.session.execute(
        update(Message).where(Message.id.in_(id_list(uow.session, chosen_ids)))
        .values(conversation_id=conversation.id).execution_options(synchronize_session=False)
    )
    uow.session.expire(source, ["messages"])
    for message in uow.session.identity_map.values():
        if isinstance(message, Message) and message.id in chosen_ids:
            uow.session.expire(message, ["conversation_id", "conversation"])
    source.last_message_at = latest_left
    original.touch(now)
    claim_tickets(uow, original)
    detail = {
        "source_ticket_id": original.id, "new_ticket_id": new_ticket.id,
        "source_conversation_id": source.id, "new_conversation_id": conversation.id,
        "message_ids": sorted(chosen_ids),
    }
    audit.record(uow, actor=actor, action="ticket.split", ticket=original, conversation_id=source.id,
                 detail={**detail, "other_ticket_id": new_ticket.id})
    audit.record(uow, actor=actor, action="ticket.split", ticket=new_ticket, conversation_id=conversation.id,
                 detail={**detail, "other_ticket_id": original.id})
    uow.commit()
    return new_ticket


def _chosen_messages(uow: UnitOfWork, ticket: Ticket, message_ids: list[int]) -> list[Any]:
    """The chosen messages' (id, conversation_id, sent_at): all a split needs to know of them."""
    wanted = list(dict.fromkeys(message_ids))
    if not wanted:
        raise ValidationFailed("Choose at least one message to split off.", field="message_ids")
    found = list(uow.session.execute(
        select(Message.id, Message.conversation_id, Message.sent_at)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(Message.id.in_(id_list(uow.session, wanted)), Conversation.ticket_id == ticket.id)
    ))
    foreign = sorted(set(wanted) - {m.id for m in found})
    if foreign:
        raise ValidationFailed(
            f"Message(s) {', '.join(map(str, foreign))} do not belong to ticket {ticket.id}.",
            field="message_ids", ids=foreign,
        )
    return found


def _single_conversation(uow: UnitOfWork, chosen: list[Any]) -> Conversation:
    conversations = {m.conversation_id for m in chosen}
    if len(conversations) > 1:
        raise ValidationFailed(
            f"The chosen messages come from conversations {', '.join(map(str, sorted(conversations)))}; "
            "a split takes messages from one conversation.",
            field="message_ids",
        )
    source = uow.session.get(Conversation, next(iter(conversations)))
    assert source is not None  # the messages were just read joined to it
    if source.spam_at is not None:
        raise InvalidAction(f"Conversation {source.id} is in spam; mark it as not spam before splitting it.")
    return source


def _check_channel(uow: UnitOfWork, source: Conversation) -> None:
    allowed = {"email", "chat"} if uow.settings.split_allow_chat else {"email"}
    if source.channel not in allowed:
        rule = ("Only email and chat conversations can be split" if uow.settings.split_allow_chat else
                "Only email tickets can be split (chat needs the split_allow_chat setting)")
        raise InvalidAction(f"{rule}; conversation {source.id} is a {source.channel} conversation.")


def _checked_owner(uow: UnitOfWork, details: SplitTicketDetails) -> User | None:
    """Validate the new ticket's status and owner; errors name the nested field (`ticket.status`)."""
    try:
        check_status(details.pipeline, details.status)
        return check_user(uow, details.owner_id)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.message, field=f"ticket.{exc.field}") from exc
