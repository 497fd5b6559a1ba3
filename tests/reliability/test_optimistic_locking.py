"""Optimistic locking over the API: the version goes in the body or as If-Match, and a stale one is a 409."""

from __future__ import annotations

from tests.support import Agent, ticket_payload


def _ticket(agent: Agent) -> dict:
    response = agent.post("/tickets", json=ticket_payload())
    assert response.status_code == 201
    return response.json()


def test_if_match_with_the_current_version_edits(agent: Agent) -> None:
    ticket = _ticket(agent)
    for header in (f'"{ticket["version"]}"', f'W/"{ticket["version"] + 1}"', str(ticket["version"] + 2)):
        response = agent.patch(f"/tickets/{ticket['id']}", json={"priority": "HIGH" if "W" in header else "LOW"},
                               headers={"If-Match": header})
        assert response.status_code == 200, (header, response.text)
    assert response.json()["version"] == ticket["version"] + 3


def test_stale_if_match_is_a_conflict_and_changes_nothing(agent: Agent) -> None:
    ticket = _ticket(agent)
    first = agent.patch(f"/tickets/{ticket['id']}", json={"name": "Mine"},
                        headers={"If-Match": f'"{ticket["version"]}"'})
    assert first.status_code == 200
    lost = agent.patch(f"/tickets/{ticket['id']}", json={"name": "Theirs"},
                       headers={"If-Match": f'"{ticket["version"]}"'})
    assert lost.status_code == 409
    assert lost.json()["error"]["current_version"] == first.json()["version"]
    assert agent.get(f"/tickets/{ticket['id']}").json()["name"] == "Mine"


def test_stale_body_version_is_a_conflict(agent: Agent) -> None:
    ticket = _ticket(agent)
    assert agent.patch(f"/tickets/{ticket['id']}", json={"name": "A", "version": ticket["version"]}).status_code == 200
    assert agent.patch(f"/tickets/{ticket['id']}", json={"name": "B", "version": ticket["version"]}).status_code == 409


def test_if_match_must_be_a_version_and_agree_with_the_body(agent: Agent) -> None:
    ticket = _ticket(agent)
    bad = agent.patch(f"/tickets/{ticket['id']}", json={"name": "X"}, headers={"If-Match": '"abc"'})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "If-Match"
    clash = agent.patch(f"/tickets/{ticket['id']}", json={"name": "X", "version": ticket["version"]},
                        headers={"If-Match": f'"{ticket["version"] + 5}"'})
    assert clash.status_code == 422
    assert agent.get(f"/tickets/{ticket['id']}").json()["version"] == ticket["version"]
