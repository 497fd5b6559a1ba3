"""Import file readers: JSON Lines conversations and mbox mailboxes, with per-record skips."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.mail.importers import (
    ImportedConversation,
    ImportedMessage,
    SkippedRecord,
    count_records,
    detect_format,
    read_jsonl,
    read_mbox,
)
from core.mail.parse import ParsedEmail, parse_email

EMAIL_THREAD = {
    "id": "thread-1",
    "source": "mailing_list",
    "subject": "Printer offline",
    "category": "hardware",
    "messages": [
        {
            "from": "customer",
            "sender": '"Ana Gomez" <Ana@Example.COM>',
            "sent_at": "2024-03-01T09:00:00+01:00",
            "subject": "Printer offline",
            "message_id": "<q1@example.com>",
            "in_reply_to": None,
            "text": "The printer says offline.",
        },
        {
            "from": "agent",
            "sender": "Support Bot <help@desk.example>",
            "sent_at": "2024-03-01T09:30:00Z",
            "message_id": " <a1@desk.example> ",
            "in_reply_to": "<q1@example.com>",
            "text": "Please restart it.",
        },
    ],
}
CHAT = {
    "id": "chat-1",
    "source": "ibm_twitter_cdp",
    "subject": None,
    "messages": [
        {"from": "customer", "sender": "customer_1", "sent_at": None, "tweet_id": "1", "text": "@Brand help"},
        {"from": "agent", "sender": "Brand", "sent_at": "2020-03-19T14:40:52.000Z", "tweet_id": "2", "text": "Sure"},
    ],
}


def write_jsonl(tmp_path, lines: list[str]):
    path = tmp_path / "import.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def only_conversations(path) -> list[ImportedConversation]:
    records = list(read_jsonl(path))
    assert not [r for r in records if isinstance(r, SkippedRecord)]
    return records  # type: ignore[return-value]


def test_jsonl_customer_is_incoming_and_agent_is_outgoing(tmp_path):
    (conversation,) = only_conversations(write_jsonl(tmp_path, [json.dumps(EMAIL_THREAD)]))

    assert [m.direction for m in conversation.messages] == ["incoming", "outgoing"]
    assert conversation.external_id == "thread-1"
    assert conversation.channel == "email"
    assert conversation.category_hint == "hardware"
    assert conversation.subject == "Printer offline"


def test_jsonl_email_messages_keep_sender_times_subject_and_threading_ids(tmp_path):
    (conversation,) = only_conversations(write_jsonl(tmp_path, [json.dumps(EMAIL_THREAD)]))
    question, answer = conversation.messages

    assert (question.sender_name, question.sender_email) == ("Ana Gomez", "ana@example.com")
    assert question.sent_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert answer.sent_at == datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
    assert answer.subject == "Printer offline"  # falls back to the conversation subject
    assert (answer.message_id, answer.in_reply_to) == ("<a1@desk.example>", "<q1@example.com>")
    assert question.text == "The printer says offline." and question.html is None


def test_jsonl_twitter_records_become_chat_with_handles_and_no_address(tmp_path):
    (conversation,) = only_conversations(write_jsonl(tmp_path, [json.dumps(CHAT)]))

    assert conversation.channel == "chat"
    assert conversation.subject == ""
    assert [(m.sender_name, m.sender_email) for m in conversation.messages] == [("customer_1", ""), ("Brand", "")]
    assert conversation.messages[0].sent_at is None


@pytest.mark.parametrize(
    ("sender", "expected"),
    [
        ('"Peter Staunton" <peter@staunton.example>', ("Peter Staunton", "peter@staunton.example")),
        ("Bradley <BRAD@go.example>", ("Bradley", "brad@go.example")),
        ("carol@aol.example", ("", "carol@aol.example")),
        ("customer_42", ("customer_42", "")),
        ("Team  Support", ("Team Support", "")),
        (None, ("", "")),
    ],
)
def test_jsonl_sender_may_be_a_named_address_a_bare_address_or_a_handle(tmp_path, sender, expected):
    record = {"id": "x", "messages": [{"from": "customer", "sender": sender, "text": "hi"}]}
    (conversation,) = only_conversations(write_jsonl(tmp_path, [json.dumps(record)]))

    message = conversation.messages[0]
    assert (message.sender_name, message.sender_email) == expected


@pytest.mark.parametrize(
    ("sent_at", "expected"),
    [
        ("2020-03-19T11:20:37.000Z", datetime(2020, 3, 19, 11, 20, 37, tzinfo=UTC)),
        ("2002-08-22T23:06:27+01:00", datetime(2002, 8, 22, 22, 6, 27, tzinfo=UTC)),
        ("2002-08-22T23:06:27", datetime(2002, 8, 22, 23, 6, 27, tzinfo=UTC)),
        ("last tuesday", None),
        (1700000000, None),
    ],
)
def test_jsonl_timestamps_become_utc_aware_or_none(tmp_path, sent_at, expected):
    record = {"id": "x", "messages": [{"from": "customer", "sender": "a", "sent_at": sent_at, "text": "hi"}]}
    (conversation,) = only_conversations(write_jsonl(tmp_path, [json.dumps(record)]))

    assert conversation.messages[0].sent_at == expected


def test_jsonl_html_is_sanitised_and_text_derived_when_missing(tmp_path):
    html = '<p>Hi <a href="javascript:alert(1)">there</a></p><script>alert(2)</script>'
    record = {"id": "x", "messages": [{"from": "customer", "sender": "a@b.example", "html": html}]}
    (conversation,) = only_conversations(write_jsonl(tmp_path, [json.dumps(record)]))

    message = conversation.messages[0]
    assert message.html == '<p>Hi <a rel="noopener noreferrer nofollow">there</a></p>'
    assert message.text == "Hi there"


def test_jsonl_strings_lose_nul_and_lone_surrogates(tmp_path):
    line = '{"id": "x", "messages": [{"from": "customer", "sender": "a", "text": "nul\\u0000 half\\ud800"}]}'
    (conversation,) = only_conversations(write_jsonl(tmp_path, [line]))

    assert conversation.messages[0].text == "nul half?"


def test_jsonl_bad_lines_are_skipped_with_their_line_number_and_the_rest_imported(tmp_path):
    lines = [
        json.dumps(EMAIL_THREAD),
        "{not json",
        "",
        json.dumps(["a", "list"]),
        json.dumps({"id": "no-messages", "messages": []}),
        json.dumps({"id": "bad-role", "messages": [{"from": "robot", "text": "x"}]}),
        json.dumps({"id": "bad-text", "messages": [{"from": "customer", "text": 42}]}),
        json.dumps({"messages": [{"from": "customer", "text": "no id"}]}),
        json.dumps(CHAT),
    ]
    path = write_jsonl(tmp_path, lines)
    records = list(read_jsonl(path))

    imported = [r.external_id for r in records if isinstance(r, ImportedConversation)]
    skipped = {r.position: r.reason for r in records if isinstance(r, SkippedRecord)}
    assert imported == ["thread-1", "chat-1"]
    assert sorted(skipped) == [2, 4, 5, 6, 7, 8]
    assert skipped[2].startswith("not valid JSON")
    assert "message 1" in skipped[6] and '"from"' in skipped[6]
    assert '"text" must be a string' in skipped[7]
    assert count_records(path) == len(records) == 8  # the progress total matches what the reader yields


def test_jsonl_byte_order_mark_and_crlf_line_endings_are_accepted(tmp_path):
    path = tmp_path / "windows.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf" + json.dumps(CHAT).encode() + b"\r\n\r\n" + json.dumps(EMAIL_THREAD).encode() + b"\r\n"
    )

    assert [c.external_id for c in only_conversations(path)] == ["chat-1", "thread-1"]
    assert count_records(path) == 2


def test_jsonl_invalid_utf8_line_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"id": "\xff", "messages": []}\n' + json.dumps(CHAT).encode() + b"\n")
    records = list(read_jsonl(path))

    assert isinstance(records[0], SkippedRecord) and records[0].position == 1
    assert isinstance(records[1], ImportedConversation)


MBOX = (
    b"From ana@example.com Tue Jul  1 10:52:37 2003\n"
    b"From: Ana <ana@example.com>\nSubject: First\nMessage-ID: <1@example.com>\n"
    b"Date: Tue, 01 Jul 2003 10:52:37 +0200\n\nFirst body\n\n"
    b"From MAILER-DAEMON Tue Jul  1 10:53:00 2003\n"
    b"Subject: broken, no sender\n\nThis one has no From header\n\n"
    b"From bob@example.com Tue Jul  1 11:00:00 2003\n"
    b"From: Bob <bob@example.com>\nSubject: Re: First\nIn-Reply-To: <1@example.com>\n"
    b"Content-Type: text/html; charset=utf-8\n\n<p>Third <script>x()</script>body</p>\n"
)


def test_mbox_broken_message_is_skipped_and_the_others_are_parsed(tmp_path):
    path = tmp_path / "mail.mbox"
    path.write_bytes(MBOX)
    records = list(read_mbox(path))

    assert [type(r) for r in records] == [ParsedEmail, SkippedRecord, ParsedEmail]
    first, skipped, third = records
    assert (first.subject, first.from_email, first.text) == ("First", "ana@example.com", "First body")
    assert skipped.position == 2 and "From" in skipped.reason
    assert third.in_reply_to == "<1@example.com>"
    assert third.html == "<p>Third body</p>" and third.text == "Third body"
    assert count_records(path) == 3


def test_mbox_oversize_message_is_skipped_not_fatal(tmp_path):
    path = tmp_path / "mail.mbox"
    path.write_bytes(MBOX)
    records = list(read_mbox(path, max_bytes=130))  # messages are 121, 56 and 154 bytes

    assert [r.position for r in records if isinstance(r, SkippedRecord)] == [2, 3]
    assert "limit is 130 bytes" in records[2].reason


def test_mbox_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_mbox(tmp_path / "absent.mbox"))


@pytest.mark.parametrize(("name", "expected"), [("a.jsonl", "jsonl"), ("A.NDJSON", "jsonl"), ("box.mbox", "mbox")])
def test_detect_format_follows_the_extension(name, expected):
    assert detect_format(name) == expected


def test_detect_format_rejects_unknown_extensions():
    with pytest.raises(ValueError, match="jsonl or .mbox"):
        detect_format("export.csv")


def test_imported_message_from_parsed_email_copies_the_fields():
    parsed = parse_email(b"From: Ana <ana@example.com>\nSubject: Hi\nMessage-ID: <1@x>\n\nBody")
    message = ImportedMessage.from_parsed(parsed, direction="outgoing")

    assert message == ImportedMessage(
        direction="outgoing",
        sender_name="Ana",
        sender_email="ana@example.com",
        subject="Hi",
        text="Body",
        html=None,
        sent_at=None,
        message_id="<1@x>",
        in_reply_to=None,
    )
