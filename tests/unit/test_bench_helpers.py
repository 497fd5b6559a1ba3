"""The benchmark's own arithmetic and bookkeeping (no timing here: timings belong in `make bench`)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.common import Result
from bench.report import markdown, write_json
from bench.timing import Sampled, in_turn, interleaved, merge, percentile


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile([3.0], 95) == 3.0


def test_ratio_is_median_over_median_of_the_reference() -> None:
    sampled = Sampled(samples=[0.004, 0.006, 0.005], reference=[0.001, 0.003, 0.002])
    assert sampled.ratio == 2.5
    assert sampled.summary()["median_ms"] == 5.0


def test_interleaved_alternates_reference_and_measurement() -> None:
    calls: list[str] = []
    out = interleaved(lambda: calls.append("m"), lambda: calls.append("r"), rounds=3, warmup=1)
    assert calls == ["r", "m"] * 4
    assert len(out.samples) == len(out.reference) == 3
    assert len(merge([out, out]).samples) == 6


def test_in_turn_samples_every_measurement_in_each_round_after_its_own_reference() -> None:
    calls: list[str] = []
    out = in_turn({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, lambda: calls.append("r"),
                  rounds=2, warmup=1)
    assert calls == ["r", "a", "r", "b"] * 3
    assert {name: (len(s.samples), len(s.reference)) for name, s in out.items()} == {"a": (2, 2), "b": (2, 2)}


def test_results_are_written_as_json_and_markdown(tmp_path: Path) -> None:
    results = [Result("B1", "sqlite", "list", "≤ 3× /healthz", "4 ms", True, 2.5),
               Result("B5", "sqlite", "delete", "≤ 3 s", "4 s", False)]
    path = write_json(results, {"command": "python -m bench.run"}, tmp_path)
    data = json.loads(path.read_text())
    assert [r["id"] for r in data["results"]] == ["B1", "B5"] and data["meta"]["command"] == "python -m bench.run"
    table = markdown(results)
    assert "| B1 | sqlite | list | ≤ 3× /healthz | 4 ms | 2.50× | pass |" in table
    assert "| MISS |" in table
