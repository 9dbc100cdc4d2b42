"""The money promise as a property: over budgets (credits or dollars), prices, fault mixes,
SIGKILLs at random points and two processes running together on one ledger, the provider side
never bills more than the run's budget across all its resumes, and a paid lookup is paid again
only for calls that were in flight at a kill (or answered after the client's timeout, which
cannot be known unpaid).

The meter is the simulated providers' own (a loopback simulation in this process, which the
killed children talk to), never the engine's books. Examples are derandomized: the same
scenarios run every time.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gtmkit.sandbox import FaultConfig, simulate
from gtmkit.waterfall import Ledger
from tests._attack_helpers import (
    FULL_STEPS,
    FULL_VERIFY,
    ChildRun,
    attack_world,
    billed_total,
    finish,
    kill_when,
    spawn,
    world_records,
)

PROVIDERS = (*FULL_STEPS, FULL_VERIFY)
FAULT_MIX = ("429", "5xx", "timeout", "reset", "malformed", "late")
PRICES = (0.02, 0.05, 0.1, 0.25)
#: The children's client timeout: a held ("timeout") or late answer costs this much.
CLIENT_TIMEOUT_S = 0.5
EPS = 1e-9


@dataclass(frozen=True)
class Scenario:
    rows: int
    seed: int
    budget_credits: float | None
    budget_usd: float | None
    prices: dict[str, float]
    fault_rate: float
    fault_kinds: tuple[str, ...]
    kill_after: tuple[int, ...]  # credits the provider bills in a child before it is killed
    together: bool  # the last resume is two processes started together


@st.composite
def scenarios(draw: st.DrawFn, *, max_rows: int, max_kills: int) -> Scenario:
    in_dollars = draw(st.booleans())
    return Scenario(
        rows=draw(st.integers(40, max_rows)),
        seed=draw(st.integers(0, 10_000)),
        budget_credits=None if in_dollars else float(draw(st.integers(10, 60))),
        budget_usd=draw(st.sampled_from([0.5, 1.0, 2.5])) if in_dollars else None,
        prices={name: draw(st.sampled_from(PRICES)) for name in PROVIDERS},
        fault_rate=draw(st.sampled_from([0.0, 0.1, 0.25])),
        fault_kinds=tuple(
            draw(st.lists(st.sampled_from(FAULT_MIX), min_size=1, max_size=3, unique=True))
        ),
        kill_after=tuple(draw(st.lists(st.integers(1, 12), min_size=1, max_size=max_kills))),
        together=draw(st.booleans()),
    )


def check(scenario: Scenario) -> None:
    faults = FaultConfig(
        rate=scenario.fault_rate, kinds=scenario.fault_kinds, seed=scenario.seed, hold_s=5.0
    )
    sim = simulate(attack_world(), faults=faults if scenario.fault_rate else None)
    options = {
        k: v
        for k, v in (
            ("budget_credits", scenario.budget_credits),
            ("budget_usd", scenario.budget_usd),
        )
        if v is not None
    }
    with tempfile.TemporaryDirectory() as folder, sim.serve() as srv:
        tmp = Path(folder)
        records = tmp / "records.parquet"
        world_records(scenario.rows, seed=scenario.seed).write_parquet(records)

        def run(name: str, go_file: Path | None = None) -> ChildRun:
            return ChildRun(
                ledger=str(tmp / "ledger.sqlite"),
                records=str(records),
                base_urls=srv.base_urls,
                out=str(tmp / f"{name}.json"),
                options=options,
                prices=scenario.prices,
                timeout_s=CLIENT_TIMEOUT_S,
                go_file=None if go_file is None else str(go_file),
            )

        for i, credits in enumerate(scenario.kill_after):
            child = spawn(run(f"killed{i}").write(tmp / f"killed{i}.cfg"))
            start = billed_total(sim)
            kill_when(
                child, lambda start=start, credits=credits: billed_total(sim) >= start + credits
            )
        go = tmp / "go"
        last = ["last0", "last1"] if scenario.together else ["last0"]
        children = [spawn(run(name, go).write(tmp / f"{name}.cfg")) for name in last]
        go.touch()
        for child in children:
            finish(child)
        # the calls in flight at each kill, as every resume found them in the ledger (a
        # killed resume never writes its own summary, so the runs table is the record)
        with Ledger(tmp / "ledger.sqlite") as ledger:
            in_flight = int(ledger.runs()["resumed_in_flight"].sum())

    billed = sim.billed()
    if scenario.budget_credits is not None:
        total = sum(billed.values())
        assert total <= scenario.budget_credits + EPS, (
            f"billed {total:g} credits across the resumes of a run with a "
            f"{scenario.budget_credits:g}-credit budget ({billed})"
        )
    if scenario.budget_usd is not None:
        # priced as the engine prices them: Hunter's verifier bills Hunter's account
        usd = sum(
            credits * scenario.prices[_engine_provider(provider, path)]
            for (provider, path), credits in sim.billed_by_endpoint().items()
        )
        assert usd <= scenario.budget_usd + EPS, (
            f"billed ${usd:.2f} across the resumes of a run with a ${scenario.budget_usd:.2f} "
            f"budget ({billed})"
        )
    late = sim.injected_faults.get("late", 0)
    repeated = sim.repeated_lookups()
    assert repeated <= in_flight + late, (
        f"{repeated} paid lookups paid again; {in_flight} calls were in flight at the kills "
        f"and {late} answers came late"
    )


def _engine_provider(provider: str, path: str) -> str:
    return "hunter_verifier" if provider == "hunter" and "verifier" in path else provider


COMMON = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    # no shrinking: every example is several child processes; the failing one is printed
    "phases": [Phase.explicit, Phase.generate],
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@settings(max_examples=4, **COMMON)
@given(scenarios(max_rows=80, max_kills=2))
def test_billed_stays_within_the_budget_across_kills_resumes_and_processes(
    scenario: Scenario,
) -> None:
    check(scenario)


@pytest.mark.slow
@settings(max_examples=12, **COMMON)
@given(scenarios(max_rows=250, max_kills=4))
def test_billed_stays_within_the_budget_heavier_settings(scenario: Scenario) -> None:
    check(scenario)
