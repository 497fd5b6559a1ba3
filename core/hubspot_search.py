"""HubSpot-style ticket queries: the property table, id-ordered list pages, and search (filters, sorts, query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, Select, and_, func, literal, not_, or_, select
from sqlalchemy.orm import selectinload

from core.errors import NotFound, ValidationFailed
from core.models import Ticket, User
from core.permissions import require
from core.tickets import get_ticket, search_condition
from core.uow import UnitOfWork

Kind = Literal["text", "enum", "int", "datetime", "channel"]


@dataclass(frozen=True)
class TicketProperty:
    """A HubSpot ticket property: the Ticket attribute behind it, its kind, and the input field it writes."""

    attr: str
    kind: Kind
    field: str | None = None  # TicketCreate/TicketUpdate field; None means read-only
    create_only: bool = False


# The one table of HubSpot ticket properties; plugin/hubspot/properties.py formats and parses values with it.
PROPERTIES: dict[str, TicketProperty] = {
    "subject": TicketProperty("name", "text", "name"),
    "content": TicketProperty("description", "text", "description"),
    "hs_pipeline": TicketProperty("pipeline", "enum", "pipeline"),
    "hs_pipeline_stage": TicketProperty("status", "enum", "status"),
    "hs_ticket_priority": TicketProperty("priority", "enum", "priority"),
    "hs_ticket_category": TicketProperty("category", "enum", "category"),
    "hubspot_owner_id": TicketProperty("owner_id", "int", "owner_id"),
    "source_type": TicketProperty("channel", "channel", "channel", create_only=True),
    "createdate": TicketProperty("created_at", "datetime"),
    "hs_lastmodifieddate": TicketProperty("updated_at", "datetime"),
    "hs_object_id": TicketProperty("id", "int"),
}
Operator = Literal["EQ", "NEQ", "LT", "LTE", "GT", "GTE", "BETWEEN", "IN", "NOT_IN", "HAS_PROPERTY",
                   "NOT_HAS_PROPERTY", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"]
LIST_LIMIT, SEARCH_LIMIT, SEARCH_WINDOW = 100, 200, 10_000
MAX_GROUPS, MAX_FILTERS = 5, 6
Scalar = str | int | float | bool


class _HubSpotBody(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="forbid")


class SearchFilter(_HubSpotBody):
    property_name: str = Field(alias="propertyName")
    operator: Operator = "EQ"
    value: Scalar | None = None
    high_value: Scalar | None = Field(None, alias="highValue")
    values: list[Scalar] | None = None


class FilterGroup(_HubSpotBody):
    filters: list[SearchFilter] = Field(default_factory=list)


class SortSpec(_HubSpotBody):
    property_name: str = Field(alias="propertyName")
    direction: Literal["ASCENDING", "DESCENDING"] = "ASCENDING"


class SearchRequest(_HubSpotBody):
    """Body of `POST /crm/v3/objects/tickets/search`."""

    filter_groups: list[FilterGroup] = Field(default_factory=list, alias="filterGroups")
    sorts: list[SortSpec | str] = Field(default_factory=list)
    query: str | None = Field(None, max_length=3000)
    properties: list[str] = Field(default_factory=list)
    limit: int = 10
    after: str | int | None = None


@dataclass
class Page:
    tickets: list[Ticket]
    after: str | None
    total: int | None = None


def _live() -> ColumnElement[bool]:
    return and_(Ticket.deleted_at.is_(None), Ticket.merged_into_id.is_(None))


def _archived() -> ColumnElement[bool]:
    return and_(Ticket.deleted_at.is_not(None), Ticket.merged_into_id.is_(None))


def _with_associations(stmt: Select[Any], load: bool) -> Select[Any]:
    if not load:
        return stmt
    return stmt.options(selectinload(Ticket.contacts), selectinload(Ticket.companies), selectinload(Ticket.deals))


def read_ticket(*, uow: UnitOfWork, actor: User, ticket_id: int, archived: bool = False) -> Ticket:
    """One ticket by id or merge alias; a deleted ticket is found only with `archived`, as in HubSpot."""
    ticket = get_ticket(uow=uow, actor=actor, ticket_id=ticket_id)
    if ticket.is_deleted != archived:
        raise NotFound(f"Ticket {ticket_id} {'is not archived' if archived else 'is archived (in the trash)'}.")
    return ticket


def list_page(*, uow: UnitOfWork, actor: User, limit: int = 10, after: str | None = None, archived: bool = False,
              associations: bool = False) -> Page:
    """Live (or archived) tickets in id order; `after` is the cursor the previous page returned."""
    require(actor, "ticket.view")
    if not 1 <= limit <= LIST_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {LIST_LIMIT}.", field="limit")
    stmt = select(Ticket).where(_archived() if archived else _live())
    if after:
        stmt = stmt.where(Ticket.id > _as_int(after, "after"))
    stmt = _with_associations(stmt.order_by(Ticket.id).limit(limit + 1), associations)
    rows = list(uow.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, str(rows[-1].id) if more else None)


def search_tickets(*, uow: UnitOfWork, actor: User, request: SearchRequest, associations: bool = False) -> Page:
    """Live tickets matching any filter group (filters within a group ANDed) and the text query, sorted, paged."""
    require(actor, "ticket.view")
    if not 1 <= request.limit <= SEARCH_LIMIT:
        raise ValidationFailed(f"limit must be between 1 and {SEARCH_LIMIT}.", field="limit")
    if len(request.filter_groups) > MAX_GROUPS:
        raise ValidationFailed(f"At most {MAX_GROUPS} filterGroups are allowed.", field="filterGroups")
    if any(len(g.filters) > MAX_FILTERS for g in request.filter_groups):
        raise ValidationFailed(f"At most {MAX_FILTERS} filters are allowed in a filter group.", field="filters")
    offset = _as_int(request.after, "after") if request.after not in (None, "") else 0
    if offset < 0 or offset + request.limit > SEARCH_WINDOW:
        raise ValidationFailed(f"Search pages stop at {SEARCH_WINDOW} results; narrow the filters.", field="after")
    stmt = select(Ticket).where(_live())
    groups = [and_(*(filter_condition(f) for f in g.filters)) for g in request.filter_groups if g.filters]
    if groups:
        stmt = stmt.where(or_(*groups))
    if request.query and request.query.strip():
        stmt = stmt.where(search_condition(request.query))
    total = int(uow.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    stmt = stmt.order_by(*sort_keys(request.sorts)).offset(offset).limit(request.limit)
    rows = list(uow.session.scalars(_with_associations(stmt, associations)))
    end = offset + len(rows)
    return Page(rows, str(end) if rows and end < total else None, total)


def sort_keys(sorts: list[SortSpec | str]) -> list[Any]:
    """ORDER BY terms for HubSpot sorts (`{propertyName, direction}` or `"-createdate"`), then id for stability."""
    keys: list[Any] = []
    for sort in sorts:
        if isinstance(sort, str):
            name, descending = sort.lstrip("-").strip(), sort.startswith("-")
        else:
            name, descending = sort.property_name, sort.direction == "DESCENDING"
        prop = _property(name, "sorts")
        column = _column(prop)
        keys.append(column.desc().nulls_last() if descending else column.asc().nulls_last())
    keys.append(Ticket.id.asc())
    return keys


def filter_condition(flt: SearchFilter) -> ColumnElement[bool]:
    """One HubSpot filter as a SQL condition; string comparisons ignore case, as HubSpot's do."""
    prop = _property(flt.property_name, "propertyName")
    raw = getattr(Ticket, prop.attr)
    column = _column(prop)
    op = flt.operator
    if op in ("HAS_PROPERTY", "NOT_HAS_PROPERTY"):
        present = raw.is_not(None) if prop.kind != "text" else and_(raw.is_not(None), raw != "")
        return present if op == "HAS_PROPERTY" else not_(present)
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        found = _token_match(prop, raw, _required(flt.value, flt, "value"))
        return found if op == "CONTAINS_TOKEN" else or_(raw.is_(None), not_(found))
    if op in ("IN", "NOT_IN"):
        if not flt.values:
            raise ValidationFailed(f"{op} on {flt.property_name} needs `values`.", field="values")
        values = [_value(prop, v) for v in flt.values]
        return column.in_(values) if op == "IN" else or_(raw.is_(None), column.not_in(values))
    value = _value(prop, _required(flt.value, flt, "value"))
    if op == "BETWEEN":
        return column.between(value, _value(prop, _required(flt.high_value, flt, "highValue")))
    comparisons: dict[str, Any] = {
        "EQ": column == value, "NEQ": or_(raw.is_(None), column != value), "LT": column < value,
        "LTE": column <= value, "GT": column > value, "GTE": column >= value,
    }
    return comparisons[op]


