"""Two processes enriching overlapping lists on one ledger, started together: the ledger stays
whole (SQLite's integrity check, every attempt of both runs present) and no lookup is billed
twice — counted by the loopback provider's own billing, with no tolerance."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from gtmkit.sandbox import simulate
from gtmkit.sandbox.simulation import Simulation
from gtmkit.waterfall import Ledger
from tests._attack_helpers import (
    ChildRun,
    attack_world,
    billed_total,
    finish,
    read_out,
    spawn,
    world_records,
)

ROWS = 220
OVERLAP = 120  # rows both lists share


def _lists(tmp_path: Path) -> tuple[Path, Path]:
    people = world_records(2 * ROWS - OVERLAP, seed=51)
    first, second = people.head(ROWS), people.tail(ROWS)
    # the second list is the same people in another order, renumbered (another upload)
    second = second.reverse().with_columns(pl.int_range(pl.len()).alias("row_id") + 10_000)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    first.write_parquet(a)
    second.write_parquet(b)
    return a, b


def run_two(tmp_path: Path, latency_ms: int) -> tuple[Simulation, Path, list[dict[str, Any]]]:
    """Two children on the overlapping lists and one ledger, started together: the simulation
    (its meter), the ledger and what each child reported."""
    lists = _lists(tmp_path)
    sim = simulate(attack_world(), latency_ms=latency_ms or None)
    ledger = tmp_path / "shared.sqlite"
    go = tmp_path / "go"
    with sim.serve() as srv:
        children = [
            spawn(
                ChildRun(
                    ledger=str(ledger),
                    records=str(path),
                    base_urls=srv.base_urls,
                    out=str(tmp_path / f"out{i}.json"),
                    go_file=str(go),
                    options={"max_in_flight": 8},
                ).write(tmp_path / f"run{i}.cfg")
            )
            for i, path in enumerate(lists)
        ]
        go.touch()
        for child in children:
            finish(child)
    return sim, ledger, [read_out(tmp_path / f"out{i}.json") for i in range(2)]


@pytest.mark.parametrize("latency_ms", [0, 15], ids=["instant", "15ms"])
def test_two_processes_on_one_ledger_never_pay_a_lookup_twice(
    latency_ms: int, tmp_path: Path
) -> None:
    sim, ledger, outs = run_two(tmp_path, latency_ms)
    assert all(o["totals"]["rows"] == ROWS for o in outs)
    repeated = sim.repeated_lookups()
    assert repeated == 0, (
        f"{repeated} lookups billed twice by two processes on one ledger "
        f"({billed_total(sim):g} credits billed)"
    )
    with Ledger(ledger) as led:
        assert led.integrity_check() == "ok"
        attempts = led.attempts()
        assert set(attempts["state"].unique()) <= {"done", "unknown"}, "an attempt left open"
        assert attempts.select("run_id").n_unique() == 2
        # every credit the provider billed is in the ledger, and no more
        assert led.total_credits() == pytest.approx(billed_total(sim))
