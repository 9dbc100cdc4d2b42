"""What a run (or a comparison) measured, in the terms a pattern documents, with intervals.

Population: the rows the waterfall worked on — every row of the list except duplicates (they
share their first occurrence's outcome) and rows rejected at intake. ``n`` below is that count.

* coverage: rows that end ``enriched`` with an email ÷ n — a usable work email, found or
  already in the list. A row left with only the list's personal or undeliverable address
  (``not_found``), or cut short by the budget, is not covered; rows handed to a person
  (status ``manual``) count as *not* covered either, their share is ``manual_share``.
* per step: the step's incremental share of the whole list — rows whose email that step found
  ÷ n (``WaterfallResult.summary.incremental_coverage``); for the manual step, the share handed
  off. The shares of the finder steps add up to coverage (less the rows that already had an
  email, ``input_share``).
* cost per contact of a step: what the step cost ÷ the contacts it found (a ratio of means,
  interval by the delta method over the step's lookups); a verifier's cost is per check.
* average cost per record: the run's cost ÷ n (normal interval on the per-row mean).
* quality: ``accuracy`` = found emails equal to the truth's current address ÷ found emails
  the truth judges (only with a truth frame); ``verified_share`` = found emails verified
  ``valid`` ÷ found emails. "Found" leaves out emails the list already had.
* speed: rows per minute and wall time of the run (``totals.elapsed_s``); one run gives no
  interval.

Shares carry a Wilson 95 % interval (``gtmkit.comparison.stats.wilson_interval``).

Example:
    >>> share(45, 50)
    Estimate(value=0.9, n=50, low=0.786..., high=0.956...)
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import polars as pl

from gtmkit.comparison.stats import Z95, wilson_interval
from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.sequence import PlannedStep
from gtmkit.schema import ROW_ID

#: Input columns that identify a list's rows (an email waterfall never changes them).
IDENTITY_COLUMNS: tuple[str, ...] = (
    ROW_ID,
    "first_name",
    "last_name",
    "full_name",
    "company_name",
    "company_domain",
    "linkedin_url",
)
_NOT_WORKED = ("duplicate", "rejected")


@dataclass(frozen=True)
class Estimate:
    """A measured value with its sample size and 95 % interval (``None`` when not known)."""

    value: float | None
    n: int
    low: float | None = None
    high: float | None = None


NOT_MEASURED = Estimate(None, 0)


def share(successes: int, n: int) -> Estimate:
    """A proportion with its Wilson 95 % interval."""
    if n <= 0:
        return Estimate(None, 0)
    low, high = wilson_interval(int(successes), int(n))
    return Estimate(successes / n, n, low, high)


def mean_estimate(values: Sequence[float]) -> Estimate:
    """A mean with a normal 95 % interval (clipped at 0: costs are never negative)."""
    n = len(values)
    if n == 0:
        return Estimate(None, 0)
    mean = math.fsum(values) / n
    if n == 1:
        return Estimate(mean, 1)
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1)
    half = Z95 * math.sqrt(var / n)
    return Estimate(mean, n, max(0.0, mean - half), mean + half)


def ratio_estimate(costs: Sequence[float], hits: Sequence[bool]) -> Estimate:
    """Σcost ÷ Σhits over lookups, with a delta-method 95 % interval (``n`` = lookups)."""
    n = len(costs)
    found = sum(1 for h in hits if h)
    if n == 0 or found == 0:
        return Estimate(None, n)
    ratio = math.fsum(costs) / found
    if n == 1:
        return Estimate(ratio, n)
    mean_h = found / n
    resid = [c - ratio * (1.0 if h else 0.0) for c, h in zip(costs, hits, strict=True)]
    mean_r = math.fsum(resid) / n
    var = math.fsum((r - mean_r) ** 2 for r in resid) / (n - 1)
    half = Z95 * math.sqrt(var / n) / mean_h
    return Estimate(ratio, n, max(0.0, ratio - half), ratio + half)


@dataclass(frozen=True)
class StepMeasure:
    """One documented step as measured."""

    planned: PlannedStep
    share: Estimate
    cost: Estimate
    calls: int


@dataclass(frozen=True)
class Measurement:
    """Everything a benchmark records (see the module docstring for each figure)."""

    kind: Literal["waterfall", "comparison"]
    rows: int
    dataset: str
    measured_at: datetime
    coverage: Estimate
    manual_share: Estimate
    input_share: Estimate
    avg_cost: Estimate
    accuracy: Estimate
    verified_share: Estimate
    rows_per_minute: float | None
    wall_s: float | None
    steps: tuple[StepMeasure, ...]


def dataset_fingerprint(records: Any) -> str:
    """A short stable hash of a list's identity columns (rows rejected at intake left out).

    The same list gives the same fingerprint whether it comes from ``load_list(...)``, its
    ``.records`` or a ``WaterfallResult.records`` (enrichment does not touch these columns).

    Example:
        >>> import polars as pl
        >>> a = pl.DataFrame({"row_id": [0, 1], "full_name": ["Ada L", "Alan T"]})
        >>> dataset_fingerprint(a) == dataset_fingerprint(a.reverse())
        True
    """
    frame = getattr(records, "records", records)
    if not isinstance(frame, pl.DataFrame):
        raise PatternError("a dataset fingerprint needs a polars frame or a loaded list")
    if "status" in frame.columns:
        frame = frame.filter(pl.col("status") != "rejected")
    cols = [c for c in IDENTITY_COLUMNS if c in frame.columns]
    if ROW_ID in cols:
        frame = frame.sort(ROW_ID)
    digest = hashlib.sha256(",".join(cols).encode())
    for row in frame.select(cols).iter_rows():
        digest.update(json.dumps(row, default=str, ensure_ascii=False).encode())
    return digest.hexdigest()[:12]


def _run_time(attempts: pl.DataFrame | None) -> datetime:
    """When the run happened: its last attempt (now, for a run without attempts)."""
    if attempts is not None and attempts.height and "started_at" in attempts.columns:
        latest = attempts["started_at"].drop_nulls().max()
        if isinstance(latest, datetime):
            return latest if latest.tzinfo else latest.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _truth_map(truth: pl.DataFrame | None) -> dict[int, str | None] | None:
    if truth is None:
        return None
    if ROW_ID not in truth.columns or "true_email" not in truth.columns:
        raise PatternError(
            f"truth must have columns {ROW_ID!r} and 'true_email' (e.g. the sample's "
            f"<list>.truth.csv or World.truth(records)); got {truth.columns}"
        )
    out: dict[int, str | None] = {}
    for row_id, email in truth.select(ROW_ID, "true_email").iter_rows():
        if row_id is not None and int(row_id) not in out:
            out[int(row_id)] = None if not email else str(email).strip().lower()
    return out


def _quality(
    found: list[tuple[int, str, bool]], truth: Mapping[int, str | None] | None
) -> tuple[Estimate, Estimate]:
    """(accuracy, verified share) over found ``(row_id, email, verified)``."""
    verified = share(sum(1 for _, _, v in found if v), len(found))
    if truth is None:
        return NOT_MEASURED, verified
    judged = [(r, e) for r, e, _ in found if r in truth]
    correct = sum(1 for r, e in judged if truth[r] is not None and e.strip().lower() == truth[r])
    return share(correct, len(judged)), verified


def measure_result(
    result: Any, plan: Sequence[PlannedStep], *, truth: pl.DataFrame | None = None
) -> Measurement:
    """Measure a ``WaterfallResult`` of the planned steps (see the module docstring).

    Raises:
        PatternError: when the result's steps do not line up with the plan.
    """
    summary: pl.DataFrame = result.summary
    ran = summary["provider"].to_list()
    if len(ran) != len(plan):
        raise PatternError(
            f"this result ran {len(ran)} step(s) ({', '.join(ran)}) but the entry documents "
            f"{len(plan)} ({', '.join(p.step.name for p in plan)}); run the entry's own "
            "waterfall (pattern.to_waterfall()) to measure it"
        )
    records: pl.DataFrame = result.records
    worked = records.filter(~pl.col("status").is_in(_NOT_WORKED))
    n = worked.height
    if n == 0:
        raise PatternError("the result has no rows the waterfall worked on; nothing to measure")
    has_email = pl.col("email").is_not_null() & (pl.col("email").cast(pl.String) != "")
    covered = worked.filter(has_email & (pl.col("status") == "enriched"))
    source = pl.col("email_source").fill_null("")
    found_frame = covered.filter(source != "input")
    found = [
        (int(r), str(e), bool(v))
        for r, e, v in found_frame.select(ROW_ID, "email", "email_verified").iter_rows()
    ]
    accuracy, verified = _quality(found, _truth_map(truth))
    attempts: pl.DataFrame = result.attempts
    steps = []
    for planned, row in zip(plan, summary.iter_rows(named=True), strict=True):
        mine = attempts.filter(pl.col("step") == row["step"])
        if planned.role == "manual":
            step_share = share(int((worked["status"] == "manual").sum()), n)
        elif planned.role == "verifier":
            step_share = NOT_MEASURED
        else:
            step_share = share(round(float(row["incremental_coverage"]) * n), n)
        if planned.role == "verifier":
            cost = mean_estimate([float(c) for c in mine["cost_usd"].to_list()])
        else:
            per_lookup = mine.group_by(ROW_ID).agg(
                pl.col("cost_usd").sum(),
                ((pl.col("outcome") == "hit") & pl.col("email").is_not_null()).any().alias("hit"),
            )
            cost = ratio_estimate(per_lookup["cost_usd"].to_list(), per_lookup["hit"].to_list())
        steps.append(StepMeasure(planned, step_share, cost, int(row["calls"])))
    elapsed = result.totals.get("elapsed_s")
    wall = float(elapsed) if isinstance(elapsed, int | float) and elapsed > 0 else None
    return Measurement(
        kind="waterfall",
        rows=n,
        dataset=dataset_fingerprint(records),
        measured_at=_run_time(attempts),
        coverage=share(covered.height, n),
        manual_share=share(int((worked["status"] == "manual").sum()), n),
        input_share=share(int((covered["email_source"] == "input").sum()), n),
        avg_cost=mean_estimate([float(c or 0.0) for c in worked["cost_usd"].to_list()]),
        accuracy=accuracy,
        verified_share=verified,
        rows_per_minute=n / wall * 60.0 if wall else None,
        wall_s=wall,
        steps=tuple(sorted(steps, key=lambda s: s.planned.position)),
    )


def measure_comparison(
    comparison: Any, plan: Sequence[PlannedStep], *, truth: pl.DataFrame | None = None
) -> Measurement:
    """Replay the planned order on a comparison's measured outcomes, row by row.

    Every provider answered every sampled row in a comparison, so the documented order can be
    replayed exactly: a row reaches a step while no earlier step found its email, and pays that
    step's price when the provider's billing rule bills the call. A manual step takes what is
    left; a verifier step is not replayed (a comparison does not verify), nor is speed.

    Raises:
        PatternError: when a planned provider was not part of the comparison.
    """
    finders = [p for p in plan if p.role == "finder"]
    missing = [p.provider for p in finders if p.provider not in comparison.providers]
    if missing:
        raise PatternError(
            f"the comparison did not measure {missing} (it has {list(comparison.providers)}); "
            "compare those providers too, or check the entry against a waterfall run"
        )
    order = [p.provider for p in finders]
    pattern = comparison.pattern(order)
    obs = comparison.observations
    truth_known = truth is None and obs["correct"].is_not_null().any()
    lookup = {
        (r, p): (e, bool(v), c)
        for r, p, e, v, c in obs.select(
            ROW_ID, "provider", "email", "verified", "correct"
        ).iter_rows()
    }
    truth_map = _truth_map(truth)
    n = pattern.n_rows
    billed = [pattern.billed(pattern.index(p)) for p in order]
    hit = [pattern.hit[pattern.index(p)] for p in order]
    unit = [pattern.costs[pattern.index(p)].usd_per_billed_call for p in order]
    step_costs: list[list[float]] = [[] for _ in order]
    step_hits: list[list[bool]] = [[] for _ in order]
    row_costs: list[float] = []
    found: list[tuple[int, str, bool]] = []
    judged = correct = 0
    for bit, row_id in enumerate(pattern.row_ids):
        mask = 1 << bit
        spent = 0.0
        for k, provider in enumerate(order):
            paid = unit[k] if billed[k] & mask else 0.0
            spent += paid
            step_costs[k].append(paid)
            got = bool(hit[k] & mask)
            step_hits[k].append(got)
            if got:
                email, verified, right = lookup[(row_id, provider)]
                found.append((row_id, str(email), verified))
                if truth_known and right is not None:
                    judged += 1
                    correct += int(bool(right))
                break
        row_costs.append(spent)
    if truth_map is not None:
        accuracy, verified_share = _quality(found, truth_map)
    else:
        accuracy = share(correct, judged) if truth_known else NOT_MEASURED
        verified_share = share(sum(1 for _, _, v in found if v), len(found))
    covered = len(found)
    left = n - covered
    has_manual = any(p.role == "manual" for p in plan)
    steps = []
    k = 0
    for planned in plan:
        if planned.role == "finder":
            new = sum(step_hits[k])
            cost = ratio_estimate(step_costs[k], step_hits[k])
            steps.append(StepMeasure(planned, share(new, n), cost, len(step_costs[k])))
            k += 1
        elif planned.role == "manual":
            steps.append(StepMeasure(planned, share(left, n), Estimate(0.0, left), 0))
        else:
            steps.append(StepMeasure(planned, NOT_MEASURED, NOT_MEASURED, 0))
    results = getattr(comparison, "result", None) or {}
    first = next(iter(results.values()), None) if isinstance(results, Mapping) else None
    dataset = (
        dataset_fingerprint(first.records)
        if first is not None
        else hashlib.sha256(repr(sorted(pattern.row_ids)).encode()).hexdigest()[:12]
    )
    return Measurement(
        kind="comparison",
        rows=n,
        dataset=dataset,
        measured_at=_run_time(getattr(comparison, "attempts", None)),
        coverage=share(covered, n),
        manual_share=share(left, n) if has_manual else NOT_MEASURED,
        input_share=share(0, n),
        avg_cost=mean_estimate(row_costs),
        accuracy=accuracy,
        verified_share=verified_share,
        rows_per_minute=None,
        wall_s=None,
        steps=tuple(steps),
    )


__all__ = [
    "IDENTITY_COLUMNS",
    "NOT_MEASURED",
    "Estimate",
    "Measurement",
    "StepMeasure",
    "dataset_fingerprint",
    "mean_estimate",
    "measure_comparison",
    "measure_result",
    "ratio_estimate",
    "share",
]
