"""The engine on a real intake result, the real adapters and the in-process simulated world."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import gtmkit
from gtmkit.sandbox import World, simulate
from gtmkit.waterfall import Ledger, Step, Waterfall

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "samples" / "leads_small.csv"

WF = Waterfall(
    [
        Step("hunter"),
        Step("apollo", stop="first_verified", catch_all="accept_if_confident"),
        Step("pdl", fills=("email", "title")),
    ],
    verify="hunter_verifier",
)


@pytest.fixture(scope="module")
def world() -> World:
    return gtmkit.sandbox.default_world()


def test_loaded_list_through_the_sandbox(world, tmp_path):
    loaded = gtmkit.load_list(SAMPLE)
    sim = simulate(world)
    transport = sim.transport
    ledger = tmp_path / "ledger.sqlite"
    options = sim.connect_options
    res = WF.run(loaded, mode="sandbox", ledger=ledger, progress=False, connect_options=options)
    out = res.records

    # every source row exactly once: accepted records and rejected rows
    source_rows = loaded.records.height + loaded.rejected.height
    assert out.height == source_rows == out["row_id"].n_unique()
    assert set(out.filter(pl.col("status") == "rejected")["row_id"]) == set(
        loaded.rejected["row_id"]
    )
    dups = loaded.records.filter(pl.col("duplicate_of").is_not_null())
    assert set(out.filter(pl.col("status") == "duplicate")["row_id"]) == set(dups["row_id"])
    assert res.totals["enriched"] > 0.5 * loaded.records.height

    # what the simulated providers charged == what the engine ledgered
    charged = transport.app.ledger.totals()
    assert sum(charged.values()) == pytest.approx(res.totals["credits"])
    with Ledger(ledger) as led:
        assert led.total_credits(res.totals["run_id"]) == pytest.approx(res.totals["credits"])

    # the summary adds up
    summary = res.summary
    assert summary["provider"].to_list() == ["hunter", "apollo", "pdl", "hunter_verifier"]
    assert summary["credits"].sum() == pytest.approx(res.totals["credits"])
    assert summary["cumulative_coverage"].is_sorted()

    # a re-run pays nothing and gives the same records
    again = WF.run(loaded, mode="sandbox", ledger=ledger, progress=False, connect_options=options)
    assert again.totals["credits"] == 0 and again.totals["calls"] == 0
    assert sum(transport.app.ledger.totals().values()) == pytest.approx(res.totals["credits"])
    cols = ["row_id", "email", "email_source", "email_status", "title", "status"]
    assert again.records.select(cols).equals(out.select(cols))
