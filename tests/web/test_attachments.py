"""Attachments over the REST API: limits, sniffed types, signed-in downloads, and every action they must survive."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from core import inboxes
from core.attachments import DatabaseStore, Upload, add_attachments, sniff
from core.db import make_session_factory
from core.models import Attachment, AttachmentBlob, User
from core.purge import purge
from core.uow import UnitOfWork
from tests.smtp_support import BINARY, PDF, PNG, agent_on, mail_settings, start_app
from tests.support import Agent, Clock, LiveServer, create_user, ticket_payload

Factory = Callable[[], UnitOfWork]


@pytest.fixture(scope="module")
def files_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("attachments")


@pytest.fixture(scope="module")
def files_app(database: str, clock: Clock, files_dir: Path) -> Iterator[LiveServer]:
    server = start_app(mail_settings(database, files_dir, None), clock)  # 100 kB per file
    yield server
    server.stop()


@pytest.fixture
def lead(files_app: LiveServer, uow_factory: Factory) -> Iterator[Agent]:
    agent = agent_on(files_app, uow_factory, "lead@desk.example", permissions=("delete_tickets", "account_access"))
    yield agent
    agent.client.close()


@pytest.fixture
def anon(files_app: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=files_app.url + "/api/v1", timeout=30) as client:
        yield client


def _ticket(agent: Agent, name: str = "Printer on fire", **extra: Any) -> dict[str, Any]:
    response = agent.post("/tickets", json=ticket_payload(name=name, **extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


def _note_with(agent: Agent, conversation_id: int, *files: tuple[str, bytes, str], text: str = "See file") -> Any:
    return agent.post(f"/conversations/{conversation_id}/messages/multipart",
                      data={"direction": "comment", "text": text}, files=[("files", f) for f in files])


def _files_of(agent: Agent, ticket_id: int) -> dict[str, bytes]:
    """Every attachment of the ticket's thread, by name, downloaded."""
    found = {}
    for conversation in agent.get(f"/tickets/{ticket_id}/conversations").json():
        for message in conversation["messages"]:
            for attachment in message["attachments"]:
                download = agent.get(f"/attachments/{attachment['id']}")
                assert download.status_code == 200, download.text
                found[attachment["filename"]] = download.content
    return found


def test_content_type_is_sniffed_from_the_bytes_never_taken_from_the_client(lead: Agent) -> None:
    ticket = _ticket(lead)
    response = _note_with(lead, ticket["conversation_ids"][0], ("report.pdf", PDF, "image/png"),
                          ("readme.png", b"plain words\n", "image/png"), ("logo.bin", PNG, "text/html"))
    assert response.status_code == 201, response.text
    assert [(a["filename"], a["content_type"], a["size"]) for a in response.json()["attachments"]] == [
        ("report.pdf", "application/pdf", len(PDF)), ("readme.png", "text/plain", 12),
        ("logo.bin", "image/png", len(PNG))]
    assert (sniff(b"GIF89a..."), sniff(b"\xff\xd8\xff\xe0"), sniff(b"PK\x03\x04"), sniff(BINARY)) == (
        "image/gif", "image/jpeg", "application/zip", "application/octet-stream")


