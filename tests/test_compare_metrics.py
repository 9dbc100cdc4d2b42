"""Metrics from attempts-shaped frames: retries, cache, truth sources, Wilson, warnings."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pytest
from _compare_helpers import synth_attempts, synth_costs, synth_records
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.comparison import (
    CompareError,
    Comparison,
    ProviderCost,
    observations_from_attempts,
    provider_metrics,
    wilson_interval,
)
from gtmkit.comparison.stats import wilson_exprs

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _attempt(
    row,
    provider,
    outcome,
    *,
    email=None,
    status=None,
    attempt=1,
    cached=False,
    credits=0.0,
    billed=False,
    cost=0.0,
    latency=1.0,
    error_kind=None,
):
    return {
        "row_id": row, "lookup_key": f"{provider}:{row}", "step": 0, "provider": provider,
        "endpoint": "e", "outcome": outcome, "error_kind": error_kind, "http_status": 200,
        "latency_s": latency, "credits": credits, "billed": billed, "cost_usd": cost,
        "attempt": attempt, "cached": cached, "started_at": T0, "email": email,
        "email_status": status, "provider_status": None, "confidence": None, "fields_json": "{}",
    }  # fmt: skip


def _hand_attempts() -> pl.DataFrame:
    rows = [
        # row 0: p finds the right email after a 429 retry; q finds a wrong one
        _attempt(0, "p", "error", attempt=1, error_kind="rate_limited", latency=0.1),
        _attempt(0, "p", "hit", email="A@x.com", status="valid", attempt=2, credits=1,
                 billed=True, cost=0.05, latency=0.5),
        _attempt(0, "q", "hit", email="wrong@x.com", status="catch_all", credits=1,
                 billed=True, cost=0.02, latency=2.0),
        # row 1: p misses; q finds the right one (answered from the ledger cache: free)
        _attempt(1, "p", "miss", latency=0.7),
        _attempt(1, "q", "hit", email="b@y.com", status="valid", cached=True, latency=0.0),
        # row 2: p errors for good; q misses (per-call: billed)
        _attempt(2, "p", "error", error_kind="provider_down", latency=3.0),
        _attempt(2, "q", "miss", credits=1, billed=True, cost=0.02, latency=1.0),
        # row 3: p hits with no email at all (a person match without email) -> not a hit
        _attempt(3, "p", "hit", email=None, status=None, latency=0.6),
        _attempt(3, "q", "miss", credits=1, billed=True, cost=0.02, latency=1.5),
    ]  # fmt: skip
    return pl.DataFrame(rows, infer_schema_length=None)


COSTS = {
    "p": ProviderCost("p", "per_hit", 1.0, 0.05),
    "q": ProviderCost("q", "per_call", 1.0, 0.02),
}
TRUTH = pl.DataFrame(
    {"row_id": [0, 1, 2, 3], "true_email": ["a@x.com", "B@y.com", None, "d@z.com"]}
)


def test_observations_collapse_retries_cache_and_email_less_hits() -> None:
    obs = observations_from_attempts(_hand_attempts())
    p = obs.filter(pl.col("provider") == "p").sort("row_id")
    assert p["hit"].to_list() == [True, False, False, False]
    assert p["attempts"].to_list() == [2, 1, 1, 1]
    assert p["errors"].to_list() == [1, 0, 1, 0]
    assert p["answered"].to_list() == [True, True, False, True]
    q = obs.filter(pl.col("provider") == "q").sort("row_id")
    assert q["cached"].to_list() == [False, True, False, False]
    assert q["catch_all"].to_list() == [True, False, False, False]
    assert q["credits"].to_list() == [1.0, 0.0, 1.0, 1.0]


def test_metrics_by_hand_with_truth() -> None:
    cmp = Comparison.from_attempts(_hand_attempts(), COSTS, truth=TRUTH)
    m = {r["provider"]: r for r in cmp.metrics.iter_rows(named=True)}
    p, q = m["p"], m["q"]
    assert (p["n"], p["hits"], p["judged"], p["correct"]) == (4, 1, 1, 1)
    assert p["accuracy"] == 1.0 and p["usable"] == 1 and p["verified_share"] == 1.0
    assert p["error_rate"] == pytest.approx(0.25) and p["errors"] == 2
    # per_hit at list price: one billed hit at $0.05
    assert p["usd_per_call"] == pytest.approx(0.05 / 4)
    assert p["usd_per_hit"] == pytest.approx(0.05)
    assert p["usd_per_usable"] == pytest.approx(0.05)
    assert p["usd_paid"] == pytest.approx(0.05)
    # q: 2 hits (one wrong catch-all, one right valid from cache); per_call billed on 4 answers
    assert (q["hits"], q["correct"], q["usable"]) == (2, 1, 1)
    assert q["accuracy"] == 0.5 and q["catch_all_share"] == 0.5 and q["verified_share"] == 0.5
    assert q["usd_per_call"] == pytest.approx(0.02)
    assert q["usd_per_hit"] == pytest.approx(0.04)
    assert q["credits_per_call"] == pytest.approx(1.0) and q["credits_per_hit"] == 2.0
    assert q["credits_per_usable"] == 4.0
    assert q["usd_paid"] == pytest.approx(0.06)  # the cached answer cost nothing this run
    # latency quantiles exclude the cache answer: q sent 3 lookups at 2.0, 1.0, 1.5 s
    assert q["latency_p50_s"] == pytest.approx(1.5)
    assert p["usable_basis"] == "verified_and_correct"
    # every cell here has a tiny n: the interval is far too wide to act on
    assert p["too_wide"] and "measure more rows" in p["warning"]
    low, high = wilson_interval(1, 4)
    assert (p["hit_rate_low"], p["hit_rate_high"]) == pytest.approx((low, high))


def test_no_truth_means_usable_is_verified_only_and_accuracy_null() -> None:
    cmp = Comparison.from_attempts(_hand_attempts(), COSTS)
    m = cmp.metrics.filter(pl.col("provider") == "q").row(0, named=True)
    assert m["accuracy"] is None and m["judged"] == 0
    assert m["usable"] == 1 and m["usable_basis"] == "verified_only"


def test_bounce_outcomes_joined_later() -> None:
    cmp = Comparison.from_attempts(_hand_attempts(), COSTS)
    bounces = pl.DataFrame({"email": ["a@x.com", "wrong@x.com"], "bounced": [False, True]})
    judged = cmp.with_truth(bounces, source="bounces")
    obs = judged.observations.filter(pl.col("hit")).sort(["provider", "row_id"])
    # p row 0 delivered -> right; q row 0 bounced -> wrong; q row 1 never sent -> unknown
    assert obs["correct"].to_list() == [True, False, None]
    m = {r["provider"]: r for r in judged.metrics.iter_rows(named=True)}
    assert m["q"]["judged"] == 1 and m["q"]["accuracy"] == 0.0
    assert judged.truth_source == "bounces"


def test_truth_frame_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="true_email"):
        Comparison.from_attempts(_hand_attempts(), COSTS, truth=pl.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="lacks column"):
        observations_from_attempts(pl.DataFrame({"row_id": [1]}))
    with pytest.raises(CompareError, match="price"):
        Comparison.from_attempts(_hand_attempts(), {"p": COSTS["p"]})


def test_segment_metrics_and_too_wide_flag_on_synthetic_run() -> None:
    records = synth_records(1200, seed=2)
    attempts, truth = synth_attempts(records, seed=2)
    cmp = Comparison.from_attempts(
        attempts, synth_costs(), rows=records, truth=truth, segment_by=["employee_band", "region"]
    )
    overall = cmp.metrics
    assert overall.height == 5 and not overall["too_wide"].any()
    seg = cmp.segment_metrics
    assert set(seg["segment"]) == {"employee_band", "region"}
    # per provider, segment cells add back up to the overall counts
    bands = (
        seg.filter(pl.col("segment") == "employee_band")
        .group_by("provider")
        .agg(pl.col("n").sum(), pl.col("hits").sum())
    )
    joined = bands.join(overall.select("provider", "n", "hits"), on="provider", suffix="_all")
    assert (joined["n"] == joined["n_all"]).all() and (joined["hits"] == joined["hits_all"]).all()
    # the flag follows the documented threshold exactly
    width = seg["hit_rate_high"] - seg["hit_rate_low"]
    acc_width = (seg["accuracy_high"] - seg["accuracy_low"]).fill_null(0.0)
    assert (seg["too_wide"] == ((width > 0.20) | (acc_width > 0.20))).all()
    tiny = provider_metrics(cmp.observations.filter(pl.col("row_id") < 40), cmp.costs)
    assert tiny["too_wide"].all()
    with pytest.raises(ValueError, match="segment"):
        cmp.metrics_by("nope")


def test_wilson_reference_values() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    low, high = wilson_interval(0, 10)
    assert low == 0.0 and high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson_interval(81, 263)  # Wilson (1927)-style textbook case
    assert (low, high) == pytest.approx((0.2553, 0.3662), abs=1e-4)
    with pytest.raises(ValueError):
        wilson_interval(5, 3)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_properties_and_polars_version_agree(k: int, n: int) -> None:
    k = min(k, n)
    low, high = wilson_interval(k, n)
    assert 0.0 <= low <= k / n <= high <= 1.0
    frame = pl.DataFrame({"k": [k], "n": [n]}).select(*wilson_exprs("k", "n", prefix="r"))
    assert frame.row(0) == pytest.approx((low, high), abs=1e-12)
    if n > 1 and 0 < k < n:  # symmetry
        l2, h2 = wilson_interval(n - k, n)
        assert (1 - h2, 1 - l2) == pytest.approx((low, high), abs=1e-12)


def test_public_names_resolve_from_the_top_level_package() -> None:
    import inspect

    import gtmkit
    import gtmkit.comparison.run  # importing the package's modules must not shadow the function

    assert inspect.isfunction(gtmkit.compare) and gtmkit.compare.__name__ == "compare"
    assert callable(gtmkit.charts.hit_rate_vs_cost)
    with pytest.raises(CompareError, match="row_id"):
        gtmkit.compare(pl.DataFrame({"x": [1]}), ["hunter"], echo=False)


def test_comparison_repr_is_one_short_line() -> None:
    cmp = Comparison.from_attempts(_hand_attempts(), COSTS, truth=TRUTH)
    assert repr(cmp) == "Comparison(2 providers × 4 rows: p, q; truth: frame; segments: none)"


def test_sampling_and_estimate_helpers() -> None:
    from gtmkit.comparison.run import _sample, estimate_compare

    frame = pl.DataFrame({"row_id": list(range(10)), "x": list(range(10))})
    assert _sample(frame, None, 0).height == 10
    assert _sample(frame, 4, 1).height == 4 and _sample(frame, 4, 1)["row_id"].is_sorted()
    assert _sample(frame, 4, 1).equals(_sample(frame, 4, 1))  # seeded
    assert _sample(frame, 0.5, 0).height == 5 and _sample(frame, 50, 0).height == 10
    for bad in (0, -3, 1.5):
        with pytest.raises(CompareError):
            _sample(frame, bad, 0)
    est = estimate_compare(200, COSTS, max_credits={"p": 2.0})
    rows = {r["provider"]: r for r in est.iter_rows(named=True)}
    assert rows["p"]["usd_if_all_billed"] == pytest.approx(200 * 0.05)
    assert rows["p"]["usd_worst_case"] == pytest.approx(200 * 2.0 * 0.05)
    assert rows["TOTAL"]["usd_if_all_billed"] == pytest.approx(200 * 0.05 + 200 * 0.02)
    assert rows["TOTAL"]["lookups"] == 400


def test_measured_credits_replace_nominal_ones() -> None:
    from gtmkit.comparison.run import provider_costs

    class Fake:
        billing = "per_hit"
        credits_per_lookup = 1.0
        price_per_credit = 0.1

    attempts = pl.DataFrame(
        {
            "provider": ["f", "f", "f"],
            "billed": [True, True, False],
            "cached": [False, False, False],
            "credits": [2.0, 4.0, 0.0],
        }
    )
    nominal = provider_costs(["f"], providers={"f": Fake()})["f"]
    measured = provider_costs(["f"], providers={"f": Fake()}, attempts=attempts, prices={"f": 0.5})[
        "f"
    ]
    assert nominal.credits_per_billed_call == 1.0 and nominal.usd_per_credit == 0.1
    assert measured.credits_per_billed_call == 3.0 and measured.usd_per_credit == 0.5


def test_by_segment_without_segments_is_refused() -> None:
    cmp = Comparison.from_attempts(_hand_attempts(), COSTS, truth=TRUTH)
    with pytest.raises(CompareError, match="segment_by"):
        cmp.recommend(target_coverage=0.5, by_segment=True)
    with pytest.raises(CompareError, match="not available"):
        cmp.recommend(target_coverage=0.5, by_segment="industry")
