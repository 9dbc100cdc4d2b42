"""Notebook 03 (compare providers) as a papermill report: the estimate and the budget come before
any spend, and every recorded figure is what ``gtmkit.compare`` measures on the same input."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import gtmkit
from gtmkit.comparison import estimate_compare, provider_costs
from gtmkit.providers.pricing import worst_case_credits
from gtmkit.reports import NotebookRun, NotebookRunError
from tests._lab_helpers import ARTIFACTS, screenshot_report
from tests._notebooks_helpers import ROOT, assert_clean_report, run_report

pytestmark = pytest.mark.slow

NOTEBOOK = "03-compare-providers.ipynb"
TRUTH = ROOT / "data/samples/leads_small.truth.csv"
COMPARE = {
    "providers": ["apollo", "hunter", "prospeo"],
    "sample": 120,
    "target_coverage": 0.7,
    "budget_usd": 40.0,  # the estimate for 120 rows x 3 providers is $22.80
}


@pytest.fixture(scope="module")
def compare_run(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    return run_report(tmp_path_factory.mktemp("nb03"), NOTEBOOK, **COMPARE)


@pytest.fixture(scope="module")
def same_comparison(compare_run: NotebookRun) -> gtmkit.comparison.Comparison:
    """The comparison run here on the notebook's input (truth given as a path, not a frame)."""
    return gtmkit.compare(
        gtmkit.load_list(ROOT / compare_run.figures["list"]),
        COMPARE["providers"],
        sample=COMPARE["sample"],
        truth=TRUTH,
        mode="sandbox",
        ledger=None,
        echo=False,
        progress=False,
    )


def test_compare_notebook_reports_what_compare_measures(
    compare_run: NotebookRun, same_comparison: gtmkit.comparison.Comparison
) -> None:
    cmp, figures = same_comparison, compare_run.figures
    assert_clean_report(compare_run)
    assert figures["providers"] == COMPARE["providers"] and figures["rows"] <= COMPARE["sample"]
    expected = dict(cmp.metrics.select("provider", "hit_rate").rows())
    assert figures["hit_rate"] == pytest.approx(expected, abs=1e-4)
    accuracy = dict(cmp.metrics.select("provider", "accuracy").rows())
    assert figures["accuracy"] == pytest.approx(accuracy, abs=1e-4)
    rec = figures["recommendation"]
    assert set(rec["order"]) <= set(COMPARE["providers"])
    assert rec["predicted_coverage"] >= COMPARE["target_coverage"] or not rec["target_met"]
    assert list(cmp.recommend(target_coverage=COMPARE["target_coverage"]).order) == rec["order"]
    holdout = figures["holdout"]
    assert holdout["fit_rows"] + holdout["holdout_rows"] == figures["rows"]
    assert 0 < holdout["realized_coverage"] <= 1
    assert figures["pareto_points"] == cmp.frontier()["pareto"].sum() >= 1


def test_compare_notebook_shows_the_estimate_and_holds_the_budget(
    compare_run: NotebookRun, same_comparison: gtmkit.comparison.Comparison
) -> None:
    cmp, figures = same_comparison, compare_run.figures
    # The estimate shown before spending is the one compare itself checks against the budget.
    assert cmp.estimate is not None
    total = cmp.estimate.row(by_predicate=pl.col("provider") == "TOTAL", named=True)
    shown = figures["estimate"]
    assert shown["lookups"] == total["lookups"] == figures["rows"] * len(COMPARE["providers"])
    assert shown["usd_if_all_billed"] == pytest.approx(total["usd_if_all_billed"], abs=1e-4)
    assert shown["usd_worst_case"] == pytest.approx(total["usd_worst_case"], abs=1e-4)
    # What was spent is what the attempts cost, within the budget and the estimate.
    spent = float(cmp.attempts["cost_usd"].sum())
    assert figures["spent_usd"] == pytest.approx(spent, abs=1e-4)
    assert 0 < figures["spent_usd"] <= shown["usd_if_all_billed"] <= COMPARE["budget_usd"]
    assert figures["budget_usd"] == COMPARE["budget_usd"]
    # In the report the estimate comes before the comparison's figures.
    assert compare_run.html is not None
    html = compare_run.html.read_text(encoding="utf-8")
    estimate_at = html.index(f"up to ${shown['usd_if_all_billed']:,.2f} if every lookup is billed")
    assert estimate_at < html.index(f"spent ${figures['spent_usd']:,.2f} of the")


def test_compare_notebook_refuses_a_budget_below_the_estimate(tmp_path: Path) -> None:
    """Over budget, the run stops at the estimate: nothing is sent, the ledger never opens."""
    rows = 120
    costs = provider_costs(COMPARE["providers"])
    worst = {p: worst_case_credits(p) for p in COMPARE["providers"]}
    estimate = estimate_compare(rows, costs, max_credits=worst)
    expected = float(estimate.filter(pl.col("provider") == "TOTAL")["usd_if_all_billed"][0])
    ledger = tmp_path / "ledger.sqlite"
    params = {**COMPARE, "budget_usd": expected / 2, "ledger": str(ledger)}
    with pytest.raises(NotebookRunError, match="over budget_usd") as failed:
        run_report(tmp_path / "run", NOTEBOOK, **params)
    kept = failed.value.notebook.read_text(encoding="utf-8")
    assert "nothing was spent" in kept and "over budget, compare will refuse" in kept
    assert not ledger.exists()


@pytest.mark.browser
def test_compare_report_reads_offline_in_chromium(compare_run: NotebookRun) -> None:
    """The static report renders in Chromium with nothing fetched from outside; its charts are
    images, and the figures it prints are the recorded ones (screenshot in artifacts/)."""
    assert compare_run.html is not None
    seen = screenshot_report(compare_run.html, ARTIFACTS / "notebook-03" / "report.png")
    assert seen["left_the_machine"] == [] and seen["broken_images"] == []
    assert seen["images"] >= 4  # hit rate vs cost, segment heatmap, overlap, frontier
    figures, text = compare_run.figures, str(seen["text"])
    assert f"spent ${figures['spent_usd']:,.2f} of the ${figures['budget_usd']:,.2f}" in text
    assert f"recommended: {' -> '.join(figures['recommendation']['order'])}" in text
