"""`/crm/v4/objects/tickets/{id}/associations/...`: a ticket's contacts, companies and deals.

Writes go through `core.tickets.change_association` (idempotent, audited). Only HubSpot's default
(unlabelled) association types exist here: ticket_to_contact 16, ticket_to_company 26, ticket_to_deal 28.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, Response

from core import hubspot_search, tickets
from core.schemas import AssociationChange
from core.uow import UnitOfWork
from plugin.deps import CurrentUser, UoW
from plugin.hubspot.errors import HubSpotError, hubspot_router
from plugin.hubspot.properties import ASSOCIATION_TYPES, TICKET_TYPE_ID, association_kind, hs_time, parse_id
from plugin.hubspot.schemas import AssociationSpec

router = hubspot_router()
BASE = "/crm/v4/objects/{object_type}/{object_id}/associations"
PAGE_LIMIT = 500


def _ticket_id(object_type: str, object_id: str) -> int:
    if object_type.lower() not in ("tickets", "ticket", "0-5"):
        raise HubSpotError(404, "OBJECT_NOT_FOUND", f"deskpilot serves ticket associations only, not "
                           f"'{object_type}'.")
    return parse_id(object_id)


def _record_id(to_object_id: str) -> int:
    value = to_object_id.strip()
    if not value.isdigit():
        raise HubSpotError(400, "VALIDATION_ERROR", f"'{to_object_id}' is not a record id.")
    return int(value)


def _change(uow: UnitOfWork, user: Any, object_type: str, object_id: str, to_object_type: str, to_object_id: str,
            *, add: bool) -> tuple[int, str, int]:
    kind = association_kind(to_object_type)
    change = AssociationChange(kind=kind, id=_record_id(to_object_id))
    ticket = tickets.change_association(uow=uow, actor=user, ticket_id=_ticket_id(object_type, object_id),
                                        change=change, add=add)
    return ticket.id, kind, change.id


@router.get(BASE + "/{to_object_type}")
def list_associations(
    object_type: str, object_id: str, to_object_type: str, uow: UoW, user: CurrentUser,
    limit: int = PAGE_LIMIT, after: str | None = None,
) -> dict[str, Any]:
    kind = association_kind(to_object_type)
    ticket = hubspot_search.read_ticket(uow=uow, actor=user, ticket_id=_ticket_id(object_type, object_id))
    type_id = ASSOCIATION_TYPES[kind][0]
    start = int(after) if after and after.isdigit() else 0
    limit = max(1, min(limit, PAGE_LIMIT))
    rows = getattr(ticket, kind)[start:start + limit + 1]
    body: dict[str, Any] = {"results": [
        {"toObjectId": r.id, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": None}]}
        for r in rows[:limit]
    ]}
    if len(rows) > limit:
        body["paging"] = {"next": {"after": str(start + limit)}}
    return body


@router.put(BASE + "/default/{to_object_type}/{to_object_id}")
def associate_default(
    object_type: str, object_id: str, to_object_type: str, to_object_id: str, uow: UoW, user: CurrentUser
) -> dict[str, Any]:
    started = hs_time(uow.now())
    ticket_id, kind, record_id = _change(uow, user, object_type, object_id, to_object_type, to_object_id, add=True)
    result = {"from": {"id": str(ticket_id)}, "to": {"id": str(record_id)},
              "associationSpec": {"associationCategory": "HUBSPOT_DEFINED",
                                  "associationTypeId": ASSOCIATION_TYPES[kind][0]}}
    return {"status": "COMPLETE", "results": [result], "startedAt": started, "completedAt": hs_time(uow.now())}


@router.put(BASE + "/{to_object_type}/{to_object_id}", status_code=201)
def associate_with_types(
    object_type: str, object_id: str, to_object_type: str, to_object_id: str, uow: UoW, user: CurrentUser,
    specs: list[AssociationSpec] = Body(...),
) -> dict[str, Any]:
    kind = association_kind(to_object_type)
    type_id = ASSOCIATION_TYPES[kind][0]
    unsupported = [s for s in specs if (s.associationCategory, s.associationTypeId) != ("HUBSPOT_DEFINED", type_id)]
    if unsupported:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Association labels are not supported; use HUBSPOT_DEFINED "
                           f"type {type_id} for tickets to {kind}.")
    ticket_id, kind, record_id = _change(uow, user, object_type, object_id, to_object_type, to_object_id, add=True)
    return {"fromObjectTypeId": TICKET_TYPE_ID, "fromObjectId": ticket_id,
            "toObjectTypeId": ASSOCIATION_TYPES[kind][2], "toObjectId": record_id, "labels": []}


@router.delete(BASE + "/{to_object_type}/{to_object_id}", status_code=204)
def dissociate(
    object_type: str, object_id: str, to_object_type: str, to_object_id: str, uow: UoW, user: CurrentUser
) -> Response:
    _change(uow, user, object_type, object_id, to_object_type, to_object_id, add=False)
    return Response(status_code=204)
