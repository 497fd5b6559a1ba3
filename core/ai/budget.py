"""Fit a conversation into a model's token budget (pure: the caller supplies the token counter).

A message costs `count(message.text) + overhead_per_message`; the overhead stands for what the
prompt template adds around each message (sender, date, delimiters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from core.ai.types import PromptMessage

TRUNCATION_MARKER = "\n[… message truncated …]"
CONTINUED_MARKER = "\n[… continued in the next part …]"
DEFAULT_OVERHEAD_PER_MESSAGE = 12

Counter = Callable[[str], int]


def fit_to_budget(
    messages: Sequence[PromptMessage],
    *,
    budget_tokens: int,
    count: Counter,
    overhead_per_message: int = DEFAULT_OVERHEAD_PER_MESSAGE,
) -> tuple[list[PromptMessage], int]:
    """Keep the first customer message and as many of the latest as fit; return them and how many were omitted.

    Messages stay in their original order. When the first customer message and the latest message
    do not fit together, the longer one is truncated (with a marker) so that both are sent; a single
    message that alone exceeds the budget is truncated likewise.
    """
    _check_budget(budget_tokens)
    if not messages:
        return [], 0
    if sum(len(m.text.encode()) + overhead_per_message for m in messages) <= budget_tokens:
        # A token is at least one byte in the tokenizers litellm counts with: it all fits, no counting needed.
        return list(messages), 0

    def cost(message: PromptMessage) -> int:
        return count(message.text) + overhead_per_message

    anchor_index = next((i for i, m in enumerate(messages) if m.direction == "incoming"), 0)
    last_index = len(messages) - 1
    required = [messages[i] for i in sorted({anchor_index, last_index})]
    fitted = _fit_required(required, budget_tokens, count, overhead_per_message)
    if fitted != required:  # something had to be truncated, so nothing else fits
        return fitted, len(messages) - len(fitted)

    kept_indexes = {anchor_index, last_index}
    used = sum(cost(message) for message in required)
    # The latest messages first, contiguously; earlier ones (notes or an opener before the customer's
    # first message) only once everything after the customer's first message is in.
    candidates = [*range(last_index - 1, anchor_index, -1), *range(anchor_index - 1, -1, -1)]
    for index in candidates:
        message_cost = cost(messages[index])
        if used + message_cost > budget_tokens:
            break
        kept_indexes.add(index)
        used += message_cost
    return [messages[index] for index in sorted(kept_indexes)], len(messages) - len(kept_indexes)


def chunk_messages(
    messages: Sequence[PromptMessage],
    *,
    budget_tokens: int,
    count: Counter,
    overhead_per_message: int = DEFAULT_OVERHEAD_PER_MESSAGE,
) -> list[list[PromptMessage]]:
    """Split a thread, in order, into chunks that each fit the budget (for summarising in chunks).

    A message too long for one chunk is split into parts that keep its id, each marked as continued.
    """
    _check_budget(budget_tokens)
    chunks: list[list[PromptMessage]] = []
    current: list[PromptMessage] = []
    used = 0
    for message in messages:
        for part in _parts(message, budget_tokens, count, overhead_per_message):
            part_cost = count(part.text) + overhead_per_message
            if current and used + part_cost > budget_tokens:
                chunks.append(current)
                current, used = [], 0
            current.append(part)
            used += part_cost
    if current:
        chunks.append(current)
    return chunks


def _fit_required(required: list[PromptMessage], budget: int, count: Counter, overhead: int) -> list[PromptMessage]:
    """The one or two messages that must be sent, the longer truncated if they do not fit (each may keep half)."""
    if len(required) == 1:
        return [_truncated(required[0], budget, count, overhead)]
    anchor, last = required
    anchor_cost, last_cost = count(anchor.text) + overhead, count(last.text) + overhead
    if anchor_cost + last_cost <= budget:
        return required
    half = budget // 2
    anchor_allowance = anchor_cost if anchor_cost <= half else max(half, budget - last_cost)
    anchor = _truncated(anchor, anchor_allowance, count, overhead)
    last = _truncated(last, budget - count(anchor.text) - overhead, count, overhead)
    return [anchor, last]


def _check_budget(budget_tokens: int) -> None:
    if budget_tokens < 1:
        raise ValueError(f"budget_tokens must be positive, got {budget_tokens}")


def _parts(message: PromptMessage, budget: int, count: Counter, overhead: int) -> list[PromptMessage]:
    """The message itself if it fits the budget, else consecutive parts of its text that each fit."""
    parts: list[PromptMessage] = []
    rest = message.text
    while count(rest) + overhead > budget:
        length = _longest_prefix(rest, budget - overhead, count, CONTINUED_MARKER)
        if length == 0:  # the budget cannot hold even the marker: give up splitting rather than loop
            break
        parts.append(replace(message, text=rest[:length].rstrip() + CONTINUED_MARKER))
        rest = rest[length:].lstrip()
    parts.append(replace(message, text=rest))
    return parts


def _truncated(message: PromptMessage, allowance: int, count: Counter, overhead: int) -> PromptMessage:
    """The message with its text cut (and marked) so that it costs at most `allowance` tokens if possible."""
    if count(message.text) + overhead <= allowance:
        return message
    length = _longest_prefix(message.text, allowance - overhead, count, TRUNCATION_MARKER)
    return replace(message, text=message.text[:length].rstrip() + TRUNCATION_MARKER)


def _longest_prefix(text: str, tokens: int, count: Counter, marker: str) -> int:
    """The longest prefix length of `text` (preferring a word boundary) whose text plus marker fits `tokens`."""
    low, high = 0, len(text)
    while low < high:  # binary search: counts grow with the prefix length
        middle = (low + high + 1) // 2
        if count(text[:middle] + marker) <= tokens:
            low = middle
        else:
            high = middle - 1
    boundary = text.rfind(" ", 0, low + 1) if low < len(text) else low
    return boundary if boundary > low // 2 else low
