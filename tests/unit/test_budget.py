"""Token budgets: keep the customer's first message and the latest ones; chunk long threads."""

from __future__ import annotations

import random

import pytest

from core.ai.budget import CONTINUED_MARKER, TRUNCATION_MARKER, chunk_messages, fit_to_budget
from core.ai.types import PromptMessage


def words(text: str) -> int:
    """The test's token counter: one token per whitespace-separated word."""
    return len(text.split())


def msg(id: int, size: int, direction: str = "outgoing") -> PromptMessage:
    return PromptMessage(id=id, direction=direction, sender_name=f"sender {id}", text=" ".join([f"w{id}"] * size))


def fit(messages: list[PromptMessage], budget: int, overhead: int = 0) -> tuple[list[int], int]:
    kept, omitted = fit_to_budget(messages, budget_tokens=budget, count=words, overhead_per_message=overhead)
    return [m.id for m in kept], omitted


def thread(*sizes: int) -> list[PromptMessage]:
    """A conversation opened by the customer (id 1), then alternating replies and customer messages."""
    return [msg(i, size, "incoming" if i % 2 else "outgoing") for i, size in enumerate(sizes, start=1)]


def test_a_thread_that_fits_is_sent_whole() -> None:
    messages = thread(5, 5, 5)
    kept, omitted = fit_to_budget(messages, budget_tokens=15, count=words, overhead_per_message=0)
    assert kept == messages
    assert omitted == 0


def test_keeps_first_customer_message_and_the_latest_that_fit() -> None:
    assert fit(thread(10, 10, 10, 10, 10, 10), budget=35) == ([1, 5, 6], 3)


def test_an_empty_thread_needs_no_budget() -> None:
    assert fit_to_budget([], budget_tokens=10, count=words) == ([], 0)


def test_budget_must_be_positive() -> None:
    with pytest.raises(ValueError):
        fit_to_budget(thread(1), budget_tokens=0, count=words)
    with pytest.raises(ValueError):
        chunk_messages(thread(1), budget_tokens=-5, count=words)


def test_the_overhead_per_message_is_counted() -> None:
    messages = thread(10, 10, 10, 10)
    assert fit(messages, budget=40, overhead=0) == ([1, 2, 3, 4], 0)
    assert fit(messages, budget=40, overhead=2) == ([1, 3, 4], 1)


def test_the_anchor_is_the_first_incoming_message_not_the_first_message() -> None:
    messages = [msg(1, 10, "comment"), msg(2, 10, "incoming"), msg(3, 10), msg(4, 10, "incoming")]
    assert fit(messages, budget=30) == ([2, 3, 4], 1)
    assert fit(messages, budget=25) == ([2, 4], 2)
    assert fit(messages, budget=40) == ([1, 2, 3, 4], 0)


def test_without_any_customer_message_the_first_message_is_kept() -> None:
    messages = [msg(1, 10, "outgoing"), msg(2, 10, "comment"), msg(3, 10, "outgoing")]
    assert fit(messages, budget=25) == ([1, 3], 1)


def test_older_messages_are_not_kept_past_one_that_did_not_fit() -> None:
    # message 3 is too big; the small message 2 would fit but would leave a gap in the recent history
    assert fit(thread(5, 2, 50, 5, 5), budget=20) == ([1, 4, 5], 2)


def test_a_single_over_long_message_is_truncated_with_a_marker() -> None:
    original = msg(1, 100, "incoming")
    kept, omitted = fit_to_budget([original], budget_tokens=20, count=words, overhead_per_message=0)
    assert omitted == 0
    [only] = kept
    assert only.id == 1 and only.sender_name == original.sender_name
    assert only.text.endswith(TRUNCATION_MARKER)
    assert words(only.text) <= 20
    assert original.text.startswith(only.text.removesuffix(TRUNCATION_MARKER))


def test_a_long_latest_message_is_truncated_so_the_first_customer_message_still_fits() -> None:
    messages = thread(10, 5, 100)
    kept, omitted = fit_to_budget(messages, budget_tokens=40, count=words, overhead_per_message=0)
    assert [m.id for m in kept] == [1, 3] and omitted == 1
    assert kept[0] == messages[0]
    assert kept[1].text.endswith(TRUNCATION_MARKER)
    assert words(kept[0].text) + words(kept[1].text) <= 40


def test_a_long_first_message_is_truncated_to_make_room_for_the_latest() -> None:
    messages = thread(100, 5, 10)
    kept, _ = fit_to_budget(messages, budget_tokens=40, count=words, overhead_per_message=0)
    assert [m.id for m in kept] == [1, 3]
    assert kept[0].text.endswith(TRUNCATION_MARKER)
    assert kept[1] == messages[2]
    assert 25 <= words(kept[0].text) <= 30


def test_when_both_are_long_each_gets_about_half() -> None:
    kept, _ = fit_to_budget(thread(100, 5, 100), budget_tokens=40, count=words, overhead_per_message=0)
    sizes = [words(m.text) for m in kept]
    assert all(m.text.endswith(TRUNCATION_MARKER) for m in kept)
    assert sum(sizes) <= 40 and min(sizes) >= 15


def test_fitted_threads_respect_the_budget_and_always_keep_first_and_latest() -> None:
    rng = random.Random(7)
    for _ in range(300):
        messages = thread(*(rng.randint(1, 60) for _ in range(rng.randint(1, 12))))
        budget = rng.randint(20, 200)
        kept, omitted = fit_to_budget(messages, budget_tokens=budget, count=words, overhead_per_message=3)
        assert sum(words(m.text) + 3 for m in kept) <= budget
        assert kept[0].id == 1 and kept[-1].id == messages[-1].id
        assert [m.id for m in kept] == sorted({m.id for m in kept})
        assert len(kept) + omitted == len(messages)


def test_chunks_keep_every_message_in_order_and_each_fits() -> None:
    messages = thread(10, 20, 5, 30, 15, 8)
    chunks = chunk_messages(messages, budget_tokens=40, count=words, overhead_per_message=2)
    assert [m for chunk in chunks for m in chunk] == messages
    assert all(sum(words(m.text) + 2 for m in chunk) <= 40 for chunk in chunks)
    assert [[m.id for m in chunk] for chunk in chunks] == [[1, 2], [3, 4], [5, 6]]


def test_a_message_longer_than_a_chunk_is_split_into_marked_parts() -> None:
    long = msg(2, 95)
    chunks = chunk_messages(
        [msg(1, 5, "incoming"), long, msg(3, 5)], budget_tokens=30, count=words, overhead_per_message=0
    )
    parts = [m for chunk in chunks for m in chunk if m.id == 2]
    assert len(parts) >= 4
    assert all(p.text.endswith(CONTINUED_MARKER) for p in parts[:-1])
    assert not parts[-1].text.endswith(CONTINUED_MARKER)
    rebuilt = " ".join(p.text.removesuffix(CONTINUED_MARKER) for p in parts)
    assert rebuilt.split() == long.text.split()
    assert all(sum(words(m.text) for m in chunk) <= 30 for chunk in chunks)


def test_no_messages_make_no_chunks() -> None:
    assert chunk_messages([], budget_tokens=10, count=words) == []
