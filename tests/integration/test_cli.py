"""The deskpilot CLI against a real database: users create, import (jsonl and mbox), --help everywhere."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from core import users
from core.models import Message, Ticket
from core.uow import UnitOfWork
from plugin.cli import app

runner = CliRunner()

JSONL = [
    {"id": "c1", "subject": "[list] Kernel panic after upgrade", "messages": [
        {"from": "customer", "sender": "\"Kim Lee\" <kim@lab.example>", "sent_at": "2026-01-02T10:00:00+00:00",
         "text": "My box panics at boot since the upgrade.", "message_id": "<k1@lab.example>", "in_reply_to": None},
        {"from": "agent", "sender": "Helper <help@desk.example>", "sent_at": "2026-01-02T11:00:00+00:00",
         "text": "Try booting the previous kernel.", "message_id": "<k2@desk.example>",
         "in_reply_to": "<k1@lab.example>"}]},
    {"id": "c2", "subject": None, "messages": [
        {"from": "customer", "sender": "customer_7", "sent_at": "2026-01-03T09:00:00Z", "tweet_id": "1",
         "text": "@Brand my parcel never arrived"}]},
]

MBOX = (
    "From kim@lab.example Mon Jan  5 10:00:00 2026\n"
    "From: Kim Lee <kim@lab.example>\nSubject: Disk full\nMessage-ID: <m1@lab.example>\n\nThe disk is full.\n\n"
    "From kim@lab.example Mon Jan  5 11:00:00 2026\n"
    "From: Kim Lee <kim@lab.example>\nSubject: Re: Disk full\nMessage-ID: <m2@lab.example>\n"
    "In-Reply-To: <m1@lab.example>\n\nNow it is worse.\n\n"
    "From nobody Mon Jan  5 12:00:00 2026\n"
    "\x00\x01garbage without headers\n"
)


@pytest.fixture
def cli_env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DESKPILOT_DATABASE_URL", db_url)
    return db_url


def test_users_create_prints_token_as_last_line(cli_env: str, uow_factory: Callable[[], UnitOfWork]) -> None:
    result = runner.invoke(app, ["users", "create", "lee@desk.example", "--name", "Lee", "--permission",
                                 "delete_tickets", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    with uow_factory() as uow:
        user = users.authenticate_token(uow=uow, token=token)
        assert (user.email, user.delete_tickets, user.account_access) == ("lee@desk.example", True, False)
    again = runner.invoke(app, ["users", "create", "lee@desk.example"])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(app, ["users", "create", "x@desk.example", "--permission", "root"])
    assert bad.exit_code == 2


def test_import_jsonl_is_idempotent(cli_env: str, tmp_path: Path, uow_factory: Callable[[], UnitOfWork]) -> None:
    file = tmp_path / "threads.jsonl"
    file.write_text("\n".join(json.dumps(r) for r in JSONL) + "\n{broken json\n")
    first = runner.invoke(app, ["import", str(file)])
    assert first.exit_code == 0, first.output
    assert "Imported 2 tickets, 3 messages" in first.output and "skipped 1" in first.output
    second = runner.invoke(app, ["import", str(file)])
    assert "Imported 0 tickets" in second.output and "duplicates 2" in second.output
    with uow_factory() as uow:
        names = set(uow.session.scalars(select(Ticket.name)))
        assert names == {"[list] Kernel panic after upgrade", "@Brand my parcel never arrived"}
        chat = uow.session.scalar(select(Ticket).where(Ticket.channel == "chat"))
        assert chat is not None


def test_import_mbox_threads_replies(cli_env: str, tmp_path: Path, uow_factory: Callable[[], UnitOfWork]) -> None:
    file = tmp_path / "box.mbox"
    file.write_text(MBOX)
    result = runner.invoke(app, ["import", str(file)])
    assert result.exit_code == 0, result.output
    assert "Imported 1 tickets, 2 messages; threaded 1" in result.output
    with uow_factory() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Ticket)) == 1
        assert uow.session.scalar(select(func.count()).select_from(Message)) == 2


def test_import_refuses_unknown_format(cli_env: str, tmp_path: Path) -> None:
    file = tmp_path / "notes.txt"
    file.write_text("hello")
    result = runner.invoke(app, ["import", str(file)])
    assert result.exit_code == 2 and "expected a .jsonl or .mbox" in result.output


@pytest.mark.parametrize("command", [[], ["serve"], ["init"], ["demo"], ["users", "create"], ["import"], ["purge"]])
def test_every_command_has_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output
