"""``gtmkit.compare``: every provider on every sampled row, then metrics, overlap and orders.

Each provider runs as a one-step waterfall (``when="always"``) on every sampled row, through
the same engine as any other waterfall — same rate limits, retries, budget and ledger. So each
lookup is paid once, and a later waterfall over the same rows with the same ledger is answered
from its cache for free. (One step per run, not one run with every step: within a run the
engine hands a later step the email an earlier step found, and PDL would then enrich *by* that
email — one provider's figures would depend on the others'. In a real waterfall a later step
only sees rows still missing an email, which is what the separate runs measure.)

Example (simulated world, no key, no spend)::

    import gtmkit

    people = gtmkit.load_list("data/samples/leads_demo.csv").records
    cmp = gtmkit.compare(people, ["hunter", "apollo", "pdl"], sample=500,
                         truth="data/samples/leads_demo.truth.csv",  # or a frame
                         segment_by="employee_band", ledger="data/ledger.sqlite")
    cmp.metrics                      # per provider
    cmp.segment_metrics              # per provider × segment value
    cmp.overlap, cmp.conflicts
    cmp.frontier().filter("pareto")
    rec = cmp.recommend(target_coverage=0.8)
    rec.waterfall.run(people, ledger="data/ledger.sqlite")   # reuses the comparison's lookups
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import polars as pl

from gtmkit.comparison.errors import CompareError
from gtmkit.comparison.metrics import provider_metrics
from gtmkit.comparison.optimize import HitPattern, ProviderCost, evaluate_order, frontier
from gtmkit.comparison.outcomes import (
    TruthError,
    attach_truth,
    load_truth,
    observations_from_attempts,
)
from gtmkit.comparison.overlap import conflict_rows, pairwise_overlap
from gtmkit.comparison.phones import (
    attach_phone_truth,
    check_phone_sellers,
    phone_observations,
    phone_worst_case,
    with_bought_credits,
)
from gtmkit.comparison.recommend import Metric, Recommendation, recommend
from gtmkit.paths import display_path, resolve_path
from gtmkit.providers.pricing import adapter_for, price_per_credit, worst_case_credits
from gtmkit.schema import ROW_ID
from gtmkit.waterfall.options import DEFAULT_LEDGER_PATH

Field = Literal["email", "phone"]
PhoneStop = Literal["first_any", "first_mobile"]
_FIELDS: tuple[str, ...] = ("email", "phone")
_PHONE_STOPS: tuple[str, ...] = ("first_any", "first_mobile")

#: Marker for "let the engine use its default ledger" (``data/ledger.sqlite``).
ENGINE_DEFAULT_LEDGER: Any = "<engine default>"


# -- provider prices -----------------------------------------------------------------------
def provider_costs(
    names: Sequence[str],
    *,
    providers: Mapping[str, Any] | None = None,
    prices: Mapping[str, float] | None = None,
    attempts: pl.DataFrame | None = None,
) -> dict[str, ProviderCost]:
    """Billing rule and unit price per provider.

    The rule comes from the adapter class (``billing``, ``credits_per_lookup``), the price
    from :func:`gtmkit.providers.pricing.price_per_credit` (``prices`` overrides the list
    price; an unknown provider raises ``UnknownProvider``, a NaN, negative or bool price
    ``InvalidPrice``), and when ``attempts`` holds billed calls that were actually sent, their
    mean credits replace the adapter's nominal ``credits_per_lookup`` (measured beats declared).
    """
    out: dict[str, ProviderCost] = {}
    for name in names:
        cls = adapter_for(name, providers)
        credits = float(getattr(cls, "credits_per_lookup", 1.0))
        if attempts is not None and attempts.height:
            paid = attempts.filter(
                (pl.col("provider") == name) & pl.col("billed") & ~pl.col("cached")
            )["credits"]
            if paid.len():
                credits = float(paid.mean())  # type: ignore[arg-type]
        price = price_per_credit(name, prices=prices, providers=providers)
        out[name] = ProviderCost(name, cls.billing, credits, price)
    return out


def estimate_compare(
    n_rows: int, costs: Mapping[str, ProviderCost], *, max_credits: Mapping[str, float]
) -> pl.DataFrame:
    """What a comparison may spend before anything is sent: one row per provider.

    ``usd_if_all_billed`` prices every lookup as billed (the ceiling for per-hit providers, the
    expected figure for per-call ones); ``usd_worst_case`` uses the adapter's ``max_credits``
    (what the engine reserves against the budget).
    """
    rows = [
        {
            "provider": name,
            "billing": c.billing,
            "lookups": n_rows,
            "usd_per_credit": c.usd_per_credit,
            "credits_if_all_billed": n_rows * c.credits_per_billed_call,
            "usd_if_all_billed": n_rows * c.usd_per_billed_call,
            "usd_worst_case": n_rows
            * max_credits.get(name, c.credits_per_billed_call)
            * c.usd_per_credit,
        }
        for name, c in costs.items()
    ]
    frame = pl.DataFrame(rows)
    total = frame.select(
        pl.lit("TOTAL").alias("provider"),
        pl.lit("").alias("billing"),
        pl.col("lookups").sum(),
        pl.lit(None, dtype=pl.Float64).alias("usd_per_credit"),
        pl.col("credits_if_all_billed").sum(),
        pl.col("usd_if_all_billed").sum(),
        pl.col("usd_worst_case").sum(),
    )
    return pl.concat([frame, total], how="vertical_relaxed")


# -- the comparison object ---------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """Everything measured by :func:`compare` (or rebuilt from attempts with ``from_attempts``).

    Attributes:
        observations: one row per (sampled row, provider) — see ``gtmkit.comparison.outcomes`` —
            with the segment columns joined.
        costs: billing rule and unit price per provider.
        providers: provider names in the order compared.
        segment_by: segment columns available on ``observations``.
        estimate: the pre-run cost estimate (when run through :func:`compare`).
        result: ``{provider: WaterfallResult}`` of the engine runs (via :func:`compare`).
        truth_source: what ``correct`` was judged against: ``"frame"``, ``"file:<path>"``
            (relative to the project) or ``None`` (no truth).
        attempts: every engine attempt behind the observations (all providers).
        field: what was compared: ``"email"`` or ``"phone"`` (observations then carry
            ``phone``, ``phone_type``, ``mobile`` and ``list_credits``, see
            ``gtmkit.comparison.phones``; the optimizer takes ``phone_stop``).
    """

    observations: pl.DataFrame
    costs: Mapping[str, ProviderCost]
    providers: tuple[str, ...]
    segment_by: tuple[str, ...] = ()
    estimate: pl.DataFrame | None = None
    result: Any = None
    truth_source: str | None = None
    attempts: pl.DataFrame | None = field(default=None, repr=False)
    field: Field = "email"

    def __repr__(self) -> str:
        rows = self.observations[ROW_ID].n_unique()
        truth = self.truth_source or "none"
        segments = ", ".join(self.segment_by) or "none"
        what = "" if self.field == "email" else f"{self.field}s, "
        return (
            f"Comparison({what}{len(self.providers)} providers × {rows} rows: "
            f"{', '.join(self.providers)}; truth: {truth}; segments: {segments})"
        )

    # -- construction without running ---------------------------------------------------
    @classmethod
    def from_attempts(
        cls,
        attempts: pl.DataFrame,
        costs: Mapping[str, ProviderCost],
        *,
        rows: pl.DataFrame | None = None,
        truth: pl.DataFrame | None = None,
        segment_by: str | Sequence[str] = (),
        providers: Sequence[str] | None = None,
        usable_statuses: Sequence[str] = ("valid",),
        field: Field = "email",
    ) -> Comparison:
        """Build a comparison from an attempts-shaped frame (e.g. an earlier run's).

        Args:
            attempts: ``WaterfallResult.attempts`` of a run where every provider was tried on
                every row.
            costs: billing rule and price per provider (see :func:`provider_costs`).
            rows: the sampled rows (``row_id`` plus any segment columns).
            truth: ``row_id, true_email`` or ``email, bounced`` (see ``normalize_truth``);
                segment columns it carries (e.g. the world's ``employee_band``) are joined too.
            segment_by: columns to break metrics down by.
            providers: providers to keep (default: all in ``attempts``).
            usable_statuses: email statuses counted as verified.
            field: ``"email"`` or ``"phone"`` (a phone step's attempts; truth then gives
                ``true_mobile`` / ``true_direct`` / ``true_office``).
        """
        seg = (segment_by,) if isinstance(segment_by, str) else tuple(segment_by)
        obs = _observations(attempts, rows, providers, usable_statuses, _check_field(field))
        names = tuple(dict.fromkeys(obs["provider"].to_list()))
        missing_costs = [p for p in names if p not in costs]
        if missing_costs:
            raise CompareError(f"no price/billing information for {missing_costs}")
        obs = _attach(obs, truth, field)
        obs = _join_segments(obs, seg, rows, truth)
        return cls(
            observations=obs,
            costs=dict(costs),
            providers=names,
            segment_by=seg,
            truth_source=None if truth is None else "frame",
            attempts=attempts,
            field=field,
        )

    def with_truth(self, truth: pl.DataFrame, *, source: str = "frame") -> Comparison:
        """The same comparison judged against (new) truth — e.g. bounce outcomes joined later."""
        obs = _attach(
            self.observations.with_columns(pl.lit(None).alias("correct")), truth, self.field
        )
        return replace(self, observations=obs, truth_source=source)

    # -- measurements -------------------------------------------------------------------
    @cached_property
    def metrics(self) -> pl.DataFrame:
        """Per-provider metrics (see ``gtmkit.comparison.metrics`` for every column)."""
        return provider_metrics(self.observations, self.costs)

    def metrics_by(self, column: str) -> pl.DataFrame:
        """Per provider × values of ``column`` (any column on the observations)."""
        return provider_metrics(self.observations, self.costs, by=[column])

    @cached_property
    def segment_metrics(self) -> pl.DataFrame:
        """Per provider × segment for every ``segment_by`` column, stacked: columns
        ``segment`` (the column name) and ``segment_value`` (as text) then the metrics."""
        frames = []
        for col in self.segment_by:
            m = self.metrics_by(col)
            frames.append(
                m.rename({col: "segment_value"})
                .with_columns(pl.col("segment_value").cast(pl.String), pl.lit(col).alias("segment"))
                .select(
                    "provider",
                    "segment",
                    "segment_value",
                    pl.exclude("provider", "segment", "segment_value"),
                )
            )
        if not frames:
            return pl.DataFrame()
        return pl.concat(frames, how="vertical_relaxed")

    @cached_property
    def overlap(self) -> pl.DataFrame:
        """Pairwise overlap, gain and conflicts (see ``gtmkit.comparison.overlap``)."""
        return pairwise_overlap(self.observations)

    @cached_property
    def conflicts(self) -> pl.DataFrame:
        """Rows where providers found different emails, and who was right when known."""
        return conflict_rows(self.observations)

    # -- optimizer ------------------------------------------------------------------------
    def pattern(
        self,
        providers: Sequence[str] | None = None,
        *,
        rows: Sequence[int] | None = None,
        phone_stop: PhoneStop | None = None,
    ) -> HitPattern:
        """The measured joint hit pattern (optionally for some providers / row_ids).

        For a phone comparison ``phone_stop`` says where a row stops: ``"first_any"`` (the
        default: any number) or ``"first_mobile"`` (only a mobile; only mobiles then count as
        covered and usable). The same measurement answers both.
        """
        obs = self.observations
        if rows is not None:
            obs = obs.filter(pl.col(ROW_ID).is_in(list(rows)))
        return HitPattern.from_observations(
            obs,
            self.costs,
            providers=providers or self.providers,
            stop_on=self._stop_column(phone_stop),
        )

    def _stop_column(self, phone_stop: PhoneStop | None) -> str:
        if phone_stop is None:
            return "hit"
        if self.field != "phone":
            raise CompareError(
                f"phone_stop applies to a phone comparison; this one compared {self.field}s "
                '(run compare(..., field="phone"))'
            )
        if phone_stop not in _PHONE_STOPS:
            raise CompareError(f"phone_stop must be one of {_PHONE_STOPS}, got {phone_stop!r}")
        return "mobile" if phone_stop == "first_mobile" else "hit"

    def _step_options(self, phone_stop: PhoneStop | None) -> dict[str, Any]:
        """How a recommended step is written for what was compared."""
        if self.field != "phone":
            return {}
        return {"fills": ("phone",), "phone_stop": phone_stop or "first_any"}

    def frontier(
        self,
        providers: Sequence[str] | None = None,
        *,
        method: Literal["auto", "exact", "heuristic"] = "auto",
        metric: Metric = "coverage",
        phone_stop: PhoneStop | None = None,
    ) -> pl.DataFrame:
        """Every subset's cost-minimal order with coverage, usable coverage and cost per row;
        ``pareto`` marks the frontier (see ``gtmkit.comparison.optimize.frontier``;
        ``phone_stop`` as in :meth:`pattern`)."""
        return frontier(
            self.pattern(providers, phone_stop=phone_stop), method=method, metric=metric
        )

    def _segments(self, column: str, pattern: HitPattern) -> list[Any]:
        if column not in self.observations.columns:
            raise CompareError(f"segment column {column!r} not available; have {self.segment_by}")
        first = self.providers[0]
        per_row = (
            self.observations.filter(pl.col("provider") == first)
            .select(ROW_ID, column)
            .filter(pl.col(ROW_ID).is_in(list(pattern.row_ids)))
            .sort(ROW_ID)
        )
        return per_row[column].to_list()

    def recommend(
        self,
        *,
        target_coverage: float | None = None,
        budget_per_row: float | None = None,
        by_segment: bool | str = False,
        metric: Metric = "coverage",
        providers: Sequence[str] | None = None,
        rows: Sequence[int] | None = None,
        phone_stop: PhoneStop | None = None,
    ) -> Recommendation:
        """A ready-to-run ``Waterfall`` with predicted coverage and cost per row.

        Args:
            target_coverage: cheapest order reaching this share of rows with an email.
            budget_per_row: best coverage within this spend per row (USD).
            by_segment: ``True`` (first ``segment_by`` column) or a column name: one order
                per segment where worth it (see ``gtmkit.comparison.recommend``).
            metric: ``coverage`` or ``usable_coverage`` (verified and correct).
            providers: restrict to these providers.
            rows: fit on these ``row_id`` only (used by the out-of-sample check).
            phone_stop: a phone comparison's stop rule (see :meth:`pattern`); the
                recommended steps fill ``phone`` with it.
        """
        pattern = self.pattern(providers, rows=rows, phone_stop=phone_stop)
        step_options = self._step_options(phone_stop)
        if by_segment:
            if by_segment is True and not self.segment_by:
                raise CompareError("by_segment=True needs compare(..., segment_by=...)")
            column = self.segment_by[0] if by_segment is True else str(by_segment)
            return recommend(
                pattern,
                target_coverage=target_coverage,
                budget_per_row=budget_per_row,
                metric=metric,
                segments=self._segments(column, pattern),
                segment_column=column,
                step_options=step_options,
            )
        return recommend(
            pattern,
            target_coverage=target_coverage,
            budget_per_row=budget_per_row,
            metric=metric,
            step_options=step_options,
        )

    def holdout_check(
        self,
        *,
        target_coverage: float | None = None,
        budget_per_row: float | None = None,
        metric: Metric = "coverage",
        fit_share: float = 0.5,
        seed: int = 0,
        providers: Sequence[str] | None = None,
        phone_stop: PhoneStop | None = None,
    ) -> dict[str, Any]:
        """Fit on one part of the sample, replay the recommended order on the other.

        The held-out rows are replayed from their *measured* outcomes (what each provider
        really answered on them), so "realized" is what the order would have done there.

        Returns:
            ``order``, ``fit_rows``, ``holdout_rows``, predicted and realized ``coverage``,
            ``usable_coverage`` and ``cost_per_row_usd``, and the relative errors
            ``coverage_rel_error`` / ``cost_rel_error`` (realized ÷ predicted − 1).
        """
        if not 0.0 < fit_share < 1.0:
            raise CompareError(f"fit_share must be between 0 and 1, got {fit_share}")
        fit, hold = split_rows(self.observations[ROW_ID].unique().to_list(), fit_share, seed)
        rec = self.recommend(
            target_coverage=target_coverage,
            budget_per_row=budget_per_row,
            metric=metric,
            providers=providers,
            rows=fit,
            phone_stop=phone_stop,
        )
        realized = evaluate_order(
            self.pattern(providers, rows=hold, phone_stop=phone_stop), rec.order
        )
        return holdout_report(rec, realized, fit_rows=len(fit))


def _check_field(value: str) -> Field:
    if value not in _FIELDS:
        raise CompareError(f"field must be one of {_FIELDS}, got {value!r}")
    return value  # type: ignore[return-value]


def _observations(
    attempts: pl.DataFrame,
    rows: pl.DataFrame | None,
    providers: Sequence[str] | None,
    usable_statuses: Sequence[str],
    what: Field,
) -> pl.DataFrame:
    if what == "phone":
        return phone_observations(attempts, rows=rows, providers=providers)
    return observations_from_attempts(
        attempts, rows=rows, providers=providers, usable_statuses=usable_statuses
    )


def _attach(obs: pl.DataFrame, truth: pl.DataFrame | None, what: str) -> pl.DataFrame:
    return attach_phone_truth(obs, truth) if what == "phone" else attach_truth(obs, truth)


def split_rows(row_ids: Sequence[int], fit_share: float, seed: int) -> tuple[list[int], list[int]]:
    """A seeded random split of row ids into (fit, held-out), each sorted.

    Example:
        >>> split_rows([0, 1, 2, 3, 4, 5], 0.5, seed=0)
        ([1, 2, 4], [0, 3, 5])
    """
    ids = sorted(row_ids)
    rng = random.Random(seed)
    shuffled = ids[:]
    rng.shuffle(shuffled)
    cut = round(len(ids) * fit_share)
    if cut == 0 or cut == len(ids):
        raise CompareError(f"cannot split {len(ids)} rows with fit_share={fit_share}")
    return sorted(shuffled[:cut]), sorted(shuffled[cut:])


def holdout_report(rec: Recommendation, realized: Any, *, fit_rows: int) -> dict[str, Any]:
    """Predicted (fit half) against realized (held-out half) figures for one order."""

    def rel(real: float, pred: float) -> float | None:
        return real / pred - 1.0 if pred else None

    return {
        "order": list(rec.order),
        "fit_rows": fit_rows,
        "holdout_rows": realized.n_rows,
        "predicted_coverage": rec.predicted_coverage,
        "realized_coverage": realized.coverage,
        "predicted_usable_coverage": rec.predicted_usable_coverage,
        "realized_usable_coverage": realized.usable_coverage,
        "predicted_cost_per_row_usd": rec.predicted_cost_per_row_usd,
        "realized_cost_per_row_usd": realized.cost_per_row_usd,
        "coverage_rel_error": rel(realized.coverage, rec.predicted_coverage),
        "cost_rel_error": rel(realized.cost_per_row_usd, rec.predicted_cost_per_row_usd),
    }


def _join_segments(
    obs: pl.DataFrame,
    segment_by: Sequence[str],
    rows: pl.DataFrame | None,
    truth: pl.DataFrame | None,
) -> pl.DataFrame:
    for col in segment_by:
        if col in obs.columns:
            continue
        source = None
        for frame in (rows, truth):
            if frame is not None and col in frame.columns and ROW_ID in frame.columns:
                source = frame
                break
        if source is None:
            raise CompareError(
                f"segment column {col!r} is in neither the records nor the truth frame"
            )
        obs = obs.join(
            source.select(pl.col(ROW_ID).cast(pl.Int64), col).unique(ROW_ID),
            on=ROW_ID,
            how="left",
        )
    return obs


# -- running -------------------------------------------------------------------------------
def _sample(records: pl.DataFrame, sample: int | float | None, seed: int) -> pl.DataFrame:
    if sample is None:
        return records
    n = records.height
    if isinstance(sample, float):
        if not 0.0 < sample <= 1.0:
            raise CompareError(f"a fractional sample must be in (0, 1], got {sample}")
        k = max(1, round(n * sample))
    else:
        if sample <= 0:
            raise CompareError(f"sample must be positive, got {sample}")
        k = min(int(sample), n)
    if k >= n:
        return records
    return records.sample(n=k, seed=seed, shuffle=False).sort(ROW_ID)


def _resolve_truth(
    truth: pl.DataFrame | str | os.PathLike[str] | None, records: pl.DataFrame
) -> tuple[pl.DataFrame | None, str | None]:
    """The truth frame and what it came from (``Comparison.truth_source``).

    Truth is a frame or a truth file, nothing else: the simulated world hands back its ground
    truth as a frame (``World.truth(records)``) and a column of verified emails becomes one with
    ``truth_from_column``, so compare never reaches into a world, and a sandbox comparison and
    a live one judge emails by the same code.
    """
    if truth is None:
        return None, None
    if isinstance(truth, pl.DataFrame):
        return truth, "frame"
    if (isinstance(truth, str) and truth in ("world", "sandbox")) or hasattr(truth, "truth"):
        raise TruthError(
            "truth is a frame or a file, not a world: pass the world's truth frame, "
            "truth=world.truth(records) (world = gtmkit.sandbox.default_world()), or a truth "
            "file such as data/samples/leads_small.truth.csv"
        )
    if isinstance(truth, (str, os.PathLike)):
        path = Path(truth)
        if isinstance(truth, str) and truth in records.columns and not path.is_file():
            raise TruthError(
                f"{truth!r} is a column of the records, not a truth file: pass "
                f"truth=truth_from_column(records, {truth!r}) "
                "(from gtmkit.comparison.outcomes) to judge against it"
            )
        resolved = resolve_path(path)
        return load_truth(resolved), f"file:{display_path(resolved)}"
    raise TruthError(
        "truth must be None, a truth frame (row_id, true_email) / (email, bounced) — e.g. "
        f"World.truth(records) — or the path of a truth file; got {type(truth).__name__}"
    )


def compare(
    records: Any,
    providers: Sequence[str] | Mapping[str, Any] = (
        "apollo",
        "hunter",
        "pdl",
        "prospeo",
        "dropcontact",
    ),
    *,
    sample: int | float | None = None,
    truth: pl.DataFrame | str | os.PathLike[str] | None = None,
    segment_by: str | Sequence[str] = (),
    ledger: Any = ENGINE_DEFAULT_LEDGER,
    budget_usd: float | None = None,
    budget_credits: float | None = None,
    prices: Mapping[str, float] | None = None,
    seed: int = 0,
    mode: Literal["auto", "sandbox", "live"] = "auto",
    confirm: Callable[[pl.DataFrame], bool] | None = None,
    echo: bool = True,
    usable_statuses: Sequence[str] = ("valid",),
    hide_input_email: bool | None = None,
    field: Field = "email",
    **run_options: Any,
) -> Comparison:
    """Run every provider on every sampled row and measure them side by side.

    Args:
        records: a ``LoadedList`` or its ``.records`` frame (needs ``row_id``).
        providers: provider names, or a mapping name → ``Provider`` (or an open connection)
            handed to the engine.
        sample: rows to compare on: a count, a share (float in (0, 1]) or ``None`` (all).
        truth: ``None``, a truth frame ``(row_id, true_email)`` / ``(email, bounced)``, or the
            path of a truth file read by ``load_truth`` (e.g. a sample's ``.truth.csv``). The
            simulated world's ground truth is a frame: ``world.truth(records)``; a column of
            verified emails is one with ``truth_from_column(records, column)``. Every truth is
            judged the same way (see ``gtmkit.comparison.outcomes``). Bounces can also be
            joined later with ``with_truth``.
        segment_by: column(s) to break metrics down by (from the records, or from the truth
            frame, e.g. the world's ``employee_band``, ``industry``, ``region``, ``seniority``).
        ledger: the engine's ledger (path or ``Ledger``; default: the engine's default
            ``data/ledger.sqlite``): every lookup paid once, reusable by a later waterfall.
            ``None`` runs without a ledger (no cache: every lookup is sent and paid).
        budget_usd: refuse to start when the estimate exceeds it; also a hard cap in the run.
        budget_credits: hard credit cap for the run.
        prices: ``{provider: usd_per_credit}`` overriding list prices.
        seed: sampling seed.
        mode: engine connection mode (``auto``: live with a key, sandbox otherwise).
        confirm: called with the estimate frame before spending; return False to abort.
        echo: print the estimate before spending.
        usable_statuses: statuses that count as verified.
        hide_input_email: do not show providers the list's own ``email`` column (the
            comparison asks whether *they* find it; judge against it with
            ``truth=truth_from_column(records, "email")``).
            Some providers (PDL) would otherwise just echo it back. Default: hidden in an
            email comparison, shown in a phone one (there the email is an input, as in a
            phone waterfall that runs after the email one).
        field: ``"email"`` (default) or ``"phone"``: each provider runs as
            ``Step(p, fills=("phone",))`` and its numbers are scored against the truth's
            ``true_mobile`` / ``true_direct`` / ``true_office`` (``World.truth(records)`` has
            them); the list's own ``phone`` columns are hidden likewise. A provider that
            sells no phones is refused before anything is spent, and the estimate and
            ``budget_usd`` use each adapter's worst case *with* the phone (Apollo's reveal
            9 credits, Prospeo's mobile 10). See ``gtmkit.comparison.phones``.
        **run_options: passed to ``Waterfall.run`` (``concurrency``, ``progress``...).

    Returns:
        A :class:`Comparison`.
    """
    from gtmkit.waterfall import Step, Waterfall

    frame = getattr(records, "records", records)
    if not isinstance(frame, pl.DataFrame):
        raise CompareError("records must be a LoadedList or a polars DataFrame")
    if ROW_ID not in frame.columns:
        raise CompareError(f"records need a {ROW_ID!r} column (use gtmkit.load_list)")
    names = list(providers.keys() if isinstance(providers, Mapping) else providers)
    if hasattr(providers, "names") and not isinstance(providers, Mapping):
        names = list(providers.names)  # an open connection
    if not names:
        raise CompareError("no providers to compare")
    what = _check_field(field)
    if len(set(names)) != len(names):
        raise CompareError(f"duplicate providers in {names}")
    sampled = _sample(frame, sample, seed)
    if sampled.height == 0:
        raise CompareError("no rows to compare")
    conn = providers if not isinstance(providers, Sequence) else None
    instances = conn if isinstance(conn, Mapping) else None
    if what == "phone":
        check_phone_sellers(names, providers=instances)
    costs = provider_costs(names, providers=instances, prices=prices)
    if what == "phone":  # a phone costs more than the email the adapter's defaults price
        max_credits = {name: phone_worst_case(name, providers=instances) for name in names}
    else:
        max_credits = {name: worst_case_credits(name, providers=instances) for name in names}
    est = estimate_compare(sampled.height, costs, max_credits=max_credits)
    if echo:
        print(
            f"gtmkit.compare: {len(names)} provider(s) × {sampled.height} row(s) — estimate "
            "before spending:",
            file=sys.stderr,
        )
        print(est, file=sys.stderr)
    if confirm is not None and not confirm(est):
        raise CompareError("comparison declined at the estimate; nothing was spent")
    # a phone's price depends on what comes back (a mobile bills 9 at Apollo, not 1): its
    # budget check takes the worst case, an email's keeps the list price
    ceiling = "usd_worst_case" if what == "phone" else "usd_if_all_billed"
    expected = float(est.filter(pl.col("provider") == "TOTAL")[ceiling][0])
    if budget_usd is not None and expected > budget_usd:
        raise CompareError(
            f"the comparison could cost up to ${expected:,.2f} ({sampled.height} rows × "
            f"{len(names)} providers at list price) — over budget_usd=${budget_usd:,.2f}. "
            "Lower sample= or raise the budget; nothing was spent."
        )
    truth_frame, truth_source = _resolve_truth(truth, frame)
    options = dict(run_options)
    if ledger is not ENGINE_DEFAULT_LEDGER:
        options["ledger"] = ledger
    # The engine would skip a row whose email is already filled and answer a list duplicate
    # from its representative (which may be outside the sample): a comparison must ask every
    # provider about every sampled row, and asks it *without* the email it is meant to find.
    hidden = ["duplicate_of"]
    if hide_input_email is None:
        hide_input_email = what == "email"
    if hide_input_email:
        hidden += ["email", "email_valid", "email_is_personal"]
    if what == "phone":  # ask for the number without handing it over
        hidden += [c for c in sampled.columns if c == "phone" or c.startswith("phone_")]
    asked = sampled.drop([c for c in hidden if c in sampled.columns])
    seg = (segment_by,) if isinstance(segment_by, str) else tuple(segment_by)
    results: dict[str, Any] = {}
    parts: list[pl.DataFrame] = []
    all_attempts: list[pl.DataFrame] = []
    spent_usd = spent_credits = 0.0
    for name in names:
        # One single-step waterfall per provider, same engine and ledger: in one multi-step run
        # a later step is handed the email an earlier one found (PDL then enriches *by* that
        # email), so one provider's measurement would depend on the others. In a real
        # waterfall a later step only sees rows still missing an email — exactly this.
        wf = Waterfall(
            steps=[
                Step(name, when="always", fills=("phone",))
                if what == "phone"
                else Step(name, when="always")
            ],
            prices=dict(prices) if prices else None,
            name=f"gtmkit compare: {name}",
        )
        if conn is not None:
            options["providers"] = {name: conn[name]} if isinstance(conn, Mapping) else conn
        result = wf.run(
            asked,
            budget_usd=None if budget_usd is None else max(0.0, budget_usd - spent_usd),
            budget_credits=(
                None if budget_credits is None else max(0.0, budget_credits - spent_credits)
            ),
            mode=mode,
            **options,
        )
        results[name] = result
        attempts_p = result.attempts
        if what == "phone":  # a cached phone is priced at what it cost when it was bought
            attempts_p = with_bought_credits(attempts_p, options.get("ledger", DEFAULT_LEDGER_PATH))
        spent_usd += float(attempts_p["cost_usd"].sum())
        spent_credits += float(attempts_p["credits"].sum())
        rows_p = result.records.filter(pl.col(ROW_ID).is_in(sampled[ROW_ID].implode()))
        rows_p = rows_p.select([c for c in (ROW_ID, "duplicate_of") if c in rows_p.columns])
        parts.append(_observations(attempts_p, rows_p, [name], usable_statuses, what))
        all_attempts.append(attempts_p)
    attempts = pl.concat(all_attempts, how="diagonal_relaxed")
    measured = provider_costs(names, providers=instances, prices=prices, attempts=attempts)
    obs = _attach(pl.concat(parts, how="vertical_relaxed"), truth_frame, what)
    obs = _join_segments(obs, seg, sampled, truth_frame)
    return Comparison(
        observations=obs,
        costs=measured,
        providers=tuple(names),
        segment_by=seg,
        estimate=est,
        result=results,
        truth_source=truth_source,
        attempts=attempts,
        field=what,
    )
