"""Timing helpers: interleaved samples of a measurement and its reference, medians and ratios."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def timed(fn: Callable[[], Any]) -> float:
    """Wall seconds one call takes."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Sampled:
    """Samples (seconds) of a measurement and of its reference, taken alternately."""

    samples: list[float] = field(default_factory=list)
    reference: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def reference_ms(self) -> float:
        return statistics.median(self.reference) * 1000

    @property
    def ratio(self) -> float:
        return statistics.median(self.samples) / statistics.median(self.reference)

    def summary(self) -> dict[str, Any]:
        return {"median_ms": round(self.median_ms, 3), "p90_ms": round(percentile(self.samples, 90) * 1000, 3),
                "reference_ms": round(self.reference_ms, 3), "ratio": round(self.ratio, 3), "n": len(self.samples)}


def interleaved(measure: Callable[[], Any], reference: Callable[[], Any], *, rounds: int,
                warmup: int = 5) -> Sampled:
    """Alternate reference and measurement `rounds` times, so machine noise hits both alike."""
    for _ in range(warmup):
        reference()
        measure()
    out = Sampled()
    for _ in range(rounds):
        out.reference.append(timed(reference))
        out.samples.append(timed(measure))
    return out


def in_turn(measures: dict[str, Callable[[], Any]], reference: Callable[[], Any], *, rounds: int,
            warmup: int = 5) -> dict[str, Sampled]:
    """Like `interleaved` for several measurements at once: each round takes one sample of every
    measurement, each after its own reference sample. Measured one after another, a measurement that
    happened to run while the machine was busy came out slower than the rest; in turn, every one of
    them meets the same conditions."""
    for _ in range(warmup):
        for measure in measures.values():
            reference()
            measure()
    out = {name: Sampled() for name in measures}
    for _ in range(rounds):
        for name, measure in measures.items():
            out[name].reference.append(timed(reference))
            out[name].samples.append(timed(measure))
    return out


def merge(parts: list[Sampled]) -> Sampled:
    """One sample set from several (e.g. every prefix typed in a search)."""
    out = Sampled()
    for part in parts:
        out.samples.extend(part.samples)
        out.reference.extend(part.reference)
    return out
