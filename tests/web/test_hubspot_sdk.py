"""The HubSpot-compatible tickets API driven by the official SDK (hubspot-api-client) over real HTTP, both DBs."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hubspot import HubSpot
from hubspot.crm.tickets import (
    ApiException,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    PublicMergeInput,
    SimplePublicObjectInput,
    SimplePublicObjectInputForCreate,
)
from sqlalchemy import select

from core.models import AuditEvent, Ticket, User
from core.uow import UnitOfWork
from tests.support import Clock, LiveServer, create_user

T0 = datetime(2026, 4, 6, 9, 30, 15, 123456, tzinfo=UTC)
Factory = Callable[[], UnitOfWork]


@pytest.fixture
def ops(uow_factory: Factory) -> tuple[User, str]:
    return create_user(uow_factory, "ops@desk.example", super_admin=True)


@pytest.fixture
def hubspot(server: LiveServer, ops: tuple[User, str]) -> HubSpot:
    return HubSpot(access_token=ops[1], host=server.url)


def create(hubspot: HubSpot, **properties: str) -> str:
    """Create a ticket through the SDK; returns its id."""
    result = hubspot.crm.tickets.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))
    return str(result.id)


def error_body(exc: ApiException) -> dict[str, object]:
    body = json.loads(exc.body)
    assert set(body) >= {"status", "message", "correlationId", "category"}, body
    return dict(body)


def test_create_answers_201_with_string_properties_and_hubspot_times(hubspot: HubSpot, ops: tuple[User, str],
                                                                      clock: Clock) -> None:
    clock.set(T0)
    props = {"subject": "Printer on fire", "content": "Room 4", "hs_ticket_priority": "HIGH",
             "hs_ticket_category": "PRODUCT_ISSUE", "hs_pipeline_stage": "WAITING_ON_US", "source_type": "CHAT",
             "hubspot_owner_id": str(ops[0].id)}
    record, status, _ = hubspot.crm.tickets.basic_api.create_with_http_info(
        SimplePublicObjectInputForCreate(properties=props))
    assert status == 201
    assert {k: record.properties[k] for k in props} == props
    assert record.properties["hs_object_id"] == record.id
    assert record.properties["hs_pipeline"] == "support"
    assert record.properties["createdate"] == "2026-04-06T09:30:15.123Z"
    assert record.created_at == T0.replace(microsecond=123000) and record.archived is False


def test_get_returns_requested_properties_and_ignores_unknown_ones(hubspot: HubSpot) -> None:
    ticket_id = create(hubspot, subject="Printer on fire", source_type="PHONE")
    record = hubspot.crm.tickets.basic_api.get_by_id(ticket_id, properties=["subject", "source_type", "no_such"])
    assert record.properties == {"subject": "Printer on fire", "source_type": "PHONE", "hs_object_id": ticket_id,
                                 "createdate": record.properties["createdate"],
                                 "hs_lastmodifieddate": record.properties["hs_lastmodifieddate"]}
    defaults = hubspot.crm.tickets.basic_api.get_by_id(ticket_id).properties
    assert defaults["hs_pipeline_stage"] == "NEW" and defaults["content"] is None and "source_type" not in defaults


def test_update_changes_only_the_given_properties_through_the_core_action(
    hubspot: HubSpot, uow_factory: Factory
) -> None:
    ticket_id = create(hubspot, subject="Printer on fire", hs_ticket_priority="HIGH")
    record, status, _ = hubspot.crm.tickets.basic_api.update_with_http_info(
        ticket_id, SimplePublicObjectInput(properties={"hs_ticket_priority": "LOW", "hs_pipeline_stage": "CLOSED"}))
    assert status == 200
    assert record.properties["hs_ticket_priority"] == "LOW" and record.properties["subject"] == "Printer on fire"
    with uow_factory() as uow:
        actions = list(uow.session.scalars(select(AuditEvent.action).where(AuditEvent.ticket_id == int(ticket_id))))
    assert actions == ["ticket.created", "ticket.updated"]


def test_empty_value_clears_an_optional_property(hubspot: HubSpot) -> None:
    ticket_id = create(hubspot, subject="Printer on fire", hs_ticket_priority="HIGH")
    record = hubspot.crm.tickets.basic_api.update(ticket_id, SimplePublicObjectInput(
        properties={"hs_ticket_priority": ""}))
    assert record.properties["hs_ticket_priority"] is None


@pytest.mark.parametrize(("properties", "code"), [
    ({"subject": "x", "no_such_property": "1"}, "PROPERTY_DOESNT_EXIST"),
    ({"subject": "x", "hs_object_id": "5"}, "READ_ONLY_VALUE"),
    ({"subject": "x", "hs_ticket_priority": "SOMEDAY"}, "INVALID_OPTION"),
    ({"subject": "x", "hubspot_owner_id": "not-a-number"}, "INVALID_INTEGER"),
    ({"content": "no subject"}, "INVALID_VALUE"),
])
def test_bad_property_in_a_write_is_a_400_validation_error(
    hubspot: HubSpot, properties: dict[str, str], code: str
) -> None:
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))
    assert caught.value.status == 400
    body = error_body(caught.value)
    assert body["category"] == "VALIDATION_ERROR" and code in str(body["message"])
    assert hubspot.crm.tickets.get_all() == []


def test_source_type_cannot_change_after_creation(hubspot: HubSpot) -> None:
    ticket_id = create(hubspot, subject="Printer on fire")
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.basic_api.update(ticket_id, SimplePublicObjectInput(properties={"source_type": "CHAT"}))
    assert caught.value.status == 400 and "READ_ONLY_VALUE" in str(error_body(caught.value)["message"])


def test_list_pages_with_after_cursor_and_get_all_reads_every_page(hubspot: HubSpot) -> None:
    inputs = [{"properties": {"subject": f"Ticket {i:03d}"}} for i in range(100)]
    hubspot.crm.tickets.batch_api.create(BatchInputSimplePublicObjectBatchInputForCreate(inputs=inputs))
    for i in range(100, 103):
        create(hubspot, subject=f"Ticket {i:03d}")
    first = hubspot.crm.tickets.basic_api.get_page(limit=2, properties=["subject"])
    assert [r.properties["subject"] for r in first.results] == ["Ticket 000", "Ticket 001"]
    second = hubspot.crm.tickets.basic_api.get_page(limit=2, after=first.paging.next.after, properties=["subject"])
    assert [r.properties["subject"] for r in second.results] == ["Ticket 002", "Ticket 003"]
    everything = hubspot.crm.tickets.get_all(properties=["subject"])
    assert [r.properties["subject"] for r in everything] == [f"Ticket {i:03d}" for i in range(103)]
    assert len(hubspot.crm.tickets.get_all(limit=5)) == 5


def test_list_limit_above_100_is_refused(hubspot: HubSpot) -> None:
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.basic_api.get_page(limit=101)
    assert caught.value.status == 400


def test_archive_moves_the_ticket_to_trash_and_only_archived_reads_see_it(
    hubspot: HubSpot, uow_factory: Factory
) -> None:
    kept, gone = create(hubspot, subject="Keep me"), create(hubspot, subject="Bin me")
    _, status, _ = hubspot.crm.tickets.basic_api.archive_with_http_info(gone)
    assert status == 204
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.basic_api.get_by_id(gone)
    assert caught.value.status == 404 and error_body(caught.value)["category"] == "OBJECT_NOT_FOUND"
    archived = hubspot.crm.tickets.basic_api.get_by_id(gone, archived=True)
    assert archived.archived is True and archived.archived_at is not None
    assert [r.id for r in hubspot.crm.tickets.get_all()] == [kept]
    assert [r.id for r in hubspot.crm.tickets.get_all(archived=True)] == [gone]
    with uow_factory() as uow:
        ticket = uow.session.get(Ticket, int(gone))
        assert ticket is not None and ticket.deleted_reason == "trash"


def test_merge_returns_a_new_record_and_both_old_ids_resolve_to_it(hubspot: HubSpot) -> None:
    primary = create(hubspot, subject="Invoice is wrong", hs_ticket_priority="URGENT")
    other = create(hubspot, subject="Billing question", hs_ticket_priority="LOW")
    merged, status, _ = hubspot.crm.tickets.basic_api.merge_with_http_info(
        PublicMergeInput(primary_object_id=primary, object_id_to_merge=other))
    assert status == 200 and merged.id not in (primary, other)
    assert merged.properties["subject"] == "Invoice is wrong" and merged.properties["hs_ticket_priority"] == "URGENT"
    assert sorted(merged.properties["hs_merged_object_ids"].split(";")) == sorted([primary, other])
    for old in (primary, other):
        alias = hubspot.crm.tickets.basic_api.get_by_id(old, properties=["subject", "hs_merged_object_ids"])
        assert alias.id == merged.id and alias.properties["hs_merged_object_ids"] is not None
    read = hubspot.crm.tickets.batch_api.read(BatchReadInputSimplePublicObjectId(
        inputs=[{"id": primary}, {"id": other}], properties=["subject"], properties_with_history=[]))
    assert [r.id for r in read.results] == [merged.id]
    assert [r.id for r in hubspot.crm.tickets.get_all()] == [merged.id]
    updated = hubspot.crm.tickets.basic_api.update(other, SimplePublicObjectInput(properties={"content": "via alias"}))
    assert updated.id == merged.id and updated.properties["content"] == "via alias"


def test_merge_refuses_a_ticket_with_itself(hubspot: HubSpot) -> None:
    ticket_id = create(hubspot, subject="Lonely")
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.basic_api.merge(PublicMergeInput(primary_object_id=ticket_id, object_id_to_merge=ticket_id))
    assert caught.value.status == 400 and "itself" in str(error_body(caught.value)["message"])


def test_archive_needs_the_delete_permission(server: LiveServer, uow_factory: Factory, hubspot: HubSpot) -> None:
    ticket_id = create(hubspot, subject="Keep me")
    _, token = create_user(uow_factory, "plain@desk.example")
    plain = HubSpot(access_token=token, host=server.url)
    with pytest.raises(ApiException) as caught:
        plain.crm.tickets.basic_api.archive(ticket_id)
    assert caught.value.status == 403 and error_body(caught.value)["category"] == "MISSING_SCOPES"
    with pytest.raises(ApiException):
        plain.crm.tickets.batch_api.archive(BatchInputSimplePublicObjectId(inputs=[{"id": ticket_id}]))
    assert [r.id for r in hubspot.crm.tickets.get_all()] == [ticket_id]
