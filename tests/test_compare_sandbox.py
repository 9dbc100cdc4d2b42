"""compare() on the simulated world through the real engine, adapters and sandbox."""

from __future__ import annotations

import math

import polars as pl
import pytest
from _compare_helpers import sandbox_providers, world_records

import gtmkit
from gtmkit.comparison import (
    CompareError,
    Comparison,
    ProviderCost,
    best_order,
    brute_force_orders,
    evaluate_order,
)
from gtmkit.comparison.outcomes import TruthError, truth_from_column
from gtmkit.sandbox import default_world

NAMES = ["apollo", "hunter", "pdl", "prospeo", "dropcontact"]
ENGINE = {"progress": False, "rate_limits": "off"}
RUN = {**ENGINE, "echo": False}


@pytest.fixture(scope="module")
def world():
    return default_world()


@pytest.fixture(scope="module")
def records(world) -> pl.DataFrame:
    return world_records(world, 400, seed=3)


@pytest.fixture(scope="module")
def ledger_path(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("compare") / "ledger.sqlite")


@pytest.fixture(scope="module")
def cmp(world, records, ledger_path) -> Comparison:
    with sandbox_providers(NAMES) as providers:
        return gtmkit.compare(
            records,
            providers,
            truth=world.truth(records),
            segment_by=["employee_band", "region"],
            ledger=ledger_path,
            **RUN,
        )


def test_every_provider_tried_on_every_row_once(cmp: Comparison, records) -> None:
    obs = cmp.observations
    assert obs.height == records.height * len(NAMES)
    assert obs["called"].all()
    per = obs.group_by("provider").agg(pl.col("row_id").n_unique())
    assert per["row_id"].to_list() == [records.height] * len(NAMES)
    assert cmp.truth_source == "frame" and cmp.estimate is not None
    total = cmp.estimate.filter(pl.col("provider") == "TOTAL").row(0, named=True)
    assert total["lookups"] == records.height * len(NAMES)


def test_metrics_agree_with_the_engine_attempts(cmp: Comparison) -> None:
    attempts = cmp.attempts
    final = attempts.sort("attempt").group_by(["row_id", "provider"]).last()
    for row in cmp.metrics.iter_rows(named=True):
        mine = final.filter(pl.col("provider") == row["provider"])
        hits = mine.filter((pl.col("outcome") == "hit") & pl.col("email").is_not_null()).height
        assert row["hits"] == hits
        assert row["usd_paid"] == pytest.approx(
            attempts.filter(pl.col("provider") == row["provider"])["cost_usd"].sum()
        )
        # the simulated providers are calibrated as documented: 40-65% single-provider finds
        assert 0.35 <= row["hit_rate"] <= 0.70
        assert row["accuracy"] is not None and 0.6 <= row["accuracy"] <= 1.0
    assert cmp.segment_metrics["segment"].unique().sort().to_list() == ["employee_band", "region"]


def test_accuracy_is_judged_against_world_truth(cmp: Comparison, world, records) -> None:
    truth = world.truth(records).select("row_id", "true_email")
    hits = cmp.observations.filter(pl.col("hit")).join(truth, on="row_id")
    expected = (
        hits["email"].str.to_lowercase().str.strip_chars() == hits["true_email"].str.to_lowercase()
    ).fill_null(False)
    assert (hits["correct"] == expected).all()


