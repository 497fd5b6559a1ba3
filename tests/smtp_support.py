"""Helpers for the email tests: a real SMTP server on 127.0.0.1 that records or refuses mail, and a mail-enabled app."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, TypeVar

import httpx

from core.config import Settings
from core.uow import UnitOfWork
from tests.support import Agent, LiveServer, create_user, free_port

T = TypeVar("T")


class SmtpSink:
    """An aiosmtpd server (a real socket) that keeps what it receives, or answers every DATA with `reply`."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.reply: str | None = None
        self.data_commands = 0
        self.port = free_port()
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.data_commands += 1
        if self.reply is not None:
            return self.reply
        self.received.append(bytes(envelope.original_content or envelope.content))
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 2.0.0 OK"

    def start(self) -> SmtpSink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def reset(self) -> None:
        self.received.clear()
        self.envelopes.clear()
        self.reply = None
        self.data_commands = 0

    def emails(self) -> list[EmailMessage]:
        return [BytesParser(policy=policy.default).parsebytes(raw) for raw in self.received]  # type: ignore[misc]

    def find(self, message_id: str) -> EmailMessage | None:
        return next((m for m in self.emails() if m["Message-ID"] == message_id), None)


def wait_for(check: Callable[[], T], timeout: float = 15.0, what: str = "condition") -> T:
    """Poll until `check()` is truthy (background sending takes a moment)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last value {value!r}")
        time.sleep(0.05)


def mail_settings(database: str, tmp: Path, smtp_port: int | None, **extra: Any) -> Settings:
    """Settings for an app that sends through the test's SMTP server quickly (short backoff, no rescans)."""
    values: dict[str, Any] = {
        "database_url": database, "purge_interval_seconds": 0, "llm_max_retries": 0,
        "smtp_host": "127.0.0.1" if smtp_port else None, "smtp_port": smtp_port or 25,
        "smtp_from": "Help Desk <help@desk.example>", "smtp_retry_backoff": 0.05, "smtp_timeout": 5,
        "mail_queue_interval_seconds": 0, "attachments_dir": str(tmp), "max_attachment_bytes": 100_000,
    }
    return Settings(**(values | extra))


def start_app(settings: Settings, clock: Callable[[], datetime]) -> LiveServer:
    """The whole deskpilot app over real HTTP with these settings."""
    from plugin.app import create_app

    return LiveServer(create_app(settings, clock=clock)).start()


def agent_on(server: LiveServer, uow_factory: Callable[[], UnitOfWork], email: str, **kw: Any) -> Agent:
    """A user with a token and a client for `server` (close it with `agent.client.close()`)."""
    user, token = create_user(uow_factory, email, **kw)
    client = httpx.Client(base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return Agent(id=user.id, email=user.email, token=token, client=client)


def customer_email(subject: str = "Printer on fire", text: str = "The printer is on fire.", *,
                   message_id: str = "<c1@shop.example>", in_reply_to: str | None = None,
                   references: str | None = None, sender: str = "Casey Customer <casey@shop.example>",
                   files: tuple[tuple[str, bytes, str], ...] = ()) -> bytes:
    """A raw customer email; `files` are (name, bytes, declared type)."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "help@desk.example"
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    msg.set_content(text)
    for name, data, declared in files:
        maintype, _, subtype = declared.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg.as_bytes(policy=policy.SMTP)  # CRLF line ends, as on the wire


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
BINARY = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(200)  # a Windows executable's header
