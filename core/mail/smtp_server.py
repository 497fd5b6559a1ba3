"""Inbound SMTP (aiosmtpd): mail is taken in by the same intake as POST /inbound/email, with clear SMTP errors.

Also a printing sink for demos: `deskpilot mail-sink` shows what deskpilot would have sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from email import policy
from email.parser import BytesParser
from typing import Any, TextIO

from core.errors import InvalidEmail, PayloadTooLarge
from core.uow import UnitOfWork

log = logging.getLogger("deskpilot.mail")
MAX_REPLY_CHARS = 400


def _one_line(text: str) -> str:
    return " ".join(text.split())[:MAX_REPLY_CHARS]


def _content(envelope: Any) -> bytes:
    raw = envelope.original_content or envelope.content or b""
    return raw if isinstance(raw, bytes) else str(raw).encode("utf-8", "surrogateescape")


class IntakeHandler:
    """aiosmtpd handler: each message becomes a ticket or threads into its conversation (actor: none)."""

    def __init__(self, uow_factory: Callable[[], UnitOfWork]) -> None:
        self.uow_factory = uow_factory

    def ingest(self, raw: bytes) -> str:
        """Take one raw message in; returns the SMTP reply line."""
        from core.inbound import ingest_raw_email

        try:
            with self.uow_factory() as uow:
                result = ingest_raw_email(uow=uow, actor=None, raw=raw)
        except PayloadTooLarge as exc:
            return f"552 5.3.4 {_one_line(exc.message)}"
        except InvalidEmail as exc:
            return f"554 5.6.0 {_one_line(exc.message)}"
        except Exception:  # the sender keeps the mail and tries again later: nothing is lost
            log.exception("inbound SMTP: intake failed")
            return "451 4.3.0 deskpilot could not take the message in right now; try again later"
        where = f"ticket {result.ticket_id}" if result.ticket_id else f"conversation {result.conversation_id}"
        return f"250 2.0.0 OK: {result.outcome}, {where}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        return await asyncio.get_running_loop().run_in_executor(None, self.ingest, _content(envelope))


class PrintingHandler:
    """aiosmtpd handler for demos: prints each email's envelope, threading headers and text."""

    def __init__(self, out: TextIO) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        msg = BytesParser(policy=policy.default).parsebytes(_content(envelope))
        lines = [f"--- mail from {envelope.mail_from} to {', '.join(envelope.rcpt_tos)}"]
        for name in ("From", "To", "Subject", "Date", "Message-ID", "In-Reply-To", "References"):
            if msg[name]:
                lines.append(f"{name}: {msg[name]}")
        body = msg.get_body(preferencelist=("plain", "html"))
        lines += ["", body.get_content().rstrip() if body is not None else "(no text)"]
        files = [part.get_filename() or "attachment" for part in msg.iter_attachments()]
        if files:
            lines.append(f"[attachments: {', '.join(files)}]")
        print("\n".join(lines) + "\n", file=self.out, flush=True)
        return "250 2.0.0 OK: printed"


def make_controller(handler: Any, *, host: str, port: int, max_bytes: int) -> Any:
    """An aiosmtpd server on its own thread (call `.start()` / `.stop()`); mail over `max_bytes` gets 552."""
    from aiosmtpd.controller import Controller

    return Controller(handler, hostname=host, port=port, data_size_limit=max_bytes, ident="deskpilot",
                      enable_SMTPUTF8=True)
