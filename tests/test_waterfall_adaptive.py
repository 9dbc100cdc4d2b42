"""``Waterfall(order="adaptive")``: deterministic under a seed, every decision recorded, money
checked against the sandbox's own meter, a crash and resume that ends where an uninterrupted
run ends, and an order that learns (on a world where the default order is bad for a segment).

The meter is always the simulation's (``Simulation.billed()``, ``repeated_lookups()``), never
the engine's books.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.sandbox import simulate
from gtmkit.waterfall import Ledger, RunOptionsError, SpecError, Step, Waterfall
from gtmkit.waterfall.adaptive_model import StepCost, best_order, expected
from gtmkit.waterfall.backends import Backends
from tests._adaptive_helpers import (
    SEGMENT,
    STEPS,
    GuessesInSegment,
    adaptive,
    banded,
    child_config,
    small_company_domains,
    usable_count,
)
from tests._attack_helpers import (
    attack_world,
    billed_total,
    finish,
    kill_when,
    run_in_process,
    spawn,
)

EPS = 1e-9


def _run(wf: Waterfall, records: pl.DataFrame, **options):
    sim = simulate(attack_world())
    return run_in_process(wf, records, sim, **options), sim


# -- the spec ----------------------------------------------------------------------------------


def test_the_spec_says_what_an_adaptive_order_can_and_cannot_be_combined_with():
    steps = [Step("hunter"), Step("apollo")]
    with pytest.raises(SpecError, match="order must be one of"):
        Waterfall(steps, order="random")
    with pytest.raises(SpecError, match="only applies to order='adaptive'"):
        Waterfall(steps, segment_by="employee_band")
    with pytest.raises(SpecError, match="route_by fixes each segment's order"):
        Waterfall(steps, order="adaptive", route_by={"employee_band": {"1-10": ["hunter"]}})
    static = Waterfall(steps)
    learned = Waterfall(steps, order="adaptive", segment_by="employee_band")
    assert learned.segment_by == ("employee_band",)
    # a static spec keeps its fingerprint (its resumes); an adaptive one is another run
    assert static.fingerprint() == Waterfall(steps, order="static").fingerprint()
    assert learned.fingerprint() != static.fingerprint()
    assert learned.fingerprint() != Waterfall(steps, order="adaptive").fingerprint()
    from_dict = Waterfall.from_dict(
        {"steps": ["hunter", "apollo"], "order": "adaptive", "segment_by": "employee_band"}
    )
    assert from_dict.fingerprint() == learned.fingerprint()


def test_a_missing_segment_column_or_a_shared_backend_is_refused_before_any_call():
    records = banded(20).drop(SEGMENT)
    result_sim = simulate(attack_world())
    with pytest.raises(SpecError, match=r"segment_by names column\(s\) \['employee_band'\]"):
        run_in_process(adaptive(), records, result_sim)
    assert result_sim.requests() == {}
    with pytest.raises(RunOptionsError, match="in one process"):
        # a shared backend of another tier (the queue's) learns in many processes at once
        run_in_process(adaptive(), banded(20), result_sim, backends=Backends())
    assert result_sim.requests() == {}


# -- the model -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    rates=st.lists(st.tuples(st.floats(0.05, 0.95), st.floats(0.0, 1.0)), min_size=2, max_size=5),
    prices=st.lists(st.floats(0.0, 0.3), min_size=5, max_size=5),
    per_call=st.lists(st.booleans(), min_size=5, max_size=5),
    value=st.floats(0.0, 1.0),
)
def test_the_index_order_is_the_best_permutation_for_its_rates(rates, prices, per_call, value):
    # the exchange argument, checked against every permutation
    names = [f"p{i}" for i in range(len(rates))]
    table = dict(zip(names, rates, strict=False))
    costs = {n: StepCost(prices[i], prices[i] if per_call[i] else 0.0) for i, n in enumerate(names)}

    def worth(order):
        cost, usable = expected(table, order, costs)
        return value * usable - cost

    chosen = [p for p, _ in best_order(table, names, costs, value)]
    best = max(worth(perm) for perm in itertools.permutations(names))
    assert worth(chosen) >= best - 1e-9


# -- determinism and the record ----------------------------------------------------------------


def test_the_same_seed_gives_the_same_decisions_whatever_the_concurrency():
    records = banded(400, seed=5)
    a, _ = _run(adaptive(), records, seed=11, concurrency=300)
    b, _ = _run(adaptive(), records, seed=11, concurrency=3, max_in_flight=2)
    c, _ = _run(adaptive(), records, seed=12)
    assert a.decisions is not None and b.decisions is not None and c.decisions is not None
    assert a.decisions.height == 400
    columns = ["row_id", "block", "segment", "order", "sampled_json", "value_usd"]
    assert a.decisions.select(columns).equals(b.decisions.select(columns))
    view = ["row_id", "email", "email_source", "email_status", "status", "cost_usd"]
    assert a.records.select(view).equals(b.records.select(view))
    # another seed draws other rates, so (some) rows get other orders
    assert not a.decisions["sampled_json"].equals(c.decisions["sampled_json"])
    assert (a.decisions["order"] != c.decisions["order"]).sum() > 10


def test_every_decision_is_recorded_with_why_and_the_row_walked_that_order(tmp_path: Path):
    records = banded(300, seed=6)
    ledger = tmp_path / "ledger.sqlite"
    result, _ = _run(adaptive(), records, ledger=ledger, seed=3)
    decisions = result.decisions
    assert decisions is not None and decisions.height == 300
    with Ledger(ledger) as led:
        recorded = led.adaptive_orders(result.totals["chain_id"])
        chains = led._read("SELECT seed, segment_by, block_size, prior_json FROM adaptive_runs")
    assert recorded.height == 300
    assert recorded.select("row_id", "order").equals(decisions.select("row_id", "order"))
    assert recorded["run_id"].unique().to_list() == [result.totals["run_id"]]
    ((seed, segment_by, block_size, prior),) = chains
    assert (seed, json.loads(segment_by), block_size) == (3, [SEGMENT], 25)
    assert json.loads(prior)["basis"] == "field notes (no history in the ledger)"
    segments = dict(records.select("row_id", SEGMENT).iter_rows())
    tried = (
        result.attempts.filter(pl.col("provider").is_in(STEPS))
        .group_by("row_id", maintain_order=True)
        .agg(pl.col("provider").unique(maintain_order=True))
    )
    tried_by_row = dict(tried.iter_rows())
    for row in decisions.iter_rows(named=True):
        assert row["segment"] == segments[row["row_id"]]
        sampled = json.loads(row["sampled_json"])
        assert set(sampled) == set(STEPS)
        # why: the drawn rates, the index they give, and what they rested on
        for drawn in sampled.values():
            assert 0.0 <= drawn["hit"] <= 1.0 and 0.0 <= drawn["usable"] <= 1.0
            assert {"index_usd", "hit_mean", "usable_mean", "lookups"} <= set(drawn)
        indices = [sampled[p]["index_usd"] for p in row["order"]]
        assert indices == sorted(indices, reverse=True)
        # the row tried its providers in its order (it stops at the first find)
        walked = tried_by_row.get(row["row_id"], [])
        assert walked == row["order"][: len(walked)]
    # later blocks rest on what earlier rows taught
    last = json.loads(
        decisions.filter(pl.col("block") == decisions["block"].max())[0, "sampled_json"]
    )
    assert sum(d["lookups"] for d in last.values()) > 0
    first = json.loads(decisions.filter(pl.col("block") == 0)[0, "sampled_json"])
    assert sum(d["lookups"] for d in first.values()) == 0


def test_a_rerun_from_the_cache_reproduces_the_run_and_reuses_its_orders(tmp_path: Path):
    records = banded(250, seed=7)
    ledger = tmp_path / "ledger.sqlite"
    sim = simulate(attack_world())
    first = run_in_process(adaptive(), records, sim, ledger=ledger, seed=5)
    billed = billed_total(sim)
    again = run_in_process(adaptive(), records, sim, ledger=ledger, seed=5)
    assert billed_total(sim) == billed  # every answer came from the cache
    assert again.totals["chain_id"] != first.totals["chain_id"]  # a finished run: a rerun
    assert first.decisions is not None and again.decisions is not None
    columns = ["row_id", "order", "sampled_json", "run_id"]
    assert first.decisions.select(columns).equals(again.decisions.select(columns))
    assert again.decisions["reused"].all() and again.totals["adaptive"]["decided"] == 0
    view = ["row_id", "email", "email_source", "email_status", "status"]
    assert first.records.select(view).equals(again.records.select(view))
    with Ledger(ledger) as led:  # the rerun's record repeats the orders it replayed
        mine = led.adaptive_orders(again.totals["chain_id"])
    assert mine.select("row_id", "order", "run_id").equals(
        first.decisions.select("row_id", "order", "run_id")
    )
    # resume=False learns afresh: from the twin fitted on the first run's lookups
    fresh = run_in_process(adaptive(), records, sim, ledger=ledger, seed=5, resume=False)
    assert fresh.totals["adaptive"]["reused"] == 0
    assert fresh.totals["adaptive"]["prior"].startswith("twin fitted from the ledger")


# -- money, against the sandbox's own meter -----------------------------------------------------


@pytest.mark.parametrize(("budget", "row_cap"), [(37.0, None), (90.0, 1.0), (0.0, None)])
def test_budget_exact_and_nothing_paid_twice_on_the_sandbox_meter(tmp_path, budget, row_cap):
    records = banded(260, seed=8)
    ledger = tmp_path / "ledger.sqlite"
    sim = simulate(attack_world())
    capped = run_in_process(
        adaptive(), records, sim, ledger=ledger, budget_credits=budget,
        per_row_cap_credits=row_cap, concurrency=64,
    )  # fmt: skip
    first_billed = billed_total(sim)
    assert first_billed <= budget + EPS
    assert capped.totals["credits"] == pytest.approx(first_billed)
    assert capped.totals["budget_peak_committed_credits"] <= budget + EPS
    if row_cap is not None:
        assert capped.records["credits"].max() <= row_cap + EPS
    with Ledger(ledger) as led:
        assert led.total_credits(capped.totals["run_id"]) == pytest.approx(first_billed)
    # the same chain, resumed without a cap: nothing bought twice, decided rows keep their order
    rest = run_in_process(adaptive(), records, sim, ledger=ledger, per_row_cap_credits=row_cap)
    assert sim.repeated_lookups() == 0
    assert rest.totals["chain_id"] == capped.totals["chain_id"]
    assert rest.totals["credits"] == pytest.approx(billed_total(sim) - first_billed)
    assert capped.decisions is not None and rest.decisions is not None
    before = dict(capped.decisions.select("row_id", "order").iter_rows())
    after = dict(rest.decisions.select("row_id", "order").iter_rows())
    assert all(after[row] == order for row, order in before.items())
    assert rest.totals["adaptive"]["reused"] == len(before)


# -- a crash --------------------------------------------------------------------------------


def test_a_sigkill_and_resume_end_where_an_uninterrupted_run_ends(tmp_path: Path):
    records = banded(300, seed=9)
    records_path = tmp_path / "records.parquet"
    records.write_parquet(records_path)
    reference_sim = simulate(attack_world())
    reference = run_in_process(adaptive(), records, reference_sim, ledger=tmp_path / "r.sqlite")
    reference_billed = billed_total(reference_sim)
    sim = simulate(attack_world(), latency_ms=5)
    ledger = tmp_path / "ledger.sqlite"
    with sim.serve() as srv:

        def child(name: str) -> Path:
            return child_config(
                tmp_path / f"{name}.cfg", ledger=str(ledger), records=str(records_path),
                base_urls=srv.base_urls, out=str(tmp_path / f"{name}.json"),
                options={"max_in_flight": 2},
            )  # fmt: skip

        killed = spawn(child("killed"), entry="tests._adaptive_helpers")
        point = 0.4 * reference_billed
        assert kill_when(killed, lambda: billed_total(sim) >= point), "it finished first"
        billed_at_kill = billed_total(sim)
        finish(spawn(child("resumed"), entry="tests._adaptive_helpers"))
    with Ledger(ledger) as led:
        in_flight = int(led.runs()["resumed_in_flight"].sum())
        assert led.integrity_check() == "ok"
        recorded = led.adaptive_orders()
    assert 0 < billed_at_kill < reference_billed
    # the same totals as the uninterrupted run, within the calls in flight at the kill
    assert abs(billed_total(sim) - reference_billed) <= in_flight + EPS
    assert sim.repeated_lookups() <= in_flight
    out = tmp_path / "resumed.json"
    resumed = pl.read_parquet(out.with_suffix(".records.parquet"))
    decisions = pl.read_parquet(out.with_suffix(".decisions.parquet"))
    view = ["row_id", "email", "email_source", "email_status", "status"]
    assert resumed.select(view).sort("row_id").equals(reference.records.select(view))
    assert reference.decisions is not None
    columns = ["row_id", "order", "sampled_json"]
    assert decisions.select(columns).equals(reference.decisions.select(columns))
    summary = json.loads(out.read_text())["adaptive"]
    assert summary["reused"] > 0  # the killed run's recorded orders were walked again
    assert recorded["row_id"].n_unique() == recorded.height == records.height


# -- it learns --------------------------------------------------------------------------------


def test_it_learns_a_segment_where_the_default_order_is_bad():
    # apollo is first and cheap, and fine everywhere but at mid-size and larger companies, where
    # it only guesses: a static run ends those rows with unusable emails
    records = banded(800, seed=3)
    twisted = ["201-500", "501-1000", "1001-5000"]
    oracle = GuessesInSegment(attack_world(), "apollo", small_company_domains(records, twisted))
    static = run_in_process(Waterfall([Step(p) for p in STEPS]), records, simulate(oracle=oracle))
    learned = run_in_process(adaptive(), records, simulate(oracle=oracle), seed=1)
    per_usable = {
        name: r.totals["cost_usd"] / usable_count(r)
        for name, r in (("static", static), ("adaptive", learned))
    }
    assert per_usable["adaptive"] <= 0.9 * per_usable["static"], per_usable
    assert learned.decisions is not None
    late = learned.decisions.filter(pl.col("row_id") >= 400).with_columns(
        pl.col("order").list.first().alias("first"), pl.col("segment").is_in(twisted).alias("bad")
    )
    share = late.group_by("bad").agg((pl.col("first") == "apollo").mean().alias("apollo_first"))
    shares = dict(share.iter_rows())
    assert shares[True] < 0.1, shares  # it stopped leading with apollo where apollo guesses
    assert shares[False] > 0.5, shares  # and kept it first where it is the best buy


def test_a_second_run_starts_from_the_twin_fitted_on_the_ledger(tmp_path: Path):
    ledger = tmp_path / "ledger.sqlite"
    first, _ = _run(adaptive(), banded(300, seed=10), ledger=ledger)
    second, _ = _run(adaptive(), banded(300, seed=20), ledger=ledger)
    assert first.totals["adaptive"]["prior"] == "field notes (no history in the ledger)"
    basis = second.totals["adaptive"]["prior"]
    assert basis.startswith("twin fitted from the ledger") and SEGMENT not in basis
    with Ledger(ledger) as led:
        (prior,) = led._read(
            "SELECT prior_json FROM adaptive_runs WHERE chain_id = ?",
            (second.totals["chain_id"],),
        )[0]
    prior = json.loads(prior)
    # per segment too: the first run recorded which segment each of its rows was in
    assert prior["segments"] and all(
        cell["basis"].startswith("twin:") for t in prior["segments"].values() for cell in t.values()
    )
    pooled = prior["pooled"]["apollo"]
    assert sum(pooled["hit"]) > 10  # worth more than the field notes' 10 lookups


def test_a_static_order_is_unchanged(tmp_path: Path):
    records = banded(60, seed=4)
    result, _ = _run(Waterfall([Step(p) for p in STEPS]), records, ledger=tmp_path / "l.sqlite")
    assert result.decisions is None and "adaptive" not in result.totals
    with Ledger(tmp_path / "l.sqlite") as led:
        assert led.adaptive_orders().height == 0
        tables = {r[0] for r in led._read("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not tables & {"adaptive_runs", "adaptive_orders"}


def test_rows_that_need_nothing_are_not_decided_and_manual_steps_stay_last():
    records = banded(80, seed=2).with_columns(
        pl.when(pl.col("row_id") % 4 == 0)
        .then(pl.lit("known@example.com"))
        .otherwise(None)
        .alias("email")
    )
    wf = Waterfall(
        [Step("apollo"), Step("hunter"), Step("manual", label="Manual LinkedIn")],
        order="adaptive", segment_by=SEGMENT,
    )  # fmt: skip
    result, _ = _run(wf, records, seed=random.Random(1).randrange(100))
    assert result.decisions is not None
    assert result.decisions.height == records.filter(pl.col("email").is_null()).height
    assert set(result.decisions["order"].list.len().to_list()) == {2}
    manual = result.records.filter(pl.col("status") == "manual")
    assert manual.height > 0  # the hand-off still ends the rows nobody found


def test_a_deadline_mid_run_stops_waiting_rows_and_the_resume_decides_as_one_run_would(
    tmp_path: Path,
):
    records = banded(400, seed=12)
    reference, _ = _run(adaptive(), records, seed=4)
    ledger = tmp_path / "ledger.sqlite"
    sim = simulate(attack_world(), latency_ms=10)
    # every row in flight at once: most of them wait for earlier blocks when the deadline falls
    cut = run_in_process(
        adaptive(), records, sim, ledger=ledger, seed=4, deadline_s=0.6, concurrency=400
    )
    assert cut.totals["elapsed_s"] < 10  # rows waiting for a block did not hold the run
    assert "stopped" in cut.records["status"].to_list()
    rest = run_in_process(adaptive(), records, sim, ledger=ledger, seed=4)
    assert rest.totals["chain_id"] == cut.totals["chain_id"]
    assert (rest.records["status"] != "stopped").all()
    # only calls abandoned in flight at the deadline (held at worst case) can be paid again
    abandoned = cut.attempts.filter(pl.col("state") == "unknown").height
    assert sim.repeated_lookups() <= abandoned
    assert rest.decisions is not None and reference.decisions is not None
    columns = ["row_id", "order", "sampled_json"]
    assert rest.decisions.select(columns).equals(reference.decisions.select(columns))
