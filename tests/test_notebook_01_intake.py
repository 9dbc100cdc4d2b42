"""Notebook 01 (list intake) as a papermill report: the figures its last cell recorded are what
``gtmkit.load_list`` finds in the same list, and the clean export holds every accepted row."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import gtmkit
from gtmkit.lists.upload import intake_counts
from gtmkit.reports import NotebookRun
from tests._notebooks_helpers import ROOT, assert_clean_report, run_report

pytestmark = pytest.mark.slow

NOTEBOOK = "01-list-intake.ipynb"


@pytest.fixture(scope="module")
def intake_run(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    return run_report(tmp_path_factory.mktemp("nb01"), NOTEBOOK)


def test_intake_notebook_records_what_load_list_finds(intake_run: NotebookRun) -> None:
    figures = intake_run.figures
    assert_clean_report(intake_run)
    loaded = gtmkit.load_list(ROOT / figures["list"])
    assert {k: figures[k] for k in ("rows", "accepted", "rejected", "duplicates")} == (
        intake_counts(loaded)
    )
    assert figures["rows"] == loaded.records.height + loaded.rejected.height > 0
    assert figures["duplicates"] == loaded.duplicates > 0
    assert figures["mapped_fields"] == sorted(set(loaded.mapping.values()))
    assert {"first_name", "last_name", "email", "company_name"} <= set(figures["mapped_fields"])
    exported = intake_run.notebook.parent / "out" / Path(figures["exported"]).name
    assert pl.read_csv(exported, infer_schema_length=0).height == figures["accepted"]


def test_intake_report_shows_the_intake_not_a_demonstration(intake_run: NotebookRun) -> None:
    """The size message lives in the upload panel now, not in a cell that fakes a 25 MB file."""
    assert intake_run.html is not None
    html = intake_run.html.read_text(encoding="utf-8")
    assert "client_export.xlsx" not in html
    name = Path(intake_run.figures["list"]).name
    counts = intake_run.figures
    summary = (
        f"{name}: {counts['rows']} rows -&gt; {counts['accepted']} accepted, "
        f"{counts['rejected']} rejected, {counts['duplicates']} duplicates"
    )
    assert summary in html
