"""Compare providers on a sample, measure overlap and conflicts, optimize the waterfall order.

Example:
    >>> from gtmkit.compare import HitPattern, ProviderCost, best_order
    >>> costs = {"a": ProviderCost("a", "per_call", 1.0, 0.05),
    ...          "b": ProviderCost("b", "per_hit", 1.0, 0.05)}
    >>> pat = HitPattern.from_bools(["a", "b"], {"a": [1, 1, 0, 0], "b": [0, 1, 1, 0]}, costs)
    >>> best = best_order(pat)  # b first: its misses are free, a pays on every call
    >>> best.order, best.coverage, round(best.cost_per_row_usd, 4)
    (('b', 'a'), 0.75, 0.05)
"""

from __future__ import annotations

import sys
import types
from typing import Any

from gtmkit.compare.metrics import provider_metrics
from gtmkit.compare.optimize import (
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
from gtmkit.compare.outcomes import attach_truth, normalize_truth, observations_from_attempts
from gtmkit.compare.overlap import conflict_rows, pairwise_overlap
from gtmkit.compare.recommend import Recommendation, recommend
from gtmkit.compare.run import (
    CompareError,
    Comparison,
    compare,
    estimate_compare,
    holdout_report,
    provider_costs,
    split_rows,
)
from gtmkit.compare.stats import MAX_ACTIONABLE_INTERVAL_WIDTH, wilson_interval

__all__ = [
    "DEFAULT_EXACT_LIMIT",
    "MAX_ACTIONABLE_INTERVAL_WIDTH",
    "CompareError",
    "Comparison",
    "HitPattern",
    "OrderStats",
    "ProviderCost",
    "Recommendation",
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
    "normalize_truth",
    "observations_from_attempts",
    "pairwise_overlap",
    "provider_costs",
    "provider_metrics",
    "recommend",
    "split_rows",
    "wilson_interval",
]


class _CallableModule(types.ModuleType):
    """``gtmkit.compare`` is both this package and the ``compare`` function.

    Once anything imports ``gtmkit.compare.<module>``, Python binds the *package* to the
    ``gtmkit.compare`` attribute, shadowing the lazily re-exported function. Making the package
    callable keeps ``gtmkit.compare(records, providers, ...)`` working either way.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Comparison:
        return compare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
