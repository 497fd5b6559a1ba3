"""Web workspace pages over real HTTP on both databases: rendering, escaping, edits through core actions."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from core import inboxes, workspace
from core.config import Settings
from core.uow import UnitOfWork
from plugin.app import mount
from tests.support import Agent, LiveServer, create_user, ticket_payload
from tests.web.test_web_auth import PASSWORD, WebUser, login_form, sign_in

Factory = Callable[[], UnitOfWork]
XSS_NAME = "<script>alert(1)</script>"


@pytest.fixture
def desk(server: LiveServer, agent: Agent) -> Iterator[WebUser]:
    user = sign_in(server, agent.email)
    yield user
    user.client.close()


@pytest.fixture
def admin_desk(server: LiveServer, admin: Agent) -> Iterator[WebUser]:
    user = sign_in(server, admin.email)
    yield user
    user.client.close()


def _ticket(agent: Agent, name: str = "Printer on fire", **extra: Any) -> dict[str, Any]:
    response = agent.post("/tickets", json=ticket_payload(name=name, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _ai(uow_factory: Factory, on: bool) -> None:
    with uow_factory() as uow:
        workspace.update_ai_settings(uow=uow, actor=None, changes={"ai_conversation_data": on, "ai_copilot": on})


def _row(page: str, ticket_id: int) -> str:
    match = re.search(rf'<tr[^>]*data-ticket-id="{ticket_id}"[^>]*>', page)
    assert match, f"ticket {ticket_id} is listed"
    return match.group(0)


def test_signed_in_pages_render(desk: WebUser, agent: Agent, uow_factory: Factory) -> None:
    ticket = _ticket(agent)
    with uow_factory() as uow:
        inbox = inboxes.create_inbox(uow=uow, actor=None, name="Sales")
    for view in ("open", "mine", "unassigned", "unread", "spam", "trash"):
        assert desk.get(f"/helpdesk?view={view}").status_code == 200, view
    for path in (f"/tickets/{ticket['id']}", f"/inboxes/{inbox.id}", "/notifications", "/helpdesk?q=printer"):
        response = desk.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
    assert desk.get("/static/app.css").status_code == 200


def test_unknown_ticket_shows_a_404_page(desk: WebUser) -> None:
    response = desk.get("/tickets/987654")
    assert response.status_code == 404 and "Ticket 987654 not found." in response.text


def test_admin_page_is_only_for_super_admins(desk: WebUser, admin_desk: WebUser) -> None:
    refused = desk.get("/admin")
    assert refused.status_code == 403 and "Only super admins can do this." in refused.text
    assert admin_desk.get("/admin").status_code == 200
    assert desk.post("/admin/ai", data={"conversation_data": "on"}).status_code == 403


def test_ticket_name_is_html_escaped(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent, name=XSS_NAME)
    for path in ("/helpdesk", f"/tickets/{ticket['id']}"):
        page = desk.get(path).text
        assert XSS_NAME not in page, path
        assert html.escape(XSS_NAME, quote=False) in page or "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_message_html_is_sanitised_and_sandboxed(desk: WebUser, agent: Agent) -> None:
    evil = '<p>Hello</p><img src="x" onerror="alert(1)"><script>window.__xss=1</script><a href="javascript:x()">y</a>'
    body = ticket_payload()
    body["messages"][0]["html"] = evil
    ticket = _ticket(agent, **{k: v for k, v in body.items() if k != "name"})
    page = desk.get(f"/tickets/{ticket['id']}").text
    frames = re.findall(r"<iframe[^>]*>", page)
    assert len(frames) == 1
    assert 'sandbox=""' in frames[0], "the frame may not run scripts or reach our origin"
    srcdoc = html.unescape(re.search(r'srcdoc="([^"]*)"', frames[0]).group(1))  # type: ignore[union-attr]
    assert "Hello" in srcdoc
    assert "onerror" not in srcdoc and "<script" not in srcdoc and "javascript:" not in srcdoc
    assert "window.__xss" not in page


def test_unread_rows_are_bold_and_opening_a_ticket_marks_it_read(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    assert 'class="unread"' in _row(desk.get("/helpdesk").text, ticket["id"])
    assert desk.get(f"/tickets/{ticket['id']}").status_code == 200
    assert agent.get(f"/tickets/{ticket['id']}").json()["unread"] is False
    assert 'class="unread"' not in _row(desk.get("/helpdesk").text, ticket["id"])


def test_mark_as_unread_from_the_actions_menu(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    page = desk.get(f"/tickets/{ticket['id']}").text
    assert f'action="/tickets/{ticket["id"]}/unread"' in page
    response = desk.post(f"/tickets/{ticket['id']}/unread")
    assert response.status_code == 303 and response.headers["location"] == "/helpdesk?notice=marked_unread"
    assert agent.get(f"/tickets/{ticket['id']}").json()["unread"] is True


def test_alias_id_redirects_to_the_merged_ticket(desk: WebUser, agent: Agent) -> None:
    keep, gone = _ticket(agent, name="Keep"), _ticket(agent, name="Gone")
    merged = agent.post("/tickets/merge", json={"ticket_ids": [keep["id"], gone["id"]], "primary_id": keep["id"]})
    assert merged.status_code == 200, merged.text
    for alias in (keep["id"], gone["id"]):
        response = desk.get(f"/tickets/{alias}")
        assert response.status_code == 303 and response.headers["location"] == f"/tickets/{merged.json()['id']}"


def test_header_edit_saves_with_version_and_reports_conflicts(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    tid, version = ticket["id"], ticket["version"]
    saved = desk.post(f"/tickets/{tid}/properties", data={"version": version, "priority": "HIGH", "status": "CLOSED",
                                                          "owner_id": str(agent.id), "category": ""})
    assert saved.status_code == 303, saved.text
    after = agent.get(f"/tickets/{tid}").json()
    assert (after["priority"], after["status"], after["owner_id"]) == ("HIGH", "CLOSED", agent.id)
    stale = desk.post(f"/tickets/{tid}/properties", data={"version": version, "priority": "LOW"})
    assert stale.status_code == 409 and "changed since you loaded it" in stale.text
    as_json = desk.client.post(f"/tickets/{tid}/properties", data={"version": version, "priority": "LOW"},
                               headers={"X-CSRF-Token": desk.csrf, "Accept": "application/json"})
    assert as_json.status_code == 409
    assert as_json.json()["error"]["current_version"] == after["version"]
    assert agent.get(f"/tickets/{tid}").json()["priority"] == "HIGH"


def test_header_edit_rejects_unknown_values(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    response = desk.post(f"/tickets/{ticket['id']}/properties", data={"version": ticket["version"], "priority": "X"})
    assert response.status_code == 422 and "priority" in response.text


def test_ai_name_suggestions_insert_and_regenerate(desk: WebUser, agent: Agent, uow_factory: Factory) -> None:
    _ai(uow_factory, True)
    ticket = _ticket(agent, name="Help", text="Our invoice for March was charged twice to the company card.")
    first = desk.fetch(f"/tickets/{ticket['id']}/ai/names", {"exclude": []})
    assert first.status_code == 200, first.text
    assert first.json()["model"] == "offline" and len(first.json()["suggestions"]) == 3
    again = desk.fetch(f"/tickets/{ticket['id']}/ai/names", {"exclude": first.json()["suggestions"]})
    assert again.status_code == 200, again.text
    assert not set(again.json()["suggestions"]) & set(first.json()["suggestions"])
    chosen = again.json()["suggestions"][0]
    inserted = desk.client.post(f"/tickets/{ticket['id']}/properties",
                                data={"version": ticket["version"], "name": chosen, "name_source": "ai"},
                                headers={"X-CSRF-Token": desk.csrf, "Accept": "application/json"})
    assert inserted.status_code == 200 and inserted.json()["name"] == chosen
    activity = agent.get(f"/tickets/{ticket['id']}/activity").json()
    assert any(e["action"] == "ticket.updated" and e["detail"].get("name_source") == "ai" for e in activity)


def test_ai_controls_explain_why_when_off(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    page = desk.get(f"/tickets/{ticket['id']}").text
    assert "AI is off for this workspace" in page
    assert "Customer conversation data" in page and "Copilot" in page
    assert "data-ai-names" not in page and f"/tickets/{ticket['id']}/summary" not in page
    refused = desk.fetch(f"/tickets/{ticket['id']}/ai/names", {})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "ai_disabled"
    activity = agent.get(f"/tickets/{ticket['id']}/activity").json()
    assert not any(e["action"].startswith("ai.") for e in activity), "no AI request was made"


def test_summary_generate_and_outdated_note(desk: WebUser, agent: Agent, uow_factory: Factory) -> None:
    _ai(uow_factory, True)
    ticket = _ticket(agent, text="The export to CSV fails with a timeout after two minutes.")
    response = desk.post(f"/tickets/{ticket['id']}/summary")
    assert response.status_code == 303 and response.headers["location"].endswith("notice=summary#summary")
    page = desk.get(f"/tickets/{ticket['id']}").text
    assert "data-summary-text" in page and "offline" in page and "Regenerate" in page
    assert "data-summary-outdated" not in page
    added = agent.post(f"/conversations/{ticket['conversation_ids'][0]}/messages",
                       json={"direction": "incoming", "sender_name": "Casey", "text": "Still failing today."})
    assert added.status_code == 201
    assert "data-summary-outdated" in desk.get(f"/tickets/{ticket['id']}").text


def test_associations_search_add_and_remove(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    _ticket(agent, name="Other", contact={"name": "Dana Buyer", "email": "dana@buyer.example"})
    page = desk.get(f"/tickets/{ticket['id']}?find=contacts&fq=Dana").text
    dana = re.search(r'name="record_id" value="(\d+)">\s*<button[^>]*aria-label="Add Dana Buyer"', page)
    assert dana, "the search offers Dana"
    added = desk.post(f"/tickets/{ticket['id']}/associations/add", data={"kind": "contacts", "record_id": dana[1]})
    assert added.status_code == 303
    assert "Dana Buyer" in [c["name"] for c in agent.get(f"/tickets/{ticket['id']}").json()["contacts"]]
    removed = desk.post(f"/tickets/{ticket['id']}/associations/remove",
                        data={"kind": "contacts", "record_id": dana[1]})
    assert removed.status_code == 303
    assert "Dana Buyer" not in [c["name"] for c in agent.get(f"/tickets/{ticket['id']}").json()["contacts"]]
    assert desk.post(f"/tickets/{ticket['id']}/associations/add",
                     data={"kind": "planets", "record_id": "1"}).status_code == 422


def test_helpdesk_search_and_next_page(desk: WebUser, agent: Agent, uow_factory: Factory) -> None:
    for number in range(51):
        _ticket(agent, name=f"Bulk ticket {number}")
    _ticket(agent, name="Needle in the stack")
    first = desk.get("/helpdesk?view=open").text
    assert first.count("data-ticket-id=") == 50
    next_link = re.search(r'<a rel="next" href="([^"]+)"', first)
    assert next_link
    second = desk.get(html.unescape(next_link[1])).text
    assert second.count("data-ticket-id=") == 2 and 'rel="next"' not in second
    found = desk.get("/helpdesk?view=open&q=needle").text
    assert found.count("data-ticket-id=") == 1 and "Needle in the stack" in found


def test_notifications_bell_counts_unread(desk: WebUser, agent: Agent, admin: Agent) -> None:
    ticket = _ticket(agent)
    assert agent.post(f"/tickets/{ticket['id']}/follow").status_code == 200
    assert admin.patch(f"/tickets/{ticket['id']}", json={"priority": "URGENT"}).status_code == 200
    page = desk.get("/helpdesk").text
    assert 'aria-label="Notifications, 1 unread"' in page
    assert "Ticket properties changed" in desk.get("/notifications").text
    assert desk.post("/notifications/read").status_code == 303
    assert 'aria-label="Notifications, 0 unread"' in desk.get("/helpdesk").text


def test_admin_switches_ai_and_manages_users(admin_desk: WebUser, admin: Agent, server: LiveServer) -> None:
    saved = admin_desk.post("/admin/ai", data={"conversation_data": "on", "copilot": "on", "redact_pii": "on",
                                               "model": "", "api_base": "", "temperature": "0.2", "language": ""})
    assert saved.status_code == 303, saved.text
    settings = admin.get("/settings/ai").json()
    assert settings["enabled"] is True and settings["temperature"] == 0.2
    created = admin_desk.post("/admin/users", data={"email": "new@desk.example", "name": "New Agent",
                                                    "password": "a long password", "delete_tickets": "on"})
    assert created.status_code == 303, created.text
    new = next(u for u in admin.get("/users").json() if u["email"] == "new@desk.example")
    assert new["delete_tickets"] is True and new["account_access"] is False
    changed = admin_desk.post(f"/admin/users/{new['id']}/permissions", data={"account_access": "on"})
    assert changed.status_code == 303
    new = next(u for u in admin.get("/users").json() if u["email"] == "new@desk.example")
    assert (new["account_access"], new["delete_tickets"]) == (True, False)
    sign_in(server, "new@desk.example", "a long password").client.close()
    bad = admin_desk.post("/admin/ai", data={"temperature": "hot"})
    assert bad.status_code == 422 and "Temperature" in bad.text


def test_mounted_workspace_lives_under_the_prefix(db_url: str, uow_factory: Factory) -> None:
    host = FastAPI()
    mount(host, "/helpdesk", settings=Settings(database_url=db_url, purge_interval_seconds=0))
    create_user(uow_factory, "mounted@desk.example")
    live = LiveServer(host).start()
    try:
        with __import__("httpx").Client(base_url=live.url, follow_redirects=False, timeout=30) as client:
            assert client.get("/helpdesk/").headers["location"] == "/helpdesk/helpdesk"
            assert client.get("/helpdesk/helpdesk").headers["location"].startswith("/helpdesk/login?next=")
            client.base_url = live.url + "/helpdesk"  # type: ignore[assignment]
            token = login_form(client)
            response = client.post("/login", data={"email": "mounted@desk.example", "password": PASSWORD,
                                                   "csrf_token": token})
            assert response.headers["location"] == "/helpdesk/helpdesk"
            assert "path=/helpdesk" in response.headers["set-cookie"].lower()
            page = client.get("/helpdesk")
            assert page.status_code == 200
            assert 'href="/helpdesk/static/app.css"' in page.text and 'action="/helpdesk/logout"' in page.text
            assert client.get("/static/app.js").status_code == 200
    finally:
        live.stop()


def test_actions_menu_renders_registry_entries_with_reasons(
    desk: WebUser, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from plugin.web import ticket_view
    from plugin.web.actions import TICKET_ACTIONS, UIAction

    extra = [UIAction("merge", "Merge ticket", "ticket.merge", dialog="_notice.html"),
             UIAction("delete", "Delete", "ticket.delete", post="/tickets/{id}/delete")]
    monkeypatch.setattr(ticket_view, "TICKET_ACTIONS", [*TICKET_ACTIONS, *extra])
    ticket = _ticket(agent)
    page = desk.get(f"/tickets/{ticket['id']}").text
    assert 'data-open-dialog="dialog-merge"' in page and '<dialog id="dialog-merge"' in page
    assert re.search(r'<button[^>]*disabled aria-describedby="why-delete">Delete</button>', page)
    assert "This needs the delete_tickets permission (or super admin)." in page
    assert f'action="/tickets/{ticket["id"]}/delete"' not in page, "a refused action gets no form"
