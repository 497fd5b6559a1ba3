"""Two agents editing the same ticket at once: the later write is a conflict, never a lost update or a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from core import tickets
from core.errors import Conflict
from core.models import Ticket
from core.schemas import MessageIn, TicketCreate, TicketUpdate
from core.uow import UnitOfWork
from tests.support import create_user


def test_concurrent_edit_without_version_is_a_conflict(uow_factory: Callable[[], UnitOfWork]) -> None:
    user, _ = create_user(uow_factory, "edit@desk.example")
    with uow_factory() as uow:
        ticket = tickets.create_ticket(uow=uow, actor=None, data=TicketCreate(
            name="Race", messages=[MessageIn(text="hello")]))
        ticket_id = ticket.id
    with uow_factory() as first, uow_factory() as second:
        a = tickets.get_ticket(uow=first, actor=first.session.merge(user), ticket_id=ticket_id)
        b = tickets.get_ticket(uow=second, actor=second.session.merge(user), ticket_id=ticket_id)
        assert a.version == b.version == 1
        tickets.update_ticket(uow=first, actor=first.session.merge(user), ticket_id=ticket_id,
                              data=TicketUpdate(priority="HIGH"))
        with pytest.raises(Conflict):
            tickets.update_ticket(uow=second, actor=second.session.merge(user), ticket_id=ticket_id,
                                  data=TicketUpdate(priority="LOW"))
    with uow_factory() as uow:
        final = uow.session.get(Ticket, ticket_id)
        assert final is not None and (final.priority, final.version) == ("HIGH", 2)
