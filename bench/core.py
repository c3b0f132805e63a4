"""What every benchmark shares: the figure a line prints, and interleaved timing."""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured figure against its same-run reference and its goal (a ratio)."""

    key: str  # "P2"
    label: str  # what was measured, with its size
    value: float
    reference: float
    reference_label: str  # what the reference is, e.g. "empty db"
    unit: str  # "ms" (a cost: lower is better) or "/s" (a rate: higher is better)
    goal: float
    at_least: bool = False  # True: the ratio must reach the goal (rates)

    @property
    def ratio(self) -> float:
        """Return value / reference."""
        if self.reference <= 0:
            return math.inf
        return self.value / self.reference

    @property
    def ok(self) -> bool:
        """Tell whether the ratio meets the goal."""
        return self.ratio >= self.goal if self.at_least else self.ratio <= self.goal

    def line(self) -> str:
        """Return the one line this figure prints."""
        op = ">=" if self.at_least else "<="
        return (
            f"{self.key} {self.label}: {fmt_value(self.value, self.unit)} vs "
            f"{fmt_value(self.reference, self.unit)} {self.reference_label} = "
            f"{self.ratio:.2f}x (goal {op} {self.goal:g}x) {'ok' if self.ok else 'MISSED'}"
        )


@dataclass(frozen=True)
class Note:
    """A figure reported for information, without a goal (e.g. latency percentiles)."""

    key: str
    label: str
    text: str

    def line(self) -> str:
        """Return the one line this note prints."""
        return f"{self.key} {self.label}: {self.text} (reported, no goal)"


Result = Figure | Note


def fmt_value(value: float, unit: str) -> str:
    """Format a measured value with its unit."""
    if unit == "ms":
        # Two decimals under 10 ms: the printed ratio must follow from the printed figures.
        if value < 10:
            return f"{value:.2f} ms"
        return f"{value:.1f} ms" if value < 1000 else f"{value:,.0f} ms"
    if unit == "MB":
        return f"{value:,.0f} MB"
    return f"{value:,.0f} {unit}"


def fmt_count(n: int) -> str:
    """Format a row count briefly: 2,984,900 -> 3.0M, 49,972 -> 50k."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return f"{n:,}"


def percentile(values: Sequence[float], q: float) -> float:
    """Return the q-th percentile (0..100) with the nearest-rank method."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def interleaved(
    fns: Sequence[Callable[[], object]], runs: int, *, warmup: int = 1
) -> list[list[float]]:
    """Time each function `runs` times, taking turns, and return the seconds per function.

    Taking turns (and alternating who goes first) spreads the drift of a shared machine over
    every function alike, which is what makes a ratio of two of them meaningful.
    """
    for _ in range(warmup):
        for fn in fns:
            fn()
    times: list[list[float]] = [[] for _ in fns]
    order = list(range(len(fns)))
    for run in range(runs):
        for i in order if run % 2 == 0 else reversed(order):
            # A collection left over from the previous call must not land inside this one.
            gc.collect()
            started = time.perf_counter()
            fns[i]()
            times[i].append(time.perf_counter() - started)
    return times


def median_ms(seconds: Sequence[float]) -> float:
    """Return the median of timings in milliseconds."""
    return statistics.median(seconds) * 1000
