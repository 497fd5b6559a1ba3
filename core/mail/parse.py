"""Parse raw RFC 822 email into a `ParsedEmail` and sanitise its HTML. Pure: no I/O, no database.

Inbound mail is hostile input: `parse_email` raises only `InvalidEmail` or `PayloadTooLarge`, and every
string it returns is safe to store (no NULs or lone surrogates, cut to the `core.models.Message` columns).
"""

from __future__ import annotations

import codecs
import html as html_lib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email import errors as email_errors
from email import policy
from email.header import decode_header
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

import nh3

from core.errors import InvalidEmail, PayloadTooLarge

DEFAULT_MAX_BYTES = 10_000_000
MAX_ID_CHARS = 998  # Message.email_message_id / in_reply_to columns
MAX_SUBJECT_CHARS = 998
MAX_NAME_CHARS = 200
MAX_ADDRESS_CHARS = 320
MAX_REFERENCES = 100  # threading only needs the newest ids; a hostile header could list thousands
MAX_MIME_PARTS = 500
MAX_MIME_HEADER_BYTES = 8_192
_MAX_TEXT_HEADER_CHARS = 8_192
_MAX_ADDRESS_HEADER_CHARS = 16_384  # enough for ~1,000 recipients; longer is only read in part
MAX_ATTACHMENTS = 100
_MAX_MIME_DEPTH = 30


@dataclass(frozen=True)
class ParsedAttachment:
    """A file carried by an email: its name and bytes (the declared type is a hint only, never trusted)."""

    filename: str
    declared_type: str
    data: bytes


@dataclass(frozen=True)
class ParsedEmail:
    """One inbound email, decoded and sanitised."""

    message_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    subject: str
    from_name: str
    from_email: str
    to: tuple[str, ...]
    sent_at: datetime | None
    text: str
    html: str | None
    attachments: tuple[ParsedAttachment, ...] = ()


def parse_email(raw: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedEmail:
    """Parse one raw RFC 822 message; raise only `InvalidEmail` or `PayloadTooLarge` (bytes or MIME parts)."""
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InvalidEmail("An email must be given as raw bytes.")
    data = bytes(raw)
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"The email is {len(data):,} bytes; the limit is {max_bytes:,} bytes.", limit=max_bytes, size=len(data)
        )
    _check_mime_limits(data)
    try:
        return _parse(data)
    except InvalidEmail:
        raise
    except Exception as exc:  # hostile input must never surface as anything but a domain error
        raise InvalidEmail(f"The email could not be parsed ({type(exc).__name__}).") from exc


def _check_mime_limits(data: bytes) -> None:
    # Bound the parser's work before it starts, so one crafted message cannot hold a worker for minutes.
    mime_headers = re.findall(rb"(?im)^content-(?:type|disposition):[^\n]*(?:\n[ \t][^\n]*)*", data)
    parts = sum(1 for h in mime_headers if h[8:9] in b"tT")
    if parts > MAX_MIME_PARTS:
        raise PayloadTooLarge(
            f"The email has {parts:,} MIME parts; the limit is {MAX_MIME_PARTS:,}.", limit=MAX_MIME_PARTS, parts=parts
        )
    if any(len(h) > MAX_MIME_HEADER_BYTES for h in mime_headers):
        raise InvalidEmail(
            f"The email has a Content-Type or Content-Disposition longer than {MAX_MIME_HEADER_BYTES:,} bytes."
        )


def thread_keys(parsed: ParsedEmail) -> list[str]:
    """Message ids to look up for threading: In-Reply-To first, then References newest first."""
    candidates = [parsed.in_reply_to, *reversed(parsed.references)]
    keys: list[str] = []
    for key in candidates:
        if key and key != parsed.message_id and key not in keys:
            keys.append(key)
    return keys


def normalize_message_id(value: str | None) -> str | None:
    """The first message id in a header value, as `<id>` without whitespace, or None."""
    ids = _message_ids(value)
    return ids[0] if ids else None


