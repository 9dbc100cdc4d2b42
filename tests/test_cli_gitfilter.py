"""``python -m gtmkit.gitfilter``, the git filter behind ``.gitattributes``: it strips as
nbstripout does, except that the cells nbval checks keep their output and get a count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from gtmkit.gitfilter import strip
from tests._notebooks_helpers import NOTEBOOKS_DIR, python_m


def _run_in_lab() -> nbformat.NotebookNode:
    """A notebook as JupyterLab saves it after a run: outputs, counts, widget state."""
    nb = new_notebook(
        cells=[
            new_markdown_cell("# Intake", metadata={"collapsed": False}),
            new_code_cell(
                "leads.head()",
                execution_count=3,
                metadata={"scrolled": True, "execution": {"iopub.status.busy": "2026"}},
                outputs=[new_output("stream", name="stdout", text="ann.lee@acme.com\n")],
            ),
            new_code_cell(
                "# NBVAL_CHECK_OUTPUT\nprint(counts)",
                execution_count=4,
                outputs=[new_output("stream", name="stdout", text="{'rows': 3}\n")],
            ),
            new_code_cell(
                "# NBVAL_CHECK_OUTPUT\n1 + 1",
                execution_count=7,
                outputs=[new_output("execute_result", data={"text/plain": "2"}, execution_count=7)],
            ),
        ],
        metadata={"widgets": {"state": {}}, "papermill": {"parameters": {"path": "x.csv"}}},
    )
    nbformat.validate(nb)
    return nb


def _filter(text: str, *args: str) -> subprocess.CompletedProcess[str]:
    done: subprocess.CompletedProcess[str] = python_m("gtmkit.gitfilter", *args, stdin=text)
    return done


def test_the_filter_keeps_only_what_nbval_checks() -> None:
    done = _filter(nbformat.writes(_run_in_lab()))
    assert done.returncode == 0, done.stderr
    nb = nbformat.reads(done.stdout, as_version=4)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata and "papermill" not in nb.metadata
    markdown, leads, counts, result = nb.cells
    assert "collapsed" not in markdown.metadata
    assert leads.outputs == [] and leads.execution_count is None and leads.metadata == {}
    assert "ann.lee" not in done.stdout
    assert [counts.execution_count, result.execution_count] == [1, 2]  # nbval needs a count
    assert counts.outputs[0].text == "{'rows': 3}\n"
    assert result.outputs[0].data["text/plain"] == "2"
    assert "keep_output" not in done.stdout  # no marker is left behind
    assert _filter(done.stdout).stdout == done.stdout  # stripping twice changes nothing


def test_the_stripping_is_nbstripouts(tmp_path: Path) -> None:
    """Without checked cells the result is byte for byte what the nbstripout CLI writes."""
    nb = _run_in_lab()
    nb.cells = nb.cells[:2]
    text = nbformat.writes(nb)
    path = tmp_path / "plain.ipynb"
    path.write_text(text, encoding="utf-8")
    extra = "metadata.papermill cell.metadata.papermill"
    theirs = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--keep-id", "--extra-keys", extra, "-t", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert _filter(text).stdout == theirs.stdout


def test_files_are_stripped_in_place_and_textconv_prints(tmp_path: Path) -> None:
    path = tmp_path / "run.ipynb"
    nbformat.write(_run_in_lab(), path)
    shown = _filter("", "--textconv", str(path))
    assert shown.returncode == 0 and "ann.lee" not in shown.stdout
    assert "ann.lee" in path.read_text(encoding="utf-8")  # textconv leaves the file alone
    done = _filter("", str(path))
    assert done.returncode == 0 and done.stdout.strip() == "stripped run.ipynb"
    assert path.read_text(encoding="utf-8") == shown.stdout
    assert _filter("", str(path)).stdout == ""  # already clean: not rewritten


def test_a_file_that_is_not_a_notebook_is_refused_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [', encoding="utf-8")
    done = _filter("", str(path))
    assert done.returncode != 0
    assert f"gtmkit.gitfilter: {path} is not a readable notebook" in done.stderr
    assert path.read_text(encoding="utf-8") == '{"cells": ['  # nothing written


@pytest.mark.parametrize("name", ["01-list-intake.ipynb", "04-benchmark-combinations.ipynb"])
def test_in_process_strip_matches_the_committed_notebook(name: str) -> None:
    committed = (NOTEBOOKS_DIR / name).read_text(encoding="utf-8")
    stripped = nbformat.writes(strip(nbformat.reads(committed, as_version=4))) + "\n"
    assert stripped == committed


def test_a_notebook_saved_from_another_python_kernel_is_stored_with_the_projects() -> None:
    nb = _run_in_lab()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (gtmkit)", "language": "python"}
    stored = nbformat.reads(_filter(nbformat.writes(nb)).stdout, as_version=4)
    # the kernel `make install` registers, whatever kernel the notebook was saved from
    assert stored.metadata.kernelspec.name == "python3"
    assert stored.metadata.kernelspec.display_name == "Python 3 (ipykernel)"
