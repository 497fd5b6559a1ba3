"""Email intake fuzzed with malformed MIME, broken charsets, huge headers and bodies: accepted or 4xx, never 500.

A hand-written corpus of nasty messages, then byte-level mutations of valid ones (hypothesis, derandomized).
Every accepted email must have become exactly one stored message.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable

import hypothesis
import pytest
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.models import Message
from core.uow import UnitOfWork
from tests.support import Agent

EXAMPLES = int(os.environ.get("DESKPILOT_FUZZ_EMAIL_EXAMPLES", "80"))
MAX_EMAIL_BYTES = 10_000_000  # the default DESKPILOT_MAX_EMAIL_BYTES


def email(headers: str = "", body: bytes | str = "Hello, my printer is on fire.", *, subject: str = "Help",
          message_id: str | None = "<fuzz-base@shop.example>") -> bytes:
    """A plain message with overridable parts (CRLF line ends, as on the wire)."""
    lines = ["From: Casey Customer <casey@shop.example>", "To: help@desk.example", f"Subject: {subject}",
             "Date: Mon, 2 Nov 2026 10:00:00 +0000"]
    if message_id is not None:
        lines.append(f"Message-ID: {message_id}")
    head = "\r\n".join(lines + ([headers] if headers else [])).encode("utf-8", "surrogateescape")
    raw_body = body if isinstance(body, bytes) else body.encode("utf-8", "surrogateescape")
    return head + b"\r\n\r\n" + raw_body


def multipart(parts: list[str], boundary: str = "b0undary", ctype: str = "multipart/mixed") -> bytes:
    body = "".join(f"--{boundary}\r\n{part}\r\n" for part in parts) + f"--{boundary}--\r\n"
    return email(f'MIME-Version: 1.0\r\nContent-Type: {ctype}; boundary="{boundary}"', body, message_id=None)


def nested(depth: int) -> bytes:
    inner = "Content-Type: text/plain\r\n\r\ndeep"
    for level in range(depth):
        b = f"n{level}"
        inner = f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n--{b}\r\n{inner}\r\n--{b}--'
    return email("MIME-Version: 1.0\r\n" + inner.split("\r\n\r\n", 1)[0], inner.split("\r\n\r\n", 1)[1],
                 message_id=None)


CORPUS: dict[str, bytes] = {
    "empty": b"",
    "only_newlines": b"\r\n\r\n\r\n",
    "nul_bytes": b"\x00" * 4096,
    "no_headers_just_text": b"hello there, no headers at all",
    "headers_no_body": email().split(b"\r\n\r\n")[0],
    "garbage_header_lines": b"::::\r\n: :\r\n\x00\xff: \xfe\r\n\r\nbody",
    "no_from": b"Subject: x\r\nMessage-ID: <nofrom@x>\r\n\r\nbody",
    "from_without_address": email().replace(b"Casey Customer <casey@shop.example>", b"<<<>>> @@ ,,, <>"),
    "from_display_name_5k": email().replace(b"Casey Customer", b"C" * 5000),
    "from_address_1k": email().replace(b"casey@shop.example", b"c" * 1000 + b"@" + b"s" * 300 + b".example"),
    "subject_100k": email(subject="S" * 100_000),
    "header_line_1mb": email("X-Huge: " + "h" * 1_000_000),
    "ten_thousand_headers": email("\r\n".join(f"X-H{n}: v" for n in range(10_000))),
    "message_id_5k": email(message_id="<" + "m" * 5000 + "@shop.example>"),
    "message_id_garbage": email(message_id="<<>> \x00 \xff"),
    "in_reply_to_5k": email("In-Reply-To: <" + "r" * 5000 + "@x>"),
    "references_10k_ids": email("References: " + " ".join(f"<r{n}@x>" for n in range(10_000))),
    "date_garbage": email().replace(b"Mon, 2 Nov 2026 10:00:00 +0000", b"Feb 31 99999 25:61:61 +9999"),
    "date_year_zero": email().replace(b"Mon, 2 Nov 2026 10:00:00 +0000", b"Sat, 1 Jan 0000 00:00:00 +0000"),
    "raw_8bit_headers": email().replace(b"Subject: Help", b"Subject: \xe9t\xe9 \xff\xfe caf\xc3"),
    "encoded_word_bad_b64": email(subject="=?utf-8?B?%%%%not-base64?="),
    "encoded_word_bogus_charset": email(subject="=?x-no-such-charset?Q?hello?="),
    "encoded_word_utf7": email(subject="=?utf-7?B?K0FHRUFhUUJq?="),
    "charset_unknown": email("Content-Type: text/plain; charset=x-bogus-9", "caf\xe9".encode("latin-1")),
    "charset_utf16_odd_bytes": email("Content-Type: text/plain; charset=utf-16", b"\xff\xfeh\x00i"),
    "charset_empty": email('Content-Type: text/plain; charset=""', "hello"),
    "ctype_garbage": email("Content-Type: ////;;;;=====", "x"),
    "base64_broken": email("Content-Transfer-Encoding: base64", "!!!! not base64 ====\r\n@@@"),
    "qp_broken": email("Content-Transfer-Encoding: quoted-printable", "=ZZ=\r\n=0=1=xx"),
    "cte_unknown": email("Content-Transfer-Encoding: x-rot13-ish", "uryyb"),
    "multipart_no_boundary": email("MIME-Version: 1.0\r\nContent-Type: multipart/mixed", "--x\r\n\r\nhi\r\n--x--"),
    "multipart_boundary_missing": email('MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="zz"',
                                        "no boundary lines in here"),
    "multipart_unterminated": email('Content-Type: multipart/mixed; boundary="u"', "--u\r\nContent-Type: text/plain"
                                    "\r\n\r\nstart but never end"),
    "multipart_empty_parts": multipart(["", "", ""]),
    "multipart_html_only_script": multipart(["Content-Type: text/html\r\n\r\n<script>alert(1)</script><b>hi</b>"],
                                            ctype="multipart/alternative"),
    "nested_300_levels": nested(300),
    "attachment_long_filename": multipart([
        "Content-Type: text/plain\r\n\r\nsee file",
        'Content-Type: text/plain; name="' + "f" * 1000 + '.txt"\r\nContent-Disposition: attachment; filename="'
        + "f" * 1000 + '.txt"\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=',
    ]),
    "attachment_disallowed_type": multipart([
        "Content-Type: text/plain\r\n\r\nsee file",
        'Content-Type: application/x-msdownload; name="evil.exe"\r\nContent-Disposition: attachment; '
        'filename="../../evil.exe"\r\nContent-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA',
    ]),
    "body_line_2mb_no_newline": email(body="x" * 2_000_000),
    "body_just_under_limit": email(body=b"y" * (MAX_EMAIL_BYTES - 1000)),
    "body_over_limit": email(body=b"z" * (MAX_EMAIL_BYTES + 10)),
    "lf_only_line_ends": email().replace(b"\r\n", b"\n"),
    "cr_only_line_ends": email().replace(b"\r\n", b"\r"),
}


def _post(agent: Agent, raw: bytes) -> int:
    response = agent.post("/inbound/email", content=raw, headers={"Content-Type": "message/rfc822"})
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 201) or 400 <= response.status_code < 500, response.status_code
    if response.status_code >= 400:
        assert response.json()["error"]["code"], response.text  # a clear error body, not a crash page
    return response.status_code


def _stored(uow_factory: Callable[[], UnitOfWork]) -> int:
    with uow_factory() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(Message)) or 0)


@pytest.mark.parametrize("name", list(CORPUS))
def test_malformed_email_is_accepted_or_refused_never_500(
    name: str, admin: Agent, uow_factory: Callable[[], UnitOfWork]
) -> None:
    status = _post(admin, CORPUS[name])
    assert _stored(uow_factory) == (1 if status == 201 else 0)
    if name == "body_over_limit":
        assert status == 413


BASES = [email(message_id=None), CORPUS["multipart_html_only_script"], CORPUS["attachment_disallowed_type"],
         email("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable",
               "caf=E9 =\r\nsoft break", message_id=None)]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A valid message with bytes inserted, deleted, replaced or repeated at random places."""
    raw = bytearray(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
        chunk = draw(st.sampled_from([b"\r\n", b"\x00", b":", b"=?", b"?=", b"--", b"boundary=", b";", b"\xff",
                                      b"\r\n\r\n", b"Content-Type: multipart/mixed; boundary=x\r\n", b"=\r\n"])
                     | st.binary(max_size=16))
        if kind == "insert":
            raw[at:at] = chunk
        elif kind == "delete":
            del raw[at:at + draw(st.integers(1, 32))]
        elif kind == "replace":
            raw[at:at + len(chunk)] = chunk
        else:
            raw[at:at] = bytes(raw[at:at + 64]) * draw(st.integers(2, 50))
    return bytes(raw)


def test_mutated_emails_are_accepted_or_refused_never_500(admin: Agent, uow_factory: Callable[[], UnitOfWork]) -> None:
    seen: Counter[int] = Counter()

    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    @hypothesis.given(raw=mutated() | st.binary(max_size=4096))
    def fuzz(raw: bytes) -> None:
        seen[_post(admin, raw)] += 1

    fuzz()
    # Accepted emails (201) and duplicates (200) each account for exactly one stored message.
    assert _stored(uow_factory) == seen[201]
    print(f"mutated emails: {sum(seen.values())} sent, statuses {dict(seen)}")
