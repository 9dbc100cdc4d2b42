"""The budget and the estimate view: what the panel shows before anything is spent, and that
Run waits for an estimate of exactly what would run."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

import gtmkit
from gtmkit.panel import Budget, PanelError, WaterfallPanel
from gtmkit.panel.estimate import BudgetInputError, estimate_html, spend_ceiling_usd, summarize
from gtmkit.providers.pricing import price_per_credit
from gtmkit.waterfall import Step, Waterfall
from tests._notebooks_helpers import ROOT

SAMPLE = ROOT / "data/samples/leads_small.csv"
WF = Waterfall([Step("hunter"), Step("apollo"), Step("pdl")], verify="hunter_verifier")


@pytest.fixture(scope="module")
def leads() -> gtmkit.LoadedList:
    return gtmkit.load_list(SAMPLE)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, True, "10"])
def test_a_budget_that_is_not_a_number_is_refused(bad: object) -> None:
    with pytest.raises(BudgetInputError):
        Budget(amount=bad)  # type: ignore[arg-type]
    with pytest.raises(BudgetInputError):
        Budget(amount=10, per_row_cap_credits=bad)  # type: ignore[arg-type]
    with pytest.raises(BudgetInputError):
        Budget(unit="euros", amount=1)  # type: ignore[arg-type]


def test_budget_options_are_the_engines() -> None:
    assert Budget(amount=60).run_options() == {"budget_credits": 60.0}
    assert Budget(unit="usd", amount=5, per_row_cap_credits=2).run_options() == {
        "budget_usd": 5.0,
        "per_row_cap_credits": 2.0,
    }
    assert Budget(amount=10, per_row_cap_credits=0).per_row_cap_credits is None  # 0 = no cap
    assert Budget().describe() == "no cap" and Budget(unit="usd", amount=3).describe() == "$3.00"


def test_the_ceiling_is_the_worst_case_capped_by_the_budget(leads) -> None:
    table = WF.estimate(leads)
    worst = table.filter(pl.col("provider") == "total")["worst_case_usd"].item()
    assert spend_ceiling_usd(table, Budget(), WF) == pytest.approx(worst)
    assert spend_ceiling_usd(table, Budget(unit="usd", amount=2), WF) == 2.0
    dearest = max(price_per_credit(p) for p in WF.providers)
    assert dearest == price_per_credit("pdl")
    assert spend_ceiling_usd(table, Budget(amount=10), WF) == pytest.approx(10 * dearest)
    assert spend_ceiling_usd(table, Budget(amount=1e6), WF) == pytest.approx(worst)


def test_the_view_shows_the_engines_figures_and_basis(leads) -> None:
    table = WF.estimate(leads)
    summary = summarize(table, Budget(amount=60), WF)
    steps = table.filter(pl.col("step") < 3)
    assert summary.emails == pytest.approx(steps["hits"].sum())  # finders' emails only
    assert summary.credits == pytest.approx(table["credits"][-1]) and summary.budget_binds
    shown = estimate_html(table, Budget(amount=60), WF)
    for provider in ("hunter", "apollo", "pdl", "hunter_verifier (verifier)", "expected total"):
        assert f"<td>{provider}</td>" in shown
    assert "default prior (50%, published range)" in shown and "are a guess" in shown
    assert f"${summary.cost_usd:,.2f}" in shown and "below the worst case" in shown
    roomy = estimate_html(table, Budget(amount=10_000), WF)
    assert "covers the worst case" in roomy
    assert "enter one before running" in estimate_html(table, Budget(), WF)
    known = gtmkit.load_list(b"Email\nann@acme.io\n", filename="l.csv")
    assert "nothing to look up" in estimate_html(WF.estimate(known), Budget(amount=5), WF)


def test_the_panel_estimate_follows_steps_and_budget(tmp_path: Path) -> None:
    panel = WaterfallPanel(path=SAMPLE, budget_credits=60, out_dir=tmp_path)
    first = panel.table
    assert panel.can_run and first is not None
    assert first.equals(WF.estimate(panel.loaded))  # the engine's estimate, shown as is
    panel.set_steps(["apollo", "hunter"])
    assert panel.table["provider"].to_list() == ["apollo", "hunter", "hunter_verifier", "total"]
    assert panel.can_run and "apollo" in panel.estimate_view.value
    panel.steps.verify.value = ""
    assert panel.table["provider"].to_list() == ["apollo", "hunter", "total"]
    panel.set_budget(5, unit="usd")
    assert panel.budget == Budget(unit="usd", amount=5)
    assert "The budget ($5.00)" in panel.estimate_view.value
    # no steps, no budget: no estimate of a runnable waterfall, so no Run
    panel.set_steps([])
    assert not panel.can_run and panel.run_button.disabled
    assert "tick at least one step" in panel.estimate_view.value
    with pytest.raises(PanelError):
        panel.run()
    panel.set_steps(["hunter"])
    panel.set_budget(0)
    assert not panel.can_run and panel.run_button.disabled
    with pytest.raises(PanelError, match="set a budget"):
        panel.run()
    panel.budget_amount.value = -3
    assert "cannot be negative" in panel.budget_note.value and panel.run_button.disabled


def test_run_is_disabled_until_the_estimate_matches_what_would_run(tmp_path: Path) -> None:
    panel = WaterfallPanel(path=SAMPLE, budget_credits=60, out_dir=tmp_path)
    assert panel.can_run
    panel.plan.order = ["pdl"]  # changed behind the estimate's back
    assert not panel.can_run
    with pytest.raises(PanelError, match="not for what would run"):
        panel.run()
    panel.refresh_estimate()
    assert panel.can_run


def test_confirmation_above_the_threshold(tmp_path: Path) -> None:
    panel = WaterfallPanel(path=SAMPLE, budget_credits=400, out_dir=tmp_path,
                           confirm_above_usd=25)  # fmt: skip
    ceiling = summarize(panel.table, panel.budget, panel.waterfall()).ceiling_usd
    assert ceiling > 25 and panel.needs_confirmation()
    panel.run_button.click()  # asks, spends nothing
    assert panel.confirm_box.layout.display == "flex" and panel.runner.state == "idle"
    assert f"${ceiling:,.2f}" in panel.confirm_text.value and panel.run_button.disabled
    with pytest.raises(PanelError, match="confirm it"):
        panel.run()
    panel.confirm_no.click()
    assert panel.confirm_box.layout.display == "none" and not panel.run_button.disabled
    panel.set_budget(20)  # at most 20 credits × $0.25: under the threshold, no question
    assert not panel.needs_confirmation()
    panel.run_button.click()
    panel.runner.wait(timeout=120)
    assert panel.runner.state == "finished" and panel.result.totals["credits"] <= 20


def test_the_estimate_rests_on_the_ledger_once_it_has_history(tmp_path: Path) -> None:
    panel = WaterfallPanel(path=SAMPLE, budget_credits=80, out_dir=tmp_path)
    assert panel.estimate_history() is None
    assert set(panel.table["basis"][:-1]) <= {
        "default prior (50%, published range)", "default prior (60% confirmed valid)"
    }  # fmt: skip
    panel.run_batch(timeout=120)
    assert panel.estimate_history() == tmp_path / "ledger.sqlite"
    bases = panel.table["basis"].to_list()[:-1]
    assert all(b.startswith("ledger history (") for b in bases), bases
    again = WF.estimate(panel.loaded, history=tmp_path / "ledger.sqlite")
    assert panel.table.equals(again)


def test_a_pattern_panel_estimates_from_the_pattern_while_its_order_is_kept(
    tmp_path: Path,
) -> None:
    # (the SMB entry documents its verifier as a step, which the engine's pattern rates do not
    # line up with yet: its estimate falls back to the default prior, and says so)
    pattern = gtmkit.patterns.load(
        ROOT / "patterns/enrichment-waterfalls/enterprise-contact-enrichment.md"
    )
    substitute = {"zoominfo": "pdl"}
    panel = WaterfallPanel.from_pattern(
        pattern, substitute=substitute, path=SAMPLE, budget_credits=80, out_dir=tmp_path
    )
    documented_wf = pattern.to_waterfall(substitute=substitute)
    assert panel.plan.order == [s.provider for s in documented_wf.steps]
    assert panel.estimate_history() is pattern
    documented = [b for b in panel.table["basis"].to_list() if b.startswith("pattern ")]
    assert documented, panel.table["basis"].to_list()
    assert panel.table.equals(documented_wf.estimate(panel.loaded, history=pattern))
    assert all(s.label is None or s.label in panel.estimate_view.value for s in documented_wf.steps)
    panel.set_steps(list(reversed(panel.plan.order)))
    assert panel.estimate_history() is None  # its shares are for its order, not this one
    assert not any(b.startswith("pattern ") for b in panel.table["basis"].to_list())