def _parse(raw: bytes) -> ParsedEmail:
    raw = raw.lstrip(b"\r\n")
    if not raw.strip():
        raise InvalidEmail("The email is empty.")
    separator = re.search(rb"\r?\n\r?\n", raw)
    head = raw[: separator.start()] if separator else raw
    if b"\x00" in head:
        raise InvalidEmail("This is not an email: its header section contains binary data.")
    # MIME structure comes from the compat32 parser: policy.default re-parses structured headers on every
    # access and was 20-100x slower on crafted multiparts (499 parts: 250 s against 2 s), and it crashes on
    # some malformed parameters. Headers are decoded below, addresses with policy.default's header parser.
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    return _extract(msg, has_separator=separator is not None)


def _extract(msg: Message, *, has_separator: bool) -> ParsedEmail:
    if not msg.keys():
        raise InvalidEmail("This is not an email: it has no header section.")
    from_name, from_email = _sender(msg)
    if not has_separator and not any(isinstance(d, email_errors.MissingHeaderBodySeparatorDefect) for d in msg.defects):
        raise InvalidEmail("The email has a header section only (no blank line, no body); it may be truncated.")

    texts: list[str] = []
    htmls: list[str] = []
    _collect_bodies(msg, texts, htmls, depth=0)
    if not texts and not htmls and not msg.is_multipart() and msg.get_content_maintype() == "multipart":
        texts.append(_payload_text(msg))  # a multipart without a usable boundary: keep the raw body
    html = sanitize_html("\n".join(htmls)) if htmls else None
    text = _clean_text("\n".join(t for t in texts if t.strip()))
    if not text and html:
        text = html_to_text(html)

    references = _message_ids(_raw_header(msg, "References"))[-MAX_REFERENCES:]
    return ParsedEmail(
        message_id=normalize_message_id(_raw_header(msg, "Message-ID")),
        in_reply_to=normalize_message_id(_raw_header(msg, "In-Reply-To")),
        references=tuple(dict.fromkeys(references)),
        subject=_header_text(msg, "Subject")[:MAX_SUBJECT_CHARS],
        from_name=from_name,
        from_email=from_email,
        to=tuple(dict.fromkeys(addr.lower() for _, addr in _addresses(msg, "To") if _is_address(addr))),
        sent_at=_sent_at(msg),
        text=text,
        html=html or None,
        attachments=tuple(_collect_attachments(msg)),
    )


# --- headers ---------------------------------------------------------------------------------------


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return _fix_surrogates(re.sub(r"\r?\n", "", str(value)))
    return None


def _header_text(msg: Message, name: str) -> str:
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    raw = raw[:_MAX_TEXT_HEADER_CHARS]  # decoding is superlinear; the stored value is cut far shorter anyway
    if "=?" not in raw:
        return _clean_header(raw)
    try:  # RFC 2047 words, each decoded with the same forgiving charset chain as bodies
        decoded = "".join(
            part if isinstance(part, str) else _decode_bytes(part, charset) for part, charset in decode_header(raw)
        )
    except Exception:  # e.g. broken base64 in an encoded word: show the header as it came
        decoded = raw
    return _clean_header(decoded)


def _addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    raw = _raw_header(msg, name)
    if not raw:
        return []
    pairs: list[tuple[str, str]] = []
    try:
        if len(raw) <= _MAX_ADDRESS_HEADER_CHARS:  # the structured parser is superlinear in the length
            header = policy.default.header_factory(name.lower(), raw)
            pairs = [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())]
    except Exception:  # the structured parser crashes on some malformed lists: fall back to the lenient one
        pairs = []
    if not any(_is_address(addr) for _, addr in pairs):
        pairs = getaddresses([_clean_header(raw[:_MAX_ADDRESS_HEADER_CHARS])])
    return pairs


def _sender(msg: Message) -> tuple[str, str]:
    for name, addr in _addresses(msg, "From"):
        if _is_address(addr):
            return _clean_header(name)[:MAX_NAME_CHARS], _clean_header(addr).lower()
    raise InvalidEmail("The email has no valid From address.")


def _is_address(addr: str) -> bool:
    local, at, domain = addr.rpartition("@")
    return bool(at and local and domain) and len(addr) <= MAX_ADDRESS_CHARS and not re.search(r"[\s<>\x00-\x1f]", addr)


