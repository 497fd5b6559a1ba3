"""Measure the offline model's names and summaries on the real threads in ../shared/data (if present).

Usage: .venv/bin/python bench/eval_offline.py [--data ../shared/data] [--show 20] [--blind]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.ai.offline import suggest_names, summarize  # noqa: E402
from core.ai.offline_text import clean_body, clean_subject, is_content, term, tokenize  # noqa: E402
from core.ai.types import AIInput, PromptMessage, TicketFacts  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DIRECTION = {"customer": "incoming", "agent": "outgoing"}
ROUNDS = 3
BAD_NAME = re.compile(r"[\"“”`<>*_#\[\]{}\n]")
FALLBACK = re.compile(r"follow-up$|^Customer question about|support request$|^Issue reported with|^Support request")
# The Twitter set replaced attached images and URLs by a bare trailing word "link": not the customer's words.
PLACEHOLDER_LINK = re.compile(r"(?<!\bthe)(?<!\ba)(?<!\bthis)(?<!\bthat)(?<!\byour)(?<!\bmy)\s+link\s*$", re.I)


@dataclass
class Thread:
    """One conversation from the data folder, as the model sees it."""

    source: str
    subject: str
    data: AIInput


@dataclass
class Figures:
    """Raw measurements for a group of threads; report() turns them into percentages."""

    threads: int = 0
    names: list[str] = field(default_factory=list)
    subject_hits: list[bool] = field(default_factory=list)
    thread_hits: list[bool] = field(default_factory=list)
    fallbacks: list[bool] = field(default_factory=list)
    distinct_rounds: list[bool] = field(default_factory=list)
    rule_breaks: int = 0
    name_ms: list[float] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    summary_ok: list[bool] = field(default_factory=list)
    mentions_last: list[bool] = field(default_factory=list)
    summary_ms: list[float] = field(default_factory=list)
    failures: int = 0

    def add(self, other: Figures) -> None:
        """Accumulate another group's figures into this one."""
        for name, value in vars(other).items():
            setattr(self, name, getattr(self, name) + value)


