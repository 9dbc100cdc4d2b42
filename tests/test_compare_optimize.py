"""The optimizer over a measured joint hit pattern: exact DP vs brute force, heuristic, frontier."""

from __future__ import annotations

import itertools
import math
import random

import polars as pl
import pytest
from _compare_helpers import DEFAULT_PROVIDERS, synth_attempts, synth_costs, synth_records
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.comparison import (
    Comparison,
    HitPattern,
    ProviderCost,
    best_order,
    brute_force_orders,
    evaluate_order,
    frontier,
    heuristic_frontier,
    heuristic_order,
)

NAMES = [p.name for p in DEFAULT_PROVIDERS]


def _pattern(seed: int = 3, n: int = 1500) -> HitPattern:
    records = synth_records(n, seed=seed)
    attempts, truth = synth_attempts(records, seed=seed, correlation=0.5)
    cmp = Comparison.from_attempts(attempts, synth_costs(), rows=records, truth=truth)
    return cmp.pattern()


def _priced(pattern: HitPattern, billing: str) -> HitPattern:
    # distinct prices so that the optimum is unique rather than a tie between orders
    prices = {"alpha": 0.041, "beta": 0.019, "gamma": 0.097, "delta": 0.032, "epsilon": 0.011}
    return pattern.with_costs(
        {p: ProviderCost(p, billing, 1.0, prices[p]) for p in pattern.providers}  # type: ignore[arg-type]
    )


def _argmin_orders(pattern: HitPattern) -> tuple[float, list[tuple[str, ...]]]:
    stats = brute_force_orders(pattern)
    assert len(stats) == 120
    best = min(s.cost_per_row_usd for s in stats)
    return best, [s.order for s in stats if s.cost_per_row_usd <= best + 1e-12]


@pytest.mark.parametrize("billing", ["per_call", "per_hit"])
def test_exact_order_equals_brute_force_over_120_orders_synthetic(billing: str) -> None:
    pattern = _priced(_pattern(), billing)
    best_cost, argmin = _argmin_orders(pattern)
    got = best_order(pattern)
    assert math.isclose(got.cost_per_row_usd, best_cost, rel_tol=1e-12)
    assert len(argmin) == 1, f"the test data should have a unique optimum, got {argmin}"
    assert got.order == argmin[0]


def test_per_call_and_per_hit_optima_differ() -> None:
    # the billing rule must matter: per-call providers go late (they pay for misses), cheap
    # per-hit ones early. If both optima coincided, the two tests above would prove less.
    base = _pattern()
    assert best_order(_priced(base, "per_call")).order != best_order(_priced(base, "per_hit")).order


def test_per_hit_only_order_with_equal_prices_is_free_of_order_effects() -> None:
    # with per-hit billing and one price, every order pays exactly once per covered row
    base = _pattern()
    flat = base.with_costs({p: ProviderCost(p, "per_hit", 1.0, 0.05) for p in base.providers})
    costs = {round(s.cost_per_row_usd, 12) for s in brute_force_orders(flat)}
    assert len(costs) == 1
    assert math.isclose(costs.pop(), 0.05 * evaluate_order(flat, NAMES).coverage)


def test_frontier_orders_are_the_brute_force_optimum_for_every_subset() -> None:
    pattern = _priced(_pattern(seed=5, n=800), "per_call").with_costs(
        {"alpha": ProviderCost("alpha", "per_hit", 1.0, 0.041)}
    )
    front = frontier(pattern, method="exact")
    assert front.height == 31
    for row in front.iter_rows(named=True):
        subset = row["providers"]
        best = min(
            evaluate_order(pattern, p).cost_per_row_usd for p in itertools.permutations(subset)
        )
        assert math.isclose(row["cost_per_row_usd"], best, rel_tol=1e-12, abs_tol=1e-15)
        replay = evaluate_order(pattern, row["order"])
        assert math.isclose(replay.coverage, row["coverage"])
        assert math.isclose(replay.usable_coverage, row["usable_coverage"])
        assert math.isclose(replay.credits_per_row, row["credits_per_row"])
        assert math.isclose(replay.calls_per_row, row["calls_per_row"])


def test_pareto_flags_are_exactly_the_non_dominated_subsets() -> None:
    front = frontier(_pattern(seed=2, n=600))
    rows = front.select("coverage", "cost_per_row_usd", "pareto").rows()
    for cov, cost, flag in rows:
        dominated = any(
            (c2 <= cost and v2 > cov + 1e-12) or (c2 < cost - 1e-12 and v2 >= cov)
            for v2, c2, _ in rows
        )
        assert flag == (not dominated)


