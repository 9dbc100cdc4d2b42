"""Run a notebook: as a report with papermill (:func:`run_notebook`), or to re-store the outputs
nbval compares in a committed notebook (:func:`refresh_checked_outputs`).

A report's output lands in ``data/runs/`` (git-ignored) only after it is scrubbed of what papermill
injects and checked for leaks (papermill itself saves into memory, see
:mod:`~gtmkit.reports.memory`); its recorded figures are written beside it as JSON, and with
``html=True`` a static page without code. Parameters are checked against the notebook's own
``parameters`` cell before anything runs (see :mod:`gtmkit.reports.parameters`).

Example (a real run takes a kernel and a few seconds, so it is not a doctest here; the notebook
tests run every notebook this way)::

    from gtmkit.reports import run_notebook

    run = run_notebook("notebooks/02-run-waterfall.ipynb",
                       parameters={"batch": True, "budget_credits": 200}, html=True)
    run.figures["coverage"], run.html      # data/runs/02-run-waterfall.html

A name the notebook does not define is refused before anything runs:

    >>> from gtmkit.reports import ReportParameterError, run_notebook
    >>> try:
    ...     run_notebook("notebooks/02-run-waterfall.ipynb", parameters={"budget": 10})
    ... except ReportParameterError as exc:
    ...     print(str(exc).split(";")[0])
    unknown notebook parameter(s) ['budget']
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gtmkit.paths import display_path, resolve_path
from gtmkit.reports.errors import NotebookLeakError, NotebookRunError
from gtmkit.reports.export import to_html
from gtmkit.reports.figures import cell_stdout, read_figures
from gtmkit.reports.leaks import find_leaks
from gtmkit.reports.memory import memory_path, take
from gtmkit.reports.notebook import (
    find_notebook,
    read_notebook,
    write_notebook,
    write_text_atomic,
)
from gtmkit.reports.parameters import check_parameters
from gtmkit.reports.scrub import is_checked, scrub_notebook, strip_outputs

__all__ = ["DEFAULT_OUT_DIR", "NotebookRun", "refresh_checked_outputs", "run_notebook"]

#: Where reports go unless told otherwise (relative to the project root; git-ignored).
DEFAULT_OUT_DIR = "data/runs"


@dataclass(frozen=True, slots=True)
class NotebookRun:
    """An executed, scrubbed notebook under ``data/runs/`` and the figures it recorded."""

    notebook: Path
    figures: dict[str, Any]
    figures_path: Path
    html: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


def run_notebook(
    notebook: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    name: str | None = None,
    html: bool = False,
    kernel_name: str = "python3",
    timeout: float = 600,
) -> NotebookRun:
    """Run a parameterized notebook with papermill as a report, safely.

    The output ``<out_dir>/<name>.ipynb`` is scrubbed of papermill's injected parameters and
    metadata, checked with :func:`~gtmkit.reports.leaks.find_leaks` (and not kept, raising
    :class:`NotebookLeakError`, if anything key-like or an absolute path is in it), and its
    recorded figures are written to ``<out_dir>/<name>.figures.json``. With ``html`` a static
    HTML report without code goes beside it. Every file is written atomically.

    Args:
        notebook: the notebook (path relative to the project root is fine).
        parameters: values for names the notebook's ``parameters`` cell defines. Never
            credentials: a name that looks like one (``api_key``, ``token``…) is refused — keys
            come from environment variables.
        out_dir: where the outputs go (relative paths from the project root).
        name: output stem (default: the notebook's stem).
        html: also write ``<name>.html`` (code hidden, charts as embedded PNG).
        kernel_name: Jupyter kernel to run.
        timeout: seconds allowed per cell.

    Raises:
        ReportParameterError: a parameter name looks like a credential, or the notebook does
            not define it (the message lists the names it does define).
        NotebookNotFoundError: there is no such notebook.
        NotebookRunError: a cell failed (the scrubbed output is kept for inspection).
        NotebookLeakError: the output contained a key-like string or an absolute path.
    """
    import papermill as pm

    params = dict(parameters or {})
    source = find_notebook(notebook)
    check_parameters(source, params)
    target_dir = resolve_path(out_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    stem = name or source.stem
    target = target_dir / f"{stem}.ipynb"

    failure: Exception | None = None
    raw = memory_path()  # papermill saves after every cell: into memory, never onto a disk
    try:
        pm.execute_notebook(
            str(source),
            raw,
            parameters=params,
            kernel_name=kernel_name,
            language="python",
            progress_bar=False,
            cwd=str(source.parent),
            execution_timeout=timeout,
        )
    except pm.PapermillExecutionError as exc:
        failure = exc
    executed = take(raw)
    if executed is None:  # papermill failed before its first save (kernel did not start)
        raise NotebookRunError(f"{source.name} did not run: {failure}", target) from failure
    nb = scrub_notebook(executed)
    # A failed run is kept for debugging (its traceback has machine paths), unless it would
    # keep a secret.
    leaks = find_leaks(nb)
    secrets = [leak for leak in leaks if leak.kind != "absolute_path"]
    if (failure is None and leaks) or secrets:
        target.unlink(missing_ok=True)
        raise NotebookLeakError(secrets or leaks)
    write_notebook(nb, target)
    if failure is not None:
        error = getattr(failure, "ename", "error")
        value = getattr(failure, "evalue", str(failure))
        raise NotebookRunError(
            f"{source.name} failed: {error}: {value} (output: {display_path(target)})", target
        ) from None

    figures = read_figures(nb)
    figures_path = write_text_atomic(
        target_dir / f"{stem}.figures.json", json.dumps(figures, indent=2, sort_keys=True) + "\n"
    )
    html_path = write_text_atomic(target_dir / f"{stem}.html", to_html(nb)) if html else None
    return NotebookRun(target, figures, figures_path, html_path, params)


def refresh_checked_outputs(
    notebook: str | os.PathLike[str], *, kernel_name: str = "python3", timeout: float = 600
) -> list[str]:
    """Re-execute a committed notebook with its default parameters and store only the outputs
    of ``# NBVAL_CHECK_OUTPUT`` cells; every other output, execution count and run metadata is
    dropped. For a deliberate change of those figures (a recalibrated simulated world):
    ``python -m gtmkit.reports refresh notebooks/*.ipynb`` (``make notebooks-refresh``).

    Returns:
        The new text of each checked cell's output, in order.

    Raises:
        NotebookLeakError: the refreshed notebook would contain a key-like string or an
            absolute path (nothing is written).
    """
    from nbclient import NotebookClient

    path = find_notebook(notebook)
    nb = read_notebook(path)
    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=int(timeout),
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    strip_outputs(nb, keep_checked=True)
    leaks = find_leaks(nb)
    if leaks:
        raise NotebookLeakError(leaks)
    write_notebook(nb, path)
    return [cell_stdout(c) for c in nb.cells if c.cell_type == "code" and is_checked(c)]
