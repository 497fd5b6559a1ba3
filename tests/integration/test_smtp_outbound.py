"""Replies leave as real email through a real SMTP server on 127.0.0.1 (aiosmtpd), on both databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from core.db import make_engine, make_session_factory
from core.mail import outbox, queue
from core.mail.outbound import NO_RECIPIENT, NOT_CONFIGURED
from core.models import AuditEvent, Message, User
from core.schemas import MessageIn
from core.tickets import add_message
from core.uow import UnitOfWork
from tests.smtp_support import PNG, SmtpSink, agent_on, customer_email, mail_settings, start_app, wait_for
from tests.support import Agent, Clock, LiveServer, free_port

Factory = Callable[[], UnitOfWork]


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mail_app(database: str, clock: Clock, sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory,
             ) -> Iterator[LiveServer]:
    server = start_app(mail_settings(database, tmp_path_factory.mktemp("files"), sink.port), clock)
    yield server
    server.stop()


@pytest.fixture
def desk(mail_app: LiveServer, uow_factory: Factory, sink: SmtpSink) -> Iterator[Agent]:
    """An agent on the mail-enabled app who may also post inbound email."""
    sink.reset()
    agent = agent_on(mail_app, uow_factory, "agent@desk.example", permissions=("account_access",))
    yield agent
    agent.client.close()


def _inbound(agent: Agent, raw: bytes) -> dict[str, Any]:
    response = agent.post("/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"})
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _reply(agent: Agent, conversation_id: int, text: str = "We are on our way.", **extra: Any) -> dict[str, Any]:
    response = agent.post(f"/conversations/{conversation_id}/messages",
                          json={"direction": "outgoing", "text": text, **extra})
    assert response.status_code == 201, response.text
    return dict(response.json())


def _settled(agent: Agent, message_id: int) -> dict[str, Any]:
    """The message once its delivery is over (sent or failed)."""
    def check() -> dict[str, Any] | None:
        body = agent.get(f"/messages/{message_id}").json()
        return body if body["delivery_status"] in ("sent", "failed") else None
    return wait_for(check, what=f"message {message_id} to be sent or fail")


def test_email_reply_leaves_with_message_id_in_reply_to_references_to_and_subject(desk: Agent, sink: SmtpSink) -> None:
    first = _inbound(desk, customer_email(message_id="<c1@shop.example>"))
    second = _inbound(desk, customer_email(subject="Re: Printer on fire", text="Still burning.",
                                           message_id="<c2@shop.example>", in_reply_to="<c1@shop.example>",
                                           references="<c1@shop.example>"))
    assert second["outcome"] == "threaded"
    reply = _reply(desk, first["conversation_id"])
    assert reply["delivery_status"] == "queued" and reply["delivery_error"] is None
    assert reply["email_message_id"].endswith("@desk.example>") and reply["in_reply_to"] == "<c2@shop.example>"

    done = _settled(desk, reply["id"])
    assert done["delivery_status"] == "sent" and done["sent_via_smtp_at"] and done["delivery_attempts"] == 1
    mail = sink.find(reply["email_message_id"])
    assert mail is not None, [m["Message-ID"] for m in sink.emails()]
    assert mail["In-Reply-To"] == "<c2@shop.example>"
    assert mail["References"].split() == ["<c1@shop.example>", "<c2@shop.example>"]
    assert getaddresses([mail["To"]]) == [("Casey Customer", "casey@shop.example")]
    assert mail["Subject"] == "Re: Printer on fire"
    assert parseaddr(mail["From"])[1] == "help@desk.example"
    assert mail.get_body(preferencelist=("plain",)).get_content().strip() == "We are on our way."
    assert sink.envelopes == [("help@desk.example", ["casey@shop.example"])]


def test_reply_carries_its_files_in_the_email(desk: Agent, sink: SmtpSink) -> None:
    first = _inbound(desk, customer_email())
    response = desk.post(f"/conversations/{first['conversation_id']}/messages/multipart",
                         data={"direction": "outgoing", "text": "The label you asked for."},
                         files=[("files", ("label.png", PNG, "application/octet-stream"))])
    assert response.status_code == 201, response.text
    reply = response.json()
    assert [(a["filename"], a["content_type"], a["size"]) for a in reply["attachments"]] == [
        ("label.png", "image/png", len(PNG))]
    assert _settled(desk, reply["id"])["delivery_status"] == "sent"
    mail = sink.find(reply["email_message_id"])
    assert mail is not None
    files = [(p.get_filename(), p.get_content_type(), p.get_content()) for p in mail.iter_attachments()]
    assert files == [("label.png", "image/png", PNG)]


def test_internal_note_is_never_sent(desk: Agent, sink: SmtpSink) -> None:
    first = _inbound(desk, customer_email())
    note = desk.post(f"/conversations/{first['conversation_id']}/messages",
                     json={"direction": "comment", "text": "Customer is on the VIP list."}).json()
    assert note["delivery_status"] is None and note["email_message_id"] is None
    reply = _reply(desk, first["conversation_id"])  # sent after the note: the queue has nothing else to do
    _settled(desk, reply["id"])
    assert [m["Message-ID"] for m in sink.emails()] == [reply["email_message_id"]]
    assert "VIP" not in sink.received[0].decode()


def test_smtp_451_leaves_the_reply_failed_with_its_error_then_retry_sends_it(desk: Agent, sink: SmtpSink) -> None:
    first = _inbound(desk, customer_email())
    sink.reply = "451 4.3.0 Mailbox busy, try again later"
    reply = _reply(desk, first["conversation_id"])
    failed = _settled(desk, reply["id"])
    assert failed["delivery_status"] == "failed" and failed["delivery_attempts"] == 3
    assert failed["delivery_error"].startswith("451") and "Mailbox busy" in failed["delivery_error"]
    assert sink.data_commands == 3 and sink.received == []
    conversation = desk.get(f"/tickets/{first['ticket_id']}/conversations").json()[0]
    assert reply["id"] in [m["id"] for m in conversation["messages"]]  # the reply is kept

    sink.reply = None
    retried = desk.post(f"/messages/{reply['id']}/retry")
    assert retried.status_code == 202, retried.text
    assert retried.json()["delivery_status"] == "queued" and retried.json()["delivery_attempts"] == 0
    sent = _settled(desk, reply["id"])
    assert sent["delivery_status"] == "sent" and sent["delivery_error"] is None
    assert sink.find(reply["email_message_id"]) is not None
    assert desk.post(f"/messages/{reply['id']}/retry").status_code == 422  # already sent


def test_permanent_smtp_refusal_fails_at_once_without_retrying(desk: Agent, sink: SmtpSink) -> None:
    first = _inbound(desk, customer_email())
    sink.reply = "550 5.1.1 No such user here"
    failed = _settled(desk, _reply(desk, first["conversation_id"])["id"])
    assert failed["delivery_status"] == "failed" and failed["delivery_attempts"] == 1
    assert failed["delivery_error"] == "550 5.1.1 No such user here"
    assert sink.data_commands == 1


def test_reply_without_a_customer_address_fails_with_the_reason(desk: Agent, sink: SmtpSink) -> None:
    ticket = desk.post("/tickets", json={"name": "Internal", "channel": "email",
                                         "messages": [{"direction": "comment", "text": "Just a note"}]}).json()
    failed = _settled(desk, _reply(desk, ticket["conversation_ids"][0])["id"])
    assert failed["delivery_status"] == "failed" and failed["delivery_error"] == NO_RECIPIENT
    assert sink.data_commands == 0


def test_follower_who_opted_in_gets_notifications_by_email_and_others_do_not(
    desk: Agent, sink: SmtpSink, mail_app: LiveServer, uow_factory: Factory
) -> None:
    # quiet's notification is written, queued and so handled first: once keen's email is out, quiet's turn is over.
    quiet = agent_on(mail_app, uow_factory, "quiet@desk.example")
    keen = agent_on(mail_app, uow_factory, "keen@desk.example")
    try:
        first = _inbound(desk, customer_email(message_id="<n1@shop.example>"))
        assert keen.put("/me/preferences", json={"email_notifications": True}).json() == {"email_notifications": True}
        for person in (quiet, keen):
            assert person.post(f"/tickets/{first['ticket_id']}/follow").status_code == 200
        _inbound(desk, customer_email(text="Any news?", message_id="<n2@shop.example>",
                                      in_reply_to="<n1@shop.example>"))
        mails = wait_for(lambda: [m for m in sink.emails() if m["To"] == "keen@desk.example"], what="notification")
        assert mails[0]["Subject"] == "[deskpilot] New message from the customer: Printer on fire"
        assert mails[0]["Auto-Submitted"] == "auto-generated"
        assert f"ticket #{first['ticket_id']}" in mails[0].get_content()
        assert all(m["To"] != "quiet@desk.example" for m in sink.emails())
    finally:
        keen.client.close()
        quiet.client.close()


# --- core level: the queue, with settings of the action that queued the reply --------------------


@pytest.fixture
def own_engine(database: str, db_url: str) -> Iterator[Engine]:
    """A separate engine, so this test owns its mail queue and stops it at the end."""
    engine = make_engine(database)
    yield engine
    found = queue.existing_queue(engine)
    if found is not None:
        found.stop()
        queue._queues.pop(id(engine), None)
    engine.dispose()


def _factory(engine: Engine, clock: Clock, tmp_path: Path, smtp_port: int | None, **extra: Any) -> Factory:
    settings = mail_settings(engine.url.render_as_string(hide_password=False), tmp_path, smtp_port, **extra)
    sessions = make_session_factory(engine)
    return lambda: UnitOfWork(sessions, settings=settings, clock=clock)


def _conversation_with_customer(factory: Factory) -> int:
    with factory() as uow:
        from core.inbound import ingest_raw_email

        return ingest_raw_email(uow=uow, actor=None, raw=customer_email()).conversation_id


@dataclass(frozen=True)
class Delivery:
    status: str | None
    error: str | None
    attempts: int
    message_id: str


def _status(factory: Factory, message_id: int) -> Delivery:
    with factory() as uow:
        message = uow.session.get(Message, message_id)
        assert message is not None
        return Delivery(message.delivery_status, message.delivery_error, message.delivery_attempts,
                        message.email_message_id or "")


def test_refused_connection_keeps_the_reply_with_its_error_and_a_retry_sends_it(
    own_engine: Engine, clock: Clock, tmp_path: Path, sink: SmtpSink, uow_factory: Factory
) -> None:
    sink.reset()
    user, _ = _user(uow_factory)
    closed = _factory(own_engine, clock, tmp_path, free_port())  # nothing listens there
    conversation_id = _conversation_with_customer(closed)
    with closed() as uow:
        actor = uow.session.get(User, user)
        reply_id = add_message(uow=uow, actor=actor, conversation_id=conversation_id,
                               data=MessageIn(direction="outgoing", text="On our way")).id
    failed = wait_for(lambda: (m := _status(closed, reply_id)).status == "failed" and m, what="failure")
    assert failed.attempts == 3
    assert "Could not deliver through 127.0.0.1" in (failed.error or "")
    with closed() as uow:
        events = uow.session.scalars(select(AuditEvent).where(AuditEvent.action == "message.delivery_failed")).all()
        assert [e.detail["message_id"] for e in events] == [reply_id]

    working = _factory(own_engine, clock, tmp_path, sink.port)
    with working() as uow:
        outbox.retry_delivery(uow=uow, actor=uow.session.get(User, user), message_id=reply_id)
    sent = wait_for(lambda: (m := _status(working, reply_id)).status == "sent" and m, what="sending")
    assert sent.error is None and sink.find(sent.message_id) is not None


def test_reply_queued_without_smtp_says_so_and_is_sent_by_the_rescan_once_smtp_is_configured(
    own_engine: Engine, clock: Clock, tmp_path: Path, sink: SmtpSink, uow_factory: Factory
) -> None:
    sink.reset()
    user, _ = _user(uow_factory)
    unconfigured = _factory(own_engine, clock, tmp_path, None)
    conversation_id = _conversation_with_customer(unconfigured)
    with unconfigured() as uow:
        reply_id = add_message(uow=uow, actor=uow.session.get(User, user), conversation_id=conversation_id,
                               data=MessageIn(direction="outgoing", text="Hello")).id
    waiting = _status(unconfigured, reply_id)
    assert (waiting.status, waiting.error, waiting.attempts) == ("queued", NOT_CONFIGURED, 0)

    # A restarted server with SMTP configured finds the waiting reply on its first scan.
    url = own_engine.url.render_as_string(hide_password=False)
    fresh = make_engine(url)
    stop = queue.start(fresh, mail_settings(url, tmp_path, sink.port, mail_queue_interval_seconds=3600), clock)
    try:
        wait_for(lambda: _status(unconfigured, reply_id).status == "sent", what="rescan to send")
    finally:
        stop()
        fresh.dispose()
    assert sink.find(waiting.message_id) is not None


def _user(uow_factory: Factory) -> tuple[int, str]:
    from tests.support import create_user

    user, token = create_user(uow_factory, "core@desk.example", password=None)
    return user.id, token


def test_server_startup_starts_its_mail_queue_and_shutdown_stops_it(
    database: str, clock: Clock, tmp_path: Path, sink: SmtpSink
) -> None:
    server = start_app(mail_settings(database, tmp_path, sink.port), clock)
    engine = server.server.config.app.state.deskpilot.engine
    try:
        started = queue.existing_queue(engine)
        assert started is not None and started._thread.is_alive()
    finally:
        server.stop()
    assert queue.existing_queue(engine) is None and not started._thread.is_alive()
