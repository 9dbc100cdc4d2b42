"""Shared bits of the notebook, demo and browser tests (not a conftest: the lead owns that)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gtmkit.reports import NotebookRun

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
#: Every committed notebook (found, not listed: a new notebook is checked the day it lands).
NOTEBOOKS = tuple(sorted(p.name for p in NOTEBOOKS_DIR.glob("*.ipynb")))
JUPYTER_VARS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")


@contextmanager
def hermetic_jupyter(base: Path) -> Iterator[dict[str, str]]:
    """Point Jupyter's and IPython's state directories into ``base`` (not the home directory).

    Kernelspecs are still found: the venv's ``python3`` kernel lives under ``sys.prefix``.
    """
    saved = {name: os.environ.get(name) for name in (*JUPYTER_VARS, "JUPYTER_PLATFORM_DIRS")}
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "IPYTHONDIR": base / "ipython",
    }
    for name, directory in dirs.items():
        directory.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(directory)
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    try:
        yield {name: str(directory) for name, directory in dirs.items()}
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_report(out: Path, name: str, **parameters: Any) -> NotebookRun:
    """Run ``notebooks/<name>`` as a report into ``out`` (its ``out_dir`` there too, if it has
    one), with HTML, Jupyter's state kept under ``out`` too."""
    from gtmkit.reports import notebook_parameters, run_notebook

    if "out_dir" in notebook_parameters(NOTEBOOKS_DIR / name):
        parameters.setdefault("out_dir", str(out / "out"))
    with hermetic_jupyter(out / "jupyter"):
        return run_notebook(NOTEBOOKS_DIR / name, parameters=parameters, out_dir=out, html=True)


def assert_clean_report(run: NotebookRun) -> None:
    """A report run left no papermill traces, no error, no leak; its figures and HTML agree."""
    import nbformat

    from gtmkit.reports import find_leaks, read_figures

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


def python_m(module: str, *args: str, stdin: str | None = None, timeout: float = 60) -> Any:
    """``python -m MODULE ARGS...`` from the repository root: a ``CompletedProcess`` (text)."""
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", module, *args],
        input=stdin,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