def test_evaluate_order_by_hand() -> None:
    costs = {
        "a": ProviderCost("a", "per_call", 1.0, 0.10),
        "b": ProviderCost("b", "per_hit", 2.0, 0.05),
    }
    #        rows: 0  1  2  3  4
    hit = {"a": [1, 0, 0, 1, 0], "b": [0, 1, 0, 1, 1]}
    pat = HitPattern.from_bools(
        ["a", "b"], hit, costs, usable={"a": [1, 0, 0, 0, 0], "b": [0, 1, 0, 1, 0]}
    )
    ab = evaluate_order(pat, ["a", "b"])
    # a called on 5 rows ($0.50), finds 0 and 3; b reaches 1, 2, 4 and is paid for hits 1, 4
    assert ab.coverage == pytest.approx(0.8)
    assert ab.cost_per_row_usd == pytest.approx((0.5 + 2 * 0.10) / 5)
    assert ab.credits_per_row == pytest.approx((5 + 4) / 5)
    assert ab.calls_per_row == pytest.approx(8 / 5)
    assert ab.usable_coverage == pytest.approx(2 / 5)  # row 0 via a, row 1 via b
    ba = evaluate_order(pat, ["b", "a"])
    # b paid on 3 hits ($0.30), a called on rows 0 and 2 ($0.20)
    assert ba.cost_per_row_usd == pytest.approx(0.5 / 5)
    assert ba.usable_coverage == pytest.approx(3 / 5)  # rows 1, 3 via b (usable), 0 via a
    assert best_order(pat).order == ("b", "a")


def test_errors_are_not_billed_to_per_call_providers() -> None:
    costs = {"a": ProviderCost("a", "per_call", 1.0, 1.0)}
    pat = HitPattern.from_bools(
        ["a"], {"a": [0, 0, 0, 0]}, costs, answered={"a": [True, False, True, False]}
    )
    assert evaluate_order(pat, ["a"]).cost_per_row_usd == pytest.approx(0.5)


def _random_pattern(rng: random.Random, k: int, n: int) -> HitPattern:
    latent = [rng.random() for _ in range(n)]
    names = [f"p{i}" for i in range(k)]
    hit = {}
    costs = {}
    for p in names:
        rate = rng.uniform(0.2, 0.7)
        hit[p] = [0.5 * latent[r] + 0.5 * rng.random() < rate for r in range(n)]
        billing = rng.choice(["per_call", "per_hit", "refund_on_miss"])
        costs[p] = ProviderCost(
            p, billing, rng.choice([1.0, 2.0]), round(rng.uniform(0.005, 0.2), 4)
        )  # type: ignore[arg-type]
    return HitPattern.from_bools(names, hit, costs)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=5))
def test_dp_never_worse_than_any_permutation_property(seed: int, k: int) -> None:
    pattern = _random_pattern(random.Random(seed), k, 120)
    got = best_order(pattern)
    brute = min(s.cost_per_row_usd for s in brute_force_orders(pattern))
    assert got.cost_per_row_usd == pytest.approx(brute, rel=1e-12, abs=1e-15)
    assert sorted(got.order) == sorted(pattern.providers)


def test_heuristic_is_never_below_exact_and_finds_the_optimum_on_easy_cases() -> None:
    rng = random.Random(11)
    gaps = []
    for _ in range(6):
        pattern = _random_pattern(rng, 7, 400)
        exact = best_order(pattern).cost_per_row_usd
        heur = evaluate_order(pattern, heuristic_order(pattern)).cost_per_row_usd
        assert heur >= exact - 1e-12  # exact is a true lower bound
        gaps.append(heur / exact - 1)
    assert min(gaps) == pytest.approx(0.0, abs=1e-12)


def test_heuristic_frontier_subsets_have_valid_stats_and_auto_switches() -> None:
    pattern = _random_pattern(random.Random(4), 6, 300)
    heur = heuristic_frontier(pattern)
    exact = frontier(pattern)
    assert set(heur["method"]) == {"heuristic"} and set(exact["method"]) == {"exact"}
    assert heur.height < exact.height
    by_subset = {tuple(r["providers"]): r["cost_per_row_usd"] for r in exact.iter_rows(named=True)}
    for row in heur.iter_rows(named=True):
        assert row["cost_per_row_usd"] >= by_subset[tuple(row["providers"])] - 1e-12
    auto = frontier(pattern, exact_limit=5)
    assert set(auto["method"]) == {"heuristic"}


def test_take_rows_and_select_keep_bits_aligned() -> None:
    pattern = _pattern(seed=1, n=300)
    rows = list(range(0, 300, 3))
    sub = pattern.take_rows(rows).select(["gamma", "alpha"])
    assert sub.n_rows == 100 and sub.providers == ("gamma", "alpha")
    for new, old in enumerate(rows):
        assert (sub.hit[0] >> new & 1) == (pattern.hit[pattern.index("gamma")] >> old & 1)
    assert sub.row_ids == tuple(pattern.row_ids[r] for r in rows)


def test_bad_input_is_refused_clearly() -> None:
    cost = {"a": ProviderCost("a", "per_call", 1.0, 0.1)}
    with pytest.raises(ValueError, match="billing"):
        ProviderCost("a", "sometimes", 1.0, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="length"):
        HitPattern.from_bools(["a", "b"], {"a": [1], "b": [1, 0]}, {**cost, "b": cost["a"]})
    with pytest.raises(KeyError, match="zzz"):
        evaluate_order(HitPattern.from_bools(["a"], {"a": [1]}, cost), ["zzz"])
    with pytest.raises(ValueError, match="no rows"):
        frontier(HitPattern.from_bools(["a"], {"a": []}, cost))


def test_frontier_frame_shape() -> None:
    front = frontier(_pattern(seed=9, n=200))
    assert front.schema["order"] == pl.List(pl.String)
    assert front["cost_per_row_usd"].is_sorted()
    assert front.filter("pareto").height >= 1
