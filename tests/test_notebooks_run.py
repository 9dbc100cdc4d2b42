"""Notebooks run headless with papermill (via gtmkit.reports.run_notebook) on the simulated
world with small parameters; the tests assert on the figures the last cell recorded. Notebooks
01, 03 and 04 have their own files (``test_notebook_NN_*.py``); the report runner's guards are
here."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from gtmkit.reports import (
    NotebookLeakError,
    NotebookRun,
    NotebookRunError,
    run_notebook,
)
from tests._notebooks_helpers import hermetic_jupyter, run_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("nbruns")
    with hermetic_jupyter(base / "jupyter"):
        yield base


def _run(runs_dir: Path, name: str, **parameters: object) -> NotebookRun:
    return run_report(runs_dir / Path(name).stem, name, **parameters)


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
