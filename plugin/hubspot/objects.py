"""`/crm/v3/objects/tickets`: list, create, read, update, archive, search and merge, each one core call."""

from __future__ import annotations

from typing import Any

from fastapi import Query, Response

from core import hubspot_search, tickets
from core.actions.delete import delete_ticket
from core.actions.merge import merge_tickets
from core.hubspot_search import Page, SearchRequest
from core.uow import UnitOfWork
from plugin.deps import CurrentUser, UoW
from plugin.hubspot.errors import HubSpotError, hubspot_router
from plugin.hubspot.properties import (
    MERGED_IDS,
    create_input,
    parse_id,
    split_names,
    ticket_record,
    update_input,
)
from plugin.hubspot.schemas import MergeInput, ObjectInput

BASE = "/crm/v3/objects/tickets"
router = hubspot_router()
Names = list[str] | None


def page_body(uow: UnitOfWork, page: Page, properties: list[str], associations: list[str]) -> dict[str, Any]:
    """HubSpot's collection shape: `{total?, results, paging?: {next: {after, link}}}`."""
    body: dict[str, Any] = {}
    if page.total is not None:
        body["total"] = page.total
    body["results"] = [ticket_record(uow, t, properties=properties, associations=associations) for t in page.tickets]
    if page.after is not None:
        body["paging"] = {"next": {"after": page.after, "link": f"?after={page.after}"}}
    return body


@router.get(BASE)
def list_tickets(
    uow: UoW, user: CurrentUser, limit: int = 10, after: str | None = None, archived: bool = False,
    properties: Names = Query(None), associations: Names = Query(None),
) -> dict[str, Any]:
    kinds = split_names(associations)
    page = hubspot_search.list_page(uow=uow, actor=user, limit=limit, after=after, archived=archived,
                                    associations=bool(kinds))
    return page_body(uow, page, split_names(properties), kinds)


@router.post(BASE, status_code=201)
def create_ticket(body: ObjectInput, uow: UoW, user: CurrentUser) -> dict[str, Any]:
    if body.associations:
        raise HubSpotError(400, "VALIDATION_ERROR", "Creating a ticket with associations is not supported; "
                           "create it, then PUT /crm/v4/objects/tickets/{id}/associations/default/{type}/{id}.")
    ticket = tickets.create_ticket(uow=uow, actor=user, data=create_input(body.properties))
    return ticket_record(uow, ticket, written=body.properties)


@router.post(BASE + "/search")
def search_tickets(body: SearchRequest, uow: UoW, user: CurrentUser) -> dict[str, Any]:
    page = hubspot_search.search_tickets(uow=uow, actor=user, request=body)
    return page_body(uow, page, split_names(body.properties), [])


@router.post(BASE + "/merge")
def merge(body: MergeInput, uow: UoW, user: CurrentUser) -> dict[str, Any]:
    primary, other = parse_id(body.primaryObjectId), parse_id(body.objectIdToMerge)
    ticket = merge_tickets(uow=uow, actor=user, ticket_ids=[primary, other], primary_id=primary)
    return ticket_record(uow, ticket, written=[MERGED_IDS])


@router.get(BASE + "/{ticket_id}")
def get_ticket(
    ticket_id: str, uow: UoW, user: CurrentUser, archived: bool = False, idProperty: str | None = None,
    properties: Names = Query(None), associations: Names = Query(None),
) -> dict[str, Any]:
    ticket = hubspot_search.read_ticket(uow=uow, actor=user, ticket_id=parse_id(ticket_id, idProperty),
                                        archived=archived)
    return ticket_record(uow, ticket, properties=split_names(properties), associations=split_names(associations))


@router.patch(BASE + "/{ticket_id}")
def update_ticket(
    ticket_id: str, body: ObjectInput, uow: UoW, user: CurrentUser, idProperty: str | None = None
) -> dict[str, Any]:
    data = update_input(body.properties)
    ticket = tickets.update_ticket(uow=uow, actor=user, ticket_id=parse_id(ticket_id, idProperty), data=data)
    return ticket_record(uow, ticket, written=body.properties)


@router.delete(BASE + "/{ticket_id}", status_code=204)
def archive_ticket(ticket_id: str, uow: UoW, user: CurrentUser) -> Response:
    delete_ticket(uow=uow, actor=user, ticket_id=parse_id(ticket_id))
    return Response(status_code=204)
