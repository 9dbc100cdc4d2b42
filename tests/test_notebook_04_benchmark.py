"""Notebook 04 (benchmark combinations) as a papermill report: the frontier, the recommendations
overall and per segment, the hold-out check and the pattern check are what ``gtmkit.compare``
and ``gtmkit.patterns`` compute on the same input; ``write_back`` decides whether the pattern
file changes, and a test run only ever writes a temporary copy."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

import gtmkit
from gtmkit import patterns
from gtmkit.comparison import Comparison, load_truth
from gtmkit.reports import NotebookRun
from tests._lab_helpers import ARTIFACTS, screenshot_report
from tests._notebooks_helpers import ROOT, assert_clean_report, run_report

pytestmark = pytest.mark.slow

NOTEBOOK = "04-benchmark-combinations.ipynb"
PATTERN = ROOT / "patterns/data-source-combinations/sample-provider-combinations.md"
LIST = ROOT / "data/samples/leads_demo.csv"
TRUTH = ROOT / "data/samples/leads_demo.truth.csv"
SMALL = {
    "providers": ["apollo", "hunter", "prospeo", "dropcontact"],
    "sample": 600,
    "segment_by": "region",  # on 600 rows, North America (288 rows) earns its own order
    "target_coverage": 0.8,
    "budget_usd": 200.0,  # the estimate is $162.00
}


@pytest.fixture(scope="module")
def committed_pattern() -> bytes:
    return PATTERN.read_bytes()


@pytest.fixture(scope="module")
def runs(
    tmp_path_factory: pytest.TempPathFactory, committed_pattern: bytes
) -> dict[bool, tuple[NotebookRun, Path]]:
    """One run with ``write_back=False`` and one with ``True``, each on its own pattern copy."""
    out: dict[bool, tuple[NotebookRun, Path]] = {}
    for write_back in (False, True):
        base = tmp_path_factory.mktemp(f"nb04-{str(write_back).lower()}")
        copy = base / PATTERN.parent.name / PATTERN.name  # the folder names the category
        copy.parent.mkdir()
        shutil.copyfile(PATTERN, copy)
        params = {**SMALL, "pattern": str(copy), "write_back": write_back}
        out[write_back] = (run_report(base / "run", NOTEBOOK, **params), copy)
    assert PATTERN.read_bytes() == committed_pattern  # the committed entry is never written
    return out


@pytest.fixture(scope="module")
def same_comparison() -> Comparison:
    return gtmkit.compare(
        gtmkit.load_list(LIST),
        SMALL["providers"],
        sample=SMALL["sample"],
        truth=load_truth(TRUTH),
        segment_by=SMALL["segment_by"],
        mode="sandbox",
        ledger=None,
        echo=False,
        progress=False,
    )


def test_frontier_recommendations_and_holdout_are_what_compare_computes(
    runs: dict[bool, tuple[NotebookRun, Path]], same_comparison: Comparison
) -> None:
    run, _ = runs[False]
    assert_clean_report(run)
    figures, cmp = run.figures, same_comparison
    assert figures["rows"] == cmp.metrics["n"].max() == SMALL["sample"]
    total = cmp.estimate.row(by_predicate=pl.col("provider") == "TOTAL", named=True)
    assert figures["estimate"]["usd_if_all_billed"] == pytest.approx(total["usd_if_all_billed"])
    spent = float(cmp.attempts["cost_usd"].sum())
    assert figures["spent_usd"] == pytest.approx(spent, abs=1e-4)
    assert 0 < spent <= total["usd_if_all_billed"] <= SMALL["budget_usd"]

    frontier = cmp.frontier()
    assert figures["frontier_orders"] == frontier.height == 2 ** len(SMALL["providers"]) - 1
    pareto = frontier.filter("pareto").sort("cost_per_row_usd")
    assert [p["order"] for p in figures["pareto"]] == pareto["order"].to_list()
    assert [p["coverage"] for p in figures["pareto"]] == pytest.approx(
        pareto["coverage"].to_list(), abs=1e-4
    )

    rec = cmp.recommend(target_coverage=SMALL["target_coverage"])
    shown, expected = dict(figures["recommendation"]), rec.as_dict()
    assert shown.pop("order") == expected.pop("order")
    assert shown == pytest.approx(expected, abs=1e-4)

    segments = cmp.recommend(
        target_coverage=SMALL["target_coverage"], by_segment=SMALL["segment_by"]
    ).segments
    assert segments is not None
    routed = dict(segments.filter("routed").select("segment", "order").rows())
    assert figures["by_segment"]["routed"] == routed and routed  # at least one segment routed
    assert figures["by_segment"]["segments"] == segments.height

    holdout = cmp.holdout_check(target_coverage=SMALL["target_coverage"], seed=0)
    shown = dict(figures["holdout"])
    assert shown.pop("order") == holdout.pop("order")
    assert shown == pytest.approx(holdout, abs=1e-4)


def test_pattern_check_without_write_back_leaves_the_file_alone(
    runs: dict[bool, tuple[NotebookRun, Path]],
    same_comparison: Comparison,
    committed_pattern: bytes,
) -> None:
    run, copy = runs[False]
    figures = run.figures
    assert figures["write_back"] is False and figures["written"] is False
    assert copy.read_bytes() == committed_pattern
    check = patterns.load(copy).check(same_comparison, truth=load_truth(TRUTH))
    assert figures["check"] == dict(check.select("label", "verdict").rows())
    assert figures["benchmark"]["source"] == "simulated"
    assert figures["benchmark"]["rows"] == SMALL["sample"]
    assert figures["benchmark"]["id"] not in copy.read_text(encoding="utf-8")


def test_write_back_records_the_benchmark_in_the_pattern(
    runs: dict[bool, tuple[NotebookRun, Path]], committed_pattern: bytes
) -> None:
    run, copy = runs[True]
    assert_clean_report(run)
    figures = run.figures
    assert figures["write_back"] is True and figures["written"] is True
    bench_id = figures["benchmark"]["id"]
    entry = patterns.load(copy)
    assert bench_id in [b.id for b in entry.history]
    (bench,) = [b for b in entry.history if b.id == bench_id]
    assert (bench.source, bench.rows, bench.kind) == ("simulated", SMALL["sample"], "comparison")
    history = entry.section("Version History") or ""
    assert bench_id in history.strip().splitlines()[-1]
    # Only the generated block and the Version History changed: the rest is byte for byte.
    before = committed_pattern.decode("utf-8")
    after = copy.read_text(encoding="utf-8")
    head = before.split("<!-- gtmkit:benchmarks:begin")[0]
    tail = before.split("<!-- gtmkit:benchmarks:end -->")[1].split("## Version History")[0]
    assert after.startswith(head) and tail in after
    # The same figures went into the report and into the file.
    stored = {f["label"]: f["verdict"] for f in bench.figures}
    assert stored == figures["check"]


@pytest.mark.browser
def test_benchmark_report_reads_offline_in_chromium(
    runs: dict[bool, tuple[NotebookRun, Path]],
) -> None:
    """The static report renders in Chromium with nothing fetched from outside; the frontier
    chart is an image, and the figures it prints are the recorded ones (screenshot saved)."""
    run, _ = runs[True]
    assert run.html is not None
    seen = screenshot_report(run.html, ARTIFACTS / "notebook-04" / "report.png")
    assert seen["left_the_machine"] == [] and seen["broken_images"] == []
    assert seen["images"] >= 1
    figures, text = run.figures, str(seen["text"])
    rec = figures["recommendation"]
    assert f"recommended: {' -> '.join(rec['order'])}" in text
    assert f"predicted: coverage {rec['predicted_coverage']:.1%}" in text
    for segment, order in figures["by_segment"]["routed"].items():
        assert f"routed: {segment} -> {' -> '.join(order)}" in text
    assert f"benchmark {figures['benchmark']['id']} written to" in text