def _message_ids(value: str | None) -> list[str]:
    if not value:
        return []
    found = [re.sub(r"\s+", "", m) for m in re.findall(r"<([^<>]*)>", value)]
    if not found:  # some mailers omit the angle brackets
        found = [token.strip(",;") for token in value.split() if "@" in token]
    return [f"<{i}>" for i in found if i and len(i) + 2 <= MAX_ID_CHARS and not re.search(r"[\x00-\x1f\x7f]", i)]


def _sent_at(msg: Message) -> datetime | None:
    try:
        value = parsedate_to_datetime(_header_text(msg, "Date"))
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except Exception:  # unparsable or out-of-range dates are simply unknown
        return None


# --- bodies ----------------------------------------------------------------------------------------


def _collect_bodies(part: Message, texts: list[str], htmls: list[str], *, depth: int) -> None:
    if depth > _MAX_MIME_DEPTH or part.get_content_disposition() == "attachment":
        return
    if part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                _collect_bodies(sub, texts, htmls, depth=depth + 1)
        return
    content_type = part.get_content_type()
    if content_type == "text/plain":
        texts.append(_payload_text(part))
    elif content_type == "text/html":
        htmls.append(_payload_text(part))


def _collect_attachments(msg: Message) -> list[ParsedAttachment]:
    found: list[ParsedAttachment] = []

    def walk(part: Message, depth: int) -> None:
        if depth > _MAX_MIME_DEPTH or len(found) >= MAX_ATTACHMENTS:
            return
        content_type = part.get_content_type()
        is_attachment = part.get_content_disposition() == "attachment"
        if content_type == "message/rfc822" and is_attachment:  # a forwarded email travels as an .eml file
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                found.append(ParsedAttachment(_filename(part) or "forwarded.eml", content_type, inner[0].as_bytes()))
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    walk(sub, depth + 1)
            return
        # Bodies are text parts that are not marked as attachments; every other leaf part is a file.
        if is_attachment or part.get_content_maintype() != "text":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                found.append(ParsedAttachment(_filename(part) or "attachment", content_type, payload))

    try:
        walk(msg, 0)
    except Exception:  # a broken attachment must not cost the customer's message: keep what was found
        pass
    return found


def _filename(part: Message) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # malformed RFC 2231 parameters
        name = ""
    if "=?" in name:
        try:
            name = "".join(p if isinstance(p, str) else _decode_bytes(p, c) for p, c in decode_header(name))
        except Exception:
            pass
    return _clean_header(str(name))[:MAX_NAME_CHARS]


def _payload_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return _decode_bytes(payload, charset)


def _decode_bytes(data: bytes, charset: str | None) -> str:
    # Declared charset, UTF-8, the declared one with replacements, Windows-1252, and Latin-1 (never fails).
    declared = _text_codec(charset)
    attempts = [("cp1252", "strict")] if declared == "iso8859-1" else []  # mailers label Windows-1252 Latin-1
    attempts += [(codec, "strict") for codec in (declared, "utf-8") if codec]
    attempts += [(declared, "replace")] if declared else []
    for codec, errors in [*attempts, ("cp1252", "strict")]:
        try:
            return data.decode(codec, errors)
        except (UnicodeError, LookupError):
            continue
    return data.decode("latin-1")


def _text_codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        name = codecs.lookup(charset.strip().strip("\"'")).name
        b"a".decode(name)  # rejects bytes-to-bytes codecs such as base64 or zlib
    except UnicodeError:
        pass  # a text codec that merely dislikes this sample (utf-16, ...)
    except (LookupError, ValueError, TypeError):
        return None
    return name


# --- strings ---------------------------------------------------------------------------------------


def _fix_surrogates(value: str) -> str:
    # 8-bit bytes in headers arrive as surrogate escapes: read them as UTF-8, else as Latin-1.
    if not re.search("[\ud800-\udfff]", value):
        return value
    try:
        return value.encode("utf-8", "surrogateescape").decode("utf-8")
    except UnicodeError:
        fixed = re.sub("[\udc80-\udcff]", lambda m: chr(ord(m.group()) - 0xDC00), value)
        return re.sub("[\ud800-\udfff]", "\ufffd", fixed)


