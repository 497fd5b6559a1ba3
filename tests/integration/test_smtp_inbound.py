"""Mail comes in over SMTP (aiosmtpd, real sockets) into the same intake as POST /inbound/email, both databases."""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from core.attachments import read_bytes
from core.db import make_session_factory
from core.mail.smtp_server import IntakeHandler, make_controller
from core.models import AuditEvent, Conversation, Message, Ticket, User
from core.schemas import MessageIn
from core.tickets import add_message
from core.uow import UnitOfWork
from tests.smtp_support import BINARY, PDF, PNG, customer_email, mail_settings, wait_for
from tests.support import Clock, create_user, free_port

Factory = Callable[[], UnitOfWork]


@pytest.fixture
def mail_factory(db_url: str, engine: Engine, clock: Clock, tmp_path: Path) -> Factory:
    """Units of work whose settings keep attachments in a temporary directory and allow 40 kB emails."""
    settings = mail_settings(db_url, tmp_path / "files", None, max_email_bytes=40_000, max_attachment_bytes=5_000)
    sessions = make_session_factory(engine)
    return lambda: UnitOfWork(sessions, settings=settings, clock=clock)


@pytest.fixture
def intake(mail_factory: Factory) -> Iterator[int]:
    """The `mail-server` handler on a free port of 127.0.0.1; yields the port."""
    port = free_port()
    controller = make_controller(IntakeHandler(mail_factory), host="127.0.0.1", port=port, max_bytes=40_000)
    controller.start()
    yield port
    controller.stop()


def _send(port: int, raw: bytes, sender: str = "casey@shop.example") -> Any:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(sender, ["help@desk.example"], raw)


def _messages(factory: Factory) -> list[tuple[int, str, str | None, int | None]]:
    with factory() as uow:
        rows = uow.session.execute(
            select(Message.conversation_id, Message.direction, Message.email_message_id, Conversation.ticket_id)
            .join(Conversation, Message.conversation_id == Conversation.id).order_by(Message.id)).tuples().all()
        return list(rows)


def test_customer_reply_over_smtp_threads_into_the_same_conversation(
    intake: int, mail_factory: Factory, uow_factory: Factory
) -> None:
    _send(intake, customer_email(message_id="<first@shop.example>"))
    [(conversation_id, _, _, ticket_id)] = _messages(mail_factory)
    user, _ = create_user(uow_factory, "agent@desk.example", password=None)
    with mail_factory() as uow:
        reply = add_message(uow=uow, actor=uow.session.get(User, user.id), conversation_id=conversation_id,
                            data=MessageIn(direction="outgoing", text="Fixed it."))
        our_id = reply.email_message_id
        uow.session.get(Ticket, ticket_id).unread = False  # type: ignore[union-attr]
        uow.commit()
    assert our_id
    # The customer's mail client answers our reply: In-Reply-To and References carry our Message-ID.
    _send(intake, customer_email(subject="Re: Printer on fire", text="Thanks!", message_id="<third@shop.example>",
                                 in_reply_to=our_id, references=f"<first@shop.example> {our_id}"))
    rows = _messages(mail_factory)
    assert [(c, d, i) for c, d, i, _ in rows] == [
        (conversation_id, "incoming", "<first@shop.example>"), (conversation_id, "outgoing", our_id),
        (conversation_id, "incoming", "<third@shop.example>")]
    with mail_factory() as uow:
        assert uow.session.get(Ticket, ticket_id).unread is True  # type: ignore[union-attr]


def test_mail_over_the_size_limit_is_refused_with_552(intake: int, mail_factory: Factory) -> None:
    big = customer_email(text=("x" * 70 + "\n") * 900)
    with pytest.raises((smtplib.SMTPSenderRefused, smtplib.SMTPDataError)) as refused:
        _send(intake, big)
    assert refused.value.smtp_code == 552
    with smtplib.SMTP("127.0.0.1", intake, timeout=10) as client:  # a client that does not declare SIZE
        client.ehlo()
        client.esmtp_features.pop("size", None)
        with pytest.raises(smtplib.SMTPDataError) as too_much:
            client.sendmail("casey@shop.example", ["help@desk.example"], big)
    assert too_much.value.smtp_code == 552
    assert _messages(mail_factory) == []


def test_unparseable_mail_is_refused_with_554_and_names_the_problem(intake: int, mail_factory: Factory) -> None:
    with pytest.raises(smtplib.SMTPDataError) as refused:
        _send(intake, b"Subject: no sender here\r\n\r\nWho sent this?\r\n")
    assert refused.value.smtp_code == 554
    assert b"From" in refused.value.smtp_error
    assert _messages(mail_factory) == []


