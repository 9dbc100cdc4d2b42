"""``notebooks/06-sync-crm.ipynb`` under papermill, offline against the twins: the dry run's
counts and per-property changes, the sync's outcome, the second dry run and the ledger's summary
it records are what the package computes on the same input; ``write = False`` writes nothing;
the output keeps no papermill trace and no secret."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import polars as pl
import pytest

import gtmkit
from gtmkit import sync
from gtmkit.reports import NotebookRun, find_leaks, read_figures, run_notebook
from gtmkit.sandbox.crm import CrmTransport, seed_crm
from gtmkit.waterfall import Step, Waterfall
from tests._notebooks_helpers import NOTEBOOKS_DIR, ROOT, hermetic_jupyter

pytestmark = pytest.mark.slow

NOTEBOOK = NOTEBOOKS_DIR / "06-sync-crm.ipynb"
RUNS: dict[str, dict[str, Any]] = {
    "hubspot": {"destination": "hubspot"},
    "outreach": {"destination": "outreach", "sequence_id": "7", "mailbox_id": "1"},
    "salesforce-dry": {"destination": "salesforce", "object_type": "Contact", "write": False},
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, NotebookRun]:
    base = tmp_path_factory.mktemp("nb06")
    with hermetic_jupyter(base / "jupyter"):
        return {
            name: run_notebook(
                NOTEBOOK,
                parameters={**params, "out_dir": str(base / name / "out")},
                out_dir=base / name,
                html=True,
            )
            for name, params in RUNS.items()
        }


def _expected(params: dict[str, Any], ledger: Path) -> dict[str, Any]:
    """The notebook's steps, through the package, on a fresh twin and ledger."""
    leads = gtmkit.load_list(ROOT / "data/samples/leads_small.csv")
    records = (
        Waterfall([Step("hunter"), Step("apollo")])
        .run(leads, budget_usd=30.0, ledger=None, mode="sandbox", progress=False)
        .records
    )
    twin = CrmTransport()
    object_type = params.get("object_type")
    seeded = seed_crm(twin, params["destination"], records, object_type=object_type)
    options = {k: params[k] for k in ("object_type", "sequence_id", "mailbox_id") if k in params}
    target = sync.destination(params["destination"], transport=twin, **options)
    plan = sync.plan(records, target, ledger=ledger)
    out: dict[str, Any] = {
        "rows": records.height,
        "object": target.object_type,
        "seeded": dict(seeded.group_by("state").len().iter_rows()),
        "plan": plan.counts(),
        "changes": dict(plan.diff.group_by("property").len().iter_rows()),
    }
    if params.get("write", True):
        done = sync.write(plan)
        out["written"] = done.counts()
        out["failed_reasons"] = dict(done.failures().group_by("reason").len().iter_rows())
        out["second_plan"] = sync.plan(records, target, ledger=ledger).counts()
        out["summary"] = sync.summary(ledger).drop("last_write").to_dicts()
    return out


@pytest.mark.parametrize("name", list(RUNS))
def test_the_recorded_figures_are_the_packages(
    runs: dict[str, NotebookRun], name: str, tmp_path: Path
) -> None:
    figures = runs[name].figures
    expected = _expected(RUNS[name], tmp_path / "check.sync.sqlite")
    for key, value in expected.items():
        assert figures[key] == value, key
    assert figures["destination"] == RUNS[name]["destination"] and figures["mode"] == "sandbox"


def test_the_sync_writes_the_plan_once_and_the_second_dry_run_has_nothing_left(
    runs: dict[str, NotebookRun],
) -> None:
    for name in ("hubspot", "outreach"):
        f = runs[name].figures
        assert f["written"]["created"] == f["plan"]["create"] - sum(f["failed_reasons"].values())
        assert f["written"]["updated"] == f["plan"]["update"]
        assert f["second_plan"]["create"] == 0 and f["second_plan"]["update"] == 0
        (row,) = f["summary"]
        assert row["created"] == f["written"]["created"]
    # the sequence was part of the plan: one enrollment per person created or updated
    assert runs["outreach"].figures["changes"]["sequence"] == sum(
        runs["outreach"].figures["plan"][a] for a in ("create", "update")
    )
    # a rep's sequence is left alone
    assert runs["outreach"].figures["seeded"]["in_sequence"] > 0


def test_write_false_writes_nothing(runs: dict[str, NotebookRun]) -> None:
    f = runs["salesforce-dry"].figures
    assert f["written"] is None and f["second_plan"] is None and f["summary"] == []
    assert f["plan"]["create"] > 0 and f["object"] == "Contact"
    text = runs["salesforce-dry"].notebook.read_text(encoding="utf-8")
    assert "Nothing written: review the dry run, then set write = True" in text


@pytest.mark.parametrize("name", list(RUNS))
def test_the_output_is_scrubbed_and_keeps_no_secret(
    runs: dict[str, NotebookRun], name: str
) -> None:
    run = runs[name]
    nb = nbformat.read(run.notebook, as_version=4)
    assert "papermill" not in nb.metadata and find_leaks(nb) == []
    for cell in nb.cells:
        assert "injected-parameters" not in cell.metadata.get("tags", [])
        assert all(o.output_type != "error" for o in cell.get("outputs", []))
    assert json.loads(run.figures_path.read_text()) == run.figures == read_figures(run.notebook)
    html = run.html.read_text(encoding="utf-8") if run.html else ""
    assert "Dry run for" in html and "record_figures(" not in html


def test_the_checked_cell_prints_no_email() -> None:
    """What nbval compares is committed: it must hold figures, never a lead's address."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    (checked,) = [c for c in nb.cells if "# NBVAL_CHECK_OUTPUT" in c.source]
    text = "".join(o.get("text", "") for o in checked.outputs)
    assert text.startswith("dry run: {'create': ")
    assert "@" not in text
    frame = pl.DataFrame({"line": text.splitlines()})
    assert frame.height > 5