def _clean_header(value: str) -> str:
    return re.sub(r"[\s\x00-\x1f\x7f]+", " ", _fix_surrogates(value)).strip()


def _clean_text(value: str) -> str:
    value = _fix_surrogates(value).replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value).strip()


# --- HTML ------------------------------------------------------------------------------------------

_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
_CLEAN_CONTENT_TAGS = set(
    "script style title iframe object embed noscript template svg math textarea select button head".split()
)
_ATTRIBUTES = {tag: set(attrs) - {"cite"} for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()}
_ATTRIBUTES["a"] = {"href", "title"}
_ATTRIBUTES["img"] = {"src", "alt", "title", "width", "height", "align"}
_ATTRIBUTES["table"] = _ATTRIBUTES.get("table", set()) | {"border", "cellpadding", "cellspacing", "width"}
_LINK = re.compile(r"\s*(https?://|mailto:)", re.IGNORECASE)
_INLINE_IMAGE = re.compile(r"\s*(cid:|data:image/)", re.IGNORECASE)


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value.strip() if _LINK.match(value) else None
    if attribute == "src":  # remote images are tracking beacons; only embedded ones stay
        return value.strip() if tag == "img" and _INLINE_IMAGE.match(value) else None
    return value


def sanitize_html(html: str) -> str:
    """Safe HTML for display: no scripts, handlers, styles, frames, forms or remote loads."""
    return nh3.clean(
        _fix_surrogates(html).replace("\x00", ""),
        tags=_TAGS,
        clean_content_tags=_CLEAN_CONTENT_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        link_rel="noopener noreferrer nofollow",
        url_schemes={"http", "https", "mailto", "cid", "data"},
        url_relative="deny",
    ).strip()


# What each tag contributes to the plain text: before its content, and after it.
_OPENS = {"br": "\n", "li": "\n- ", "td": " ", "th": " ", "p": "\n\n", "blockquote": "\n\n", "table": "\n\n"}
_OPENS |= dict.fromkeys("div tr ul ol pre hr h1 h2 h3 h4 h5 h6 dl dt dd section article header footer".split(), "\n")
_CLOSES = {tag: sep for tag, sep in _OPENS.items() if tag not in ("br", "li", "td", "th")}
_SKIPPED_TAGS = {"script", "style", "title", "template"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.in_pre = 0
        self.links: list[tuple[str, int]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.skipping += tag in _SKIPPED_TAGS
        self.in_pre += tag == "pre"
        self._add(_OPENS.get(tag, ""))
        if tag == "a":
            self.links.append((dict(attrs).get("href") or "", len(self.parts)))

    def handle_endtag(self, tag: str) -> None:
        self.skipping = max(0, self.skipping - (tag in _SKIPPED_TAGS))
        self.in_pre = max(0, self.in_pre - (tag == "pre"))
        self._add(_CLOSES.get(tag, ""))
        if tag == "a" and self.links:  # show where a link goes unless its label already says so
            href, start = self.links.pop()
            label = "".join(self.parts[start:]).strip()
            if re.match(r"\s*https?://", href, re.IGNORECASE) and href not in label:
                self.parts.append(f" ({href})" if label else href)

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if not self.in_pre:
            data = re.sub(r"\s+", " ", data)
            if not self.parts or self.parts[-1].endswith("\n"):
                data = data.lstrip(" ")
        self._add(data)

    def _add(self, text: str) -> None:
        if text:
            self.parts.append(text)


def html_to_text(html: str) -> str:
    """Readable plain text from HTML: block structure as line breaks, link targets kept."""
    try:
        extractor = _TextExtractor()
        extractor.feed(html)
        extractor.close()
        text = "".join(extractor.parts)
    except Exception:  # HTMLParser is lenient, but never let display text take an email down
        text = html_lib.unescape(re.sub(r"<[^>]*>", " ", html))
    lines = [line.rstrip() for line in text.replace("\xa0", " ").splitlines()]
    return _clean_text(re.sub(r"\n{3,}", "\n\n", "\n".join(lines)))
