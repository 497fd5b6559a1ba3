"""Model answers are validated and cleaned before anything is stored or shown."""

from __future__ import annotations

import json

import pytest

from core.ai.answers import clean_name, parse_names, parse_summary
from core.errors import LLMBadAnswer


def test_names_from_json_are_cleaned_of_markup_and_quotes() -> None:
    text = json.dumps({"suggestions": ['"Refund for order 10482"', "**Label** <b>printer</b> jam", "1. Login loop"]})
    assert parse_names(text, count=3) == ["Refund for order 10482", "Label printer jam", "Login loop"]


def test_names_tolerate_a_plain_list_answer() -> None:
    text = "Here you go:\n- Blank labels\n- Printer jam on labels\n- Label template broken"
    names = parse_names(text, count=3)
    assert names[-2:] == ["Printer jam on labels", "Label template broken"]


def test_names_are_capped_at_80_characters_on_a_word_boundary() -> None:
    long = "Customer cannot export the monthly CSV report because the export times out after thirty seconds always"
    name = clean_name(long)
    assert len(name) <= 80 and long.startswith(name)


def test_excluded_and_duplicate_names_do_not_count() -> None:
    text = json.dumps({"suggestions": ["Blank labels", "blank labels", "Old one", "New one"]})
    with pytest.raises(LLMBadAnswer):
        parse_names(text, count=3, exclude=["Old one"])
    assert parse_names(text, count=2, exclude=["Old one"]) == ["Blank labels", "New one"]


@pytest.mark.parametrize("answer", ["", "{}", json.dumps({"suggestions": []}), json.dumps({"summary": " "})])
def test_unusable_answers_are_refused(answer: str) -> None:
    with pytest.raises(LLMBadAnswer):
        parse_names(answer, count=3)
    with pytest.raises(LLMBadAnswer):
        parse_summary(answer)


def test_summary_strips_tags_and_caps_length() -> None:
    text = json.dumps({"summary": "<script>x()</script>Customer needs **a refund**. " + "Pending. " * 400})
    summary = parse_summary(text)
    assert "<script>" not in summary and "**" not in summary and len(summary) <= 1202
