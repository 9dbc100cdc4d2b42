"""The twin's predictions: coverage that honours the dependence between providers, intervals
that hold the truth, budgets that are honoured, what-ifs, unseen providers only with a prior."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import polars as pl
import pytest

from gtmkit.twin import Prior, Twin, TwinError
from gtmkit.waterfall import Step, Waterfall
from tests._ledger_twin_helpers import new_list, synthetic_ledger, true_coverage

RATES = {"smb": {"hunter": 0.55, "apollo": 0.55, "pdl": 0.55}}
WF = Waterfall([Step("hunter"), Step("apollo"), Step("pdl")])


@pytest.fixture(scope="module")
def twin() -> Twin:
    attempts, records = synthetic_ledger(
        3000, RATES, rho=0.4, order=["hunter", "apollo", "pdl"], seed=11
    )
    return Twin.fit(attempts, records=records, segment_by="segment")


def test_coverage_follows_the_correlated_truth_not_the_independent_sum(twin: Twin) -> None:
    leads = new_list(2000, ["smb"])
    p = twin.predict(leads, WF, draws=200)
    truth = true_coverage(RATES["smb"], 0.4, ["hunter", "apollo", "pdl"])
    independent = 1 - 0.45**3
    assert abs(p["coverage"].expected - truth) < 0.02
    assert p["coverage"].low < truth < p["coverage"].high
    assert p["coverage"].high < independent  # 91% is what independence would promise
    # per_hit billing at one credit: credits = emails found
    assert p["credits"].expected == pytest.approx(p["found"].expected, rel=1e-9)
    assert p["spend_usd"].expected > 0 and p["run_time_s"].expected > 0
    assert p.steps["calls"].to_list()[1] > p.steps["calls"].to_list()[2]  # apollo before pdl
    assert "twin fitted from the ledger" in p.basis


def test_the_same_seed_gives_the_same_prediction(twin: Twin) -> None:
    leads = new_list(500, ["smb"])
    a = twin.predict(leads, WF, draws=50, seed=3)
    b = twin.predict(leads, WF, draws=50, seed=3)
    assert a.figures.equals(b.figures)
    assert not a.figures.equals(twin.predict(leads, WF, draws=50, seed=4).figures)


def test_a_budget_caps_the_predicted_spend(twin: Twin) -> None:
    leads = new_list(1000, ["smb"])
    free = twin.predict(leads, WF, draws=100)
    capped = twin.predict(leads, WF, draws=100, budget=300)
    assert capped["credits"].high <= 300 + 1e-9
    assert capped["coverage"].expected < free["coverage"].expected
    assert capped["coverage"].expected == pytest.approx(0.3 * 1000 / 1000 / 1, rel=0.05)


def test_budget_for_reaches_the_coverage_it_was_asked_for(twin: Twin) -> None:
    leads = new_list(1000, ["smb"])
    advice = twin.budget_for(leads, WF, coverage=0.7, confidence=0.95, draws=200)
    assert advice.usd is not None and advice.probability == 1.0
    # one credit per email found: 70% of 1,000 rows is 700 credits, whatever the luck
    assert advice.credits == pytest.approx(700.0)
    check = twin.predict(leads, WF, budget_usd=advice.usd, draws=200, seed=9)
    assert check["coverage"].expected >= 0.7
    # dollars depend on which provider finds whom (their prices differ): less sure, less money
    cheaper = twin.budget_for(leads, WF, coverage=0.7, confidence=0.5, draws=200)
    assert cheaper.usd is not None and cheaper.usd < advice.usd
    # three providers at 55% with correlated coverage cannot reach 99%
    out_of_reach = twin.budget_for(leads, WF, coverage=0.99, draws=100)
    assert out_of_reach.credits is None and out_of_reach.probability < 0.95
    with pytest.raises(TwinError, match="coverage is a share"):
        twin.budget_for(leads, WF, coverage=1.5)


def test_what_if_drops_adds_reorders_and_reprices(twin: Twin) -> None:
    leads = new_list(1000, ["smb"])
    dropped = twin.what_if(leads, WF, drop=["pdl"], draws=100)
    change = dict(
        dropped.filter(pl.col("scenario") == "variant").select("metric", "change").iter_rows()
    )
    assert change["coverage"] < 0 and change["credits"] < 0
    pricier = twin.what_if(leads, WF, prices={"hunter": 0.20}, draws=100)
    change = dict(
        pricier.filter(pl.col("scenario") == "variant").select("metric", "change").iter_rows()
    )
    assert change["spend_usd"] > 0 and change["credits"] == pytest.approx(0.0, abs=1e-9)
    reordered = twin.what_if(leads, WF, order=["pdl", "apollo", "hunter"], draws=100)
    assert reordered.filter(pl.col("scenario") == "baseline")["change"].null_count() == 6
    with pytest.raises(TwinError, match="order must name each step once"):
        twin.what_if(leads, WF, order=["pdl"])
    with pytest.raises(TwinError, match="not steps"):
        twin.what_if(leads, WF, drop=["zoominfo"])


def test_a_provider_the_ledger_never_saw_needs_an_explicit_prior_and_is_flagged(twin: Twin) -> None:
    leads = new_list(500, ["smb"])
    wf = Waterfall([Step("hunter"), Step("leadmagic")])
    with pytest.raises(TwinError, match="never saw 'leadmagic'"):
        twin.predict(leads, wf)
    p = twin.predict(
        leads, wf, priors={"leadmagic": Prior(0.6, 10, "vendor claim 60-70%")}, draws=50
    )
    assert any("leadmagic" in flag and "explicit prior" in flag for flag in p.flags)
    assert p.steps.filter(pl.col("provider") == "leadmagic")["basis"].item().startswith("explicit")
    flagged = twin.what_if(leads, WF, add=["leadmagic"], priors={"leadmagic": 0.6}, draws=50)
    assert "leadmagic" in flagged["flags"].drop_nulls()[0]


def test_a_segment_the_ledger_never_saw_uses_the_providers_rate_and_says_so(twin: Twin) -> None:
    p = twin.predict(new_list(300, ["enterprise"]), WF, draws=50)
    assert any("never saw" in flag and "enterprise" in flag for flag in p.flags)
    with pytest.raises(TwinError, match="no \\['segment'\\] column"):
        twin.predict(pl.DataFrame({"row_id": [0], "email": [None]}), WF)


def test_rows_that_already_have_an_email_are_not_predicted(twin: Twin) -> None:
    leads = new_list(100, ["smb"]).with_columns(
        pl.when(pl.col("row_id") < 40).then(pl.lit("x@y.io")).otherwise(None).alias("email")
    )
    assert twin.predict(leads, WF, draws=20).rows == 60


def test_bad_options_are_refused(twin: Twin) -> None:
    leads = new_list(10, ["smb"])
    for kwargs in ({"draws": 3}, {"confidence": 1.0}, {"concurrency": 0}, {"draws": True}):
        with pytest.raises(TwinError):
            twin.predict(leads, WF, **kwargs)
    with pytest.raises(TwinError, match="no figure"):
        twin.predict(leads, WF, draws=10)["bounces"]


def test_fit_from_a_real_ledger_of_a_sandbox_run() -> None:
    from gtmkit.sandbox import SandboxTransport, default_world

    world = default_world()
    leads = world.sample_records(120, seed=5)
    wf = Waterfall([Step("hunter"), Step("apollo")])
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.sqlite"
        options = {"mode": "sandbox", "ledger": ledger, "progress": False, "rate_limits": "off",
                   "connect_options": {"transport": SandboxTransport(world)}}  # fmt: skip
        first = wf.run(leads, **options)
        twin = Twin.fit(ledger)
        assert twin.rows == 120 and set(twin.providers) == {"hunter", "apollo"}
        p = twin.predict(leads, wf, draws=100)
        assert p.rows == 120
        realized = first.totals["enriched"] / 120
        assert p["coverage"].low <= realized <= p["coverage"].high
        # a second list in the same ledger: which rows are whose must be said
        wf.run(world.sample_records(60, seed=6), **options)
        with pytest.raises(TwinError, match="pass runs="):
            Twin.fit(
                ledger, records=leads.with_columns(pl.lit("x").alias("band")), segment_by="band"
            )
        again = Twin.fit(
            ledger, runs=[first.totals["run_id"]],
            records=leads.with_columns(pl.lit("x").alias("band")), segment_by="band",
        )  # fmt: skip
        assert again.rows == 120 and not math.isnan(again.hits.rho_mean)
