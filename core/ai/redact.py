"""PII redaction: emails, phone numbers, Luhn-valid card numbers and mod-97-valid IBANs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

Span = tuple[int, int, str]

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_URL = re.compile(r"\b(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
# Up to 34 characters: country, check digits, then groups of (usually) four.
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[ -]?[A-Z0-9]{1,4}){3,8}(?![A-Za-z0-9])", re.IGNORECASE)
# 13-19 digits, either unbroken or in groups separated by one space or dash.
_CARD = re.compile(
    r"(?<![\w.#/+-])(?<!\d[ -])(?<![A-Z]{2}\d\d[ -])"  # not the tail of a longer number or of an IBAN
    r"\d{4}(?:[ -]?\d{2,6}){2,4}(?:[ -]?\d{1,4})?"
    r"(?![\w/]|[.,-]\d|[ -]\d)"
)
_PHONE = re.compile(
    r"(?<![\w#/=.+-])(?<!\d[ .-])"
    r"(?:\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{1,5}(?:[ .-]?\d{2,5}){1,5}"  # +353 1 234 5678
    r"|\(\d{2,5}\)[ .-]?\d{3,4}(?:[ .-]?\d{2,4}){1,2}"  # (555) 123-4567, (01) 234 5678
    r"|0\d{1,4}(?:[ .-]?\d{2,5}){1,4}"  # 020 7946 0958, 0871234567
    r"|\d{3}([ .-])\d{3}\1\d{4})"  # 555-123-4567
    r"(?![\w/]|[.,:-]\d|[ .-]\d)"
)
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_ORDER_WORDS = re.compile(r"(?:\b(?:order|invoice|ticket|case|ref|reference|id|no|number)|#)\W{0,3}$", re.IGNORECASE)
_IBAN_LENGTH = (15, 34)
_DIGIT = re.compile(r"\d")  # the same digits the detectors' \d matches (Unicode ones too)


def luhn_valid(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def iban_valid(candidate: str) -> bool:
    """True when the IBAN (spaces or dashes allowed) passes the ISO 13616 mod-97 check."""
    compact = re.sub(r"[ -]", "", candidate).upper()
    if not (_IBAN_LENGTH[0] <= len(compact) <= _IBAN_LENGTH[1]) or not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", compact):
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _emails(text: str) -> Iterator[Span]:
    for match in _EMAIL.finditer(text):
        yield match.start(), match.end(), "email"


def _ibans(text: str) -> Iterator[Span]:
    for match in _IBAN.finditer(text):
        value = match.group()
        # The regex may swallow following words ("... 0130 00 by Friday"): retry without trailing letter-only words.
        candidates = [value]
        while re.search(r"[ -][A-Za-z]+$", candidates[-1]):
            candidates.append(re.sub(r"[ -][A-Za-z]+$", "", candidates[-1]))
        for candidate in candidates:
            if iban_valid(candidate):
                yield match.start(), match.start() + len(candidate), "iban"
                break


def _cards(text: str) -> Iterator[Span]:
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and _plausible_grouping(match.group()):
            yield match.start(), match.end(), "card"


def _plausible_grouping(value: str) -> bool:
    """Cards are written unbroken, in fours, or as 4-6-5 (Amex); other groupings are something else."""
    groups = re.split(r"[ -]", value)
    if len(groups) == 1:
        return True
    if len(set(re.findall(r"[ -]", value))) > 1:
        return False
    sizes = [len(group) for group in groups]
    return all(size == 4 for size in sizes[:-1]) or sizes == [4, 6, 5] or sizes == [4, 6, 4]


def _phones(text: str) -> Iterator[Span]:
    for match in _PHONE.finditer(text):
        value = match.group()
        digits = re.sub(r"\D", "", value)
        if _DATE.fullmatch(value) or _ORDER_WORDS.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        if value.startswith("+"):
            ok = 8 <= len(digits) <= 15
        else:
            ok = 9 <= len(digits) <= 13
        if ok:
            yield match.start(), match.end(), "phone"


_DETECTORS: tuple[Callable[[str], Iterator[Span]], ...] = (_emails, _ibans, _cards, _phones)


def _spans(text: str) -> list[Span]:
    """Non-overlapping PII spans in text order; earlier detectors win overlaps, URLs are left alone."""
    taken: list[tuple[int, int]] = [match.span() for match in _URL.finditer(text)]
    found: list[Span] = []
    for detector in _DETECTORS:
        for start, end, kind in detector(text):
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            taken.append((start, end))
            found.append((start, end, kind))
    return sorted(found)


def find_pii(text: str) -> list[tuple[str, str]]:
    """List (kind, value) for every email, phone, card and IBAN found in text, in order."""
    return [(kind, text[start:end]) for start, end, kind in _spans(text)]


def redact(text: str) -> str:
    """Replace emails, phones, valid card numbers and valid IBANs with [email]/[phone]/[card]/[iban]."""
    if "@" not in text and not _DIGIT.search(text):
        return text  # every kind of PII has an @ or a digit: most names and subjects have neither
    pieces: list[str] = []
    cursor = 0
    for start, end, kind in _spans(text):
        pieces.append(text[cursor:start])
        pieces.append(f"[{kind}]")
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)
