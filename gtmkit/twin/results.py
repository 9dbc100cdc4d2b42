"""What the twin answers: a :class:`Prediction` (figures with intervals) and a
:class:`BudgetAdvice`.

Example:
    >>> i = interval([1.0, 2.0, 3.0, 4.0, 5.0], 0.5)
    >>> i.expected, i.low, i.high, 2.5 in i
    (3.0, 2.0, 4.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from gtmkit.twin.errors import TwinError

METRICS = ("coverage", "usable_coverage", "found", "credits", "spend_usd", "run_time_s")


@dataclass(frozen=True, slots=True)
class Interval:
    """An expected value and its interval at ``confidence``."""

    expected: float
    low: float
    high: float
    confidence: float

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def interval(values: Sequence[float], confidence: float) -> Interval:
    ordered = sorted(values)
    tail = (1.0 - confidence) / 2.0
    mean = sum(ordered) / len(ordered) if ordered else float("nan")
    return Interval(mean, _quantile(ordered, tail), _quantile(ordered, 1 - tail), confidence)


@dataclass(frozen=True)
class Prediction:
    """What the twin expects of a waterfall on a list.

    ``figures``: one row per metric (``coverage``, ``usable_coverage``: shares of the rows
    needing an email; ``found``; ``credits``; ``spend_usd``; ``run_time_s``) with ``expected``,
    ``low``, ``high``; ``steps``: expected calls, hits and credits per provider; ``draws``: one
    row per posterior draw; ``flags``: what rests on assumptions rather than the ledger.
    """

    figures: pl.DataFrame
    steps: pl.DataFrame
    draws: pl.DataFrame
    rows: int
    confidence: float
    basis: str
    flags: tuple[str, ...] = ()

    def __getitem__(self, metric: str) -> Interval:
        row = self.figures.filter(pl.col("metric") == metric)
        if row.height == 0:
            raise TwinError(f"no figure {metric!r}; figures: {', '.join(METRICS)}")
        expected, low, high = row.select("expected", "low", "high").row(0)
        return Interval(expected, low, high, self.confidence)

    def __repr__(self) -> str:
        parts = [f"Prediction({self.rows} rows needing an email, {self.basis})"]
        for metric in METRICS:
            i = self[metric]
            parts.append(f"  {metric}: {i.expected:.4g} [{i.low:.4g}, {i.high:.4g}]")
        parts += [f"  note: {flag}" for flag in self.flags]
        return "\n".join(parts)


@dataclass(frozen=True)
class BudgetAdvice:
    """The budget that reaches ``coverage`` with probability ``confidence`` (``None`` when
    the waterfall cannot reach it that surely: see ``probability`` of reaching it at all)."""

    credits: float | None
    usd: float | None
    coverage: float
    confidence: float
    probability: float
    basis: str


__all__ = ["METRICS", "BudgetAdvice", "Interval", "Prediction", "interval"]
