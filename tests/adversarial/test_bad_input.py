"""The public API given bad input: a clear GtmkitError or a correct result, never a deep
traceback (a non-gtmkit exception)."""

from __future__ import annotations

import math

import polars as pl
import pytest

from gtmkit.errors import GtmkitError
from gtmkit.sandbox import simulate
from gtmkit.waterfall import Step, Waterfall
from tests._attack_helpers import attack_world, run_in_process, waterfall, world_records

BUDGETS = [-1.0, math.nan, 0.0, math.inf, "10", None]


@pytest.mark.parametrize("budget", BUDGETS, ids=[repr(b) for b in BUDGETS])
def test_budgets(budget: object) -> None:
    sim = simulate(attack_world())
    try:
        result = run_in_process(waterfall(["hunter"], None), world_records(5), sim,
                                budget_credits=budget)  # fmt: skip
    except GtmkitError:
        assert sim.requests() == {}
        return
    assert result.records.height == 5
    if budget == 0.0:
        assert sim.billed() == {}


@pytest.mark.parametrize("name", [None, "", "nope", "hunter; DROP TABLE attempts", "\u202ehunter"])
def test_unknown_providers(name: object) -> None:
    with pytest.raises(GtmkitError):
        Waterfall([Step(name)]).run(world_records(3), ledger=None, progress=False, mode="sandbox")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        None,
        "x" * 10_000_000,
        "\u0645\u062d\u0645\u062f \u0639\u0644\u064a",
        "'); DROP TABLE runs;--",
    ],
    ids=["None", "10MB", "RTL", "SQL"],
)
def test_hostile_field_values(value: object, tmp_path) -> None:
    records = world_records(6, seed=8).with_columns(pl.lit(value, pl.String).alias("first_name"))
    sim = simulate(attack_world())
    result = run_in_process(waterfall(["hunter", "apollo"], None), records, sim,
                            ledger=tmp_path / "l.sqlite")  # fmt: skip
    assert result.records.height == 6


@pytest.mark.parametrize("records", [None, 42, "not a frame", pl.DataFrame()])
def test_records_that_are_not_a_list(records: object) -> None:
    with pytest.raises(GtmkitError):
        Waterfall([Step("hunter")]).run(records, ledger=None, progress=False, mode="sandbox")  # type: ignore[arg-type]
