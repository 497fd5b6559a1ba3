"""Help desk actions in the web workspace over real HTTP on both databases: every route through core,
permission refusals shown with their reason, and core's refusals shown on the page (never a 500)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from core import inboxes
from core.models import Conversation, Message
from core.uow import UnitOfWork
from tests.support import Agent, LiveServer, ticket_payload
from tests.web.test_web_auth import WebUser, sign_in, state_changing_routes

Factory = Callable[[], UnitOfWork]
ALERT = re.compile(r'<p class="notice is-error" role="alert" data-error>([^<]*)</p>')


@pytest.fixture
def desk(server: LiveServer, agent: Agent) -> Iterator[WebUser]:
    """A plain agent's browser session (no account_access, no delete_tickets)."""
    user = sign_in(server, agent.email)
    yield user
    user.client.close()


@pytest.fixture
def boss(server: LiveServer, admin: Agent) -> Iterator[WebUser]:
    """A super admin's browser session."""
    user = sign_in(server, admin.email)
    yield user
    user.client.close()


def _ticket(api: Agent, name: str = "Printer on fire", *texts: str, channel: str = "email") -> dict[str, Any]:
    body = ticket_payload(name=name, channel=channel)
    for text in texts:
        body["messages"].append({"direction": "incoming", "sender_name": "Casey Customer",
                                 "sender_email": "casey@shop.example", "text": text})
    response = api.post("/tickets", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _get(api: Agent, ticket_id: int) -> dict[str, Any]:
    response = api.get(f"/tickets/{ticket_id}")
    assert response.status_code == 200, response.text
    return dict(response.json())


def _messages(api: Agent, ticket_id: int) -> list[dict[str, Any]]:
    conversations = api.get(f"/tickets/{ticket_id}/conversations").json()
    return [m for c in conversations for m in c["messages"]]


def _alert(page: str) -> str:
    match = ALERT.search(page)
    assert match, "the refusal is shown in an alert on the page"
    return match.group(1).replace("&#39;", "'")


def _location(response: Any) -> str:
    assert response.status_code == 303, response.text
    return str(response.headers["location"])


def test_new_action_routes_are_in_the_csrf_enumeration() -> None:
    routes = state_changing_routes()
    for path in ("/tickets/1/follow", "/tickets/1/split", "/tickets/merge", "/tickets/1/move-conversation",
                 "/tickets/1/spam", "/tickets/1/delete", "/tickets/1/restore", "/tickets/bulk-delete",
                 "/conversations/1/not-spam", "/inboxes/1/conversations/1/move"):
        assert ("POST", path) in routes, path


def test_plain_agent_sees_move_spam_and_delete_disabled_with_the_reason(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    page = desk.get(f"/tickets/{ticket['id']}").text
    for key, flag in (("move_conversation", "account_access"), ("mark_spam", "delete_tickets"),
                      ("delete", "delete_tickets")):
        assert re.search(rf'<button type="button" class="menu-item" disabled aria-describedby="why-{key}">', page), key
        assert re.search(rf'<span id="why-{key}" class="why">This needs the {flag} permission', page), key
    for key in ("follow", "split", "merge", "mark_unread"):
        assert f'data-action="{key}"' in page, key
    assert 'id="dialog-delete"' not in page and 'id="dialog-mark_spam"' not in page
    helpdesk = desk.get("/helpdesk").text
    assert 'id="why-bulk_delete" class="why">This needs the delete_tickets permission' in helpdesk


def test_super_admin_gets_every_dialog(boss: WebUser, admin: Agent) -> None:
    ticket = _ticket(admin)
    page = boss.get(f"/tickets/{ticket['id']}").text
    for key in ("split", "merge", "move_conversation", "mark_spam", "delete"):
        assert f'id="dialog-{key}"' in page, key
    assert "data-split-start" in page and 'form="split-form"' in page
    assert 'id="dialog-bulk_delete"' in boss.get("/helpdesk").text


def test_follow_then_unfollow(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent)
    page = desk.get(f"/tickets/{ticket['id']}").text
    assert '<input type="hidden" name="follow" value="1">' in page
    assert _location(desk.post(f"/tickets/{ticket['id']}/follow", {"follow": "1"})).endswith("notice=followed")
    assert _get(agent, ticket["id"])["following"] is True
    page = desk.get(f"/tickets/{ticket['id']}").text
    assert '<input type="hidden" name="follow" value="0">' in page and ">Unfollow</button>" in page
    again = desk.post(f"/tickets/{ticket['id']}/follow", {"follow": "1"})  # a double submit changes nothing
    assert again.status_code == 303 and _get(agent, ticket["id"])["following"] is True
    assert _location(desk.post(f"/tickets/{ticket['id']}/follow", {"follow": "0"})).endswith("notice=unfollowed")
    assert _get(agent, ticket["id"])["following"] is False


def test_split_moves_the_ticked_messages_to_a_new_ticket(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent, "Two problems", "Also, the scanner jams.")
    first, second = _messages(agent, ticket["id"])
    response = desk.post(f"/tickets/{ticket['id']}/split", {
        "message_ids": [second["id"]], "name": "Scanner jams", "status": "support:WAITING_ON_US",
        "owner_id": str(agent.id), "priority": "HIGH", "category": "PRODUCT_ISSUE"})
    new_id = int(re.fullmatch(r"/tickets/(\d+)\?notice=split", _location(response)).group(1))  # type: ignore[union-attr]
    created = _get(agent, new_id)
    assert (created["name"], created["status"], created["owner_id"], created["priority"], created["category"]) == (
        "Scanner jams", "WAITING_ON_US", agent.id, "HIGH", "PRODUCT_ISSUE")
    assert [m["id"] for m in _messages(agent, new_id)] == [second["id"]]
    assert [m["id"] for m in _messages(agent, ticket["id"])] == [first["id"]]
    assert "Ticket split" in desk.get(f"/tickets/{new_id}?notice=split").text


def test_split_of_a_chat_ticket_is_refused_on_the_ticket_page(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent, "Chat", "Second line", channel="chat")
    _, second = _messages(agent, ticket["id"])
    response = desk.post(f"/tickets/{ticket['id']}/split", {"message_ids": [second["id"]], "name": "Split chat"})
    assert response.status_code == 422
    assert "Only email tickets can be split" in _alert(response.text)
    assert '<h1 id="ticket-name" data-ticket-name>Chat</h1>' in response.text, "the ticket page, not a bare error"
    assert len(_messages(agent, ticket["id"])) == 2


def test_split_needs_a_name_and_a_message_to_stay(desk: WebUser, agent: Agent) -> None:
    ticket = _ticket(agent, "Two problems", "Also, the scanner jams.")
    first, second = _messages(agent, ticket["id"])
    nameless = desk.post(f"/tickets/{ticket['id']}/split", {"message_ids": [second["id"]], "name": ""})
    assert nameless.status_code == 422 and _alert(nameless.text) == "The new ticket needs a name."
    everything = desk.post(f"/tickets/{ticket['id']}/split", {"message_ids": [first["id"], second["id"]],
                                                               "name": "All of it"})
    assert everything.status_code == 422 and "At least one message must stay" in _alert(everything.text)
    nothing = desk.post(f"/tickets/{ticket['id']}/split", {"name": "Nothing ticked"})
    assert nothing.status_code == 422 and _alert(nothing.text) == "Tick at least one message to split off."
    unknown_owner = desk.post(f"/tickets/{ticket['id']}/split", {"message_ids": [second["id"]], "name": "X",
                                                                 "owner_id": "987654"})
    assert unknown_owner.status_code == 422 and "Owner 987654 is not a user" in _alert(unknown_owner.text)
    bad_priority = desk.post(f"/tickets/{ticket['id']}/split", {"message_ids": [second["id"]], "name": "X",
                                                                "priority": "SOON"})
    assert bad_priority.status_code == 422 and _alert(bad_priority.text).startswith("Priority:")
    assert len(_messages(agent, ticket["id"])) == 2, "nothing was split"


def test_merge_search_finds_other_live_tickets_but_not_this_one(desk: WebUser, agent: Agent, admin: Agent) -> None:
    this = _ticket(agent, "Refund for order 881")
    other = _ticket(agent, "Refund still missing")
    gone = _ticket(agent, "Refund duplicate")
    assert admin.delete(f"/tickets/{gone['id']}").status_code in (200, 204)
    found = desk.get(f"/tickets/{this['id']}/merge-candidates?q=refund", headers={"Accept": "application/json"})
    assert found.status_code == 200
    items = {item["id"]: item for item in found.json()["items"]}
    assert other["id"] in items and this["id"] not in items and gone["id"] not in items
    assert items[other["id"]]["name"] == "Refund still missing" and items[other["id"]]["contact"] == "Casey Customer"
    assert desk.get(f"/tickets/{this['id']}/merge-candidates?q=").json() == {"items": []}


def test_merge_with_the_chosen_primary_goes_to_the_merged_ticket(desk: WebUser, agent: Agent) -> None:
    this = _ticket(agent, "Printer on fire")
    other = _ticket(agent, "Fire in room 4")
    response = desk.post("/tickets/merge", {"ticket_id": this["id"], "other_id": str(other["id"]),
                                            "primary": "other"})
    merged_id = int(re.fullmatch(r"/tickets/(\d+)\?notice=merged", _location(response)).group(1))  # type: ignore[union-attr]
    merged = _get(agent, merged_id)
    assert merged["name"] == "Fire in room 4"
    assert sorted(merged["merged_from_ids"]) == sorted([this["id"], other["id"]])
    assert _get(agent, this["id"])["id"] == merged_id


def test_merge_with_a_deleted_ticket_is_refused_on_the_page(desk: WebUser, agent: Agent, admin: Agent) -> None:
    this = _ticket(agent, "Keep me")
    other = _ticket(agent, "Deleted one")
    assert admin.delete(f"/tickets/{other['id']}").status_code in (200, 204)
    response = desk.post("/tickets/merge", {"ticket_id": this["id"], "other_id": str(other["id"]), "primary": "this"})
    assert response.status_code == 422
    assert "deleted tickets cannot be merged" in _alert(response.text)
    assert _get(agent, this["id"])["merged_from_ids"] == []
    unchosen = desk.post("/tickets/merge", {"ticket_id": this["id"], "other_id": "", "primary": "this"})
    assert unchosen.status_code == 422 and "Choose the ticket to merge with" in _alert(unchosen.text)


def test_move_a_conversation_to_an_inbox_and_back(boss: WebUser, admin: Agent, uow_factory: Factory) -> None:
    ticket = _ticket(admin, "Sales question")
    conversation_id = ticket["conversation_ids"][0]
    with uow_factory() as uow:
        sales = inboxes.create_inbox(uow=uow, actor=None, name=f"Sales {conversation_id}").id
    out = boss.post(f"/tickets/{ticket['id']}/move-conversation", {
        "conversation_id": conversation_id, "to": str(sales), "assignee_id": str(admin.id),
        "status": "support:WAITING_ON_CONTACT", "comment": "Sales handles pricing."})
    assert _location(out) == f"/tickets/{ticket['id']}?notice=moved"
    inbox_page = boss.get(f"/inboxes/{sales}").text
    assert f'id="dialog-move_conversation-{conversation_id}"' in inbox_page
    assert _get(admin, ticket["id"])["status"] == "WAITING_ON_CONTACT"
    assert "Sales handles pricing." in [m["text"] for m in _messages(admin, ticket["id"])]
    assert "; the ticket stays in the help desk." in boss.get(f"/tickets/{ticket['id']}").text
    back = boss.post(f"/inboxes/{sales}/conversations/{conversation_id}/move", {"to": "help_desk"})
    assert _location(back) == f"/tickets/{ticket['id']}?notice=moved_to_helpdesk"
    assert f'data-conversation-id="{conversation_id}"' not in boss.get(f"/inboxes/{sales}").text
    again = boss.post(f"/inboxes/{sales}/conversations/{conversation_id}/move", {"to": "help_desk"})
    assert again.status_code == 422 and "already in the help desk" in _alert(again.text)


def test_inbox_conversation_without_a_ticket_moves_to_the_help_desk_as_a_new_ticket(
    boss: WebUser, admin: Agent, uow_factory: Factory
) -> None:
    with uow_factory() as uow:  # as the demo seeds them: a conversation that only ever lived in an inbox
        inbox = inboxes.create_inbox(uow=uow, actor=None, name="Partners")
        conversation = Conversation(channel="email", location="inbox", inbox_id=inbox.id, created_at=uow.now(),
                                    last_message_at=uow.now())
        conversation.messages.append(Message(direction="incoming", sender_name="Pat Partner", subject="Reseller terms",
                                             text="Can we resell your product?", sent_at=uow.now()))
        uow.session.add(conversation)
        uow.commit()
        inbox_id, conversation_id = inbox.id, conversation.id
    with uow_factory() as uow:
        other = inboxes.create_inbox(uow=uow, actor=None, name="Legal").id
    onward = boss.post(f"/inboxes/{inbox_id}/conversations/{conversation_id}/move", {"to": str(other)})
    assert _location(onward) == f"/inboxes/{inbox_id}?notice=moved"
    assert f'id="dialog-move_conversation-{conversation_id}"' in boss.get(f"/inboxes/{other}").text
    moved = boss.post(f"/inboxes/{other}/conversations/{conversation_id}/move", {
        "to": "help_desk", "status": "support:WAITING_ON_US", "assignee_id": str(admin.id),
        "comment": "Partnership request."})
    new_id = int(re.fullmatch(r"/tickets/(\d+)\?notice=moved_to_helpdesk", _location(moved)).group(1))  # type: ignore[union-attr]
    created = _get(admin, new_id)
    assert (created["name"], created["status"], created["conversation_ids"]) == (
        "Reseller terms", "WAITING_ON_US", [conversation_id])
    assert [m["text"] for m in _messages(admin, new_id)] == ["Can we resell your product?", "Partnership request."]


def test_move_needs_account_access(desk: WebUser, agent: Agent, uow_factory: Factory) -> None:
    ticket = _ticket(agent)
    with uow_factory() as uow:
        inbox = inboxes.create_inbox(uow=uow, actor=None, name=f"Support {ticket['id']}").id
    response = desk.post(f"/tickets/{ticket['id']}/move-conversation",
                         {"conversation_id": ticket["conversation_ids"][0], "to": str(inbox)})
    assert response.status_code == 403 and "account_access permission" in _alert(response.text)
    conversations = agent.get(f"/tickets/{ticket['id']}/conversations").json()
    assert conversations[0]["location"] == "help_desk"


def _two_conversations(api: Agent) -> tuple[int, list[int]]:
    """A ticket with two conversations (a merge of two tickets)."""
    a, b = _ticket(api, "Spam one"), _ticket(api, "Spam two")
    merged = api.post("/tickets/merge", json={"ticket_ids": [a["id"], b["id"]], "primary_id": a["id"]}).json()
    return merged["id"], sorted(merged["conversation_ids"])


def test_mark_some_conversations_as_spam_then_not_spam(boss: WebUser, admin: Agent) -> None:
    ticket_id, (first, second) = _two_conversations(admin)
    page = boss.get(f"/tickets/{ticket_id}").text
    assert page.count('name="conversation_ids"') == 2 and "the ticket will be deleted too" in page
    marked = boss.post(f"/tickets/{ticket_id}/spam", {"conversation_ids": [first]})
    assert _location(marked) == f"/tickets/{ticket_id}?notice=spam_marked"
    assert _get(admin, ticket_id)["deleted_at"] is None if "deleted_at" in _get(admin, ticket_id) else True
    spam_page = boss.get("/helpdesk/spam").text
    assert f'data-conversation-id="{first}"' in spam_page and f'data-conversation-id="{second}"' not in spam_page
    restored = boss.post(f"/conversations/{first}/not-spam", {"back": "spam"})
    assert _location(restored) == "/helpdesk/spam?notice=not_spam"
    assert f'data-conversation-id="{first}"' not in boss.get("/helpdesk/spam").text


def test_marking_every_conversation_as_spam_deletes_the_ticket_and_not_spam_restores_it(
    boss: WebUser, admin: Agent
) -> None:
    ticket = _ticket(admin, "Buy cheap watches")
    conversation = ticket["conversation_ids"][0]
    marked = boss.post(f"/tickets/{ticket['id']}/spam", {"conversation_ids": [conversation]})
    assert _location(marked) == "/helpdesk/spam?notice=spam_ticket_deleted"
    assert ticket["id"] not in [t["id"] for t in admin.get("/tickets?view=all").json()["items"]]
    page = boss.get(f"/tickets/{ticket['id']}").text
    assert "deleted as spam" in page and "Not spam</button>" in page
    back = boss.post(f"/conversations/{conversation}/not-spam", {"back": "ticket", "ticket_id": ticket["id"]})
    assert _location(back) == f"/tickets/{ticket['id']}?notice=not_spam_restored"
    assert ticket["id"] in [t["id"] for t in admin.get("/tickets?view=all").json()["items"]]


def test_spam_needs_delete_tickets_and_refusals_show_on_the_page(desk: WebUser, agent: Agent, boss: WebUser) -> None:
    ticket = _ticket(agent)
    conversation = ticket["conversation_ids"][0]
    refused = desk.post(f"/tickets/{ticket['id']}/spam", {"conversation_ids": [conversation]})
    assert refused.status_code == 403 and "delete_tickets permission" in _alert(refused.text)
    none_chosen = boss.post(f"/tickets/{ticket['id']}/spam", {})
    assert none_chosen.status_code == 422 and "Choose at least one conversation" in _alert(none_chosen.text)
    not_spam = boss.post(f"/conversations/{conversation}/not-spam", {"back": "spam"})
    assert not_spam.status_code == 422 and "is not marked as spam" in _alert(not_spam.text)
    assert "<h1>Spam</h1>" in not_spam.text


def test_delete_then_restore_from_the_trash(boss: WebUser, admin: Agent, desk: WebUser) -> None:
    ticket = _ticket(admin, "Old request")
    refused = desk.post(f"/tickets/{ticket['id']}/delete")
    assert refused.status_code == 403 and "delete_tickets permission" in _alert(refused.text)
    assert _location(boss.post(f"/tickets/{ticket['id']}/delete")) == "/helpdesk?notice=deleted"
    trash = boss.get("/helpdesk?view=trash").text
    assert f'action="/tickets/{ticket["id"]}/restore"' in trash and 'id="bulk-form"' not in trash
    page = boss.get(f"/tickets/{ticket['id']}").text
    assert "This ticket is in the trash" in page and 'data-action="restore"' in page
    assert 'id="dialog-delete"' not in page, "a deleted ticket offers no actions that change it"
    again = boss.post(f"/tickets/{ticket['id']}/delete")
    assert again.status_code == 422 and "already in the trash" in _alert(again.text)
    assert _location(boss.post(f"/tickets/{ticket['id']}/restore")) == f"/tickets/{ticket['id']}?notice=restored"
    assert ticket["id"] in [t["id"] for t in admin.get("/tickets?view=all").json()["items"]]
    twice = boss.post(f"/tickets/{ticket['id']}/restore")
    assert twice.status_code == 422 and "nothing to restore" in _alert(twice.text)


def test_bulk_delete_needs_the_typed_count(boss: WebUser, admin: Agent) -> None:
    ids = [_ticket(admin, f"Bulk {n}")["id"] for n in range(3)]
    wrong = boss.post("/tickets/bulk-delete", {"ids": ids, "confirm_count": "2", "view": "open"})
    assert wrong.status_code == 422 and "confirm_count is 2 but 3 tickets were chosen" in _alert(wrong.text)
    assert '<h1>All open</h1>' in wrong.text
    not_a_number = boss.post("/tickets/bulk-delete", {"ids": ids, "confirm_count": "three"})
    assert not_a_number.status_code == 422 and "Type the number of tickets" in _alert(not_a_number.text)
    live = [t["id"] for t in admin.get("/tickets?view=all&limit=100").json()["items"]]
    assert set(ids) <= set(live), "nothing was deleted"
    done = boss.post("/tickets/bulk-delete", {"ids": ids, "confirm_count": "3", "view": "unassigned", "q": "Bulk"})
    assert _location(done) == "/helpdesk?view=unassigned&q=Bulk&notice=bulk_deleted"
    trash = [t["id"] for t in admin.get("/tickets?view=trash&limit=100").json()["items"]]
    assert set(ids) <= set(trash)


def test_bulk_delete_is_all_or_nothing_and_needs_delete_tickets(boss: WebUser, admin: Agent,
                                                                 desk: WebUser) -> None:
    keep = _ticket(admin, "Keep")["id"]
    gone = _ticket(admin, "Gone")["id"]
    assert admin.delete(f"/tickets/{gone}").status_code in (200, 204)
    mixed = boss.post("/tickets/bulk-delete", {"ids": [keep, gone], "confirm_count": "2"})
    assert mixed.status_code == 422 and f"already deleted: {gone}" in _alert(mixed.text)
    assert keep in [t["id"] for t in admin.get("/tickets?view=all&limit=100").json()["items"]]
    refused = desk.post("/tickets/bulk-delete", {"ids": [keep], "confirm_count": "1"})
    assert refused.status_code == 403 and "delete_tickets permission" in _alert(refused.text)


def test_refusal_for_a_missing_ticket_is_a_404_page(boss: WebUser) -> None:
    response = boss.post("/tickets/987654/delete")
    assert response.status_code == 404 and "Ticket 987654 not found." in response.text
