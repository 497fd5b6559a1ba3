"""HubSpot ticket properties <-> deskpilot tickets: records out, TicketCreate/TicketUpdate in.

The property table itself (name -> ticket attribute) is `core.hubspot_search.PROPERTIES`; this module
formats values as HubSpot does (every value a string or null, times ISO-8601 with milliseconds and `Z`)
and turns HubSpot property maps into the core's validated inputs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from core import tickets as ticket_service
from core.errors import NotFound
from core.hubspot_search import PROPERTIES, TicketProperty
from core.models import Ticket
from core.schemas import TicketCreate, TicketUpdate
from core.uow import UnitOfWork
from plugin.hubspot.errors import HubSpotError

DEFAULT_PROPERTIES = ("content", "createdate", "hs_lastmodifieddate", "hs_object_id", "hs_pipeline",
                      "hs_pipeline_stage", "hs_ticket_category", "hs_ticket_priority", "subject")
ALWAYS = ("createdate", "hs_lastmodifieddate", "hs_object_id")
MERGED_IDS = "hs_merged_object_ids"
# Object type names HubSpot accepts for the associated kinds -> our relationship name.
ASSOCIATION_KINDS = {"contacts": "contacts", "contact": "contacts", "0-1": "contacts",
                     "companies": "companies", "company": "companies", "0-2": "companies",
                     "deals": "deals", "deal": "deals", "0-3": "deals"}
# Our kind -> (HubSpot's default ticket-to-X association type id, its v3 type name, object type id).
ASSOCIATION_TYPES = {"contacts": (16, "ticket_to_contact", "0-1"), "companies": (26, "ticket_to_company", "0-2"),
                     "deals": (28, "ticket_to_deal", "0-3")}
TICKET_TYPE_ID = "0-5"
_FIELD_TO_PROPERTY = {p.field: name for name, p in PROPERTIES.items() if p.field}


def hs_time(value: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and `Z`, as HubSpot writes times."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def split_names(values: Iterable[str] | None) -> list[str]:
    """Names given as repeated query keys, comma lists, or both; order kept, duplicates dropped."""
    names: list[str] = []
    for value in values or ():
        names.extend(n.strip() for n in value.split(",") if n.strip() and n.strip() not in names)
    return list(dict.fromkeys(names))


def check_id_property(id_property: str | None) -> None:
    """Only `hs_object_id` identifies tickets: no other ticket property holds unique values."""
    if id_property not in (None, "", "hs_object_id"):
        raise HubSpotError(400, "VALIDATION_ERROR", f"idProperty '{id_property}' is not a unique property of "
                           "tickets; use hs_object_id.", context={"propertyName": [str(id_property)]})


def parse_id(text: str | int, id_property: str | None = None) -> int:
    """A HubSpot record id as our ticket id (an unknown id is not found)."""
    check_id_property(id_property)
    value = str(text).strip()
    if not value.isdigit():
        raise NotFound(f"Ticket {value!r} not found.")
    return int(value)


def association_kind(object_type: str) -> str:
    """Our relationship name for a HubSpot object type (contacts, companies, deals)."""
    kind = ASSOCIATION_KINDS.get(object_type.lower())
    if kind is None:
        raise HubSpotError(400, "VALIDATION_ERROR", f"Tickets can be associated with contacts, companies and deals, "
                           f"not '{object_type}'.", context={"toObjectType": [object_type]})
    return kind


def property_value(uow: UnitOfWork, ticket: Ticket, name: str) -> str | None:
    """One property of a ticket as HubSpot writes it: a string, or None when unset."""
    if name == MERGED_IDS:
        merged = ticket_service.merged_from_ids(uow, ticket)
        return ";".join(str(i) for i in merged) if merged else None
    prop = PROPERTIES[name]
    value = getattr(ticket, prop.attr)
    if value is None or value == "":  # HubSpot has no empty values: an empty text is an unset property
        return None
    if prop.kind == "datetime":
        return hs_time(value)
    if prop.kind == "channel":
        return str(value).upper()
    return str(value)


def ticket_record(uow: UnitOfWork, ticket: Ticket, *, properties: Iterable[str] | None = None,
                  associations: Iterable[str] = (), written: Iterable[str] = ()) -> dict[str, Any]:
    """A ticket as HubSpot's SimplePublicObject; unknown requested properties are ignored, as HubSpot does."""
    wanted = list(properties or ()) or list(DEFAULT_PROPERTIES)
    names = [n for n in dict.fromkeys([*wanted, *written, *ALWAYS]) if n in PROPERTIES or n == MERGED_IDS]
    record: dict[str, Any] = {
        "id": str(ticket.id),
        "properties": {name: property_value(uow, ticket, name) for name in names},
        "createdAt": hs_time(ticket.created_at),
        "updatedAt": hs_time(ticket.updated_at),
        "archived": ticket.is_deleted,
    }
    if ticket.deleted_at is not None:
        record["archivedAt"] = hs_time(ticket.deleted_at)
    linked: dict[str, Any] = {}
    for kind in dict.fromkeys(ASSOCIATION_KINDS.get(a.lower(), "") for a in associations):
        rows = getattr(ticket, kind, None) if kind else None
        if rows:
            type_name = ASSOCIATION_TYPES[kind][1]
            linked[kind] = {"results": [{"id": str(r.id), "type": type_name} for r in rows]}
    if linked:
        record["associations"] = linked
    return record


