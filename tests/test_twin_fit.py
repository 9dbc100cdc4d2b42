"""The twin's fit (gtmkit.twin): it recovers the rates and the dependence a synthetic ledger
was drawn from, shrinks thin segments, and says what every estimate rests on."""

from __future__ import annotations

import polars as pl
import pytest

from gtmkit.errors import GtmkitError
from gtmkit.twin import Prior, Twin, TwinError
from tests._ledger_twin_helpers import synthetic_ledger

RATES = {
    "smb": {"hunter": 0.60, "apollo": 0.35, "pdl": 0.50},
    "mid": {"hunter": 0.45, "apollo": 0.65, "pdl": 0.55},
}


def _hit_rates(twin: Twin) -> dict[tuple[str, str], tuple[float, int]]:
    table = twin.estimates(draws=200).filter(pl.col("quantity") == "hit_rate")
    return {
        (p, s): (m, n)
        for p, s, m, n in table.select("provider", "segment", "mean", "n").iter_rows()
    }


def test_a_comparison_ledger_gives_back_its_segment_rates_and_its_correlation() -> None:
    attempts, records = synthetic_ledger(3000, RATES, rho=0.5, seed=3)
    twin = Twin.fit(attempts, records=records, segment_by="segment")
    rates = _hit_rates(twin)
    for segment, table in RATES.items():
        for provider, rate in table.items():
            mean, n = rates[(provider, segment)]
            assert n == 1500  # every provider saw every row of its segment
            assert abs(mean - rate) < 0.04, (provider, segment, mean, rate)
    assert 0.35 <= twin.hits.rho_mean <= 0.65
    assert twin.shared_rows == 3000


def test_independent_providers_are_not_taken_for_correlated_ones() -> None:
    attempts, records = synthetic_ledger(3000, RATES, rho=0.0, seed=4)
    twin = Twin.fit(attempts, records=records, segment_by="segment")
    assert twin.hits.rho_mean < 0.15


def test_a_thin_segment_is_pulled_towards_the_providers_overall_rate() -> None:
    attempts, records = synthetic_ledger(2000, {"a": {"hunter": 0.5}}, rho=0.3, seed=5)
    # three rows of a new segment, all hits: alone they would say 100%
    extra = pl.DataFrame(
        {"row_id": [5000, 5001, 5002], "provider": ["hunter"] * 3, "state": ["done"] * 3,
         "outcome": ["hit"] * 3, "email_status": ["valid"] * 3, "credits": [1.0] * 3,
         "latency_s": [0.5] * 3},
    )  # fmt: skip
    more = pl.DataFrame({"row_id": [5000, 5001, 5002], "segment": ["b"] * 3, "email": [None] * 3})
    twin = Twin.fit(
        pl.concat([attempts, extra], how="diagonal_relaxed"),
        records=pl.concat([records, more], how="vertical_relaxed"),
        segment_by="segment",
    )
    rates = _hit_rates(twin)
    thin, n = rates[("hunter", "b")]
    assert n == 3
    assert rates[("hunter", "a")][0] < thin < 0.9


def test_every_estimate_says_how_many_observations_it_rests_on() -> None:
    attempts, records = synthetic_ledger(400, RATES, rho=0.3, order=["hunter", "apollo"], seed=6)
    table = Twin.fit(attempts, records=records, segment_by="segment").estimates(draws=100)
    assert {"provider", "segment", "quantity", "mean", "low", "high", "n", "basis"} <= set(
        table.columns
    )
    assert table["n"].null_count() == 0
    assert set(table["quantity"]) >= {"hit_rate", "usable_rate", "error_rate", "credits_per_hit",
                                      "latency_s", "latent_correlation"}  # fmt: skip
    hunter = table.filter((pl.col("provider") == "hunter") & (pl.col("quantity") == "hit_rate"))
    assert hunter["n"].sum() == 400  # the first step saw every row
    apollo = table.filter((pl.col("provider") == "apollo") & (pl.col("quantity") == "hit_rate"))
    assert 0 < apollo["n"].sum() < 400  # only the rows hunter missed
    assert (table["low"] <= table["high"]).all()
    hits = table.filter(pl.col("quantity") == "hit_rate")
    assert (hits["low"] < hits["mean"]).all() and (hits["mean"] < hits["high"]).all()


def test_usable_rate_and_billing_come_from_the_ledger() -> None:
    attempts, records = synthetic_ledger(
        2000, RATES, rho=0.3, seed=7, usable_share=0.8, credits_per_hit=2.0
    )
    table = Twin.fit(attempts, records=records, segment_by="segment").estimates(draws=200)
    usable = table.filter(pl.col("quantity") == "usable_rate")["mean"]
    assert ((usable - 0.8).abs() < 0.06).all()
    per_hit = table.filter(pl.col("quantity") == "credits_per_hit")["mean"]
    assert (per_hit == 2.0).all()


def test_bad_inputs_get_a_twin_error_that_says_what_to_do() -> None:
    attempts, records = synthetic_ledger(50, RATES, rho=0.3, seed=8)
    assert issubclass(TwinError, GtmkitError)
    with pytest.raises(TwinError, match="needs records="):
        Twin.fit(attempts, segment_by="segment")
    with pytest.raises(TwinError, match="lack column"):
        Twin.fit(attempts, records=records.drop("segment"), segment_by="segment")
    with pytest.raises(TwinError, match="no answered lookups"):
        Twin.fit(attempts.head(0))
    with pytest.raises(TwinError, match="not list"):
        Twin.fit([1, 2, 3])
    with pytest.raises(TwinError, match="no ledger at"):
        Twin.fit("/nonexistent/ledger.sqlite")
    with pytest.raises(TwinError, match="strictly between"):
        Prior(1.5, 10)
