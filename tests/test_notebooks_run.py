"""Notebooks run headless with papermill (via gtmkit.reports.run_notebook) on the simulated
world with small parameters; the tests assert on the figures the last cell recorded. Notebooks
01, 03 and 04 have their own files (``test_notebook_NN_*.py``); the report runner's guards are
here."""

from __future__ import annotations

from pathlib import Path

import nbformat
import polars as pl
import pytest

from gtmkit.comparison import accuracy_by_source, load_truth
from gtmkit.reports import (
    NotebookLeakError,
    NotebookRun,
    NotebookRunError,
    run_notebook,
)
from tests._notebooks_helpers import ROOT, assert_clean_report, hermetic_jupyter, run_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("nbruns")
    with hermetic_jupyter(base / "jupyter"):
        yield base


def _run(runs_dir: Path, name: str, **parameters: object) -> NotebookRun:
    return run_report(runs_dir / Path(name).stem, name, **parameters)


# ------------------------------------------------------------------------ 02 waterfall

BUDGET = 60.0  # binds on the 300-row sample (a full run needs about 320 credits)


@pytest.fixture(scope="module")
def waterfall_run(runs_dir: Path) -> NotebookRun:
    return _run(runs_dir, "02_waterfall.ipynb", budget_credits=BUDGET)


def test_waterfall_notebook_holds_the_budget(waterfall_run: NotebookRun) -> None:
    figures = waterfall_run.figures
    assert_clean_report(waterfall_run)
    assert figures["mode"] == "sandbox" and figures["budget_credits"] == BUDGET
    assert 0 < figures["credits"] <= BUDGET
    status = figures["status"]
    assert sum(status.values()) == figures["rows"] == 300
    assert status["budget_exhausted"] > 0 and status["enriched"] > 0
    # The exported list is the result: every input row once, statuses as recorded.
    exported = waterfall_run.notebook.parent / "out" / Path(figures["exported"]).name
    records = pl.read_csv(exported, infer_schema_length=0)
    assert records.height == figures["rows"]
    assert records["row_id"].n_unique() == records.height
    assert dict(records.group_by("status").len().rows()) == status
    assert records["credits"].cast(pl.Float64).sum() == pytest.approx(figures["credits"])
    assert set(figures["hits_by_step"]) == {*figures["steps"], figures["verify"]}
    for value in figures["accuracy"].values():
        assert value is None or 0 <= value <= 1
    # Accuracy is the package's one judgement of the sample's truth, on the exported records.
    truth = load_truth(ROOT / "data/samples/leads_small.truth.csv")
    expected = dict(accuracy_by_source(records, truth).select("source", "accuracy").rows())
    assert figures["accuracy"] == pytest.approx(expected, abs=1e-4)


# ------------------------------------------------------------------------ guards


def _tiny_notebook(path: Path, body: str) -> Path:
    from nbformat.v4 import new_code_cell, new_notebook

    params = new_code_cell("fail = False", metadata={"tags": ["parameters"]})
    work = new_code_cell(body)
    figures = new_code_cell(
        "from gtmkit.reports import record_figures\n_ = record_figures({'ok': True})",
        metadata={"tags": ["figures"]},
    )
    nb = new_notebook(cells=[params, work, figures])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path


def test_run_notebook_deletes_an_output_that_leaks_a_key(
    runs_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook that prints a key from the environment never survives as a report."""
    monkeypatch.setenv("GTMKIT_TEST_API_KEY", "test-key-7f3a9c1e55")
    source = _tiny_notebook(
        runs_dir / "leaky.ipynb",
        "import os\nprint('key is', os.environ.get('GTMKIT_TEST_API_KEY'))\n"
        "if fail:\n    raise RuntimeError('asked to fail')",
    )
    out = runs_dir / "leaky-out"
    with pytest.raises(NotebookLeakError, match="env_secret") as info:
        run_notebook(source, out_dir=out)
    assert "7f3a9c1e55" not in str(info.value)
    assert not (out / "leaky.ipynb").exists()

    # A failed run is kept for debugging, but not when it would keep the key.
    with pytest.raises(NotebookLeakError, match="env_secret"):
        run_notebook(source, parameters={"fail": True}, out_dir=out)
    assert not (out / "leaky.ipynb").exists()

    monkeypatch.delenv("GTMKIT_TEST_API_KEY")
    with pytest.raises(NotebookRunError, match="asked to fail") as failed:
        run_notebook(source, parameters={"fail": True}, out_dir=out)
    # The failed run is kept, scrubbed, for inspection.
    kept = failed.value.notebook.read_text(encoding="utf-8")
    assert "asked to fail" in kept and "papermill" not in kept and "fail = True" not in kept