def _priced(pattern, billing: str):
    prices = {"apollo": 0.041, "hunter": 0.087, "pdl": 0.23, "prospeo": 0.033, "dropcontact": 0.062}
    return pattern.with_costs(
        {p: ProviderCost(p, billing, 1.0, prices[p]) for p in pattern.providers}  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("billing", ["per_call", "per_hit"])
def test_optimizer_equals_brute_force_on_the_simulated_world(cmp: Comparison, billing) -> None:
    pattern = _priced(cmp.pattern(NAMES), billing)
    stats = brute_force_orders(pattern)
    assert len(stats) == 120
    best = min(s.cost_per_row_usd for s in stats)
    argmin = [s.order for s in stats if s.cost_per_row_usd <= best + 1e-12]
    got = best_order(pattern)
    assert math.isclose(got.cost_per_row_usd, best, rel_tol=1e-12)
    assert argmin == [got.order]


def test_billing_rule_measured_from_adapters(cmp: Comparison) -> None:
    assert cmp.costs["dropcontact"].billing == "refund_on_miss"
    for name, cost in cmp.costs.items():
        cls = gtmkit.providers.provider_class(name)
        assert cost.billing == cls.billing
        assert cost.usd_per_credit == pytest.approx(cls.price_per_credit)


def test_recommended_waterfall_realizes_its_prediction_and_reuses_the_ledger(
    cmp: Comparison, records, ledger_path
) -> None:
    rec = cmp.recommend(target_coverage=0.8)
    assert rec.target_met and rec.predicted_coverage >= 0.8
    front = cmp.frontier()
    cheapest = front.filter(pl.col("coverage") >= 0.8)["cost_per_row_usd"].min()
    assert rec.predicted_cost_per_row_usd == pytest.approx(cheapest)
    # a fresh connection and no ledger: every lookup is sent and paid again
    with sandbox_providers(NAMES) as providers:
        fresh = rec.run(
            records, providers=providers, ledger=None, progress=False, rate_limits="off"
        )
    assert fresh.totals["emails_found"] / records.height == pytest.approx(rec.predicted_coverage)
    assert fresh.totals["cost_usd"] / records.height == pytest.approx(
        rec.predicted_cost_per_row_usd, rel=1e-9
    )
    # the comparison's ledger answers the same waterfall from its cache, for free
    with sandbox_providers(NAMES) as providers:
        again = rec.run(
            records, providers=providers, ledger=ledger_path, progress=False, rate_limits="off"
        )
    assert again.totals["cost_usd"] == 0.0 and again.totals["calls"] == 0
    assert again.totals["emails_found"] == fresh.totals["emails_found"]


def test_holdout_check_reports_predicted_and_realized(cmp: Comparison) -> None:
    report = cmp.holdout_check(target_coverage=0.8, seed=1)
    assert report["fit_rows"] + report["holdout_rows"] == 400
    _fit, hold = gtmkit.comparison.split_rows(list(range(400)), 0.5, 1)
    realized = evaluate_order(cmp.pattern(rows=hold), report["order"])
    assert report["realized_coverage"] == realized.coverage
    assert report["coverage_rel_error"] == pytest.approx(
        realized.coverage / report["predicted_coverage"] - 1
    )


def test_estimate_is_shown_and_guards_spending(records, world) -> None:
    seen = []

    def decline(estimate: pl.DataFrame) -> bool:
        seen.append(estimate)
        return False

    with pytest.raises(CompareError, match="declined"):
        gtmkit.compare(records, ["hunter", "apollo"], ledger=None, confirm=decline, **RUN)
    assert seen and set(seen[0]["provider"]) == {"hunter", "apollo", "TOTAL"}
    with pytest.raises(CompareError, match="over budget"):
        gtmkit.compare(records, ["hunter", "apollo"], ledger=None, budget_usd=0.5, **RUN)
    with pytest.raises(CompareError, match="row_id"):
        gtmkit.compare(records.drop("row_id"), ["hunter"], ledger=None, **RUN)
    with pytest.raises(TruthError, match="truth"):
        gtmkit.compare(records, ["hunter"], ledger=None, truth=42, **RUN)


def test_user_column_of_verified_emails_as_truth(world, records, capsys) -> None:
    known = world.truth(records.head(60)).select("row_id", "true_email")
    listed = records.head(60).join(known.rename({"true_email": "verified_email"}), on="row_id")
    with sandbox_providers(["hunter"]) as providers:
        cmp = gtmkit.compare(
            listed, providers, truth=truth_from_column(listed, "verified_email"), sample=40,
            seed=2, ledger=None,
            progress=False, rate_limits="off",
        )  # fmt: skip
    assert "estimate before spending" in capsys.readouterr().err
    assert cmp.observations.height == 40 and cmp.truth_source == "frame"
    judged = cmp.observations.filter(pl.col("hit"))
    assert judged["correct"].is_not_null().all()


def test_loaded_list_rows_are_all_asked_without_their_own_email(world) -> None:
    from pathlib import Path

    sample_file = Path(__file__).resolve().parents[1] / "data" / "samples" / "leads_demo.csv"
    loaded = gtmkit.load_list(sample_file)
    frame = loaded.records
    # the list has rows with an email already and duplicates of rows outside any sample
    assert frame["email"].is_not_null().any() and frame["duplicate_of"].is_not_null().any()
    with sandbox_providers(["hunter", "pdl"]) as providers:
        cmp = gtmkit.compare(
            loaded, providers, sample=250, seed=5, truth=truth_from_column(frame, "email"), **RUN
        )
    obs = cmp.observations
    assert obs.height == 2 * 250 and obs["called"].all()
    attempts = cmp.attempts
    # PDL would enrich by email if it were shown the list's email: it never is
    assert not attempts["lookup_key"].str.contains("email=").any()
    sampled = obs["row_id"].unique()
    with_email = frame.filter(
        pl.col("row_id").is_in(sampled.implode()) & pl.col("email").is_not_null()
    )
    judged = obs.filter(pl.col("hit") & pl.col("row_id").is_in(with_email["row_id"].implode()))
    assert judged["correct"].is_not_null().all()
