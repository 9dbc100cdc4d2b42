"""``python -m gtmkit.demo`` (what ``make demo`` runs) in a subprocess: the whole pipeline on the
bundled samples, with no key and no network, reproducible from one run to the next."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._notebooks_helpers import ROOT

pytestmark = pytest.mark.slow

PROVIDER_KEYS = ("APOLLO_API_KEY", "HUNTER_API_KEY", "PDL_API_KEY", "PROSPEO_API_KEY")


def _demo(out: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gtmkit.demo", "--out", str(out), *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("demo") / "run"
    # A key in the environment must not switch the demo to a live provider: it stays offline.
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_KEYS}
    env["HUNTER_API_KEY"] = "demo-must-not-use-this-key"
    first = _demo(out, env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    figures_first = json.loads((out / "figures.json").read_text())
    second = _demo(out, "--report", env=env)  # the second run also writes the report
    assert second.returncode == 0, second.stderr[-3000:]
    return out, [(first, figures_first), (second, json.loads((out / "figures.json").read_text()))]


def test_demo_runs_every_stage(demo_runs: tuple[Path, list]) -> None:
    out, [(proc, figures), _] = demo_runs
    assert figures["stages"] == ["intake", "waterfall", "compare"]
    assert figures["sample"].startswith("data/samples/")
    # The last line printed is the figures as one JSON object.
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == figures
    for section in ("1. intake", "2. waterfall", "3. compare"):
        assert section in proc.stdout
    assert "skipped" not in proc.stdout
    for name in ("intake.clean.csv", "waterfall.records.csv", "waterfall.attempts.csv"):
        assert (out / name).stat().st_size > 0


def test_demo_waterfall_holds_its_budget_and_resumes_from_the_ledger(
    demo_runs: tuple[Path, list],
) -> None:
    import polars as pl

    out, [(_, figures), _] = demo_runs
    intake, waterfall = figures["intake"], figures["waterfall"]
    resume = waterfall["resume"]
    assert intake["rows"] == intake["accepted"] + intake["rejected"] > 0
    # Every input row comes back exactly once, rejected and duplicate rows included.
    for status in (waterfall["status"], resume["status"]):
        assert sum(status.values()) == waterfall["rows"] == intake["rows"]
        assert status.get("rejected", 0) == intake["rejected"]
        assert status.get("duplicate", 0) == intake["duplicates"]
    # The first run stops at its budget (the demo's budget is meant to bind)...
    assert 0 < waterfall["credits"] <= waterfall["budget_credits"]
    assert waterfall["status"]["budget_exhausted"] > 0
    first = pl.read_csv(out / "waterfall.attempts.csv")
    assert first["credits"].sum() == pytest.approx(waterfall["credits"])
    # ...and the resume pays only for rows the budget had stopped: every lookup made before
    # is answered from the ledger cache for nothing.
    records = pl.read_csv(out / "waterfall.records.csv")
    stopped = set(records.filter(pl.col("status") == "budget_exhausted")["row_id"])
    resumed = pl.read_csv(out / "waterfall.resume.attempts.csv")
    cached = resumed.filter(pl.col("cached"))
    assert cached.height == resume["cached"] > 0 and cached["credits"].sum() == 0
    sent = resumed.filter(~pl.col("cached"))
    assert set(sent["row_id"]) <= stopped
    assert sent["credits"].sum() == pytest.approx(resume["credits"])
    assert 0 < resume["credits"] <= resume["budget_credits"]
    assert resume["status"].get("budget_exhausted", 0) == 0
    assert resume["status"]["enriched"] > waterfall["status"]["enriched"]
    assert 0.5 < resume["coverage"] <= 1


def test_demo_compares_against_truth(demo_runs: tuple[Path, list]) -> None:
    _, [(proc, figures), _] = demo_runs
    compare = figures["compare"]
    assert set(compare["hit_rate"]) == set(compare["providers"])
    for provider in compare["providers"]:
        assert 0 < compare["hit_rate"][provider] < 1
        assert 0 < compare["accuracy"][provider] <= 1
    assert compare["recommended"] and set(compare["recommended"]) <= set(compare["providers"])
    assert compare["predicted_coverage"] >= 0.8  # the demo asks for 80 % coverage
    assert " -> ".join(compare["recommended"]) in proc.stdout
    # Running the recommendation over the list reuses the comparison's lookups: the comparison
    # tried every provider on every row, so nothing is paid twice.
    applied = compare["applied"]
    assert applied["lookups"] == applied["cached"] > 0 and applied["credits"] == 0
    assert sum(applied["status"].values()) == figures["intake"]["rows"]
    assert applied["status"]["enriched"] > 0


def test_demo_is_reproducible_and_offline(demo_runs: tuple[Path, list]) -> None:
    _, [(first, figures_first), (second, figures_second)] = demo_runs
    assert "report" not in figures_first
    assert figures_first == {k: v for k, v in figures_second.items() if k != "report"}
    for proc in (first, second):
        assert "demo-must-not-use-this-key" not in proc.stdout + proc.stderr
        assert "sandbox" in proc.stdout


def test_demo_explains_a_missing_sample(tmp_path: Path) -> None:
    proc = _demo(tmp_path / "out", "--sample", "data/samples/does-not-exist.csv")
    assert proc.returncode != 0
    assert "does-not-exist.csv" in proc.stderr and "Traceback" not in proc.stderr


def test_demo_report_is_a_scrubbed_offline_engagement_report(demo_runs: tuple[Path, list]) -> None:
    import nbformat

    from gtmkit.reports import find_leaks, read_figures

    out, [_, (proc, figures)] = demo_runs
    report = figures["report"]
    html = out / "report" / "engagement_report.html"
    notebook = out / "report" / "engagement_report.ipynb"
    assert report["html"].endswith("engagement_report.html") and html.stat().st_size > 0
    text = html.read_text(encoding="utf-8")
    assert "data:image/png;base64," in text  # the waterfall chart, embedded
    # No scripts from a CDN that a report needs (it must render offline).
    assert "libs/require.js" not in text and "libs/mathjax" not in text
    nb = nbformat.read(notebook, as_version=4)
    assert find_leaks(nb) == [] and "papermill" not in nb.metadata
    recorded = read_figures(nb)
    assert recorded["credits"] == report["credits"] <= recorded["budget_credits"]
    assert recorded["status"] == report["status"]
    assert sum(report["status"].values()) == figures["intake"]["rows"]
    assert "engagement_report.html" in proc.stdout


def test_demo_never_wipes_a_folder_it_did_not_write(tmp_path: Path) -> None:
    keep = tmp_path / "client-notes.txt"
    keep.write_text("do not delete")
    proc = _demo(tmp_path)
    assert proc.returncode != 0 and "refusing to replace" in proc.stderr
    assert keep.read_text() == "do not delete"