def _property(name: str, field: str) -> TicketProperty:
    prop = PROPERTIES.get(name)
    if prop is None:
        raise ValidationFailed(f"Property '{name}' does not exist or cannot be searched; use one of "
                               f"{', '.join(PROPERTIES)}.", field=field)
    return prop


def _column(prop: TicketProperty) -> Any:
    column = getattr(Ticket, prop.attr)
    return func.lower(column) if prop.kind in ("text", "enum") else column


def _required(value: Scalar | None, flt: SearchFilter, name: str) -> Scalar:
    if value is None:
        raise ValidationFailed(f"{flt.operator} on {flt.property_name} needs `{name}`.", field=name)
    return value


def _as_int(value: Any, field: str) -> int:
    try:
        return int(str(value))
    except ValueError as exc:
        raise ValidationFailed(f"{field} must be a whole number, not '{value}'.", field=field) from exc


def _value(prop: TicketProperty, raw: Scalar) -> Any:
    """A filter value in the column's type: ids as ints, times from epoch milliseconds or ISO-8601."""
    if prop.kind == "int":
        return _as_int(raw, prop.attr)
    if prop.kind == "datetime":
        return parse_time(str(raw))
    return str(raw).strip().lower()


def parse_time(text: str) -> datetime:
    """HubSpot time values: epoch milliseconds or ISO-8601 (a bare date means midnight UTC)."""
    text = text.strip()
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text) / 1000, UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (ValueError, OverflowError, OSError) as exc:
        raise ValidationFailed(f"'{text}' is not a time: use epoch milliseconds or ISO-8601.", field="value") from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_PUNCTUATION = ".,;:!?()[]{}<>\"/\\|\t\r\n"


def _token_match(prop: TicketProperty, column: Any, token: Scalar) -> ColumnElement[bool]:
    """Whole-word match (`*` is a wildcard inside a word) over the text split at spaces and punctuation."""
    if prop.kind == "int" or prop.kind == "datetime":
        raise ValidationFailed("CONTAINS_TOKEN works on text properties only.", field="operator")
    text: Any = func.lower(column)
    for mark in _PUNCTUATION:
        text = func.replace(text, mark, " ")
    word = str(token).strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    padded = literal(" ") + text + literal(" ")
    return padded.like(f"% {word.replace('*', '%')} %", escape="\\")