def test_download_is_for_signed_in_users_only_and_always_an_attachment(lead: Agent, anon: httpx.Client) -> None:
    ticket = _ticket(lead)
    note = _note_with(lead, ticket["conversation_ids"][0], ("naïve report.pdf", PDF, "application/pdf")).json()
    attachment_id = note["attachments"][0]["id"]
    download = lead.get(f"/attachments/{attachment_id}")
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"na_ve report.pdf\"; filename*=UTF-8''na%C3%AFve%20report.pdf")
    assert anon.get(f"/attachments/{attachment_id}").status_code == 401
    assert anon.get(f"/attachments/{attachment_id}", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert lead.get("/attachments/999999").status_code == 404


def test_file_over_the_size_limit_is_413_and_nothing_is_kept(lead: Agent) -> None:
    ticket = _ticket(lead)
    response = _note_with(lead, ticket["conversation_ids"][0], ("ok.png", PNG, "image/png"),
                          ("big.pdf", PDF + b"0" * 100_001, "application/pdf"))
    assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"
    messages = lead.get(f"/tickets/{ticket['id']}/conversations").json()[0]["messages"]
    assert len(messages) == 1 and messages[0]["attachments"] == []


def test_refused_file_type_is_415_and_nothing_is_kept(lead: Agent) -> None:
    ticket = _ticket(lead)
    message_id = lead.get(f"/tickets/{ticket['id']}/conversations").json()[0]["messages"][0]["id"]
    response = lead.post(f"/messages/{message_id}/attachments",
                         files=[("files", ("photo.png", PNG, "image/png")),
                                ("files", ("tool.exe", BINARY, "image/png"))])
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert "application/octet-stream" in response.json()["error"]["message"]
    assert lead.get(f"/messages/{message_id}").json()["attachments"] == []


def test_upload_onto_a_message_lists_it_and_cleans_the_file_name(lead: Agent) -> None:
    ticket = _ticket(lead)
    message_id = lead.get(f"/tickets/{ticket['id']}/conversations").json()[0]["messages"][0]["id"]
    response = lead.post(f"/messages/{message_id}/attachments", files=[("files", ("../../etc/passwd", b"root:x\n"))])
    assert response.status_code == 201, response.text
    assert [a["filename"] for a in response.json()["attachments"]] == ["passwd"]
    assert lead.post(f"/messages/{message_id}/attachments").status_code == 422  # no files
    assert lead.post("/messages/999999/attachments", files=[("files", ("a.txt", b"a"))]).status_code == 404


def test_files_cannot_be_added_to_an_email_reply_after_it_was_written(lead: Agent) -> None:
    ticket = _ticket(lead)
    reply = lead.post(f"/conversations/{ticket['conversation_ids'][0]}/messages",
                      json={"direction": "outgoing", "text": "Done"}).json()
    response = lead.post(f"/messages/{reply['id']}/attachments", files=[("files", ("a.txt", b"a"))])
    assert response.status_code == 422 and "when you write the reply" in response.json()["error"]["message"]


def test_the_messages_page_lists_each_messages_own_attachments(lead: Agent) -> None:
    """The page reads attachments only for the messages that have some: each gets its own, in order."""
    ticket = _ticket(lead)
    conversation_id = ticket["conversation_ids"][0]
    two = _note_with(lead, conversation_id, ("a.txt", b"a\n", "text/plain"), ("b.pdf", PDF, "application/pdf")).json()
    bare = lead.post(f"/conversations/{conversation_id}/messages", json={"direction": "comment", "text": "No file"})
    one = _note_with(lead, conversation_id, ("c.png", PNG, "image/png")).json()
    page = lead.get(f"/tickets/{ticket['id']}/messages", params={"limit": 50})
    assert page.status_code == 200, page.text
    files = {m["id"]: [a["filename"] for a in m["attachments"]] for m in page.json()["items"]}
    assert files[two["id"]] == ["a.txt", "b.pdf"] and files[one["id"]] == ["c.png"]
    assert files[bare.json()["id"]] == [] and len(files) == 4  # and the ticket's first message, without files


def test_split_carries_attachments_with_their_message(lead: Agent) -> None:
    ticket = _ticket(lead)
    conversation_id = ticket["conversation_ids"][0]
    kept = _note_with(lead, conversation_id, ("stays.txt", b"stays\n", "text/plain")).json()
    moved = _note_with(lead, conversation_id, ("moves.pdf", PDF, "application/pdf")).json()
    split = lead.post(f"/tickets/{ticket['id']}/split", json={"message_ids": [moved["id"]], "ticket": {"name": "B"}})
    assert split.status_code == 201, split.text
    assert _files_of(lead, split.json()["id"]) == {"moves.pdf": PDF}
    assert _files_of(lead, ticket["id"]) == {"stays.txt": b"stays\n"}
    assert kept["attachments"][0]["id"] != moved["attachments"][0]["id"]


def test_merge_keeps_the_attachments_of_both_tickets(lead: Agent) -> None:
    one, two = _ticket(lead, "One"), _ticket(lead, "Two")
    _note_with(lead, one["conversation_ids"][0], ("one.png", PNG, "image/png"))
    _note_with(lead, two["conversation_ids"][0], ("two.pdf", PDF, "application/pdf"))
    merged = lead.post("/tickets/merge", json={"ticket_ids": [one["id"], two["id"]], "primary_id": one["id"]})
    assert merged.status_code == 200, merged.text
    assert _files_of(lead, merged.json()["id"]) == {"one.png": PNG, "two.pdf": PDF}


def test_move_to_an_inbox_and_back_keeps_attachments(lead: Agent, uow_factory: Factory) -> None:
    ticket = _ticket(lead)
    conversation_id = ticket["conversation_ids"][0]
    _note_with(lead, conversation_id, ("map.png", PNG, "image/png"))
    with uow_factory() as uow:
        inbox_id = inboxes.create_inbox(uow=uow, actor=None, name="Sales").id
    assert lead.post(f"/conversations/{conversation_id}/move", json={"to": inbox_id}).status_code == 200
    in_inbox = lead.get(f"/inboxes/{inbox_id}/conversations").json()[0]["messages"]
    assert [a["filename"] for m in in_inbox for a in m["attachments"]] == ["map.png"]
    assert lead.post(f"/conversations/{conversation_id}/move", json={"to": "help_desk"}).status_code == 200
    assert _files_of(lead, ticket["id"]) == {"map.png": PNG}


def test_spam_and_not_spam_keep_attachments(lead: Agent) -> None:
    ticket = _ticket(lead)
    conversation_id = ticket["conversation_ids"][0]
    _note_with(lead, conversation_id, ("proof.pdf", PDF, "application/pdf"))
    assert lead.post(f"/tickets/{ticket['id']}/spam", json={"conversation_ids": [conversation_id]}).status_code == 200
    assert _files_of(lead, ticket["id"]) == {"proof.pdf": PDF}  # still downloadable from the spam view
    assert lead.post(f"/conversations/{conversation_id}/not-spam").status_code == 200
    assert _files_of(lead, ticket["id"]) == {"proof.pdf": PDF}


def test_delete_and_restore_keep_attachments(lead: Agent) -> None:
    ticket = _ticket(lead)
    _note_with(lead, ticket["conversation_ids"][0], ("scan.png", PNG, "image/png"))
    assert lead.delete(f"/tickets/{ticket['id']}").status_code == 200
    assert _files_of(lead, ticket["id"]) == {"scan.png": PNG}
    assert lead.post(f"/tickets/{ticket['id']}/restore").status_code == 200
    assert _files_of(lead, ticket["id"]) == {"scan.png": PNG}


def test_purge_removes_the_attachment_bytes_of_trash_and_spam_only(
    lead: Agent, clock: Clock, uow_factory: Factory, files_dir: Path, db_url: str
) -> None:
    clock.set(clock())
    trashed, spammed, live = _ticket(lead, "Trash"), _ticket(lead, "Spam"), _ticket(lead, "Live")
    ids = {}
    for ticket, name in ((trashed, "t.pdf"), (spammed, "s.pdf"), (live, "l.pdf")):
        note = _note_with(lead, ticket["conversation_ids"][0], (name, PDF, "application/pdf")).json()
        ids[name] = note["attachments"][0]["id"]
    with uow_factory() as uow:
        paths = {name: files_dir / uow.session.get(Attachment, ident).storage_key for name, ident in ids.items()}
    assert all(p.is_file() for p in paths.values())
    lead.delete(f"/tickets/{trashed['id']}")
    lead.post(f"/tickets/{spammed['id']}/spam", json={"conversation_ids": spammed["conversation_ids"]})

    clock.advance(days=91)
    with _factory_for(uow_factory, files_dir, db_url)() as uow:
        result = purge(uow=uow)
    assert (result.tickets, result.conversations) == (2, 1)
    assert not paths["t.pdf"].exists() and not paths["s.pdf"].exists() and paths["l.pdf"].is_file()
    assert lead.get(f"/attachments/{ids['t.pdf']}").status_code == 404
    assert lead.get(f"/attachments/{ids['l.pdf']}").content == PDF


def _factory_for(uow_factory: Factory, files_dir: Path, db_url: str, **extra: Any) -> Factory:
    with uow_factory() as probe:
        engine = probe.session.get_bind()
        clock = probe.clock
    sessions = make_session_factory(engine)  # type: ignore[arg-type]
    settings = mail_settings(db_url, files_dir, None, **extra)
    return lambda: UnitOfWork(sessions, settings=settings, clock=clock)


def test_database_store_keeps_the_bytes_in_the_database_and_purge_removes_them(
    lead: Agent, clock: Clock, uow_factory: Factory, tmp_path: Path, db_url: str
) -> None:
    clock.set(clock())
    ticket = _ticket(lead)
    factory = _factory_for(uow_factory, tmp_path, db_url, attachments_store="database")
    user, _ = create_user(uow_factory, "core@desk.example", password=None, permissions=("delete_tickets",))
    message_id = lead.get(f"/tickets/{ticket['id']}/conversations").json()[0]["messages"][0]["id"]
    with factory() as uow:
        [added] = add_attachments(uow=uow, actor=uow.session.get(User, user.id), message_id=message_id,
                                  uploads=[Upload("db.png", PNG)])
        key = added.storage_key
    with factory() as uow:
        assert DatabaseStore().get(uow, key) == PNG
    assert list(tmp_path.iterdir()) == []  # nothing on disk
    lead.delete(f"/tickets/{ticket['id']}")
    clock.advance(days=91)
    with factory() as uow:
        purge(uow=uow)
    with factory() as uow:
        assert uow.session.get(AttachmentBlob, key) is None
