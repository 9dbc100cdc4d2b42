"""The estimate before a run uses what gtmkit knows — the ledger's history, a comparison, a
pattern's documented figures — and says which, and on how many observations."""

from __future__ import annotations

import asyncio

import httpx
import polars as pl
import pytest

from gtmkit.providers.registry import UnknownProvider
from gtmkit.waterfall import Ledger, Step, Waterfall
from gtmkit.waterfall.estimate import DEFAULT_HIT_RATE, PRIOR_WEIGHT, EstimateError
from tests._waterfall_helpers import FakeService, make_providers, make_records

WF = Waterfall([Step("alpha"), Step("beta")])


def test_without_history_the_default_prior_says_it_is_one():
    providers = {"alpha": make_providers(None, ["alpha"], verifier=False)["alpha"]}
    providers["beta"] = make_providers(None, ["beta"], verifier=False)["beta"]
    table = WF.estimate(make_records(40), providers=providers)
    steps = table.filter(pl.col("step").is_not_null())
    assert steps["hit_rate"].to_list() == [DEFAULT_HIT_RATE, DEFAULT_HIT_RATE]
    assert steps["basis"].str.starts_with("default prior").all()
    assert steps["n"].to_list() == [0, 0]


def test_the_ledger_history_drives_the_estimate(tmp_path):
    ledger = tmp_path / "l.sqlite"
    svc = FakeService()

    async def go():
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            providers = make_providers(client, ["alpha", "beta"], verifier=False)
            result = await WF.run_async(
                make_records(200, seed=5), providers=providers, ledger=ledger, progress=False
            )
            return result, providers

    result, providers = asyncio.run(go())
    alpha = result.attempts.filter(
        (pl.col("provider") == "alpha")
        & ~pl.col("cached")
        & pl.col("outcome").is_in(["hit", "miss"])
    )
    hits, n = int((alpha["outcome"] == "hit").sum()), alpha.height
    expected = (hits + DEFAULT_HIT_RATE * PRIOR_WEIGHT) / (n + PRIOR_WEIGHT)
    with Ledger(ledger) as led:
        table = WF.estimate(make_records(50, seed=9), providers=providers, history=led)
    row = table.filter(pl.col("provider") == "alpha").row(0, named=True)
    assert row["hit_rate"] == pytest.approx(expected)
    assert row["n"] == n and row["basis"] == f"ledger history ({n} answered calls)"
    # the path works too, and a missing file is a clear error
    by_path = WF.estimate(make_records(50, seed=9), providers=providers, history=ledger)
    assert by_path["hit_rate"].to_list() == table["hit_rate"].to_list()
    with pytest.raises(EstimateError, match="no ledger"):
        WF.estimate(make_records(5), providers=providers, history=tmp_path / "none.sqlite")


def test_a_pattern_documented_share_becomes_a_hit_rate_of_the_rows_left():
    from gtmkit import patterns

    entry = patterns.load("patterns/enrichment-waterfalls/enterprise-contact-enrichment.md")
    wf = entry.to_waterfall(substitute={"zoominfo": "pdl"})
    table = wf.estimate(make_records(100), history=entry)
    rates = dict(zip(table["provider"].to_list(), table["hit_rate"].to_list(), strict=False))
    # documented 70%, 20%, 8% of the list: 0.7, then 0.2 / 0.3, then 0.08 / 0.1
    assert rates["apollo"] == pytest.approx(0.7)
    assert rates["pdl"] == pytest.approx(0.2 / 0.3)
    assert rates["hunter"] == pytest.approx(0.08 / 0.1)
    assert rates["manual"] == 0.0
    assert table.filter(pl.col("provider") == "apollo")["basis"].item().startswith("pattern ")


def test_an_unknown_provider_and_bad_priors_are_errors():
    with pytest.raises(UnknownProvider, match="known providers"):
        Waterfall([Step("huntr")]).estimate(make_records(3))
    with pytest.raises(EstimateError, match=r"within 0\.\.1"):
        Waterfall([Step("hunter")]).estimate(make_records(3), priors={"hunter": 1.5})
    with pytest.raises(EstimateError):
        Waterfall([Step("hunter")]).estimate(make_records(3), priors={"hunter": float("nan")})
