"""``python -m gtmkit.demo`` (what ``make demo`` runs) in a subprocess: notebook 05 on a bundled
sample against the simulated providers; the report's files under the output folder, the path and
headline figures printed, reproducible from one run to the next. (The full default demo, PDF
included, runs in ``test_canary_secrets.py``.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._notebooks_helpers import ROOT

pytestmark = pytest.mark.slow

STEM = "acme-analytics-2026-12-03"


def _demo(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "gtmkit.demo", "--out", str(out), "--date", "2026-12-03",
         "--list", "data/samples/leads_small.csv",
         "--truth", "data/samples/leads_small.truth.csv", "--no-pdf", *args],
        cwd=ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    out = tmp_path_factory.mktemp("demo")
    first = _demo(out)
    assert first.returncode == 0, first.stderr[-3000:]
    figures = json.loads((out / f"{STEM}.figures.json").read_text())
    second = _demo(out)
    assert second.returncode == 0, second.stderr[-3000:]
    return out, [(first, figures), (second, json.loads((out / f"{STEM}.figures.json").read_text()))]


def test_demo_prints_the_report_path_and_headline_figures(runs: tuple) -> None:
    out, [(proc, figures), _] = runs
    assert f"report:    {STEM}.html" in proc.stdout
    assert f"with a work email        {figures['with_email']:,}" in proc.stdout
    assert f"${figures['spend_usd']:,.2f} of ${figures['budget_usd']:,.2f}" in proc.stdout
    for suffix in (".html", ".ipynb", ".figures.json", ".ledger.sqlite", ".log", ".enriched.csv"):
        assert (out / f"{STEM}{suffix}").stat().st_size > 0, suffix
    log = (out / f"{STEM}.log").read_text()
    assert "simulated providers only" in log and f"{STEM}.html" in log
    assert figures["data_source"] == "simulated" and figures["worked"] > 0


def test_demo_is_reproducible(runs: tuple) -> None:
    _, [(_, first), (_, second)] = runs
    assert first == second  # a fresh ledger each run: the same figures


def test_demo_explains_a_missing_list(tmp_path: Path) -> None:
    proc = _demo(tmp_path, "--list", "data/samples/does-not-exist.csv")
    assert proc.returncode == 2
    assert "does-not-exist.csv" in proc.stderr and "Traceback" not in proc.stderr
