"""Regressions from the fuzzers: input no column can store is a 422, never a 500 (on both databases).

Schemathesis found ids beyond 64 bits (SQLite: OverflowError; PostgreSQL: "bigint out of range") and NUL
characters in text (PostgreSQL: "text fields cannot contain NUL bytes") reaching the database as 500s.
"""

from __future__ import annotations

import httpx

from tests.support import Agent, LiveServer, ticket_payload

HUGE = 891245023277846238498652160


def test_ids_beyond_64_bits_are_a_validation_error(admin: Agent) -> None:
    for method, path, body in (("GET", f"/tickets/{HUGE}", None),
                               ("POST", f"/conversations/{HUGE}/messages", {"text": "hi"}),
                               ("POST", "/tickets/merge", {"ticket_ids": [HUGE, 1], "primary_id": HUGE}),
                               ("POST", "/tickets/bulk-delete", {"ids": [HUGE], "confirm_count": 1})):
        response = admin.client.request(method, path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "validation_error"


def test_a_list_cursor_beyond_64_bits_is_a_validation_error(admin: Agent) -> None:
    """A cursor is opaque but decodable: one made up to point after a huge id is refused before the page
    statement runs, on the driver's own cursor too (PostgreSQL's list page: core.db.driver_rows)."""
    from datetime import UTC, datetime

    from core.listing import encode_cursor

    admin.post("/tickets", json=ticket_payload())
    for view in ("all", "mine", "trash"):
        response = admin.get("/tickets", params={"view": view, "cursor": encode_cursor(datetime.now(UTC), HUGE)})
        assert response.status_code == 422, (view, response.text)
        assert response.json()["error"]["code"] == "validation_error"
    assert admin.get("/tickets").status_code == 200, "the connection is still good for the next request"


def test_hubspot_batch_reports_a_huge_id_as_that_inputs_error(admin: Agent, server: LiveServer) -> None:
    response = httpx.post(server.url + "/crm/v3/objects/tickets/batch/read", timeout=30,
                          headers={"Authorization": f"Bearer {admin.token}"},
                          json={"properties": ["subject"], "inputs": [{"id": str(HUGE)}]})
    assert response.status_code == 207, response.text
    assert response.json()["errors"][0]["category"] == "VALIDATION_ERROR"


def test_nul_characters_in_text_are_a_validation_error(admin: Agent) -> None:
    created = admin.post("/tickets", json=ticket_payload())
    assert created.status_code == 201
    conversation = created.json()["conversation_ids"][0]
    for body in ({"direction": "comment", "text": "before\x00after"},
                 {"direction": "comment", "text": "ok", "sender_email": "a\x00b@shop.example"}):
        response = admin.post(f"/conversations/{conversation}/messages", json=body)
        assert response.status_code == 422, response.text
    assert admin.post("/tickets", json=ticket_payload(name="Nul\x00name")).status_code == 422
    # Nothing was half-written, and the connection is still good for the next request.
    assert len(admin.get(f"/tickets/{created.json()['id']}/conversations").json()[0]["messages"]) == 1
