"""Deterministic starting states and the one action to fault, for each restructuring action.

`build(uow_factory)` commits a small workspace (followers, contacts, history) and returns what `act` needs;
`act(uow, ctx)` runs exactly one core action in the given unit of work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from core import inboxes, tickets, users
from core.actions import delete, follow, merge, move, spam, split
from core.models import Ticket, User
from core.schemas import TicketCreate
from core.uow import UnitOfWork

Factory = Callable[[], UnitOfWork]
Ctx = dict[str, Any]


def _user(uow_factory: Factory, email: str) -> int:
    with uow_factory() as uow:
        return users.create_user(uow=uow, actor=None, email=email, name=email.split("@")[0],
                                 permissions=("delete_tickets", "account_access")).id


def _ticket(uow_factory: Factory, n: int, messages: int = 3) -> int:
    body = {"name": f"Case {n}", "channel": "email",
            "contact": {"name": f"Customer {n}", "email": f"c{n}@shop.example"},
            "messages": [{"direction": "incoming", "sender_name": f"Customer {n}", "sender_email": f"c{n}@shop.example",
                          "subject": f"Case {n}", "text": f"Message {m} of case {n}."} for m in range(messages)]}
    with uow_factory() as uow:
        return tickets.create_ticket(uow=uow, actor=None, data=TicketCreate.model_validate(body)).id


def _follow(uow_factory: Factory, user_id: int, ticket_id: int) -> None:
    with uow_factory() as uow:
        actor = uow.session.get(User, user_id)
        assert actor is not None
        follow.set_following(uow=uow, actor=actor, ticket_id=ticket_id, follow=True)


def _merged(uow_factory: Factory, actor_id: int, a: int, b: int) -> int:
    with uow_factory() as uow:
        actor = uow.session.get(User, actor_id)
        assert actor is not None
        return merge.merge_tickets(uow=uow, actor=actor, ticket_ids=[a, b], primary_id=a).id


def _base(uow_factory: Factory) -> Ctx:
    actor = _user(uow_factory, "actor@desk.example")
    watcher = _user(uow_factory, "watcher@desk.example")
    return {"actor": actor, "watcher": watcher}


def build_merge(uow_factory: Factory) -> Ctx:
    ctx = _base(uow_factory)
    a, b = _ticket(uow_factory, 1), _ticket(uow_factory, 2)
    _follow(uow_factory, ctx["watcher"], a)
    _follow(uow_factory, ctx["actor"], b)
    return {**ctx, "ids": [a, b]}


def act_merge(uow: UnitOfWork, actor: User, ctx: Ctx) -> Any:
    return merge.merge_tickets(uow=uow, actor=actor, ticket_ids=ctx["ids"], primary_id=ctx["ids"][1])


def build_split(uow_factory: Factory) -> Ctx:
    ctx = _base(uow_factory)
    ticket_id = _ticket(uow_factory, 1, messages=4)
    _follow(uow_factory, ctx["watcher"], ticket_id)
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        message_ids = [m.id for m in ticket.conversations[0].messages]
    return {**ctx, "ticket": ticket_id, "messages": message_ids[2:]}


def act_split(uow: UnitOfWork, actor: User, ctx: Ctx) -> Any:
    details = split.SplitTicketDetails(name="Split off", priority="HIGH", owner_id=ctx["watcher"])
    return split.split_ticket(uow=uow, actor=actor, ticket_id=ctx["ticket"], message_ids=ctx["messages"],
                              details=details)


def build_move_to_inbox(uow_factory: Factory) -> Ctx:
    ctx = _base(uow_factory)
    ticket_id = _ticket(uow_factory, 1)
    _follow(uow_factory, ctx["watcher"], ticket_id)
    with uow_factory() as uow:
        inbox = inboxes.create_inbox(uow=uow, actor=None, name="Billing").id
        ticket = uow.session.get(Ticket, ticket_id)
        assert ticket is not None
        conversation = ticket.conversations[0].id
    return {**ctx, "conversation": conversation, "inbox": inbox}


def act_move_to_inbox(uow: UnitOfWork, actor: User, ctx: Ctx) -> Any:
    return move.move_conversation(uow=uow, actor=actor, conversation_id=ctx["conversation"], to=ctx["inbox"],
                                  assignee_id=ctx["watcher"], status="WAITING_ON_US", comment="Billing has it.")


def build_move_to_help_desk(uow_factory: Factory) -> Ctx:
    ctx = build_move_to_inbox(uow_factory)
    with uow_factory() as uow:
        actor = uow.session.get(User, ctx["actor"])
        assert actor is not None
        conversation, _ = act_move_to_inbox(uow, actor, ctx)
        conversation.ticket_id = None  # an inbox conversation that never had a ticket: the move makes one
        uow.commit()
    return ctx


def act_move_to_help_desk(uow: UnitOfWork, actor: User, ctx: Ctx) -> Any:
    return move.move_conversation(uow=uow, actor=actor, conversation_id=ctx["conversation"], to="help_desk",
                                  assignee_id=ctx["actor"], comment="Ours now.")


def build_spam(uow_factory: Factory) -> Ctx:
    ctx = _base(uow_factory)
    merged = _merged(uow_factory, ctx["actor"], _ticket(uow_factory, 1), _ticket(uow_factory, 2))
    _follow(uow_factory, ctx["watcher"], merged)
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, merged)
        assert ticket is not None
        conversations = [c.id for c in ticket.conversations]
    return {**ctx, "ticket": merged, "conversations": conversations}


def act_spam(uow: UnitOfWork, actor: User, ctx: Ctx) -> Any:
    """All conversations: the ticket is deleted as spam too."""
    return spam.mark_spam(uow=uow, actor=actor, ticket_id=ctx["ticket"], conversation_ids=ctx["conversations"])


def build_bulk_delete(uow_factory: Factory) -> Ctx:
    ctx = _base(uow_factory)
    ids = [_ticket(uow_factory, n, messages=1) for n in range(5)]
    for ticket_id in ids[:3]:
        _follow(uow_factory, ctx["watcher"], ticket_id)
    _merged(uow_factory, ctx["actor"], ids[3], ids[4])  # both old ids are now aliases of one ticket
    return {**ctx, "ids": ids}


def act_bulk_delete(uow: UnitOfWork, actor: User, ctx: Ctx) -> Any:
    return delete.delete_tickets(uow=uow, actor=actor, ticket_ids=ctx["ids"], confirm_count=len(ctx["ids"]))


@dataclass(frozen=True)
class Scenario:
    build: Callable[[Factory], Ctx]
    act: Callable[[UnitOfWork, User, Ctx], Any]


SCENARIOS: dict[str, Scenario] = {
    "merge": Scenario(build_merge, act_merge),
    "split": Scenario(build_split, act_split),
    "move_to_inbox": Scenario(build_move_to_inbox, act_move_to_inbox),
    "move_to_help_desk": Scenario(build_move_to_help_desk, act_move_to_help_desk),
    "spam": Scenario(build_spam, act_spam),
    "bulk_delete": Scenario(build_bulk_delete, act_bulk_delete),
}


def run_action(uow_factory: Factory, name: str, ctx: Ctx) -> Any:
    """Run the scenario's action once, as its actor, in a fresh unit of work."""
    with uow_factory() as uow:
        actor = uow.session.get(User, ctx["actor"])
        assert actor is not None
        return SCENARIOS[name].act(uow, actor, ctx)
