"""`/crm/v3/objects/tickets/batch/*`: each input is one core call; failed inputs become per-item errors (207).

Property names are checked for the whole batch before anything is written (an unknown or read-only property
is a 400, as in HubSpot); what the core refuses for one input (a missing ticket, an owner who is not a user,
an unknown stage) fails that input only and is rolled back, while the others go through.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from core import hubspot_search, tickets
from core.actions.delete import delete_tickets
from core.errors import DeskpilotError, NotFound
from core.schemas import TicketCreate, TicketUpdate
from core.uow import UnitOfWork
from plugin.deps import CurrentUser, UoW
from plugin.hubspot.errors import HubSpotError, from_domain, hubspot_router
from plugin.hubspot.objects import BASE
from plugin.hubspot.properties import (
    check_id_property,
    create_input,
    hs_time,
    parse_id,
    ticket_record,
    update_input,
)
from plugin.hubspot.schemas import BatchCreate, BatchIds, BatchRead, BatchUpdate, UpdateItem

router = hubspot_router()


class BatchRun:
    """Runs one core call per input, collecting results and HubSpot-shaped per-item errors."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.started = uow.now()
        self.results: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []

    def run(self, item_id: str, action: Callable[[], dict[str, Any] | None]) -> None:
        """Run one input; a refusal rolls back whatever that input had begun and is reported for its id."""
        try:
            result = action()
        except (DeskpilotError, HubSpotError) as exc:
            self.uow.rollback()
            error = exc if isinstance(exc, HubSpotError) else from_domain(exc)
            self.errors.append(error.batch_item([item_id] if item_id else []))
            return
        if result is not None:
            self.results.append(result)

    def response(self, ok_status: int) -> JSONResponse:
        """HubSpot's batch response; 207 (multi-status) with `errors` and `numErrors` when any input failed."""
        body: dict[str, Any] = {"status": "COMPLETE", "results": self.results,
                                "startedAt": hs_time(self.started), "completedAt": hs_time(self.uow.now())}
        if self.errors:
            body.update(errors=self.errors, numErrors=len(self.errors))
        return JSONResponse(body, status_code=207 if self.errors else ok_status)


@router.post(BASE + "/batch/read")
def batch_read(body: BatchRead, uow: UoW, user: CurrentUser, archived: bool = False) -> JSONResponse:
    check_id_property(body.idProperty)
    batch = BatchRun(uow)
    seen: set[int] = set()

    def read(raw_id: str | int) -> dict[str, Any] | None:
        ticket = hubspot_search.read_ticket(uow=uow, actor=user, ticket_id=parse_id(raw_id, body.idProperty),
                                            archived=archived)
        if ticket.id in seen:  # two aliases of one merged ticket: it is returned once
            return None
        seen.add(ticket.id)
        return ticket_record(uow, ticket, properties=body.properties)

    for item in body.inputs:
        batch.run(str(item.id), partial(read, item.id))
    return batch.response(200)


@router.post(BASE + "/batch/create", status_code=201)
def batch_create(body: BatchCreate, uow: UoW, user: CurrentUser) -> JSONResponse:
    if any(item.associations for item in body.inputs):
        raise HubSpotError(400, "VALIDATION_ERROR", "Creating tickets with associations is not supported; "
                           "associate them afterwards with the v4 associations API.")
    inputs = [(create_input(item.properties), item.properties) for item in body.inputs]
    batch = BatchRun(uow)
    for data, written in inputs:
        def create(data: TicketCreate = data, written: dict[str, Any] = written) -> dict[str, Any]:
            return ticket_record(uow, tickets.create_ticket(uow=uow, actor=user, data=data), written=written)
        batch.run("", create)
    return batch.response(201)


def _update_inputs(body: BatchUpdate) -> list[tuple[UpdateItem, TicketUpdate]]:
    """Every input's TicketUpdate, checked for the whole batch before anything is written."""
    for item in body.inputs:
        check_id_property(item.idProperty)
    return [(item, update_input(item.properties)) for item in body.inputs]


@router.post(BASE + "/batch/update")
def batch_update(body: BatchUpdate, uow: UoW, user: CurrentUser) -> JSONResponse:
    batch = BatchRun(uow)
    for item, data in _update_inputs(body):
        def update(item: UpdateItem = item, data: TicketUpdate = data) -> dict[str, Any]:
            ticket = tickets.update_ticket(uow=uow, actor=user, ticket_id=parse_id(item.id), data=data)
            return ticket_record(uow, ticket, written=item.properties)
        batch.run(str(item.id), update)
    return batch.response(200)


@router.post(BASE + "/batch/upsert")
def batch_upsert(body: BatchUpdate, uow: UoW, user: CurrentUser) -> JSONResponse:
    """Upsert by `hs_object_id`: existing tickets (or merge aliases) are updated; ids cannot be chosen, so a
    missing id is a per-item OBJECT_NOT_FOUND rather than a new ticket."""
    batch = BatchRun(uow)
    for item, data in _update_inputs(body):
        def upsert(item: UpdateItem = item, data: TicketUpdate = data) -> dict[str, Any]:
            try:
                ticket = tickets.update_ticket(uow=uow, actor=user, ticket_id=parse_id(item.id), data=data)
            except NotFound as exc:
                raise NotFound(f"{exc.message} Upsert by hs_object_id updates existing tickets only.") from exc
            return {**ticket_record(uow, ticket, written=item.properties), "new": False}
        batch.run(str(item.id), upsert)
    return batch.response(200)


@router.post(BASE + "/batch/archive", status_code=204)
def batch_archive(body: BatchIds, uow: UoW, user: CurrentUser) -> Response:
    """All-or-nothing, like the core's bulk delete: one missing or already archived id refuses the batch."""
    ids = sorted({parse_id(item.id) for item in body.inputs})
    if ids:
        delete_tickets(uow=uow, actor=user, ticket_ids=ids, confirm_count=len(ids))
    return Response(status_code=204)
