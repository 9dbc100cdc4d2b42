"""With 10% of calls faulty (429, 5xx, timeout, reset, malformed body) the enriched records equal
a fault-free run's, except rows whose retries ran out (< 0.5%): those are ``failed``, or — when a
later step found the email anyway — ``enriched`` with the failure named in their reason."""

from __future__ import annotations

import asyncio

import httpx
import polars as pl
import pytest

from gtmkit.waterfall import RetryPolicy, Step, Waterfall
from tests._waterfall_helpers import FakeService, make_providers, make_records

FAST_RETRY = RetryPolicy(base_s=0.001, max_backoff_s=0.01)
COLUMNS = ["row_id", "email", "email_source", "email_status", "email_verified", "status"]


def _compare(clean: pl.DataFrame, faulty: pl.DataFrame) -> tuple[int, int]:
    """(rows that differ, rows whose retries ran out); asserts every differing row is one."""
    faulty = faulty.with_columns(
        ran_out=pl.col("status_reason").str.contains(r"after \d+ attempt").fill_null(False)
    )
    joined = clean.select(COLUMNS).join(
        faulty.select(*COLUMNS, "ran_out"), on="row_id", suffix="_f"
    )
    differs = pl.any_horizontal(
        pl.col(c).ne_missing(pl.col(f"{c}_f")) for c in COLUMNS if c != "row_id"
    )
    different = joined.filter(differs)
    assert different["ran_out"].all(), different
    assert different["status_f"].is_in(["failed", "enriched"]).all(), different
    failed = faulty.filter(pl.col("status") == "failed")
    assert failed["status_reason"].str.contains(r"after \d+ attempt").all()
    # a 2xx answer whose body cannot be read is not retried (the provider may have billed it:
    # asking again could pay twice); those rows are counted apart from retries running out
    unreadable = pl.col("status_reason").str.contains("malformed_response after")
    retried_out = faulty.filter(pl.col("ran_out") & ~unreadable.fill_null(False))
    return different.height, retried_out.height


def test_ten_percent_faults_fake_providers():
    records = make_records(1500, seed=21, dup_rate=0.02)
    wf = Waterfall(
        [Step("alpha"), Step("beta", stop="first_verified"), Step("gamma")], verify="verifier"
    )

    async def go(svc: FakeService):
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            return await wf.run_async(
                records,
                providers=make_providers(client),
                ledger=None,
                progress=False,
                retry=FAST_RETRY,
            )

    clean = asyncio.run(go(FakeService()))
    svc = FakeService(fault_rate=0.10, fault_seed=5)
    faulty = asyncio.run(go(svc))
    assert set(svc.faults) == {"429", "5xx", "timeout", "reset", "malformed"}
    assert sum(svc.faults.values()) > 0.08 * faulty.totals["calls"]
    _, failed = _compare(clean.records, faulty.records)
    assert failed < 0.005 * records.height
    # every fault is in the attempts, typed
    kinds = set(faulty.attempts["error_kind"].drop_nulls().unique())
    assert {"rate_limited", "provider_down", "timeout", "malformed_response"} <= kinds


@pytest.mark.slow
def test_ten_percent_faults_sandbox_world():
    from gtmkit.sandbox import FaultConfig, World, simulate

    world = World.generate(seed=11, companies=300)
    records = world.sample_records(600, seed=2)
    wf = Waterfall(
        [
            Step("hunter"),
            Step("apollo", stop="first_verified", catch_all="accept_if_confident"),
            Step("pdl"),
        ],
        verify="hunter_verifier",
    )

    def go(faults):
        return wf.run(
            records,
            ledger=None,
            mode="sandbox",
            progress=False,
            retry=FAST_RETRY,
            connect_options=simulate(world, faults=faults).connect_options,
        )

    clean = go(None)
    faulty = go(FaultConfig(rate=0.10, seed=9))
    errors = faulty.attempts.filter(pl.col("outcome") == "error")
    assert errors.height > 0.08 * faulty.totals["calls"]
    assert clean.totals["enriched"] > 0.6 * records.height
    _, failed = _compare(clean.records, faulty.records)
    assert failed < 0.005 * records.height