def test_intake_failure_is_a_temporary_451_so_the_sender_keeps_the_mail(tmp_path: Path, db_url: str) -> None:
    from core.db import make_engine

    empty = make_engine(f"sqlite:///{tmp_path / 'no-schema.db'}")  # no tables: every intake fails
    settings = mail_settings(db_url, tmp_path, None)
    handler = IntakeHandler(lambda: UnitOfWork(make_session_factory(empty), settings=settings))
    port = free_port()
    controller = make_controller(handler, host="127.0.0.1", port=port, max_bytes=40_000)
    controller.start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as later:
            _send(port, customer_email())
        assert later.value.smtp_code == 451
    finally:
        controller.stop()
        empty.dispose()


def test_inbound_attachments_are_kept_and_refused_ones_dropped_and_named(intake: int, mail_factory: Factory) -> None:
    files = (("photo.png", PNG, "image/png"), ("invoice.pdf", PDF, "application/octet-stream"),
             ("setup.exe", BINARY, "application/octet-stream"), ("huge.pdf", PDF + b"0" * 6_000, "application/pdf"))
    _send(intake, customer_email(files=files))
    with mail_factory() as uow:
        message = uow.session.scalars(select(Message)).one()
        kept = [(a.filename, a.content_type, a.size) for a in message.attachments]
        detail = uow.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "ticket.created")).one()
        assert read_bytes(uow, message.attachments[0]) == PNG
    assert kept == [("photo.png", "image/png", len(PNG)), ("invoice.pdf", "application/pdf", len(PDF))]
    dropped = {d["filename"]: d["reason"] for d in detail["attachments_dropped"]}
    assert set(dropped) == {"setup.exe", "huge.pdf"}
    assert "application/octet-stream" in dropped["setup.exe"] and "limit is 5,000 bytes" in dropped["huge.pdf"]


def test_mail_server_command_takes_mail_into_the_help_desk(db_url: str, uow_factory: Factory, tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DESKPILOT_DATABASE_URL": db_url, "DESKPILOT_ATTACHMENTS_DIR": str(tmp_path),
           "DESKPILOT_MAIL_QUEUE_INTERVAL_SECONDS": "0"}
    command = [sys.executable, "-c", "from plugin.cli import main; main()", "mail-server", "--host", "127.0.0.1",
               "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline()
        assert f"smtp://127.0.0.1:{port}" in banner, banner
        reply = _send(port, customer_email(subject="Over SMTP", message_id="<cli@shop.example>"))
        assert reply == {}
    finally:
        process.terminate()
        process.wait(timeout=10)

    def ticket_names() -> list[str]:
        with uow_factory() as uow:
            return list(uow.session.scalars(select(Ticket.name)))

    assert wait_for(ticket_names, what="the ticket") == ["Over SMTP"]


def test_parsed_email_keeps_forwarded_mail_and_inline_images_as_files() -> None:
    from email.message import EmailMessage

    from core.mail.parse import parse_email

    inner = EmailMessage()
    inner["From"] = "boss@shop.example"
    inner["Subject"] = "Original"
    inner.set_content("The original message")
    outer = EmailMessage()
    outer["From"] = "casey@shop.example"
    outer["Subject"] = "Fwd: Original"
    outer.set_content("See below")
    outer.add_related(PNG, maintype="image", subtype="png", cid="<logo>")  # inline, no file name
    outer.add_attachment(inner, filename="original.eml")
    parsed = parse_email(outer.as_bytes())
    assert parsed.text == "See below"
    files = {(a.filename, a.declared_type): a.data for a in parsed.attachments}
    assert files[("attachment", "image/png")] == PNG
    assert b"The original message" in files[("original.eml", "message/rfc822")]


def test_mail_sink_prints_each_email_with_its_threading_headers() -> None:
    import io

    from core.mail.smtp_server import PrintingHandler

    out = io.StringIO()
    port = free_port()
    controller = make_controller(PrintingHandler(out), host="127.0.0.1", port=port, max_bytes=1_000_000)
    controller.start()
    try:
        _send(port, customer_email(message_id="<sink@shop.example>", in_reply_to="<x@desk.example>",
                                   files=(("a.pdf", PDF, "application/pdf"),)))
    finally:
        controller.stop()
    printed = out.getvalue()
    for line in ("Subject: Printer on fire", "Message-ID: <sink@shop.example>", "In-Reply-To: <x@desk.example>",
                 "The printer is on fire.", "[attachments: a.pdf]"):
        assert line in printed, printed
