"""Benchmark output: a rich table on the terminal, JSON in bench-results/, and a Markdown table for the README."""

from __future__ import annotations

import json
import platform
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.common import Result


def _verdict(passed: bool | None) -> str:
    return "—" if passed is None else ("pass" if passed else "MISS")


def table(results: list[Result], title: str) -> Table:
    """The results as a rich table: target, measurement, ratio to its reference, verdict."""
    out = Table(title=title, show_lines=False)
    for column in ("#", "db", "what", "target", "measured", "ratio", "result"):
        out.add_column(column, overflow="fold")
    for r in results:
        style = "green" if r.passed else ("red" if r.passed is False else "")
        out.add_row(r.id, r.backend, r.what, r.target, r.measured, f"{r.ratio:.2f}×" if r.ratio else "",
                    f"[{style}]{_verdict(r.passed)}[/]" if style else _verdict(r.passed))
    return out


def markdown(results: list[Result]) -> str:
    """The same table in Markdown (for the README's Performance section)."""
    lines = ["| # | db | what | target | measured | ratio | result |", "|---|---|---|---|---|---|---|"]
    for r in results:
        ratio = f"{r.ratio:.2f}×" if r.ratio else ""
        lines.append(f"| {r.id} | {r.backend} | {r.what} | {r.target} | {r.measured} | {ratio} | "
                     f"{_verdict(r.passed)} |")
    return "\n".join(lines)


def write_json(results: list[Result], meta: dict[str, Any], directory: Path) -> Path:
    """bench-results/results-<timestamp>.json with every figure and its samples' summary."""
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"results-{stamp}.json"
    payload = {"meta": {**meta, "finished_at": stamp, "python": platform.python_version(),
                        "machine": platform.machine()},
               "results": [asdict(r) for r in results]}
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


def print_all(console: Console, results: list[Result], title: str) -> None:
    console.print(table(results, title))
