"""``WaterfallResult``: the enriched records, every attempt, and a per-step summary.

Example:
    >>> "manual" in STATUSES and "stopped" in STATUSES
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from gtmkit.schema import ROW_ID
from gtmkit.waterfall.attempt import ATTEMPT_COLUMNS, Attempt, attempts_frame

__all__ = ["ATTEMPT_COLUMNS", "STATUSES", "RowOutcome", "WaterfallResult", "build_result"]

STATUSES: tuple[str, ...] = (
    "enriched",
    "not_found",
    "budget_exhausted",
    "failed",
    "manual",
    "stopped",
    "duplicate",
    "rejected",
)


@dataclass(slots=True)
class RowOutcome:
    """Where one representative row ended."""

    values: dict[str, Any]
    sources: dict[str, str]
    email_status: str | None
    credits: float
    cost_usd: float
    attempts: int
    status: str
    reason: str | None


@dataclass
class WaterfallResult:
    """What a run produced.

    Attributes:
        records: every input row exactly once, with enriched fields, sources, status and cost.
        attempts: one row per provider call or cache use.
        summary: one row per step (verifier last): rows in, calls, hits, coverage, credits,
            dollars, cost per hit, latency percentiles, circuit-breaker state.
        totals: run-level figures (rows, statuses, credits, calls, cached, resumed_in_flight...).
        decisions: with ``order="adaptive"``, one row per decided row: its segment, the order
            it got, the rates drawn and what they rested on (``sampled_json``), the worth of
            a usable record used, and whether the order was reused from an earlier run of the
            chain (:mod:`gtmkit.waterfall.adaptive`); ``None`` for a static order.
    """

    records: pl.DataFrame
    attempts: pl.DataFrame
    summary: pl.DataFrame
    totals: dict[str, Any] = field(default_factory=dict)
    decisions: pl.DataFrame | None = None

    def manual_tasks(self) -> pl.DataFrame:
        """Rows handed off to a person (status ``manual``): who they are and what is missing,
        as a task list to export (``export_csv(result.manual_tasks(), path)``)."""
        wanted = (
            ROW_ID, "first_name", "last_name", "full_name", "title", "company_name",
            "company_domain", "linkedin_url", "status_reason",
        )  # fmt: skip
        rows = self.records.filter(pl.col("status") == "manual")
        return rows.select([c for c in wanted if c in rows.columns])

    def __repr__(self) -> str:
        t = self.totals
        return (
            f"WaterfallResult(rows={t.get('rows')}, enriched={t.get('enriched')}, "
            f"credits={t.get('credits', 0):g}, cost_usd={t.get('cost_usd', 0):.2f}, "
            f"calls={t.get('calls')}, cached={t.get('cached')})"
        )


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def build_result(
    wf: Any,
    frame: pl.DataFrame,
    rejected: pl.DataFrame | None,
    outcomes: Mapping[int, RowOutcome],
    duplicates: Mapping[int, int],
    attempt_rows: Sequence[Attempt],
    stats: Sequence[Any],
    *,
    breaker_reasons: Mapping[str, str],
    totals_extra: Mapping[str, Any],
) -> WaterfallResult:
    attempts = attempts_frame(attempt_rows)
    fields = ["email", *dict.fromkeys(f for s in wf.steps for f in s.fills if f != "email")]
    if "phone" in fields:
        fields.insert(fields.index("phone") + 1, "phone_type")
    records = _records_frame(frame, rejected, outcomes, duplicates, fields=fields)
    summary = _summary_frame(wf, attempts, outcomes, stats, breaker_reasons)
    counts = records.group_by("status").len()
    by_status = dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True))
    sent = attempts.filter(~pl.col("cached"))
    totals: dict[str, Any] = {
        "rows": records.height,
        **{s: int(by_status.get(s, 0)) for s in STATUSES},
        "emails_found": int(records["email"].is_not_null().sum()) if "email" in records else 0,
        "credits": float(attempts["credits"].sum()),
        "credits_held": float(attempts["credits_held"].sum()),
        "cost_usd": float(attempts["cost_usd"].sum()),
        "calls": sent.height,
        "cached": attempts.height - sent.height,
        "disabled": dict(breaker_reasons),
    }
    totals.update(totals_extra)
    return WaterfallResult(records=records, attempts=attempts, summary=summary, totals=totals)


def _records_frame(
    frame: pl.DataFrame,
    rejected: pl.DataFrame | None,
    outcomes: Mapping[int, RowOutcome],
    duplicates: Mapping[int, int],
    *,
    fields: list[str],
) -> pl.DataFrame:
    row_ids = frame[ROW_ID].to_list()
    per_row: list[RowOutcome] = []
    dup_of: list[int | None] = []
    for row_id in row_ids:
        if row_id in duplicates:
            rep = duplicates[row_id]
            base = outcomes[rep]
            per_row.append(
                RowOutcome(
                    values=base.values,
                    sources=base.sources,
                    email_status=base.email_status,
                    credits=0.0,
                    cost_usd=0.0,
                    attempts=0,
                    status="duplicate",
                    reason=f"duplicate of row {rep} ({base.status})",
                )
            )
            dup_of.append(rep)
        else:
            per_row.append(outcomes[row_id])
            dup_of.append(None)
    columns: list[pl.Series] = []
    for f in fields:
        values = [o.values.get(f) for o in per_row]
        dtype = frame.schema.get(f)
        if dtype is not None:
            series = pl.Series(
                f, values, dtype=pl.Object if dtype == pl.Object else None, strict=False
            )
            try:
                series = series.cast(dtype)
            except Exception:
                series = pl.Series(
                    f, [None if v is None else str(v) for v in values], dtype=pl.String
                )
        else:
            series = pl.Series(f, values, strict=False)
        columns.append(series)
        if f != "phone_type":  # a phone's type comes from where the phone came from
            columns.append(
                pl.Series(f"{f}_source", [o.sources.get(f) for o in per_row], dtype=pl.String)
            )
    statuses = [o.email_status for o in per_row]
    columns += [
        pl.Series("email_status", statuses, dtype=pl.String),
        pl.Series("email_verified", [s == "valid" for s in statuses], dtype=pl.Boolean),
        pl.Series("credits", [o.credits for o in per_row], dtype=pl.Float64),
        pl.Series("cost_usd", [o.cost_usd for o in per_row], dtype=pl.Float64),
        pl.Series("attempts", [o.attempts for o in per_row], dtype=pl.Int64),
        pl.Series("status", [o.status for o in per_row], dtype=pl.String),
        pl.Series("status_reason", [o.reason for o in per_row], dtype=pl.String),
    ]
    if "duplicate_of" in frame.columns:
        dup_series = frame["duplicate_of"]
    else:
        dup_series = pl.Series("duplicate_of", dup_of, dtype=frame.schema[ROW_ID])
    out = frame.with_columns(columns).with_columns(dup_series.alias("duplicate_of"))
    if rejected is not None and ROW_ID in rejected.columns:
        reason_col = "reason" if "reason" in rejected.columns else None
        extra = pl.DataFrame(
            {
                ROW_ID: rejected[ROW_ID].cast(out.schema[ROW_ID]),
                "email_verified": [False] * rejected.height,
                "credits": [0.0] * rejected.height,
                "cost_usd": [0.0] * rejected.height,
                "attempts": [0] * rejected.height,
                "status": ["rejected"] * rejected.height,
                "status_reason": (
                    rejected[reason_col].cast(pl.String)
                    if reason_col
                    else ["rejected at intake"] * rejected.height
                ),
            },
            schema_overrides={"attempts": pl.Int64},
        )
        out = pl.concat([out, extra], how="diagonal_relaxed")
    return out.sort(ROW_ID)


def _summary_frame(
    wf: Any,
    attempts: pl.DataFrame,
    outcomes: Mapping[int, RowOutcome],
    stats: Sequence[Any],
    breaker_reasons: Mapping[str, str],
) -> pl.DataFrame:
    names = [s.provider for s in wf.steps] + ([wf.verify] if wf.verify else [])
    n = max(1, len(outcomes))
    filled_by: dict[str, int] = {}
    for o in outcomes.values():
        src = o.sources.get("email")
        if src and src != "input" and o.values.get("email"):
            filled_by[src] = filled_by.get(src, 0) + 1
    rows = []
    cumulative = 0.0
    for index, name in enumerate(names):
        mine = attempts.filter(pl.col("step") == index)
        sent = mine.filter(~pl.col("cached"))
        latencies = sent["latency_s"].to_list()
        credits = float(mine["credits"].sum())
        cost = float(mine["cost_usd"].sum())
        hits = stats[index].hits
        verifier = wf.verify is not None and index == len(wf.steps)
        incremental = 0.0 if verifier else filled_by.get(name, 0) / n
        cumulative += incremental
        rows.append(
            {
                "step": index,
                "provider": name,
                "rows_in": stats[index].rows_in,
                "calls": sent.height,
                "hits": hits,
                "incremental_coverage": incremental,
                "cumulative_coverage": cumulative,
                "credits": credits,
                "cost_usd": cost,
                "cost_per_hit": cost / hits if hits else None,
                "latency_p50_s": _percentile(latencies, 0.5),
                "latency_p95_s": _percentile(latencies, 0.95),
                "disabled": name in breaker_reasons,
                "disabled_reason": breaker_reasons.get(name),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "step": pl.Int64,
            "provider": pl.String,
            "rows_in": pl.Int64,
            "calls": pl.Int64,
            "hits": pl.Int64,
            "incremental_coverage": pl.Float64,
            "cumulative_coverage": pl.Float64,
            "credits": pl.Float64,
            "cost_usd": pl.Float64,
            "cost_per_hit": pl.Float64,
            "latency_p50_s": pl.Float64,
            "latency_p95_s": pl.Float64,
            "disabled": pl.Boolean,
            "disabled_reason": pl.String,
        },
    )
