"""Validate and clean what a model answered before anything is stored or shown."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from core.errors import LLMBadAnswer

MAX_NAME = 80
MAX_SUMMARY = 1200
_TAG = re.compile(r"<[^>]{0,200}>")
_MARKUP = re.compile(r"[*_`#>|~\[\]{}]")
_BULLET = re.compile(r"^\s*(?:[-*•]|\d+[.)]|name\s*\d*\s*:)\s*", re.IGNORECASE)
_QUOTES = "\"'“”‘’«»`"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

NAMES_SCHEMA = {
    "type": "object",
    "properties": {"suggestions": {"type": "array", "items": {"type": "string"}}},
    "required": ["suggestions"],
    "additionalProperties": False,
}
SUMMARY_SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}},
    "required": ["summary"],
    "additionalProperties": False,
}


def _json_object(text: str) -> dict[str, object] | None:
    candidates = [text.strip()]
    fenced = re.search(r"\{.*\}", text, re.DOTALL)
    if fenced:
        candidates.append(fenced.group(0))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def clean_name(value: str) -> str:
    """One plain line of at most 80 characters: no tags, markdown, quotes or control characters."""
    text = _TAG.sub(" ", value)
    text = _CONTROL.sub(" ", text)
    text = _BULLET.sub("", text.strip())
    text = _MARKUP.sub(" ", text)
    text = text.translate({ord(q): None for q in _QUOTES})
    text = " ".join(text.split()).strip(" .,;:-")
    if len(text) > MAX_NAME:
        head = text[:MAX_NAME + 1]
        cut = head.rsplit(" ", 1)[0] if " " in head else ""  # one long word: no space to cut at
        text = (cut if len(cut) >= 20 else text[:MAX_NAME]).rstrip(" .,;:-")
    return text


def parse_names(text: str, *, count: int, exclude: Sequence[str] = ()) -> list[str]:
    """Names from a JSON answer, or from a plain list when the model ignored the format."""
    data = _json_object(text)
    raw: list[str]
    suggestions = data.get("suggestions") if data is not None else None
    if isinstance(suggestions, list):
        raw = [str(item) for item in suggestions]
    else:
        lines = [line for line in text.splitlines() if line.strip() and not line.strip().startswith(("{", "}"))]
        listed = [line for line in lines if _BULLET.match(line)]
        raw = listed or [line for line in lines if not line.rstrip().endswith(":")]
    seen = {e.casefold().strip() for e in exclude}
    names: list[str] = []
    for item in raw:
        name = clean_name(item)
        key = name.casefold()
        if len(name) >= 3 and key not in seen:
            seen.add(key)
            names.append(name)
    if len(names) < count:
        raise LLMBadAnswer(
            f"The AI model gave {len(names)} usable new name(s) instead of {count}; try Regenerate.",
        )
    return names[:count]


def parse_summary(text: str) -> str:
    """The summary text from a JSON answer or plain prose, tags stripped and length capped."""
    data = _json_object(text)
    if data is not None and not isinstance(data.get("summary"), str):
        raise LLMBadAnswer("The AI model answered without a summary; try Regenerate.")
    value = str(data["summary"]) if data is not None else text
    value = _TAG.sub(" ", value)
    value = _CONTROL.sub(lambda m: "\n" if m.group(0) == "\n" else " ", value)
    value = re.sub(r"[*_`#]+", "", value)
    value = "\n".join(" ".join(line.split()) for line in value.splitlines()).strip()
    if len(value) < 10:
        raise LLMBadAnswer("The AI model's summary was empty or unusable; try Regenerate.")
    if len(value) > MAX_SUMMARY:
        value = value[:MAX_SUMMARY].rsplit(" ", 1)[0] + " …"
    return value
