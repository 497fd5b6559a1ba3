"""`POST /crm/v3/objects/tickets/search` through the official SDK: filters, groups, sorts, query, paging."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.tickets import ApiException, PublicObjectSearchRequest, SimplePublicObjectInputForCreate

from core.models import User
from core.schemas import TicketCreate
from core.tickets import create_ticket
from core.uow import UnitOfWork
from tests.support import Clock, LiveServer, create_user, ticket_payload

T0 = datetime(2026, 4, 6, 9, 0, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


@pytest.fixture
def ops(uow_factory: Factory) -> tuple[User, str]:
    return create_user(uow_factory, "ops@desk.example", super_admin=True)


@pytest.fixture
def hubspot(server: LiveServer, ops: tuple[User, str]) -> HubSpot:
    return HubSpot(access_token=ops[1], host=server.url)


def ms(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


@pytest.fixture
def three(hubspot: HubSpot, ops: tuple[User, str], clock: Clock) -> dict[str, str]:
    """Printer (HIGH, NEW, EMAIL, T0), Blueprint (LOW, WAITING_ON_US, CHAT, T0+1h), Invoice (no priority, CLOSED,
    PHONE, T0+2h, owned by ops)."""
    rows = [
        {"subject": "Printer on fire", "hs_ticket_priority": "HIGH", "source_type": "EMAIL",
         "content": "Paper tray, smoke."},
        {"subject": "Blueprint review", "hs_ticket_priority": "LOW", "hs_pipeline_stage": "WAITING_ON_US",
         "source_type": "CHAT"},
        {"subject": "Invoice wrong", "hs_ticket_category": "BILLING_ISSUE", "hs_pipeline_stage": "CLOSED",
         "source_type": "PHONE", "hubspot_owner_id": str(ops[0].id)},
    ]
    ids = {}
    for hour, props in enumerate(rows):
        clock.set(T0 + timedelta(hours=hour))
        record = hubspot.crm.tickets.basic_api.create(SimplePublicObjectInputForCreate(properties=props))
        ids[props["subject"].split()[0]] = str(record.id)
    return ids


def search(hubspot: HubSpot, groups: list[list[dict[str, Any]]] | None = None, **kw: Any) -> list[str]:
    """Subjects of the matching tickets, in the order returned."""
    request = PublicObjectSearchRequest(filter_groups=[{"filters": g} for g in groups or []],
                                        properties=["subject"], **kw)
    page = hubspot.crm.tickets.search_api.do_search(public_object_search_request=request)
    return [r.properties["subject"].split()[0] for r in page.results]


def f(prop: str, op: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    return {"propertyName": prop, "operator": op, **({"value": value} if value is not None else {}), **extra}


@pytest.mark.parametrize(("filters", "expected"), [
    ([f("hs_ticket_priority", "EQ", "high")], ["Printer"]),
    ([f("hs_ticket_priority", "NEQ", "HIGH")], ["Blueprint", "Invoice"]),
    ([f("hs_pipeline_stage", "IN", values=["NEW", "CLOSED"])], ["Printer", "Invoice"]),
    ([f("source_type", "NOT_IN", values=["EMAIL"])], ["Blueprint", "Invoice"]),
    ([f("hs_ticket_priority", "HAS_PROPERTY")], ["Printer", "Blueprint"]),
    ([f("hs_ticket_priority", "NOT_HAS_PROPERTY")], ["Invoice"]),
    ([f("content", "NOT_HAS_PROPERTY")], ["Blueprint", "Invoice"]),
    ([f("createdate", "BETWEEN", ms(T0 + timedelta(minutes=30)), highValue=ms(T0 + timedelta(hours=3)))],
     ["Blueprint", "Invoice"]),
    ([f("createdate", "GT", "2026-04-06T09:00:00Z")], ["Blueprint", "Invoice"]),
    ([f("createdate", "LTE", "2026-04-06T09:00:00.000Z")], ["Printer"]),
    ([f("createdate", "LT", ms(T0 + timedelta(hours=1)))], ["Printer"]),
    ([f("createdate", "GTE", ms(T0 + timedelta(hours=2)))], ["Invoice"]),
    ([f("subject", "CONTAINS_TOKEN", "print*")], ["Printer"]),
    ([f("subject", "CONTAINS_TOKEN", "*print")], ["Blueprint"]),
    ([f("subject", "CONTAINS_TOKEN", "_rinter")], []),  # LIKE wildcards in the token are literal
    ([f("subject", "CONTAINS_TOKEN", "print")], []),  # a whole word, not a substring
    ([f("content", "CONTAINS_TOKEN", "smoke")], ["Printer"]),
    ([f("subject", "NOT_CONTAINS_TOKEN", "print*")], ["Blueprint", "Invoice"]),
    ([f("hs_ticket_priority", "HAS_PROPERTY"), f("source_type", "EQ", "CHAT")], ["Blueprint"]),
])
def test_search_filter_operators(hubspot: HubSpot, three: dict[str, str], filters: list[dict[str, Any]],
                                 expected: list[str]) -> None:
    assert search(hubspot, [filters]) == expected


def test_search_filter_on_ids_and_owner(hubspot: HubSpot, three: dict[str, str], ops: tuple[User, str]) -> None:
    assert search(hubspot, [[f("hs_object_id", "GTE", three["Blueprint"])]]) == ["Blueprint", "Invoice"]
    assert search(hubspot, [[f("hubspot_owner_id", "EQ", str(ops[0].id))]]) == ["Invoice"]


def test_search_filter_groups_are_ored(hubspot: HubSpot, three: dict[str, str]) -> None:
    groups = [[f("hs_ticket_priority", "EQ", "HIGH")], [f("source_type", "EQ", "PHONE")]]
    assert search(hubspot, groups) == ["Printer", "Invoice"]


def test_search_sorts_as_strings_and_objects(hubspot: HubSpot, three: dict[str, str]) -> None:
    assert search(hubspot, sorts=["-createdate"]) == ["Invoice", "Blueprint", "Printer"]
    assert search(hubspot, sorts=["createdate"]) == ["Printer", "Blueprint", "Invoice"]
    by_subject = [{"propertyName": "subject", "direction": "ASCENDING"}]
    assert search(hubspot, sorts=by_subject) == ["Blueprint", "Invoice", "Printer"]
    by_priority = [{"propertyName": "hs_ticket_priority", "direction": "DESCENDING"}]
    assert search(hubspot, sorts=by_priority) == ["Blueprint", "Printer", "Invoice"]  # unset last


def test_search_query_covers_subject_content_and_messages(
    hubspot: HubSpot, three: dict[str, str], uow_factory: Factory, ops: tuple[User, str]
) -> None:
    with uow_factory() as uow:
        actor = uow.session.get(User, ops[0].id)
        data = TicketCreate(**ticket_payload(name="Scanner jam", text="The toner cartridge leaks everywhere."))
        create_ticket(uow=uow, actor=actor, data=data)
    assert search(hubspot, query="toner") == ["Scanner"]
    assert search(hubspot, query="TRAY") == ["Printer"]
    assert search(hubspot, query="invoice") == ["Invoice"]


def test_search_pages_with_after_and_reports_total(hubspot: HubSpot, three: dict[str, str]) -> None:
    api = hubspot.crm.tickets.search_api
    first = api.do_search(public_object_search_request=PublicObjectSearchRequest(limit=2, sorts=["createdate"]))
    assert first.total == 3 and len(first.results) == 2
    second = api.do_search(public_object_search_request=PublicObjectSearchRequest(
        limit=2, sorts=["createdate"], after=first.paging.next.after))
    assert second.total == 3 and [r.id for r in second.results] == [three["Invoice"]] and second.paging is None


def test_search_leaves_out_archived_and_merged_tickets(hubspot: HubSpot, three: dict[str, str]) -> None:
    hubspot.crm.tickets.basic_api.archive(three["Blueprint"])
    assert search(hubspot) == ["Printer", "Invoice"]


@pytest.mark.parametrize(("body", "needle"), [
    ({"limit": 201}, "limit"),
    ({"filterGroups": [{"filters": [f("subject", "HAS_PROPERTY")]}] * 6}, "filterGroups"),
    ({"filterGroups": [{"filters": [f("subject", "HAS_PROPERTY")] * 7}]}, "filters"),
    ({"filterGroups": [{"filters": [f("no_such", "EQ", "x")]}]}, "no_such"),
    ({"filterGroups": [{"filters": [f("createdate", "BETWEEN", "2026-01-01")]}]}, "highValue"),
    ({"filterGroups": [{"filters": [f("createdate", "EQ", "yesterday")]}]}, "yesterday"),
    ({"sorts": ["-no_such"]}, "no_such"),
    ({"after": "9999", "limit": 10}, "10000"),
])
def test_search_refuses_bad_requests_with_400(hubspot: HubSpot, body: dict[str, Any], needle: str) -> None:
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.search_api.do_search(public_object_search_request=body)
    assert caught.value.status == 400
    error = json.loads(caught.value.body)
    assert error["category"] == "VALIDATION_ERROR" and needle in error["message"], error