def _problem(name: str, error: str, message: str) -> dict[str, Any]:
    return {"isValid": False, "message": message, "error": error, "name": name}


def _invalid(problems: list[dict[str, Any]]) -> HubSpotError:
    """HubSpot's 400 for bad property values: the problems as JSON in the message, one error detail each."""
    details = [{"message": p["message"], "code": p["error"], "context": {"propertyName": [p["name"]]}}
               for p in problems]
    return HubSpotError(400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}",
                        errors=details, context={"propertyName": [p["name"] for p in problems]})


def _parse(prop: TicketProperty, name: str, raw: Any, problems: list[dict[str, Any]]) -> Any:
    text = None if raw is None else str(raw).strip()
    if prop.kind == "text":
        return text or ""
    if not text:
        return None
    if prop.kind == "int":
        if not text.isdigit():
            problems.append(_problem(name, "INVALID_INTEGER", f'"{text}" is not a valid integer for "{name}".'))
        return int(text) if text.isdigit() else None
    return text.lower() if prop.kind == "channel" else text


def _fields(properties: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    problems: list[dict[str, Any]] = []
    fields: dict[str, Any] = {}
    for name, raw in properties.items():
        prop = PROPERTIES.get(name)
        if prop is None and name != MERGED_IDS:
            problems.append(_problem(name, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'))
        elif prop is None or prop.field is None:
            problems.append(_problem(name, "READ_ONLY_VALUE", f'"{name}" is a read only property; its value '
                                     "cannot be set."))
        elif prop.create_only and not creating:
            problems.append(_problem(name, "READ_ONLY_VALUE", f'"{name}" can only be set when the ticket is '
                                     "created."))
        else:
            fields[prop.field] = _parse(prop, name, raw, problems)
    if problems:
        raise _invalid(problems)
    return fields


def _from_pydantic(exc: ValidationError) -> HubSpotError:
    problems = []
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        name = _FIELD_TO_PROPERTY.get(field, field)
        problems.append(_problem(name, "INVALID_OPTION" if err["type"] == "literal_error" else "INVALID_VALUE",
                                 f'"{name}": {err["msg"]}'))
    return _invalid(problems)


def create_input(properties: dict[str, Any]) -> TicketCreate:
    """TicketCreate from HubSpot properties (subject is required; source_type picks the channel)."""
    fields = _fields(properties, creating=True)
    fields.setdefault("name", "")
    fields = {k: v for k, v in fields.items() if v is not None}
    try:
        return TicketCreate(**fields)
    except ValidationError as exc:
        raise _from_pydantic(exc) from exc


def update_input(properties: dict[str, Any]) -> TicketUpdate:
    """TicketUpdate setting exactly the properties given (an empty value clears an optional property)."""
    try:
        return TicketUpdate(**_fields(properties, creating=False))
    except ValidationError as exc:
        raise _from_pydantic(exc) from exc