def _parse_time(value: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def load_threads(folder: Path, *, blind: bool) -> Iterator[Thread]:
    """Threads from every *.jsonl file; blind drops subjects so names must come from the text alone."""
    for path in sorted(folder.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            messages = [
                PromptMessage(
                    id=index,
                    direction=DIRECTION.get(message.get("from", ""), "incoming"),
                    sender_name=message.get("sender") or "",
                    text=PLACEHOLDER_LINK.sub("", message.get("text") or ""),
                    subject=None if blind else message.get("subject") or (row.get("subject") if index == 1 else None),
                    sent_at=_parse_time(message.get("sent_at")),
                )
                for index, message in enumerate(row.get("messages", []), start=1)
            ]
            ticket = TicketFacts(id=number, name=f"Ticket {number}", description="", priority=None,
                                 category=None if blind else row.get("category"), status="open",
                                 status_label="Open", channel="email")
            yield Thread(path.stem, row.get("subject") or "", AIInput(ticket=ticket, messages=messages))


def _terms(text: str) -> set[str]:
    return {term(tok) for tok in tokenize(text) if is_content(tok)}


def _sentence_count(text: str) -> int:
    return len(re.findall(r"[.?!…](?:\s|$)", text))


def evaluate(thread: Thread, *groups: Figures) -> tuple[list[list[str]], str]:
    """Run three name rounds and one summary on a thread, adding to each group of figures."""
    rounds, summary, sample = _run(thread)
    for figures in groups:
        figures.add(sample)
    return rounds, summary


def _run(thread: Thread) -> tuple[list[list[str]], str, Figures]:
    figures = Figures()
    figures.threads += 1
    rounds: list[list[str]] = []
    started = time.perf_counter()
    try:
        shown: list[str] = []
        for _ in range(ROUNDS):
            names = suggest_names(thread.data, exclude=shown, count=3)
            rounds.append(names)
            shown.extend(names)
    except ValueError:
        figures.failures += 1
        return rounds, "", figures
    figures.name_ms.append((time.perf_counter() - started) * 1000 / ROUNDS)
    everything = [n for names in rounds for n in names]
    figures.names.extend(rounds[0])
    figures.distinct_rounds.append(len({n.casefold() for n in everything}) == len(everything) == 3 * ROUNDS)
    figures.rule_breaks += sum(1 for n in everything if len(n) > 80 or BAD_NAME.search(n) or not n.strip())
    subject_terms = _terms(clean_subject(thread.subject))
    if subject_terms:
        figures.subject_hits.extend(bool(_terms(n) & subject_terms) for n in rounds[0])
        figures.thread_hits.append(any(_terms(n) & subject_terms for n in rounds[0]))
    figures.fallbacks.extend(bool(FALLBACK.search(n)) for n in rounds[0])
    started = time.perf_counter()
    summary = summarize(thread.data)
    figures.summary_ms.append((time.perf_counter() - started) * 1000)
    figures.summaries.append(summary)
    figures.summary_ok.append(len(summary) <= 600 and 2 <= _sentence_count(summary) <= 5)
    last = next((m for m in reversed(thread.data.messages) if m.direction != "comment"), None)
    last_terms = _terms(clean_body(last.text, outgoing=last.direction != "incoming")) if last else set()
    if last_terms:
        figures.mentions_last.append(bool(_terms(summary) & last_terms))
    return rounds, summary, figures


def _pct(values: list[bool]) -> str:
    return f"{100 * sum(values) / len(values):5.1f}% (n={len(values)})" if values else "  n/a"


def report(label: str, figures: Figures) -> None:
    """Print the measurable quality figures for one group of threads."""
    lengths = [len(n) for n in figures.names]
    print(f"\n== {label}: {figures.threads} threads, {figures.failures} refused (empty)")
    if not lengths:
        return
    print(f"  names sharing a content word with the real subject : {_pct(figures.subject_hits)}")
    print(f"  threads where one of the 3 names shares one        : {_pct(figures.thread_hits)}")
    print(f"  first-round names that are plain fallbacks         : {_pct(figures.fallbacks)}")
    print(f"  name length, chars (mean / max)                   : {statistics.mean(lengths):.1f} / {max(lengths)}")
    print(f"  9 names distinct over {ROUNDS} regenerate rounds        : {_pct(figures.distinct_rounds)}")
    print(f"  names breaking a rule (>80 chars, quotes, markup)  : {figures.rule_breaks}")
    print(f"  summaries within 600 chars and 2-5 sentences       : {_pct(figures.summary_ok)}")
    print(f"  summaries mentioning a term of the last message    : {_pct(figures.mentions_last)}")
    print(f"  summary length, chars (mean)                       : {statistics.mean(map(len, figures.summaries)):.0f}")
    print(f"  runtime per thread, ms (name round mean / summary mean / worst) : "
          f"{statistics.mean(figures.name_ms):.1f} / {statistics.mean(figures.summary_ms):.1f} / "
          f"{max(figures.name_ms + figures.summary_ms):.0f}")


def main(argv: list[str] | None = None) -> int:
    """Entry point: evaluate every thread, print figures per source and overall, and optional samples."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding the *.jsonl threads")
    parser.add_argument("--show", type=int, default=0, help="print names and summary for N sample threads")
    parser.add_argument("--blind", action="store_true", help="hide subjects and categories from the model")
    args = parser.parse_args(argv)
    if not args.data.is_dir() or not any(args.data.glob("*.jsonl")):
        print(f"No data at {args.data}: nothing to evaluate (the data folder is optional).")
        return 0
    threads = list(load_threads(args.data, blind=args.blind))
    per_source: dict[str, Figures] = {}
    overall = Figures()
    step = max(1, len(threads) // args.show) if args.show else 0
    for index, thread in enumerate(threads):
        rounds, summary = evaluate(thread, per_source.setdefault(thread.source, Figures()), overall)
        if step and index % step == 0 and index // step < args.show:
            print(f"\n--- {thread.source} | subject: {thread.subject or '-'}")
            for number, names in enumerate(rounds, start=1):
                print(f"  round {number}: " + " | ".join(names))
            print(f"  summary: {summary}")
    for source, figures in per_source.items():
        report(source, figures)
    report("all" + (" (blind: no subjects)" if args.blind else ""), overall)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
