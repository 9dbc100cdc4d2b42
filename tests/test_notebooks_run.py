"""Each notebook runs headless with papermill (via gtmkit.reports.run_notebook) on the simulated
world with small parameters; the tests assert on the figures its last cell recorded."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import polars as pl
import pytest

from gtmkit.reports import (
    NotebookLeakError,
    NotebookRun,
    NotebookRunError,
    find_leaks,
    read_figures,
    run_notebook,
)
from tests._notebooks_helpers import NOTEBOOKS_DIR, ROOT, hermetic_jupyter

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("nbruns")
    with hermetic_jupyter(base / "jupyter"):
        yield base


def _run(runs_dir: Path, name: str, **parameters: object) -> NotebookRun:
    out = runs_dir / Path(name).stem
    parameters.setdefault("out_dir", str(out / "out"))
    return run_notebook(NOTEBOOKS_DIR / name, parameters=parameters, out_dir=out, html=True)


def _assert_clean_report(run: NotebookRun) -> None:
    nb = nbformat.read(run.notebook, as_version=4)
    assert "papermill" not in nb.metadata
    for cell in nb.cells:
        assert "injected-parameters" not in cell.metadata.get("tags", [])
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
        for output in cell.get("outputs", []):
            assert output.output_type != "error"
    assert find_leaks(nb) == []
    assert json.loads(run.figures_path.read_text()) == run.figures == read_figures(run.notebook)
    assert run.html is not None and run.html.stat().st_size > 0
    html = run.html.read_text(encoding="utf-8")
    assert "record_figures(" not in html  # code is hidden in the report


# ------------------------------------------------------------------------ 01 intake


@pytest.fixture(scope="module")
def intake_run(runs_dir: Path) -> NotebookRun:
    return _run(runs_dir, "01_list_intake.ipynb")


def test_intake_notebook(intake_run: NotebookRun) -> None:
    import gtmkit

    figures = intake_run.figures
    _assert_clean_report(intake_run)
    loaded = gtmkit.load_list(ROOT / figures["list"])
    assert figures["rows"] == loaded.records.height + loaded.rejected.height
    assert figures["accepted"] == loaded.records.height
    assert figures["rejected"] == loaded.rejected.height
    assert figures["rows"] == figures["accepted"] + figures["rejected"] > 0
    assert figures["duplicates"] == loaded.duplicates
    assert {"first_name", "last_name", "email", "company_name"} <= set(figures["mapped_fields"])
    exported = intake_run.notebook.parent / "out" / Path(figures["exported"]).name
    assert pl.read_csv(exported, infer_schema_length=0).height == figures["accepted"]


# ------------------------------------------------------------------------ 03 compare

COMPARE = {
    "providers": ["apollo", "hunter", "prospeo"],
    "sample": 120,
    "target_coverage": 0.7,
}


@pytest.fixture(scope="module")
def compare_run(runs_dir: Path) -> NotebookRun:
    out = runs_dir / "03_compare_providers"
    return run_notebook(
        NOTEBOOKS_DIR / "03_compare_providers.ipynb", parameters=COMPARE, out_dir=out, html=True
    )


def test_compare_notebook_reports_what_compare_measures(compare_run: NotebookRun) -> None:
    import gtmkit

    figures = compare_run.figures
    _assert_clean_report(compare_run)
    assert figures["providers"] == COMPARE["providers"] and figures["rows"] <= COMPARE["sample"]
    # The same comparison run here gives the figures the notebook recorded, and judges the
    # truth file (given as a path here, read with load_truth there) the same way.
    cmp = gtmkit.compare(
        gtmkit.load_list(ROOT / figures["list"]),
        COMPARE["providers"],
        sample=COMPARE["sample"],
        truth=ROOT / "data/samples/leads_small.truth.csv",
        mode="sandbox",
        ledger=None,
        echo=False,
        progress=False,
    )
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
    assert figures["pareto_points"] >= 1


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
