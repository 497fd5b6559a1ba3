"""PII redaction: what must be masked, and the look-alikes that must be left alone."""

from __future__ import annotations

import pytest

from core.ai.redact import find_pii, iban_valid, luhn_valid, redact


@pytest.mark.parametrize(
    "email",
    ["ann.lee@example.com", "ann+billing@mail.example.co.uk", "SUPPORT_desk-1@sub.example.ie"],
)
def test_email_is_redacted(email: str) -> None:
    assert redact(f"Write to {email} today.") == "Write to [email] today."


@pytest.mark.parametrize(
    "phone",
    ["+353 1 234 5678", "+1-202-555-0143", "+44 (0)20 7946 0958", "+33 6 12 34 56 78", "+4915112345678"],
)
def test_international_phone_is_redacted(phone: str) -> None:
    assert redact(f"Call me on {phone} after 5.") == "Call me on [phone] after 5."


@pytest.mark.parametrize("phone", ["(555) 123-4567", "555-123-4567", "555.123.4567", "020 7946 0958", "087 123 4567",
                                   "0871234567"])
def test_local_phone_is_redacted(phone: str) -> None:
    assert redact(f"My number is {phone}.") == "My number is [phone]."


@pytest.mark.parametrize(
    "text",
    [
        "It broke on 2002-08-22 at 19:58.",
        "Since 22/08/2002 and 22.08.2002 nothing works.",
        "I bought it in 2019, it cost 1,234.50 euro.",
        "Kernel 2.4.18-5.58 and version 0.9.0rc3 are installed.",
        "The server is 192.168.1.10 on port 8080.",
    ],
)
def test_dates_years_versions_and_addresses_are_not_phones(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    ["My order #12345 never arrived.", "Order 0123456789 is late.", "Ticket #0871234567 again.", "Call 911 or 112.",
     "Press 1 then 2."],
)
def test_order_ids_and_short_numbers_are_not_phones(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    "card",
    ["4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "378282246310005", "3782 822463 10005",
     "5555 5555 5555 4444"],
)
def test_luhn_valid_card_number_is_redacted(card: str) -> None:
    assert redact(f"Card {card} was charged.") == "Card [card] was charged."


@pytest.mark.parametrize("card", ["4111 1111 1111 1112", "4111111111111121", "1234 5678 9012 3456"])
def test_luhn_invalid_card_number_is_not_redacted(card: str) -> None:
    assert redact(f"Card {card} was charged.") == f"Card {card} was charged."


def test_runs_of_config_numbers_are_not_cards_or_phones() -> None:
    text = 'Modeline "1024x768" 49 1024 1032 1176 1344 768 771 777 806 and 800 824 896 1024 600 601 603 625'
    assert redact(text) == text


@pytest.mark.parametrize(
    "iban",
    ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "GB82 WEST 1234 5698 7654 32",
     "FR76 3000 6000 0112 3456 7890 189"],
)
def test_valid_iban_is_redacted(iban: str) -> None:
    assert redact(f"Please pay to {iban} by Friday.") == "Please pay to [iban] by Friday."


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 01", "GB83WEST12345698765432"])
def test_iban_failing_mod97_is_not_redacted(iban: str) -> None:
    assert "[iban]" not in redact(f"Please pay to {iban} by Friday.")


def test_iban_followed_by_a_short_word_is_still_found() -> None:
    assert redact("IBAN DE89 3704 0044 0532 0130 00 OK?") == "IBAN [iban] OK?"


def test_numbers_inside_urls_are_left_alone() -> None:
    text = "See https://example.com/status/4111111111111111 and https://example.com/call/+35312345678"
    assert redact(text) == text


def test_find_pii_lists_kind_and_value_in_text_order() -> None:
    text = "Ann (ann@example.com, +353 1 234 5678) paid with 4111 1111 1111 1111 from DE89370400440532013000."
    assert find_pii(text) == [
        ("email", "ann@example.com"),
        ("phone", "+353 1 234 5678"),
        ("card", "4111 1111 1111 1111"),
        ("iban", "DE89370400440532013000"),
    ]


def test_text_without_pii_is_unchanged() -> None:
    text = "The printer on floor 2 jams when printing 30 pages double-sided."
    assert redact(text) == text
    assert find_pii(text) == []


def test_luhn_and_mod97_helpers() -> None:
    assert luhn_valid("79927398713")
    assert not luhn_valid("79927398710")
    assert not luhn_valid("4111 1111")
    assert iban_valid("de89 3704 0044 0532 0130 00")
    assert not iban_valid("DE00 3704 0044 0532 0130 00")
    assert not iban_valid("DE89")
