"""``notebooks/02-run-waterfall.ipynb`` under papermill: the panel shows without spending, and
the batch route (``-p batch True``) runs the parameters through the same panel. The recorded
figures are checked against the package's own computation on the same input."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import polars as pl
import pytest

from gtmkit.comparison import accuracy_by_source, load_truth
from gtmkit.panel import WaterfallPanel
from gtmkit.reports import NotebookRun, find_leaks, read_figures, run_notebook
from tests._notebooks_helpers import NOTEBOOKS_DIR, ROOT, hermetic_jupyter

pytestmark = pytest.mark.slow

NOTEBOOK = NOTEBOOKS_DIR / "02-run-waterfall.ipynb"
SAMPLE = "data/samples/leads_small.csv"
BUDGET = 60.0  # binds on the 300-row sample (a full run needs about 320 credits)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NotebookRun]:
    base = tmp_path_factory.mktemp("nb02")
    with hermetic_jupyter(base / "jupyter"):
        out = {}
        for name, batch in (("batch", True), ("panel", False)):
            folder = base / name
            out[name] = run_notebook(
                NOTEBOOK,
                parameters={"batch": batch, "budget_credits": BUDGET,
                            "out_dir": str(folder / "out")},
                out_dir=folder,
                html=True,
            )  # fmt: skip
        yield out


def _clean(run: NotebookRun) -> None:
    nb = nbformat.read(run.notebook, as_version=4)
    assert "papermill" not in nb.metadata and find_leaks(nb) == []
    for cell in nb.cells:
        assert "injected-parameters" not in cell.metadata.get("tags", [])
        assert all(o.output_type != "error" for o in cell.get("outputs", []))
    assert json.loads(run.figures_path.read_text()) == run.figures == read_figures(run.notebook)
    html = run.html.read_text(encoding="utf-8") if run.html else ""
    assert "record_figures(" not in html and "VBox(children" not in html
    shown = [o.data["text/plain"] for c in nb.cells for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]  # fmt: skip
    assert shown and shown[0].startswith("<WaterfallPanel leads_small.csv: 300 rows")


def test_the_batch_route_runs_the_parameters_through_the_panel(
    runs: dict[str, NotebookRun], tmp_path: Path
) -> None:
    run = runs["batch"]
    figures = run.figures
    _clean(run)
    assert figures["batch"] is True and figures["budget_credits"] == BUDGET
    # the same parameters through the package, in process, on a fresh ledger
    panel = WaterfallPanel(path=ROOT / SAMPLE, budget_credits=BUDGET, out_dir=tmp_path,
                           mode="sandbox")  # fmt: skip
    expected_estimate = panel.table.filter(pl.col("provider") == "total").row(0, named=True)
    result = panel.run_batch(timeout=120)
    status = dict(result.records.group_by("status").len().iter_rows())
    assert figures["status"] == status and sum(status.values()) == figures["rows"] == 300
    assert figures["credits"] == pytest.approx(result.totals["credits"]) and 0 < figures[
        "credits"] <= BUDGET  # fmt: skip
    assert status["budget_exhausted"] > 0 and status["enriched"] > 0
    assert figures["estimate"]["credits"] == pytest.approx(expected_estimate["credits"], abs=1e-3)
    assert figures["intake"]["accepted"] == panel.loaded.records.height
    # the exported list is the result, and accuracy is the package's judgement of it
    exported = run.notebook.parent / "out" / Path(figures["exported"]).name
    records = pl.read_csv(exported, infer_schema_length=0)
    assert records.height == 300 and dict(records.group_by("status").len().rows()) == status
    truth = load_truth(ROOT / "data/samples/leads_small.truth.csv")
    accuracy = dict(accuracy_by_source(records, truth).select("source", "accuracy").rows())
    assert figures["accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert (run.notebook.parent / "out" / "ledger.sqlite").is_file()  # cache, resume, history


def test_without_batch_nothing_is_spent(runs: dict[str, NotebookRun], tmp_path: Path) -> None:
    run = runs["panel"]
    figures = run.figures
    _clean(run)
    assert figures["batch"] is False and "credits" not in figures and "status" not in figures
    assert not (run.notebook.parent / "out" / "ledger.sqlite").exists()  # no run, no ledger
    panel = WaterfallPanel(path=ROOT / SAMPLE, budget_credits=BUDGET, out_dir=tmp_path)
    total = panel.table.filter(pl.col("provider") == "total").row(0, named=True)
    for key in ("credits", "cost_usd", "worst_case_credits", "worst_case_usd"):
        assert figures["estimate"][key] == pytest.approx(total[key], abs=1e-3)
    assert figures["estimate_basis"] == panel.table["basis"].to_list()[:-1]
    assert figures["intake"] == {"rows": 300, "accepted": panel.loaded.records.height,
                                 "rejected": panel.loaded.rejected.height,
                                 "duplicates": panel.loaded.duplicates}  # fmt: skip
    text = run.notebook.read_text(encoding="utf-8")
    assert "Nothing spent" in text
