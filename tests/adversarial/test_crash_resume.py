"""Crashes: a run SIGKILLed at ten random points (by what the provider has billed), each time
resumed, ends where an uninterrupted run of the same list and budget ends — within the calls in
flight at the kills, measured by the loopback provider's own billing — and a rerun after that
keeps every email the chain paid for (a resume after a run whose budget was spent must not drop
them)."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl

from gtmkit.sandbox import simulate
from gtmkit.waterfall import Ledger
from tests._attack_helpers import (
    FULL_STEPS,
    ChildRun,
    attack_world,
    billed_total,
    finish,
    kill_when,
    read_out,
    run_in_process,
    spawn,
    waterfall,
    world_records,
)

ROWS = 160
BUDGET = 120.0
KILLS = 10
EPS = 1e-9
#: Calls each child keeps in flight per provider. A kill leaves those calls held at worst case
#: against the chain's budget, so the kill points must leave room for them too.
CHILD_IN_FLIGHT = 1
HELD_PER_KILL = CHILD_IN_FLIGHT * (len(FULL_STEPS) + 1)  # the steps and the verifier


def test_ten_random_sigkills_then_resume_match_an_uninterrupted_run(tmp_path: Path) -> None:
    records = world_records(ROWS, seed=41)
    records_path = tmp_path / "records.parquet"
    records.write_parquet(records_path)
    reference = simulate(attack_world())
    ref = run_in_process(
        waterfall(), records, reference, ledger=tmp_path / "ref.sqlite", budget_credits=BUDGET
    )
    ref_billed = billed_total(reference)
    ref_emails = ref.records["email"].drop_nulls().len()
    # kill points: each child is killed once the provider billed a random 1-8 credits more
    rng = random.Random(7)
    steps = [rng.uniform(1, 8) for _ in range(KILLS)]
    # every kill lands before the end, the holds the earlier kills leave included
    assert sum(steps) + KILLS * HELD_PER_KILL + 10 < min(ref_billed, BUDGET)
    sim = simulate(attack_world(), latency_ms=5)
    ledger = tmp_path / "ledger.sqlite"

    def child(name: str) -> ChildRun:
        return ChildRun(
            ledger=str(ledger), records=str(records_path), base_urls=srv.base_urls,
            out=str(tmp_path / f"{name}.json"),
            options={"budget_credits": BUDGET, "max_in_flight": CHILD_IN_FLIGHT},
        )  # fmt: skip

    kills = 0
    with sim.serve() as srv:
        for i, step in enumerate(steps):
            proc = spawn(child(f"k{i}").write(tmp_path / f"k{i}.cfg"))
            point = billed_total(sim) + step
            if kill_when(proc, lambda point=point: billed_total(sim) >= point):
                kills += 1
        finish(spawn(child("last").write(tmp_path / "last.cfg")))
        finish(spawn(child("again").write(tmp_path / "again.cfg")))
    assert kills == KILLS, f"only {kills} kills landed mid-run"
    with Ledger(ledger) as led:
        in_flight = int(led.runs()["resumed_in_flight"].sum())
        assert led.integrity_check() == "ok"
    billed = billed_total(sim)
    assert billed <= BUDGET + EPS, f"billed {billed:g} over kills and resumes (budget {BUDGET:g})"
    assert abs(billed - ref_billed) <= in_flight + EPS, (
        f"the chain billed {billed:g}, an uninterrupted run {ref_billed:g}; "
        f"{in_flight} calls were in flight at the kills"
    )
    assert sim.repeated_lookups() <= in_flight
    last, again = read_out(tmp_path / "last.json"), read_out(tmp_path / "again.json")
    assert last["totals"]["rows"] == ROWS == again["totals"]["rows"]
    # every email paid for is handed back: the rerun after the budget was spent keeps them all
    assert again["totals"]["emails_found"] >= last["totals"]["emails_found"]
    assert again["totals"]["emails_found"] >= ref_emails - in_flight * 2, (again, ref_emails)
    assert again["totals"]["credits"] == 0  # nothing new was bought on the rerun


def test_a_finished_run_resumed_with_a_spent_budget_keeps_its_emails(tmp_path: Path) -> None:
    records = world_records(200, seed=42)
    sim = simulate(attack_world())
    ledger = tmp_path / "ledger.sqlite"
    first = run_in_process(waterfall(), records, sim, ledger=ledger, budget_credits=50)
    billed = billed_total(sim)
    second = run_in_process(waterfall(), records, sim, ledger=ledger, budget_credits=50)
    assert billed_total(sim) == billed  # nothing more was bought
    joined = first.records.select("row_id", pl.col("email").alias("paid")).join(
        second.records.select("row_id", "email"), on="row_id"
    )
    dropped = joined.filter(pl.col("paid").is_not_null() & pl.col("email").is_null())
    assert dropped.height == 0, f"{dropped.height} paid emails dropped by the resume"
