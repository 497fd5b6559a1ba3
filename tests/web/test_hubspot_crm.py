"""Pipelines, v4 associations, auth and HubSpot's error body, through the official SDK and raw HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import ApiException as AssociationApiException
from hubspot.crm.associations.v4 import AssociationSpec
from hubspot.crm.associations.v4 import BatchResponsePublicDefaultAssociation as DefaultAssociationResponse
from hubspot.crm.pipelines import ApiException as PipelineApiException
from hubspot.crm.tickets import ApiException, PublicMergeInput, SimplePublicObjectInputForCreate

from core.models import Company, Contact, Deal, User
from core.uow import UnitOfWork
from tests.support import LiveServer, create_user

Factory = Callable[[], UnitOfWork]


@pytest.fixture
def ops(uow_factory: Factory) -> tuple[User, str]:
    return create_user(uow_factory, "ops@desk.example", super_admin=True)


@pytest.fixture
def hubspot(server: LiveServer, ops: tuple[User, str]) -> HubSpot:
    return HubSpot(access_token=ops[1], host=server.url)


@pytest.fixture
def raw(server: LiveServer, ops: tuple[User, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ops[1]}"}, timeout=30) as client:
        yield client


@pytest.fixture
def records(uow_factory: Factory) -> dict[str, int]:
    """One contact, company and deal, by kind."""
    with uow_factory() as uow:
        rows: dict[str, Any] = {"contacts": Contact(name="Casey", email="casey@shop.example"),
                                "companies": Company(name="Shop Inc"), "deals": Deal(name="Renewal")}
        uow.session.add_all(rows.values())
        uow.commit()
        return {kind: row.id for kind, row in rows.items()}


def create(hubspot: HubSpot, **properties: str) -> str:
    result = hubspot.crm.tickets.basic_api.create(SimplePublicObjectInputForCreate(properties=properties))
    return str(result.id)


def test_pipelines_list_our_statuses_as_stages_with_ticket_state(hubspot: HubSpot) -> None:
    pipelines = hubspot.crm.pipelines.pipelines_api.get_all("tickets").results
    assert [(p.id, p.label, p.display_order, p.archived) for p in pipelines] == [
        ("support", "Support Pipeline", 0, False)]
    stages = pipelines[0].stages
    assert [(s.id, s.label, s.display_order, s.metadata["ticketState"]) for s in stages] == [
        ("NEW", "New", 0, "OPEN"), ("WAITING_ON_CONTACT", "Waiting on contact", 1, "OPEN"),
        ("WAITING_ON_US", "Waiting on us", 2, "OPEN"), ("CLOSED", "Closed", 3, "CLOSED")]
    assert pipelines[0].created_at is not None and stages[0].updated_at is not None
    one = hubspot.crm.pipelines.pipelines_api.get_by_id("tickets", "support")
    assert one.id == "support" and len(one.stages) == 4
    listed = hubspot.crm.pipelines.pipeline_stages_api.get_all("tickets", "support").results
    assert [s.id for s in listed] == ["NEW", "WAITING_ON_CONTACT", "WAITING_ON_US", "CLOSED"]
    assert hubspot.crm.pipelines.pipeline_stages_api.get_by_id("tickets", "support", "CLOSED").label == "Closed"


def test_unknown_pipeline_is_404_object_not_found(hubspot: HubSpot) -> None:
    with pytest.raises(PipelineApiException) as caught:
        hubspot.crm.pipelines.pipelines_api.get_by_id("tickets", "0")
    assert caught.value.status == 404 and json.loads(caught.value.body)["category"] == "OBJECT_NOT_FOUND"


@pytest.mark.parametrize("kind", ["contacts", "companies", "deals"])
def test_v4_associations_add_list_and_remove_through_the_core(
    hubspot: HubSpot, records: dict[str, int], kind: str
) -> None:
    ticket_id, record_id = create(hubspot, subject="Printer on fire"), records[kind]
    api = hubspot.crm.associations.v4.basic_api
    added = api.create_default("tickets", ticket_id, kind, record_id)
    assert isinstance(added, DefaultAssociationResponse) and added.results[0].to.id == str(record_id)
    page = api.get_page("tickets", ticket_id, kind)
    assert [r.to_object_id for r in page.results] == [str(record_id)]
    assert page.results[0].association_types[0].category == "HUBSPOT_DEFINED"
    record = hubspot.crm.tickets.basic_api.get_by_id(ticket_id, associations=[kind])
    assert [a.id for a in record.associations[kind].results] == [str(record_id)]
    api.create_default("tickets", ticket_id, kind, record_id)  # idempotent
    assert len(api.get_page("tickets", ticket_id, kind).results) == 1
    api.archive("tickets", ticket_id, kind, record_id)
    assert api.get_page("tickets", ticket_id, kind).results == []


def test_v4_association_with_default_type_spec_answers_201(hubspot: HubSpot, records: dict[str, int]) -> None:
    ticket_id = create(hubspot, subject="Printer on fire")
    spec = [AssociationSpec(association_category="HUBSPOT_DEFINED", association_type_id=16)]
    pair = hubspot.crm.associations.v4.basic_api.create("tickets", ticket_id, "contacts", records["contacts"], spec)
    assert pair.from_object_id == ticket_id and pair.to_object_id == str(records["contacts"]) and pair.labels == []
    labelled = [AssociationSpec(association_category="USER_DEFINED", association_type_id=99)]
    with pytest.raises(AssociationApiException) as caught:
        hubspot.crm.associations.v4.basic_api.create("tickets", ticket_id, "contacts", records["contacts"], labelled)
    assert caught.value.status == 400


def test_v4_association_to_a_missing_record_is_refused(hubspot: HubSpot, records: dict[str, int]) -> None:
    ticket_id = create(hubspot, subject="Printer on fire")
    with pytest.raises(AssociationApiException) as caught:
        hubspot.crm.associations.v4.basic_api.create_default("tickets", ticket_id, "contacts", 999999)
    assert caught.value.status == 400 and json.loads(caught.value.body)["category"] == "VALIDATION_ERROR"


def test_merged_ticket_keeps_the_associations_of_both(hubspot: HubSpot, records: dict[str, int]) -> None:
    api = hubspot.crm.associations.v4.basic_api
    first, second = create(hubspot, subject="One"), create(hubspot, subject="Two")
    api.create_default("tickets", first, "contacts", records["contacts"])
    api.create_default("tickets", second, "companies", records["companies"])
    merged = hubspot.crm.tickets.basic_api.merge(PublicMergeInput(primary_object_id=first, object_id_to_merge=second))
    assert [r.to_object_id for r in api.get_page("tickets", second, "contacts").results] == [
        str(records["contacts"])]  # read through the old id, an alias of the merged ticket
    record = hubspot.crm.tickets.basic_api.get_by_id(merged.id, associations=["contacts", "companies", "deals"])
    assert set(record.associations) == {"contacts", "companies"}


def test_missing_token_is_401_in_hubspots_error_body(server: LiveServer) -> None:
    response = httpx.get(server.url + "/crm/v3/objects/tickets")
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error" and body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]
    assert body["message"]


def test_bad_token_is_401_through_the_sdk(server: LiveServer) -> None:
    with pytest.raises(ApiException) as caught:
        HubSpot(access_token="nope", host=server.url).crm.tickets.basic_api.get_page()
    assert caught.value.status == 401


def test_the_rest_api_keeps_its_own_error_body(server: LiveServer) -> None:
    assert "error" in httpx.get(server.url + "/api/v1/tickets").json()


def test_query_strings_accept_comma_lists_and_python_booleans(raw: httpx.Client, hubspot: HubSpot) -> None:
    kept, gone = create(hubspot, subject="Keep", hs_ticket_priority="LOW"), create(hubspot, subject="Bin")
    hubspot.crm.tickets.basic_api.archive(gone)
    listed = raw.get("/crm/v3/objects/tickets", params={"properties": "subject,hs_ticket_priority",
                                                        "archived": "False"}).json()
    assert [(r["id"], r["properties"]["subject"], r["properties"]["hs_ticket_priority"]) for r in listed["results"]] \
        == [(kept, "Keep", "LOW")]
    trash = raw.get("/crm/v3/objects/tickets?archived=True&properties=subject&properties=source_type").json()
    assert [(r["id"], r["archived"], r["properties"]["source_type"]) for r in trash["results"]] == [
        (gone, True, "EMAIL")]
    assert trash["results"][0]["archivedAt"].endswith("Z")
    assert raw.get(f"/crm/v3/objects/tickets/{gone}", params={"archived": "true"}).status_code == 200


def test_unknown_crm_path_is_404_in_hubspots_error_body(raw: httpx.Client) -> None:
    response = raw.get("/crm/v3/objects/widgets")
    assert response.status_code == 404 and response.json()["category"] == "OBJECT_NOT_FOUND"


def test_malformed_body_is_400_validation_error(raw: httpx.Client) -> None:
    response = raw.post("/crm/v3/objects/tickets", content=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["category"] == "VALIDATION_ERROR"


def test_patch_of_an_archived_ticket_is_refused(raw: httpx.Client, hubspot: HubSpot) -> None:
    gone = create(hubspot, subject="Bin")
    hubspot.crm.tickets.basic_api.archive(gone)
    response = raw.patch(f"/crm/v3/objects/tickets/{gone}", json={"properties": {"subject": "Back?"}})
    assert response.status_code == 400 and "restore" in response.json()["message"]
