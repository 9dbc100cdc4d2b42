"""Pick an order from the frontier and turn it into a ready-to-run ``Waterfall``.

Choice rules (``metric`` is ``coverage`` unless asked for ``usable_coverage``):

* ``target_coverage=t``: the cheapest subset-and-order whose predicted metric is ≥ t (ties: the
  higher metric, then fewer providers). If no subset reaches t, the highest-metric one is
  returned with ``target_met=False`` and a warning.
* ``budget_per_row=b``: the highest predicted metric whose expected cost per row is ≤ b (ties:
  the cheaper, then fewer providers).

``by_segment=True`` repeats the choice inside each segment with at least ``min_segment_rows``
rows and routes that segment to its own order when it is *worth it*: the segment order costs at
least ``min_saving`` (5 %) less per row than the overall order on that segment's rows while
still meeting the target (target mode), or gains at least one point of the metric within the
budget (budget mode). Every segment seen in the sample gets an explicit route, so a provider
added for one segment is not called on the others; rows whose segment value was not in the
sample follow the default steps.

Example:
    >>> from gtmkit.comparison import HitPattern, ProviderCost, recommend
    >>> costs = {"a": ProviderCost("a", "per_call", 1.0, 0.05),
    ...          "b": ProviderCost("b", "per_hit", 1.0, 0.05)}
    >>> pattern = HitPattern.from_bools(["a", "b"], {"a": [1, 1, 0, 0], "b": [0, 1, 1, 0]}, costs)
    >>> rec = recommend(pattern, target_coverage=0.7)
    >>> rec.order, rec.predicted_coverage, rec.target_met
    (('b', 'a'), 0.75, True)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from gtmkit.comparison.errors import CompareError
from gtmkit.comparison.optimize import HitPattern, OrderStats, evaluate_order, frontier

Metric = Literal["coverage", "usable_coverage"]

#: Segments smaller than this keep the overall order (their frontier is too noisy to trust).
MIN_SEGMENT_ROWS = 100
#: Relative saving per row a segment-specific order must bring to be worth routing.
MIN_SAVING = 0.05
#: Metric gain (absolute) a segment order must bring under a budget to be worth routing.
MIN_GAIN = 0.01


@dataclass(frozen=True)
class Recommendation:
    """A recommended waterfall and what it is predicted to do per row.

    Attributes:
        waterfall: a ready-to-run :class:`gtmkit.waterfall.Waterfall`.
        order: the default provider order.
        predicted_coverage: share of rows expected to get an email.
        predicted_usable_coverage: share expected to get a verified, correct email.
        predicted_cost_per_row_usd: expected spend per input row.
        predicted_credits_per_row: expected credits per input row.
        target_met: whether the target (coverage or budget) could be met.
        n_rows: rows the prediction was fitted on.
        segments: for ``by_segment=True``: one row per segment with its order, rows,
            whether it is routed, and the predictions for its rows.
    """

    waterfall: Any
    order: tuple[str, ...]
    predicted_coverage: float
    predicted_usable_coverage: float
    predicted_cost_per_row_usd: float
    predicted_credits_per_row: float
    target_met: bool
    n_rows: int
    criterion: dict[str, Any] = field(default_factory=dict)
    segments: pl.DataFrame | None = None

    @property
    def predicted_cost_per_usable_usd(self) -> float:
        u = self.predicted_usable_coverage
        return self.predicted_cost_per_row_usd / u if u else math.inf

    def run(self, records: Any, **options: Any) -> Any:
        """Run the recommended waterfall (same options as ``Waterfall.run``)."""
        return self.waterfall.run(records, **options)

    def as_dict(self) -> dict[str, Any]:
        """The prediction as plain data (for reports and notebooks' last cell)."""
        return {
            "order": list(self.order),
            "predicted_coverage": self.predicted_coverage,
            "predicted_usable_coverage": self.predicted_usable_coverage,
            "predicted_cost_per_row_usd": self.predicted_cost_per_row_usd,
            "predicted_credits_per_row": self.predicted_credits_per_row,
            "target_met": self.target_met,
            "n_rows": self.n_rows,
            **self.criterion,
        }


def choose(
    front: pl.DataFrame,
    *,
    target_coverage: float | None = None,
    budget_per_row: float | None = None,
    metric: Metric = "coverage",
) -> tuple[dict[str, Any], bool]:
    """The frontier row matching the criterion, and whether the criterion was met."""
    if (target_coverage is None) == (budget_per_row is None):
        raise CompareError("give exactly one of target_coverage=... or budget_per_row=...")
    if target_coverage is not None:
        if not 0.0 < target_coverage <= 1.0:
            raise CompareError(f"target_coverage must be in (0, 1], got {target_coverage}")
        ok = front.filter(pl.col(metric) >= target_coverage - 1e-12)
        if ok.height:
            best = ok.sort(
                ["cost_per_row_usd", metric, "n_providers"], descending=[False, True, False]
            ).row(0, named=True)
            return best, True
        best = front.sort(
            [metric, "cost_per_row_usd", "n_providers"], descending=[True, False, False]
        ).row(0, named=True)
        return best, False
    assert budget_per_row is not None
    if budget_per_row < 0:
        raise CompareError(f"budget_per_row cannot be negative, got {budget_per_row}")
    ok = front.filter(pl.col("cost_per_row_usd") <= budget_per_row + 1e-12)
    if not ok.height:
        cheapest = front.sort("cost_per_row_usd").row(0, named=True)
        return cheapest, False
    best = ok.sort(
        [metric, "cost_per_row_usd", "n_providers"], descending=[True, False, False]
    ).row(0, named=True)
    return best, True


def _waterfall(
    order: list[str],
    route: dict[str, list[str]] | None,
    column: str | None,
    step_options: Mapping[str, Any] | None = None,
) -> Any:
    try:
        from gtmkit.waterfall import Step, Waterfall
    except ImportError:  # the package may not re-export them yet; the spec module is the source
        from gtmkit.waterfall.spec import Step, Waterfall

    extra = [p for seg in (route or {}).values() for p in seg if p not in order]
    options = dict(step_options or {})
    steps = [Step(p, when="missing", **options) for p in dict.fromkeys([*order, *extra])]
    route_by = {column: route} if route and column else None
    return Waterfall(steps=steps, route_by=route_by, name="gtmkit recommendation")


def recommend(
    pattern: HitPattern,
    *,
    target_coverage: float | None = None,
    budget_per_row: float | None = None,
    metric: Metric = "coverage",
    segments: list[Any] | None = None,
    segment_column: str | None = None,
    min_segment_rows: int = MIN_SEGMENT_ROWS,
    min_saving: float = MIN_SAVING,
    front: pl.DataFrame | None = None,
    step_options: Mapping[str, Any] | None = None,
) -> Recommendation:
    """Recommend a waterfall from a measured hit pattern (see the module docstring).

    Args:
        pattern: the measured joint hit pattern.
        target_coverage: wanted share of rows with an email (or usable email, see ``metric``).
        budget_per_row: spend cap per input row in US dollars.
        metric: ``coverage`` or ``usable_coverage``.
        segments: one segment value per row of the pattern (enables per-segment routing).
        segment_column: the records' column holding those values (for ``route_by``).
        min_segment_rows: smallest segment given its own order.
        min_saving: relative cost saving that makes a segment order worth routing.
        front: a precomputed frontier of ``pattern`` (saves recomputing it).
        step_options: passed to every recommended ``Step`` (a phone comparison's
            ``fills=("phone",)`` and ``phone_stop``).
    """
    if front is None:
        front = frontier(pattern, metric=metric)
    best, met = choose(
        front, target_coverage=target_coverage, budget_per_row=budget_per_row, metric=metric
    )
    criterion = (
        {"target_coverage": target_coverage, "metric": metric}
        if target_coverage is not None
        else {"budget_per_row": budget_per_row, "metric": metric}
    )
    if not met:
        warnings.warn(
            f"no provider subset meets {criterion}; recommending the closest "
            f"({metric}={best[metric]:.3f}, cost/row=${best['cost_per_row_usd']:.4f})",
            stacklevel=2,
        )
    order = list(best["order"])
    if segments is None:
        stats = evaluate_order(pattern, order)
        return _recommendation(
            _waterfall(order, None, None, step_options), order, stats, met, pattern, criterion
        )
    if segment_column is None:
        raise CompareError("segment_column is required with segments")
    if len(segments) != pattern.n_rows:
        raise CompareError("segments must give one value per row of the pattern")
    positions: dict[str, list[int]] = {}
    for position, value in enumerate(segments):
        positions.setdefault("" if value is None else str(value), []).append(position)
    route: dict[str, list[str]] = {}
    rows = []
    for seg, pos in sorted(positions.items()):
        sub = pattern.take_rows(pos)
        overall = evaluate_order(sub, order)
        chosen, routed, seg_met = overall, False, met
        if len(pos) >= min_segment_rows and seg != "":
            seg_best, seg_ok = choose(
                frontier(sub, metric=metric),
                target_coverage=target_coverage,
                budget_per_row=budget_per_row,
                metric=metric,
            )
            cand = evaluate_order(sub, list(seg_best["order"]))
            if target_coverage is not None:
                worth = seg_ok and cand.cost_per_row_usd <= overall.cost_per_row_usd * (
                    1 - min_saving
                )
                # a segment the overall order leaves below target is worth fixing when it can be
                worth = worth or (seg_ok and getattr(overall, metric) < target_coverage - 1e-12)
            else:
                worth = seg_ok and getattr(cand, metric) >= getattr(overall, metric) + MIN_GAIN
            if worth:
                chosen, routed, seg_met = cand, True, seg_ok
        if seg != "":
            route[seg] = list(chosen.order)
        rows.append(
            {
                "segment": seg,
                "rows": len(pos),
                "routed": routed,
                "order": list(chosen.order),
                "predicted_coverage": chosen.coverage,
                "predicted_usable_coverage": chosen.usable_coverage,
                "predicted_cost_per_row_usd": chosen.cost_per_row_usd,
                "overall_order_cost_per_row_usd": overall.cost_per_row_usd,
                "overall_order_coverage": getattr(overall, metric),
                "target_met": seg_met,
            }
        )
    seg_frame = pl.DataFrame(rows)
    w = seg_frame["rows"].cast(pl.Float64) / pattern.n_rows
    mix = OrderStats(
        order=tuple(order),
        n_rows=pattern.n_rows,
        coverage=float((seg_frame["predicted_coverage"] * w).sum()),
        usable_coverage=float((seg_frame["predicted_usable_coverage"] * w).sum()),
        cost_per_row_usd=float((seg_frame["predicted_cost_per_row_usd"] * w).sum()),
        credits_per_row=math.nan,
        calls_per_row=math.nan,
    )
    # credits: replay each segment's chosen order on its rows
    credits = 0.0
    for seg, pos in positions.items():
        seg_order = route.get(seg, order)
        credits += evaluate_order(pattern.take_rows(pos), seg_order).credits_per_row * len(pos)
    mix = OrderStats(
        order=mix.order,
        n_rows=mix.n_rows,
        coverage=mix.coverage,
        usable_coverage=mix.usable_coverage,
        cost_per_row_usd=mix.cost_per_row_usd,
        credits_per_row=credits / pattern.n_rows,
        calls_per_row=math.nan,
    )
    routed_any = bool(seg_frame["routed"].any())
    wf = _waterfall(order, route if routed_any else None, segment_column, step_options)
    if target_coverage is not None:
        met = mix.coverage >= target_coverage - 1e-12 if metric == "coverage" else met
    rec = _recommendation(wf, order, mix, met, pattern, {**criterion, "by_segment": segment_column})
    return Recommendation(**{**rec.__dict__, "segments": seg_frame})


def _recommendation(
    wf: Any,
    order: list[str],
    stats: OrderStats,
    met: bool,
    pattern: HitPattern,
    criterion: dict[str, Any],
) -> Recommendation:
    return Recommendation(
        waterfall=wf,
        order=tuple(order),
        predicted_coverage=stats.coverage,
        predicted_usable_coverage=stats.usable_coverage,
        predicted_cost_per_row_usd=stats.cost_per_row_usd,
        predicted_credits_per_row=stats.credits_per_row,
        target_met=met,
        n_rows=pattern.n_rows,
        criterion=criterion,
    )
