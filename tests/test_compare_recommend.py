"""recommend(): choice rules, unmet targets, per-segment routing, out-of-sample check."""

from __future__ import annotations

import warnings

import polars as pl
import pytest
from _compare_helpers import synth_attempts, synth_costs, synth_records

from gtmkit.comparison import Comparison, HitPattern, ProviderCost, evaluate_order, recommend
from gtmkit.comparison.recommend import choose
from gtmkit.comparison.run import split_rows
from gtmkit.waterfall import Step, Waterfall


@pytest.fixture(scope="module")
def cmp() -> Comparison:
    records = synth_records(1600, seed=4)
    attempts, truth = synth_attempts(records, seed=4, correlation=0.4)
    return Comparison.from_attempts(
        attempts, synth_costs(), rows=records, truth=truth, segment_by="employee_band"
    )


def test_target_coverage_picks_the_cheapest_subset_reaching_it(cmp: Comparison) -> None:
    front = cmp.frontier()
    for target in (0.5, 0.7, 0.8):
        rec = cmp.recommend(target_coverage=target)
        ok = front.filter(pl.col("coverage") >= target)
        assert rec.target_met
        assert rec.predicted_coverage >= target
        assert rec.predicted_cost_per_row_usd == pytest.approx(ok["cost_per_row_usd"].min())
        replay = evaluate_order(cmp.pattern(), rec.order)
        assert replay.coverage == rec.predicted_coverage
        assert isinstance(rec.waterfall, Waterfall)
        assert [s.provider for s in rec.waterfall.steps] == list(rec.order)
        assert all(s.when == "missing" for s in rec.waterfall.steps)
        assert rec.waterfall.route_by is None


def test_budget_picks_the_best_coverage_affordable(cmp: Comparison) -> None:
    front = cmp.frontier()
    budget = 0.025
    rec = cmp.recommend(budget_per_row=budget)
    affordable = front.filter(pl.col("cost_per_row_usd") <= budget)
    assert rec.predicted_cost_per_row_usd <= budget
    assert rec.predicted_coverage == pytest.approx(affordable["coverage"].max())
    usable = cmp.recommend(budget_per_row=budget, metric="usable_coverage")
    assert usable.predicted_usable_coverage == pytest.approx(affordable["usable_coverage"].max())


def test_unreachable_target_warns_and_returns_the_best_effort(cmp: Comparison) -> None:
    with pytest.warns(UserWarning, match="no provider subset meets"):
        rec = cmp.recommend(target_coverage=0.999)
    assert not rec.target_met
    assert rec.predicted_coverage == pytest.approx(cmp.frontier()["coverage"].max())
    with pytest.raises(ValueError, match="exactly one"):
        cmp.recommend()
    with pytest.raises(ValueError, match="exactly one"):
        cmp.recommend(target_coverage=0.5, budget_per_row=0.1)
    with pytest.raises(ValueError, match="target_coverage"):
        cmp.recommend(target_coverage=1.5)
    best, met = choose(cmp.frontier(), budget_per_row=0.0)
    assert not met and best["cost_per_row_usd"] == cmp.frontier()["cost_per_row_usd"].min()
    with pytest.warns(UserWarning, match="budget_per_row"):
        assert not cmp.recommend(budget_per_row=0.0).target_met
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a reachable target warns about nothing
        assert cmp.recommend(target_coverage=0.5).target_met


def _two_segment_pattern() -> tuple[HitPattern, list[str]]:
    # "small" rows: x finds 90%, y 10%; "large" rows: the reverse. Same price, per call.
    n = 400
    seg = ["small" if r < 200 else "large" for r in range(n)]
    x = [(r % 10 != 0) if r < 200 else (r % 10 == 0) for r in range(n)]
    y = [(r % 10 == 0) if r < 200 else (r % 10 != 0) for r in range(n)]
    costs = {p: ProviderCost(p, "per_call", 1.0, 0.05) for p in ("x", "y")}
    return HitPattern.from_bools(["x", "y"], {"x": x, "y": y}, costs), seg


def test_by_segment_routes_each_segment_to_its_own_order_when_worth_it() -> None:
    pattern, seg = _two_segment_pattern()
    overall = recommend(pattern, target_coverage=0.85)
    routed = recommend(pattern, target_coverage=0.85, segments=seg, segment_column="band")
    assert routed.predicted_cost_per_row_usd < overall.predicted_cost_per_row_usd * 0.95
    table = routed.segments.sort("segment")
    assert table["routed"].to_list() == [True, True]
    assert table["order"].to_list() == [["y"], ["x"]]
    wf = routed.waterfall
    assert wf.route_by == {"band": {"large": ["y"], "small": ["x"]}}
    steps = [s.provider for s in wf.steps]
    assert [steps[i] for i in wf.order_for({"band": "small"})] == ["x"]
    assert [steps[i] for i in wf.order_for({"band": "large"})] == ["y"]
    # the mixed prediction is the row-weighted sum of the segments' replays
    expected = sum(
        evaluate_order(
            pattern.take_rows([r for r in range(400) if seg[r] == s]), o
        ).cost_per_row_usd
        * 200
        for s, o in (("small", ["x"]), ("large", ["y"]))
    )
    assert routed.predicted_cost_per_row_usd == pytest.approx(expected / 400)


def test_by_segment_keeps_the_overall_order_where_not_worth_it(cmp: Comparison) -> None:
    rec = cmp.recommend(target_coverage=0.7, by_segment=True)
    table = rec.segments
    assert set(table["segment"]) == {"1-10", "11-50", "51-200", "201-1000"}
    for row in table.iter_rows(named=True):
        if not row["routed"]:
            assert row["order"] == list(rec.order)
        else:
            cheaper = (
                row["predicted_cost_per_row_usd"] <= 0.95 * row["overall_order_cost_per_row_usd"]
            )
            # routed only where it meets the target and either saves money or rescues a
            # segment the overall order leaves short of the target
            assert row["target_met"]
            assert cheaper or row["overall_order_coverage"] < 0.7
    small = recommend(
        cmp.pattern(), target_coverage=0.7, segments=["a"] * 1599 + ["b"], segment_column="s"
    )
    assert not small.segments.filter(pl.col("segment") == "b")["routed"][0]  # 1 row: too few
    with pytest.raises(ValueError, match="segment_column"):
        recommend(cmp.pattern(), target_coverage=0.7, segments=["a"] * 1600)


def test_holdout_split_and_report(cmp: Comparison) -> None:
    fit, hold = split_rows(list(range(1600)), 0.5, 0)
    assert len(fit) == len(hold) == 800 and not set(fit) & set(hold)
    report = cmp.holdout_check(target_coverage=0.7, seed=0)
    rec = cmp.recommend(target_coverage=0.7, rows=fit)
    assert report["order"] == list(rec.order)
    assert report["predicted_cost_per_row_usd"] == rec.predicted_cost_per_row_usd
    realized = evaluate_order(cmp.pattern(rows=hold), rec.order)
    assert report["realized_cost_per_row_usd"] == realized.cost_per_row_usd
    with pytest.raises(ValueError, match="fit_share"):
        cmp.holdout_check(target_coverage=0.7, fit_share=1.0)


def test_as_dict_and_manual_waterfall_equivalence(cmp: Comparison) -> None:
    rec = cmp.recommend(target_coverage=0.6)
    data = rec.as_dict()
    assert data["order"] == list(rec.order) and data["target_coverage"] == 0.6
    manual = Waterfall([Step(p) for p in rec.order], name="gtmkit recommendation")
    assert manual.fingerprint() == rec.waterfall.fingerprint()
