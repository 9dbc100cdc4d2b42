"""The one computation behind an engagement report: every figure the client reads.

:func:`measure_engagement` turns a pattern's waterfall run (``WaterfallResult``), the pattern's
check (``Pattern.check``) and, when known, the list's ground truth into an :class:`Engagement`.
The report's sections, tables, charts and recorded figures all read from that one object, so a
figure shown in the summary and again in a table is the same number rendered twice.

Who is counted where (the population of the pattern check, ``gtmkit.patterns.measure``):

* **received**: every row of the client's list;
* **worked** (``n``): received less rows rejected at intake (nothing to look a person up by)
  and duplicates (matched to an earlier row and given its outcome, never paid twice);
* **with a work email**: worked rows that end ``enriched`` — found by a source, or already
  complete in the list (``from_list``); coverage is their share of ``worked``;
* **found**: emails a source found (``with_email`` less ``from_list``); quality figures
  (verified, catch-all, accuracy) are shares of these;
* **usable**: found emails the verifier confirmed deliverable (``valid``); cost per usable
  record is the spend divided by them.

Shares carry a Wilson 95 % interval (:func:`gtmkit.comparison.stats.wilson_interval`).

Example:
    >>> s = Share(45, 50)
    >>> round(s.value, 2), round(s.low, 3), round(s.high, 3)
    (0.9, 0.786, 0.957)
    >>> Share(0, 0).value is None
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import polars as pl

from gtmkit.comparison.outcomes import judge_emails
from gtmkit.comparison.stats import wilson_interval
from gtmkit.providers.aliases import display_name
from gtmkit.reports.engagement.errors import ReportInputError
from gtmkit.schema import ROW_ID

__all__ = [
    "DataSource",
    "Engagement",
    "Share",
    "measure_engagement",
    "not_enriched_reason",
    "rejected_reason",
]

DataSource = Literal["simulated", "live"]

_NOT_WORKED = ("duplicate", "rejected")


#: How the report names the emails the client's list already had (a "source" of its own).
FROM_LIST = "Already in your list"


@dataclass(frozen=True, slots=True)
class Share:
    """``part`` of ``n`` with its Wilson 95 % interval (``None`` throughout when ``n`` is 0)."""

    part: int
    n: int

    @property
    def value(self) -> float | None:
        return self.part / self.n if self.n else None

    @property
    def low(self) -> float | None:
        return wilson_interval(self.part, self.n)[0] if self.n else None

    @property
    def high(self) -> float | None:
        return wilson_interval(self.part, self.n)[1] if self.n else None

    def as_dict(self) -> dict[str, Any]:
        return {"part": self.part, "n": self.n, "value": self.value}


@dataclass(frozen=True)
class Engagement:
    """Every figure of one engagement report (see the module docstring for who is counted).

    Frames (all small, one row per step, segment or reason):

    * ``sources``: ``position``, ``source`` (the client-facing name), ``provider``,
      ``documented_as`` (the pattern's name for a substituted step), ``role``, ``rows_in``,
      ``calls``, ``found``, ``share_of_list`` (of ``worked``), ``spend_usd``,
      ``cost_per_found``, ``verified``, ``catch_all``, ``judged``, ``correct``, ``accuracy``;
    * ``segments``: ``segment``, ``rows``, ``with_email``, ``coverage``, ``low``, ``high``;
    * ``segment_sources``: ``segment``, ``source``, ``found``, ``rows``, ``share``;
    * ``not_enriched``: ``reason``, ``rows`` (worked rows without a work email, by reason);
    * ``rejected_reasons``: ``reason``, ``rows`` (rows that could not be looked up);
    * ``documented``: ``figure``, ``label``, ``unit``, ``documented``, ``measured``, ``n``,
      ``low``, ``high``, ``verdict`` (the pattern's figures against this run).
    """

    client: str
    report_date: date
    data_source: DataSource
    pattern_title: str
    pattern_name: str
    pattern_maturity: str
    received: int
    rejected: int
    duplicates: int
    duplicates_with_email: int
    worked: int
    with_email: int
    from_list: int
    found: int
    usable: int
    coverage: Share
    verified: Share
    catch_all: Share
    accuracy: Share | None
    spend_usd: float
    spend_credits: float
    budget_usd: float | None
    budget_stopped: int
    manual: int
    from_cache: int
    segment_by: str | None
    sources: pl.DataFrame
    segments: pl.DataFrame | None
    segment_sources: pl.DataFrame | None
    not_enriched: pl.DataFrame
    rejected_reasons: pl.DataFrame
    documented: pl.DataFrame
    substitutions: dict[str, str] = field(default_factory=dict)
    failure_modes: tuple[str, ...] = ()
    #: emails a person found by hand and re-imported (source ``manual``; in ``found`` too)
    found_manual: int = 0

    @property
    def cost_per_record(self) -> float | None:
        """Spend ÷ worked rows (the pattern's "average cost per record")."""
        return self.spend_usd / self.worked if self.worked else None

    @property
    def cost_per_usable(self) -> float | None:
        """Spend ÷ usable records (found and confirmed deliverable)."""
        return self.spend_usd / self.usable if self.usable else None

    @property
    def budget_share(self) -> float | None:
        """Spend ÷ budget."""
        return self.spend_usd / self.budget_usd if self.budget_usd else None

    @property
    def not_enriched_rows(self) -> int:
        return self.worked - self.with_email

    def figures(self) -> dict[str, Any]:
        """The key figures as plain data, for ``gtmkit.reports.record_figures``."""
        documented = {
            row["figure"]: row["documented"]
            for row in self.documented.iter_rows(named=True)
            if row["step"] is None
        }
        return {
            "client": self.client,
            "report_date": self.report_date.isoformat(),
            "data_source": self.data_source,
            "pattern": self.pattern_name,
            "received": self.received,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "worked": self.worked,
            "with_email": self.with_email,
            "from_list": self.from_list,
            "found": self.found,
            "usable": self.usable,
            "coverage": self.coverage.value,
            "verified_share": self.verified.value,
            "catch_all_share": self.catch_all.value,
            "accuracy": None if self.accuracy is None else self.accuracy.value,
            "accuracy_n": None if self.accuracy is None else self.accuracy.n,
            "spend_usd": self.spend_usd,
            "spend_credits": self.spend_credits,
            "budget_usd": self.budget_usd,
            "cost_per_record": self.cost_per_record,
            "cost_per_usable": self.cost_per_usable,
            "budget_stopped": self.budget_stopped,
            "manual": self.manual,
            "found_manual": self.found_manual,
            "found_by_source": dict(
                zip(self.sources["provider"], self.sources["found"], strict=True)
            ),
            "not_enriched": dict(
                zip(self.not_enriched["reason"], self.not_enriched["rows"], strict=True)
            ),
            "documented": documented,
            "verdicts": {
                row["figure"]: row["verdict"]
                for row in self.documented.iter_rows(named=True)
                if row["step"] is None
            },
        }


#: Why a worked row has no work email, in the client's words (first match wins).
_NOT_ENRICHED = (
    ("budget_exhausted", None, "The budget ran out before the row was looked up"),
    ("manual", None, "Handed to manual research (no source found an email)"),
    ("failed", None, "A source returned an error for the row"),
    ("stopped", None, "The run was stopped before the row was finished"),
    ("not_found", "candidate email invalid", "An address was found but failed verification"),
    ("not_found", "flagged personal", "Only a personal or invalid address in your list"),
    ("not_found", None, "No source found a work email"),
)


def not_enriched_reason(status: str, status_reason: str | None) -> str:
    """The client-facing reason a worked row ended without a work email.

    Example:
        >>> not_enriched_reason("not_found", "hunter_verifier: candidate email invalid")
        'An address was found but failed verification'
        >>> not_enriched_reason("budget_exhausted", None)
        'The budget ran out before the row was looked up'
    """
    reason = (status_reason or "").lower()
    for wanted, contains, text in _NOT_ENRICHED:
        if status == wanted and (contains is None or contains in reason):
            return text
    return f"Other ({status})"


def rejected_reason(status_reason: str | None) -> str:
    """The client-facing reason a row could not be looked up at all.

    Example:
        >>> rejected_reason("invalid email 'info@', and no LinkedIn profile URL or name ...")
        'Only a generic or invalid address (such as info@), no name or company'
    """
    reason = (status_reason or "").lower()
    if "nothing to look the person up by" in reason:
        return "No name with a company, email or LinkedIn profile to look the person up by"
    if "invalid email" in reason:
        return "Only a generic or invalid address (such as info@), no name or company"
    return (status_reason or "No reason given").rstrip(".")


def _counts(frame: pl.DataFrame, column: str) -> pl.DataFrame:
    """``reason, rows`` from a column of reasons, largest first (ties by name)."""
    if frame.height == 0:
        return pl.DataFrame(schema={"reason": pl.String, "rows": pl.Int64})
    return (
        frame.group_by(pl.col(column).alias("reason"))
        .agg(pl.len().cast(pl.Int64).alias("rows"))
        .sort(["rows", "reason"], descending=[True, False])
    )


def _duplicates_enriched(duplicates: pl.DataFrame, worked: pl.DataFrame) -> int:
    """Duplicates whose first occurrence ended with a work email (they share its result)."""
    if duplicates.height == 0 or "duplicate_of" not in duplicates.columns:
        return 0
    enriched_ids = worked.filter(pl.col("status") == "enriched")[ROW_ID].cast(pl.Int64)
    return int(duplicates["duplicate_of"].cast(pl.Int64).is_in(enriched_ids.implode()).sum())


def _segment_column(
    records: pl.DataFrame, truth: pl.DataFrame | None, segment_by: str | None
) -> pl.Series | None:
    """The segment of every record, from the list itself or (by row) from the truth file."""
    if not segment_by:
        return None
    if segment_by in records.columns:
        return records[segment_by].cast(pl.String)
    if truth is not None and segment_by in truth.columns and ROW_ID in truth.columns:
        keyed = truth.select(
            pl.col(ROW_ID).cast(pl.Int64), pl.col(segment_by).cast(pl.String).alias("_segment")
        ).unique(ROW_ID, keep="first")
        joined = records.select(pl.col(ROW_ID).cast(pl.Int64)).join(keyed, on=ROW_ID, how="left")
        return joined["_segment"]
    available = sorted(set(records.columns) | set(truth.columns if truth is not None else []))
    raise ReportInputError(
        f"segment_by={segment_by!r} is neither a column of the list nor of the truth file; "
        f"use one of {available}, or an empty segment_by for no segment breakdown"
    )


def _source_names(plan: Any) -> dict[str, tuple[str, str | None]]:
    """provider → (client-facing name, documented name when the step was substituted)."""
    names: dict[str, tuple[str, str | None]] = {}
    for planned in plan:
        documented = planned.step.name if planned.substituted else None
        names[planned.provider] = (display_name(planned.provider), documented)
    return names


def _sources(
    summary: pl.DataFrame,
    found_rows: pl.DataFrame,
    worked: int,
    names: Mapping[str, tuple[str, str | None]],
    roles: Mapping[str, str],
) -> pl.DataFrame:
    rows = []
    for step in summary.iter_rows(named=True):
        provider = str(step["provider"])
        mine = found_rows.filter(pl.col("email_source") == provider)
        judged = int(mine["correct"].is_not_null().sum())
        correct = int(mine["correct"].fill_null(False).sum())
        found = mine.height
        spend = float(step["cost_usd"] or 0.0)
        name, documented_as = names.get(provider, (display_name(provider), None))
        rows.append(
            {
                "position": int(step["step"]),
                "source": name,
                "provider": provider,
                "documented_as": documented_as,
                "role": roles.get(provider, "finder"),
                "rows_in": int(step["rows_in"] or 0),
                "calls": int(step["calls"] or 0),
                "found": found,
                "share_of_list": found / worked if worked else None,
                "spend_usd": spend,
                "cost_per_found": spend / found if found else None,
                "verified": int(mine["email_verified"].fill_null(False).sum()),
                "catch_all": int((mine["email_status"] == "catch_all").fill_null(False).sum()),
                "judged": judged,
                "correct": correct,
                "accuracy": correct / judged if judged else None,
            }
        )
    schema = {
        "position": pl.Int64,
        "source": pl.String,
        "provider": pl.String,
        "documented_as": pl.String,
        "role": pl.String,
        "rows_in": pl.Int64,
        "calls": pl.Int64,
        "found": pl.Int64,
        "share_of_list": pl.Float64,
        "spend_usd": pl.Float64,
        "cost_per_found": pl.Float64,
        "verified": pl.Int64,
        "catch_all": pl.Int64,
        "judged": pl.Int64,
        "correct": pl.Int64,
        "accuracy": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _segments(worked: pl.DataFrame, sources: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    seg = pl.col("_segment").fill_null("Unknown")
    per_segment = (
        worked.group_by(seg.alias("segment"))
        .agg(
            pl.len().cast(pl.Int64).alias("rows"),
            (pl.col("status") == "enriched").sum().cast(pl.Int64).alias("with_email"),
        )
        .sort("segment")
    )
    intervals = [
        wilson_interval(int(w), int(n))
        for w, n in per_segment.select("with_email", "rows").iter_rows()
    ]
    per_segment = per_segment.with_columns(
        coverage=pl.col("with_email") / pl.col("rows"),
        low=pl.Series([i[0] for i in intervals], dtype=pl.Float64),
        high=pl.Series([i[1] for i in intervals], dtype=pl.Float64),
    )
    finders = sources.filter(pl.col("role") != "verifier")
    names = dict(zip(finders["provider"], finders["source"], strict=True))
    names["input"] = FROM_LIST
    order = ["input", *finders["provider"].to_list()]
    enriched = worked.filter(pl.col("status") == "enriched")
    grid = per_segment.select("segment", "rows").join(
        pl.DataFrame({"email_source": order, "_order": list(range(len(order)))}), how="cross"
    )
    found = enriched.group_by(seg.alias("segment"), "email_source").agg(
        pl.len().cast(pl.Int64).alias("found")
    )
    segment_sources = (
        grid.join(found, on=["segment", "email_source"], how="left")
        .with_columns(
            pl.col("found").fill_null(0),
            pl.col("email_source").replace_strict(names, return_dtype=pl.String).alias("source"),
        )
        .with_columns(share=pl.col("found") / pl.col("rows"))
        .sort("segment", "_order")
        .select("segment", "source", "found", "rows", "share")
    )
    return per_segment, segment_sources


#: Figures of the pattern check a client report shows (speed only for a live run: a
#: simulation answers at once, so its speed says nothing about a real engagement).
_CHECK_FIGURES = ("coverage", "manual_share", "avg_cost_usd", "accuracy", "verified_share")
_LIVE_ONLY = ("rows_per_minute", "turnaround_s")


def _documented(check: pl.DataFrame, data_source: DataSource) -> pl.DataFrame:
    figures = _CHECK_FIGURES + (_LIVE_ONLY if data_source == "live" else ())
    keep = check.filter(
        pl.col("figure").is_in(figures) | (pl.col("figure") == "step_share")
    ).select("figure", "label", "step", "provider", "unit", "documented", "measured", "n",
             "low", "high", "verdict")  # fmt: skip
    return keep


def measure_engagement(
    result: Any,
    *,
    pattern: Any,
    check: pl.DataFrame,
    client: str,
    report_date: date,
    data_source: DataSource,
    budget_usd: float | None = None,
    truth: pl.DataFrame | None = None,
    segment_by: str | None = None,
    substitute: Mapping[str, str] | None = None,
) -> Engagement:
    """Every figure of the report, from one run of a pattern's waterfall.

    Args:
        result: the ``WaterfallResult`` of ``pattern.to_waterfall(...).run(...)``.
        pattern: the ``gtmkit.patterns.Pattern`` that ran.
        check: ``pattern.check(result, truth=truth)`` (documented against measured).
        client: the client's name, as the report's title shows it.
        report_date: the report's date.
        data_source: ``"simulated"`` (gtmkit's simulated providers) or ``"live"``.
        budget_usd: the run's budget in dollars, if it had one.
        truth: the list's ground truth (``row_id``, ``true_email``), when known: accuracy.
        segment_by: a column of the list or of the truth file to break sources down by.
        substitute: the substitutions the waterfall was built with.

    Raises:
        ReportInputError: the run has no rows to report on, or ``segment_by`` names no column.
    """
    records: pl.DataFrame = result.records
    summary: pl.DataFrame = result.summary
    attempts: pl.DataFrame = result.attempts
    if records.height == 0:
        raise ReportInputError("the run has no rows: load a list with at least one lead")
    segments_of = _segment_column(records, truth, segment_by)
    if segments_of is not None:
        records = records.with_columns(segments_of.alias("_segment"))
    worked = records.filter(~pl.col("status").is_in(_NOT_WORKED))
    n = worked.height
    if n == 0:
        raise ReportInputError(
            "no row of the list could be looked up (all rejected or duplicates): see the "
            "rejected rows' reasons and send a list with names and companies"
        )
    source = pl.col("email_source").fill_null("")
    enriched = worked.filter(pl.col("status") == "enriched")
    from_list = int((enriched["email_source"] == "input").fill_null(False).sum())
    found_rows = judge_emails(enriched.filter((source != "input") & (source != "")), truth)
    found = found_rows.height
    usable = int(found_rows["email_verified"].fill_null(False).sum())
    catch_all = int((found_rows["email_status"] == "catch_all").fill_null(False).sum())
    judged = int(found_rows["correct"].is_not_null().sum())
    correct = int(found_rows["correct"].fill_null(False).sum())

    plan = pattern.plan(substitute=substitute)
    names = _source_names(plan)
    roles = {p.provider: p.role for p in plan}
    sources = _sources(summary, found_rows, n, names, roles)
    segments = segment_sources = None
    if segments_of is not None:
        segments, segment_sources = _segments(worked, sources)

    not_enriched_frame = worked.filter(pl.col("status") != "enriched").with_columns(
        pl.struct("status", "status_reason")
        .map_elements(
            lambda s: not_enriched_reason(s["status"], s["status_reason"]), return_dtype=pl.String
        )
        .alias("_reason")
    )
    rejected_rows = records.filter(pl.col("status") == "rejected").with_columns(
        pl.col("status_reason")
        .map_elements(rejected_reason, return_dtype=pl.String, skip_nulls=False)
        .alias("_reason")
    )
    duplicates = records.filter(pl.col("status") == "duplicate")
    spend = math.fsum(float(c or 0.0) for c in summary["cost_usd"].to_list())
    credits = math.fsum(float(c or 0.0) for c in summary["credits"].to_list())
    cached = int(attempts["cached"].sum()) if attempts.height else 0
    return Engagement(
        client=client,
        report_date=report_date,
        data_source=data_source,
        pattern_title=pattern.title,
        pattern_name=pattern.name,
        pattern_maturity=pattern.maturity,
        received=records.height,
        rejected=rejected_rows.height,
        duplicates=duplicates.height,
        duplicates_with_email=_duplicates_enriched(duplicates, worked),
        worked=n,
        with_email=enriched.height,
        from_list=from_list,
        found=found,
        usable=usable,
        coverage=Share(enriched.height, n),
        verified=Share(usable, found),
        catch_all=Share(catch_all, found),
        accuracy=Share(correct, judged) if truth is not None else None,
        spend_usd=spend,
        spend_credits=credits,
        budget_usd=budget_usd,
        budget_stopped=int((worked["status"] == "budget_exhausted").sum()),
        manual=int((worked["status"] == "manual").sum()),
        from_cache=cached,
        segment_by=segment_by or None,
        sources=sources,
        segments=segments,
        segment_sources=segment_sources,
        not_enriched=_counts(not_enriched_frame, "_reason"),
        rejected_reasons=_counts(rejected_rows, "_reason"),
        documented=_documented(check, data_source),
        substitutions={p.step.name: display_name(p.provider) for p in plan if p.substituted},
        failure_modes=tuple(pattern.failure_modes),
        found_manual=int((found_rows["email_source"] == "manual").fill_null(False).sum()),
    )
