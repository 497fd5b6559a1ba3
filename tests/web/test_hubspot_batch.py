"""Batch read/create/update/upsert/archive through the official SDK, including 207 partial failures."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hubspot import HubSpot
from hubspot.crm.tickets import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchInputSimplePublicObjectId,
    BatchReadInputSimplePublicObjectId,
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
    BatchResponseSimplePublicUpsertObject,
    BatchResponseSimplePublicUpsertObjectWithErrors,
    SimplePublicObjectInputForCreate,
)
from sqlalchemy import func, select

from core.models import Ticket, User
from core.uow import UnitOfWork
from tests.support import LiveServer, create_user

Factory = Callable[[], UnitOfWork]
MISSING = "999999"


@pytest.fixture
def ops(uow_factory: Factory) -> tuple[User, str]:
    return create_user(uow_factory, "ops@desk.example", super_admin=True)


@pytest.fixture
def hubspot(server: LiveServer, ops: tuple[User, str]) -> HubSpot:
    return HubSpot(access_token=ops[1], host=server.url)


def create(hubspot: HubSpot, **properties: str) -> str:
    result = hubspot.crm.tickets.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))
    return str(result.id)


def ticket_count(uow_factory: Factory) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Ticket)) or 0)


def read(ids: list[str], properties: list[str] | None = None) -> BatchReadInputSimplePublicObjectId:
    return BatchReadInputSimplePublicObjectId(inputs=[{"id": i} for i in ids], properties=properties or ["subject"],
                                              properties_with_history=[])


def test_batch_create_answers_201_with_every_record(hubspot: HubSpot) -> None:
    body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        {"properties": {"subject": "One", "hs_ticket_priority": "LOW"}}, {"properties": {"subject": "Two"}}])
    result, status, _ = hubspot.crm.tickets.batch_api.create_with_http_info(body)
    assert status == 201 and isinstance(result, BatchResponseSimplePublicObject)
    assert result.status == "COMPLETE" and result.started_at is not None and result.completed_at is not None
    assert [r.properties["subject"] for r in result.results] == ["One", "Two"]


def test_batch_create_partial_failure_is_207_and_the_refused_input_writes_nothing(
    hubspot: HubSpot, uow_factory: Factory
) -> None:
    body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        {"properties": {"subject": "Good"}},
        {"properties": {"subject": "Bad owner", "hubspot_owner_id": MISSING}},
        {"properties": {"subject": "Bad stage", "hs_pipeline_stage": "3"}},
    ])
    result, status, _ = hubspot.crm.tickets.batch_api.create_with_http_info(body)
    assert status == 207 and isinstance(result, BatchResponseSimplePublicObjectWithErrors)
    assert [r.properties["subject"] for r in result.results] == ["Good"]
    assert result.num_errors == 2 and {e.category for e in result.errors} == {"VALIDATION_ERROR"}
    assert ticket_count(uow_factory) == 1


def test_batch_create_with_an_unknown_property_refuses_the_whole_batch(
    hubspot: HubSpot, uow_factory: Factory
) -> None:
    body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[
        {"properties": {"subject": "Good"}}, {"properties": {"subject": "Typo", "subjcet": "x"}}])
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.batch_api.create(body)
    assert caught.value.status == 400 and "PROPERTY_DOESNT_EXIST" in json.loads(caught.value.body)["message"]
    assert ticket_count(uow_factory) == 0


def test_batch_read_answers_200_then_207_naming_missing_ids(hubspot: HubSpot) -> None:
    first, second = create(hubspot, subject="One"), create(hubspot, subject="Two")
    result, status, _ = hubspot.crm.tickets.batch_api.read_with_http_info(read([second, first]))
    assert status == 200 and [r.id for r in result.results] == [second, first]
    result, status, _ = hubspot.crm.tickets.batch_api.read_with_http_info(read([first, MISSING]))
    assert status == 207 and [r.id for r in result.results] == [first]
    assert result.num_errors == 1
    error = result.errors[0]
    assert error.category == "OBJECT_NOT_FOUND" and error.context["ids"] == [MISSING] and error.status == "error"


def test_batch_read_with_archived_true_reads_the_trash(hubspot: HubSpot) -> None:
    gone = create(hubspot, subject="Bin me")
    hubspot.crm.tickets.basic_api.archive(gone)
    result = hubspot.crm.tickets.batch_api.read(read([gone]), archived=True)
    assert [r.id for r in result.results] == [gone] and result.results[0].archived is True


def test_batch_update_answers_200_then_207_for_a_missing_id(hubspot: HubSpot) -> None:
    first, second = create(hubspot, subject="One"), create(hubspot, subject="Two")
    body = BatchInputSimplePublicObjectBatchInput(inputs=[
        {"id": first, "properties": {"hs_ticket_priority": "HIGH"}},
        {"id": second, "properties": {"subject": "Two, renamed"}}])
    result, status, _ = hubspot.crm.tickets.batch_api.update_with_http_info(body)
    assert status == 200
    assert [(r.id, r.properties["hs_ticket_priority"], r.properties["subject"]) for r in result.results] == [
        (first, "HIGH", "One"), (second, None, "Two, renamed")]
    body = BatchInputSimplePublicObjectBatchInput(inputs=[
        {"id": MISSING, "properties": {"hs_ticket_priority": "LOW"}},
        {"id": first, "properties": {"hs_ticket_priority": "LOW"}}])
    result, status, _ = hubspot.crm.tickets.batch_api.update_with_http_info(body)
    assert status == 207 and [r.id for r in result.results] == [first]
    assert result.errors[0].category == "OBJECT_NOT_FOUND" and result.errors[0].context["ids"] == [MISSING]


def test_batch_upsert_by_hs_object_id_updates_existing_and_reports_missing(hubspot: HubSpot) -> None:
    ticket_id = create(hubspot, subject="One")
    body = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        {"id": ticket_id, "idProperty": "hs_object_id", "properties": {"hs_pipeline_stage": "CLOSED"}}])
    result, status, _ = hubspot.crm.tickets.batch_api.upsert_with_http_info(body)
    assert status == 200 and isinstance(result, BatchResponseSimplePublicUpsertObject)
    assert result.results[0].new is False and result.results[0].properties["hs_pipeline_stage"] == "CLOSED"
    body = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        {"id": ticket_id, "idProperty": "hs_object_id", "properties": {"hs_pipeline_stage": "NEW"}},
        {"id": MISSING, "idProperty": "hs_object_id", "properties": {"hs_pipeline_stage": "NEW"}}])
    result, status, _ = hubspot.crm.tickets.batch_api.upsert_with_http_info(body)
    assert status == 207 and isinstance(result, BatchResponseSimplePublicUpsertObjectWithErrors)
    assert [r.id for r in result.results] == [ticket_id] and result.errors[0].context["ids"] == [MISSING]


def test_batch_upsert_refuses_an_id_property_that_is_not_unique(hubspot: HubSpot) -> None:
    body = BatchInputSimplePublicObjectBatchInputUpsert(inputs=[
        {"id": "Printer on fire", "idProperty": "subject", "properties": {"hs_pipeline_stage": "NEW"}}])
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.batch_api.upsert(body)
    assert caught.value.status == 400 and json.loads(caught.value.body)["category"] == "VALIDATION_ERROR"


def test_batch_archive_answers_204_and_is_all_or_nothing(hubspot: HubSpot) -> None:
    first, second = create(hubspot, subject="One"), create(hubspot, subject="Two")
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.batch_api.archive(BatchInputSimplePublicObjectId(inputs=[{"id": first}, {"id": MISSING}]))
    assert caught.value.status == 400 and json.loads(caught.value.body)["context"]["ids"] == [MISSING]
    assert [r.id for r in hubspot.crm.tickets.get_all()] == [first, second]
    _, status, _ = hubspot.crm.tickets.batch_api.archive_with_http_info(
        BatchInputSimplePublicObjectId(inputs=[{"id": first}, {"id": second}]))
    assert status == 204
    assert hubspot.crm.tickets.get_all() == []
    assert [r.id for r in hubspot.crm.tickets.get_all(archived=True)] == [first, second]


def test_batch_over_100_inputs_is_refused(hubspot: HubSpot) -> None:
    body = BatchInputSimplePublicObjectBatchInputForCreate(inputs=[{"properties": {"subject": "x"}}] * 101)
    with pytest.raises(ApiException) as caught:
        hubspot.crm.tickets.batch_api.create(body)
    assert caught.value.status == 400
