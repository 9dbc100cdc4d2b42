"""The estimate shown before a run (``Waterfall.estimate``, the panel's estimate) uses the twin
when the history is a ledger with answered lookups, and says so; without one it keeps its
independent steps, and says that.

The check is against the simulated world, where the truth is a real run: in a world where
Hunter and Apollo find the same people (latent correlation 0.7), a ledger in which both saw
every row teaches the twin that Apollo finds few of the rows Hunter missed. The independent
model multiplies Apollo's overall hit rate by the rows Hunter missed and promises far more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from gtmkit.panel.estimate import Budget, estimate_html
from gtmkit.sandbox import SandboxTransport, default_world
from gtmkit.sandbox.oracle import ProviderOracle
from gtmkit.twin.for_estimate import INDEPENDENT
from gtmkit.waterfall import Step, Waterfall

WF = Waterfall([Step("hunter"), Step("apollo")], name="twin-estimate")
#: both providers look up every row, so the ledger holds who found whom (the dependence)
SIDE_BY_SIDE = Waterfall([Step("hunter"), Step("apollo", when="always")], name="side-by-side")
ROWS = 600


@pytest.fixture(scope="module")
def world() -> Any:
    return default_world()


@pytest.fixture(scope="module")
def oracle(world: Any) -> ProviderOracle:
    return ProviderOracle(world, rho=0.7)


def _run(world: Any, oracle: ProviderOracle, wf: Waterfall, records: Any, ledger: Path) -> Any:
    return wf.run(
        records, mode="sandbox", ledger=ledger, progress=False, rate_limits="off",
        connect_options={"transport": SandboxTransport(world, oracle=oracle)},
    )  # fmt: skip


@pytest.fixture(scope="module")
def fit_ledger(world: Any, oracle: ProviderOracle, tmp_path_factory: Any) -> Path:
    ledger = tmp_path_factory.mktemp("twin-estimate") / "history.sqlite"
    _run(world, oracle, SIDE_BY_SIDE, world.sample_records(ROWS, seed=1), ledger)
    return ledger


@pytest.fixture(scope="module")
def new_list(world: Any) -> pl.DataFrame:
    return world.sample_records(ROWS, seed=2)


@pytest.fixture(scope="module")
def realized_hits(
    world: Any, oracle: ProviderOracle, new_list: pl.DataFrame, tmp_path_factory: Any
) -> dict[str, int]:
    """Emails each provider really found when the waterfall ran on the new list."""
    ledger = tmp_path_factory.mktemp("twin-estimate-real") / "real.sqlite"
    result = _run(world, oracle, WF, new_list, ledger)
    hits = result.attempts.filter(pl.col("outcome") == "hit").group_by("provider").len()
    return dict(hits.iter_rows())


def _step(table: pl.DataFrame, provider: str) -> dict[str, Any]:
    return table.filter(pl.col("provider") == provider).row(0, named=True)


def test_with_a_ledger_the_twin_predicts_the_second_step_and_the_independent_model_does_not(
    fit_ledger: Path, new_list: pl.DataFrame, realized_hits: dict[str, int]
) -> None:
    with_twin = WF.estimate(new_list, history=fit_ledger)
    # the same ledger hit rates, steps assumed independent: what the estimate said before
    rates = {p: _step(with_twin, p)["hit_rate"] for p in ("hunter", "apollo")}
    independent = WF.estimate(new_list, priors=rates)

    assert set(with_twin["model"].to_list()) == {with_twin["model"][0]}
    assert with_twin["model"][0].startswith("twin fitted from the ledger (")
    assert set(independent["model"].to_list()) == {INDEPENDENT}

    real = realized_hits["apollo"]
    twin_apollo = _step(with_twin, "apollo")["hits"]
    indep_apollo = _step(independent, "apollo")["hits"]
    # Apollo's overall rate (~53%) on the rows Hunter missed: the independent figure is far
    # above what Apollo really found there, because Hunter already took Apollo's easy rows
    assert indep_apollo > 1.3 * real, (indep_apollo, real)
    # the twin knows they find the same people: within 15% of the real run, and much closer
    assert abs(twin_apollo - real) <= 0.15 * real, (twin_apollo, real)
    assert abs(twin_apollo - real) < 0.25 * abs(indep_apollo - real)
    # the first step is not where they differ: Hunter sees every row either way
    assert _step(with_twin, "hunter")["calls"] == pytest.approx(ROWS)
    # the total's 95% interval holds the emails the run really found
    total = _step(with_twin, "total")
    assert total["hits_low"] <= sum(realized_hits.values()) <= total["hits_high"], total
    assert total["cost_low_usd"] < total["cost_usd"] < total["cost_high_usd"]


def test_the_panel_text_names_the_model_it_used(fit_ledger: Path, new_list: pl.DataFrame) -> None:
    budget = Budget(unit="usd", amount=500)
    with_twin = WF.estimate(new_list, history=fit_ledger)
    html = estimate_html(with_twin, budget, WF)
    assert "Estimated by the twin fitted from the ledger (" in html
    assert "providers find the same easy people" in html
    low, high = _step(with_twin, "total")["hits_low"], _step(with_twin, "total")["hits_high"]
    assert f"95% interval: {low:,.0f}–{high:,.0f} emails" in html

    without = WF.estimate(new_list)
    assert set(without["model"].to_list()) == {INDEPENDENT}
    assert without["basis"].str.starts_with("default prior").sum() == 2
    plain = estimate_html(without, budget, WF)
    assert "Estimated by" not in plain and "95% interval" not in plain
    assert "Estimated with the steps independent: no answered lookups in the ledger" in plain
    assert "Steps on the default prior are a guess" in plain


def test_a_ledger_without_answered_lookups_keeps_the_independent_steps(
    tmp_path: Path, new_list: pl.DataFrame
) -> None:
    from gtmkit.waterfall import Ledger

    empty = tmp_path / "empty.sqlite"
    with Ledger(empty):
        pass
    table = WF.estimate(new_list, history=empty)
    assert set(table["model"].to_list()) == {INDEPENDENT}
    assert table.filter(pl.col("provider") == "total")["hits_low"].item() is None
