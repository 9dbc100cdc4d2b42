"""Compare providers on a sample, measure overlap and conflicts, optimize the waterfall order.

Example:
    >>> from gtmkit.comparison import HitPattern, ProviderCost, best_order
    >>> costs = {"a": ProviderCost("a", "per_call", 1.0, 0.05),
    ...          "b": ProviderCost("b", "per_hit", 1.0, 0.05)}
    >>> pat = HitPattern.from_bools(["a", "b"], {"a": [1, 1, 0, 0], "b": [0, 1, 1, 0]}, costs)
    >>> best = best_order(pat)  # b first: its misses are free, a pays on every call
    >>> best.order, best.coverage, round(best.cost_per_row_usd, 4)
    (('b', 'a'), 0.75, 0.05)
"""

from __future__ import annotations

from gtmkit.comparison.errors import CompareError
from gtmkit.comparison.metrics import provider_metrics
from gtmkit.comparison.optimize import (
    DEFAULT_EXACT_LIMIT,
    HitPattern,
    OrderStats,
    ProviderCost,
    best_order,
    brute_force_orders,
    evaluate_order,
    frontier,
    heuristic_frontier,
    heuristic_order,
)
from gtmkit.comparison.outcomes import (
    TruthError,
    accuracy_by_source,
    attach_truth,
    judge_emails,
    load_truth,
    normalize_truth,
    observations_from_attempts,
    truth_from_column,
)
from gtmkit.comparison.overlap import conflict_rows, pairwise_overlap
from gtmkit.comparison.phones import (
    PHONE_TRUTH_COLUMNS,
    attach_phone_truth,
    judge_phones,
    phone_observations,
)
from gtmkit.comparison.recommend import Recommendation, recommend
from gtmkit.comparison.run import (
    Comparison,
    compare,
    estimate_compare,
    holdout_report,
    provider_costs,
    split_rows,
)
from gtmkit.comparison.stats import MAX_ACTIONABLE_INTERVAL_WIDTH, wilson_interval

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "MAX_ACTIONABLE_INTERVAL_WIDTH",
    "PHONE_TRUTH_COLUMNS",
    "CompareError",
    "Comparison",
    "HitPattern",
    "OrderStats",
    "ProviderCost",
    "Recommendation",
    "TruthError",
    "accuracy_by_source",
    "attach_phone_truth",
    "attach_truth",
    "best_order",
    "brute_force_orders",
    "compare",
    "conflict_rows",
    "estimate_compare",
    "evaluate_order",
    "frontier",
    "heuristic_frontier",
    "heuristic_order",
    "holdout_report",
    "judge_emails",
    "judge_phones",
    "load_truth",
    "normalize_truth",
    "observations_from_attempts",
    "pairwise_overlap",
    "phone_observations",
    "provider_costs",
    "provider_metrics",
    "recommend",
    "split_rows",
    "truth_from_column",
    "wilson_interval",
]
