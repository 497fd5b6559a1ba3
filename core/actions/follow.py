"""Follow / unfollow a ticket: followers are notified of activity by others."""

from __future__ import annotations

from core import audit
from core.models import Ticket, User
from core.permissions import require
from core.tickets import resolve_ticket
from core.uow import UnitOfWork


def set_following(*, uow: UnitOfWork, actor: User, ticket_id: int, follow: bool) -> Ticket:
    """Start or stop following a ticket (idempotent; an alias id acts on the merged ticket)."""
    require(actor, "ticket.follow")
    ticket = resolve_ticket(uow, ticket_id)
    following = any(f.id == actor.id for f in ticket.followers)
    if following == follow:
        return ticket
    if follow:
        ticket.followers.append(actor)
    else:
        ticket.followers[:] = [f for f in ticket.followers if f.id != actor.id]
    # Following is a personal preference, not ticket activity: nobody is notified of it.
    audit.record(uow, actor=actor, action="ticket.followed" if follow else "ticket.unfollowed", ticket=ticket,
                 notify=False)
    uow.commit()
    return ticket
