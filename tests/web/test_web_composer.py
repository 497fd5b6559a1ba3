"""The ticket thread's composer over real HTTP on both databases: replies and notes with files, delivery status
on the page, attachment downloads for signed-in users only, retry, and refusals shown on the page."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from core.mail.outbound import NOT_CONFIGURED
from tests.smtp_support import PNG, customer_email
from tests.support import Agent, LiveServer, ticket_payload
from tests.web.test_web_actions import _alert, _location
from tests.web.test_web_auth import WebUser, browser, sign_in


@pytest.fixture
def desk(server: LiveServer, agent: Agent) -> Iterator[WebUser]:
    user = sign_in(server, agent.email)
    yield user
    user.client.close()


def _email_ticket(api: Agent, message_id: str) -> dict[str, Any]:
    response = api.post("/inbound/email", content=customer_email(message_id=message_id),
                        headers={"Content-Type": "message/rfc822"})
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _compose(user: WebUser, ticket_id: int, conversation_id: int, kind: str, text: str,
             files: list[tuple[str, tuple[str, bytes, str]]] | None = None) -> Any:
    return user.client.post(f"/tickets/{ticket_id}/conversations/{conversation_id}/messages",
                            data={"csrf_token": user.csrf, "kind": kind, "text": text},
                            files=files or [("files", ("", b"", "application/octet-stream"))])


def _last_message(api: Agent, ticket_id: int) -> dict[str, Any]:
    return dict(api.get(f"/tickets/{ticket_id}/conversations").json()[0]["messages"][-1])


def test_reply_is_queued_and_the_page_says_why_it_has_not_been_sent(desk: WebUser, agent: Agent, admin: Agent) -> None:
    first = _email_ticket(admin, "<w1@shop.example>")
    tid, cid = first["ticket_id"], first["conversation_id"]
    response = _compose(desk, tid, cid, "reply", "We are replacing the printer today.")
    assert _location(response).startswith(f"/tickets/{tid}?c={cid}&notice=reply_saved#m")
    reply = _last_message(agent, tid)
    assert (reply["direction"], reply["text"], reply["delivery_status"]) == (
        "outgoing", "We are replacing the printer today.", "queued")
    page = desk.get(f"/tickets/{tid}").text
    assert 'data-delivery="queued"' in page and NOT_CONFIGURED in page
    assert f'action="/tickets/{tid}/messages/{reply["id"]}/retry"' in page
    again = desk.post(f"/tickets/{tid}/messages/{reply['id']}/retry")
    assert _location(again) == f"/tickets/{tid}?c={cid}&notice=retry_queued#m{reply['id']}"
    # The server's mail queue looks at the reply right after each commit; let it finish before the next test
    # empties the tables (on PostgreSQL a TRUNCATE racing its row lock can deadlock).
    time.sleep(0.5)


def test_note_with_a_file_and_its_download(desk: WebUser, agent: Agent, server: LiveServer) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    cid = ticket["conversation_ids"][0]
    response = _compose(desk, ticket["id"], cid, "note", "Photo of the printer attached.",
                        files=[("files", ("printer.png", PNG, "image/png"))])
    assert _location(response).startswith(f"/tickets/{ticket['id']}?c={cid}&notice=note_added")
    note = _last_message(agent, ticket["id"])
    assert note["direction"] == "comment" and note["delivery_status"] is None
    [attachment] = note["attachments"]
    page = desk.get(f"/tickets/{ticket['id']}").text
    assert f'href="/attachments/{attachment["id"]}" download>printer.png</a>' in page
    assert 'data-delivery=' not in page, "a note is never delivered"
    file = desk.get(f"/attachments/{attachment['id']}")
    assert file.status_code == 200 and file.content == PNG
    assert file.headers["content-disposition"].startswith('attachment; filename="printer.png"')
    assert file.headers["x-content-type-options"] == "nosniff"
    with browser(server) as stranger:
        signed_out = stranger.get(f"/attachments/{attachment['id']}")
    assert signed_out.status_code == 303 and signed_out.headers["location"].startswith("/login")


def test_composer_refusals_show_on_the_ticket_page(desk: WebUser, agent: Agent, admin: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    cid = ticket["conversation_ids"][0]
    empty = _compose(desk, ticket["id"], cid, "reply", "   ")
    assert empty.status_code == 422 and _alert(empty.text) == "Write a message first."
    binary = _compose(desk, ticket["id"], cid, "note", "A program",
                      files=[("files", ("tool.exe", b"MZ\x90\x00" + bytes(200), "application/octet-stream"))])
    assert binary.status_code == 415 and "is not allowed" in _alert(binary.text)
    assert len(agent.get(f"/tickets/{ticket['id']}/conversations").json()[0]["messages"]) == 1, "nothing was added"
    assert admin.delete(f"/tickets/{ticket['id']}").status_code in (200, 204)
    deleted = _compose(desk, ticket["id"], cid, "note", "Too late")
    assert deleted.status_code == 422 and "restore it first" in _alert(deleted.text)
    assert 'id="composer"' not in deleted.text, "a deleted ticket offers no composer"


def test_composer_requires_the_csrf_token(desk: WebUser, agent: Agent) -> None:
    ticket = agent.post("/tickets", json=ticket_payload()).json()
    cid = ticket["conversation_ids"][0]
    forged = desk.client.post(f"/tickets/{ticket['id']}/conversations/{cid}/messages",
                              data={"csrf_token": "forged", "kind": "note", "text": "x"},
                              files=[("files", ("a.txt", b"hello", "text/plain"))])
    assert forged.status_code == 403
    form = r'<form method="post" action="/tickets/\d+/conversations/\d+/messages"\s+enctype="multipart/form-data"'
    assert re.search(form, desk.get(f"/tickets/{ticket['id']}").text)
    assert len(agent.get(f"/tickets/{ticket['id']}/conversations").json()[0]["messages"]) == 1
