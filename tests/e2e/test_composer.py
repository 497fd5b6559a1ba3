"""Replies and internal notes from the ticket thread in a real Chromium, against a real SMTP server:
delivery status (sent, failed with the reason, retry), attachments uploaded and downloaded."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from core.config import Settings
from core.db import make_engine, make_session_factory
from core.inbound import ingest_raw_email
from core.migrate import upgrade
from core.uow import UnitOfWork
from tests.e2e.conftest import SCREENSHOTS, Desk
from tests.smtp_support import PDF, SmtpSink, customer_email, mail_settings, wait_for
from tests.support import LiveServer, create_user

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    smtp = SmtpSink().start()
    yield smtp
    smtp.stop()


@pytest.fixture(scope="module")
def mail_desk(tmp_path_factory: pytest.TempPathFactory, sink: SmtpSink) -> Iterator[Desk]:
    """deskpilot on its own SQLite file, sending email through `sink`."""
    from plugin.app import create_app

    folder = tmp_path_factory.mktemp("mail-e2e")
    url = f"sqlite:///{folder / 'deskpilot.db'}"
    upgrade(url)
    settings: Settings = mail_settings(url, folder / "attachments", sink.port)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    live = LiveServer(create_app(settings)).start()
    site = Desk(url=live.url, uow=lambda: UnitOfWork(factory, settings=settings))
    user, _ = create_user(site.uow, "ada.admin@desk.example", super_admin=True)
    site.emails["admin"], site.ids["admin"] = user.email, user.id
    try:
        yield site
    finally:
        live.stop()
        engine.dispose()


@pytest.fixture
def tab(browser: Any, mail_desk: Desk) -> Iterator[Any]:
    context = browser.new_context(base_url=mail_desk.url, viewport={"width": 1280, "height": 800},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def email_ticket(desk: Desk, message_id: str, subject: str) -> int:
    with desk.uow() as uow:
        result = ingest_raw_email(uow=uow, actor=None, raw=customer_email(subject=subject, message_id=message_id))
    return int(result.ticket_id)


def sign_in_admin(page: Any, desk: Desk) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(desk.emails["admin"])
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/helpdesk")


def test_reply_with_a_file_is_emailed_and_shows_sent(tab: Any, mail_desk: Desk, sink: SmtpSink,
                                                      tmp_path: Path) -> None:
    sink.reset()
    ticket = email_ticket(mail_desk, "<e2e-1@shop.example>", "Invoice copy")
    invoice = tmp_path / "invoice.pdf"
    invoice.write_bytes(PDF)
    sign_in_admin(tab, mail_desk)
    tab.goto(f"/tickets/{ticket}")
    composer = tab.locator("#composer")
    expect(composer.get_by_role("radio", name="Reply to the customer")).to_be_checked()
    composer.get_by_label("Message", exact=True).fill("Here is the invoice you asked for.")
    composer.get_by_label("Attach files (optional)").set_input_files(str(invoice))
    composer.get_by_role("button", name="Send reply").click()
    expect(tab.locator("p.notice[role=status]")).to_have_text("Reply added.")
    reply = tab.locator(".message.outgoing").last
    expect(reply.locator(".message-body")).to_have_text("Here is the invoice you asked for.")
    expect(reply.get_by_role("link", name="invoice.pdf")).to_be_visible()
    email = wait_for(lambda: sink.emails(), what="the reply email")[0]
    assert email["Subject"] == "Re: Invoice copy" and email["In-Reply-To"] == "<e2e-1@shop.example>"
    assert [part.get_filename() for part in email.iter_attachments()] == ["invoice.pdf"]
    for _ in range(50):  # the queue sends after the commit; the page shows it on the next load
        tab.reload()
        if reply.locator("[data-delivery]").get_attribute("data-delivery") == "sent":
            break
        tab.wait_for_timeout(200)
    expect(reply.locator("[data-delivery]")).to_have_attribute("data-delivery", "sent")
    expect(reply.get_by_role("button", name=re.compile("^Retry"))).to_have_count(0)
    with tab.expect_download() as download:
        reply.get_by_role("link", name="invoice.pdf").click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "invoice.pdf" and saved.read_bytes() == PDF


def test_refused_reply_shows_failed_with_the_reason_then_retry_sends_it(tab: Any, mail_desk: Desk,
                                                                        sink: SmtpSink) -> None:
    sink.reset()
    sink.reply = "550 5.1.1 Mailbox unavailable"
    ticket = email_ticket(mail_desk, "<e2e-2@shop.example>", "Wrong address")
    sign_in_admin(tab, mail_desk)
    tab.goto(f"/tickets/{ticket}")
    tab.get_by_label("Message", exact=True).fill("Did you get this?")
    tab.get_by_role("button", name="Send reply").click()
    # the form's redirect must settle first: a reload while it is still navigating detaches the page
    expect(tab.locator("p.notice[role=status]")).to_have_text("Reply added.")
    reply = tab.locator(".message.outgoing").last
    wait_for(lambda: sink.data_commands >= 1, what="the refused attempt")
    for _ in range(50):
        tab.reload()
        if reply.locator("[data-delivery]").get_attribute("data-delivery") == "failed":
            break
        tab.wait_for_timeout(200)
    expect(reply.locator("[data-delivery]")).to_have_attribute("data-delivery", "failed")
    expect(reply.locator("[data-delivery-reason]")).to_contain_text("Mailbox unavailable")
    reply.evaluate("el => el.scrollIntoView({block: 'center'})")
    tab.screenshot(path=str(SCREENSHOTS / "ticket-reply-failed.png"))
    sink.reply = None
    reply.get_by_role("button", name=re.compile("^Retry sending the reply")).click()
    expect(tab.locator("p.notice[role=status]")).to_have_text("The reply is queued to be sent again.")
    wait_for(lambda: sink.emails(), what="the retried reply")
    for _ in range(50):
        tab.reload()
        if reply.locator("[data-delivery]").get_attribute("data-delivery") == "sent":
            break
        tab.wait_for_timeout(200)
    expect(reply.locator("[data-delivery]")).to_have_attribute("data-delivery", "sent")


def test_internal_note_is_not_emailed(tab: Any, mail_desk: Desk, sink: SmtpSink) -> None:
    sink.reset()
    ticket = email_ticket(mail_desk, "<e2e-3@shop.example>", "Note only")
    sign_in_admin(tab, mail_desk)
    tab.goto(f"/tickets/{ticket}")
    composer = tab.locator("#composer")
    composer.get_by_role("radio", name="Internal note (only agents see it)").check()
    expect(composer.get_by_role("button", name="Add note")).to_be_visible()
    composer.get_by_label("Message", exact=True).fill("Customer called; will send the serial number.")
    composer.get_by_role("button", name="Add note").click()
    expect(tab.locator("p.notice[role=status]")).to_have_text("Internal note added.")
    note = tab.locator(".message.comment").last
    expect(note.locator(".message-body")).to_have_text("Customer called; will send the serial number.")
    expect(note.locator("[data-delivery]")).to_have_count(0)
    tab.wait_for_timeout(500)
    assert sink.data_commands == 0, "notes are never sent"
