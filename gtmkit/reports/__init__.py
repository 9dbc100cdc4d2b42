"""Notebooks as reports: run a parameterized notebook with papermill, record and read its key
figures, scrub what papermill injects, keep keys and machine paths out, export static HTML.

One job per module:

- :mod:`~gtmkit.reports.run` — :func:`run_notebook` (papermill → scrub → leak check → figures
  → HTML, every file written atomically) and :func:`refresh_checked_outputs`;
- :mod:`~gtmkit.reports.parameters` — the names a notebook's ``parameters`` cell defines; the
  runner refuses unknown and credential-like names;
- :mod:`~gtmkit.reports.figures` — :func:`record_figures` (the last cell of every notebook) and
  :func:`read_figures`;
- :mod:`~gtmkit.reports.scrub` — :func:`scrub_notebook` (injected parameters, papermill
  metadata) and :func:`strip_outputs` (all outputs but the ``NBVAL_CHECK_OUTPUT`` cells);
- :mod:`~gtmkit.reports.leaks` — :func:`find_leaks` (key-like strings, absolute paths);
- :mod:`~gtmkit.reports.export` — :func:`to_html`;
- :mod:`~gtmkit.reports.notebook` — reading, and atomic writing of, notebook files.

Command line: ``python -m gtmkit.reports run NOTEBOOK [-p NAME VALUE]... [--html]``,
``python -m gtmkit.reports params NOTEBOOK`` and ``python -m gtmkit.reports refresh NOTEBOOK...``.

Example:
    >>> from gtmkit.reports import notebook_parameters
    >>> sorted(notebook_parameters("notebooks/01-list-intake.ipynb"))
    ['out_dir', 'path']
"""

from __future__ import annotations

from gtmkit.reports.errors import (
    FiguresError,
    NotebookLeakError,
    NotebookNotFoundError,
    NotebookRunError,
    ReportParameterError,
)
from gtmkit.reports.export import to_html
from gtmkit.reports.figures import FIGURES_TAG, figures_data, read_figures, record_figures
from gtmkit.reports.leaks import Leak, find_leaks
from gtmkit.reports.parameters import NotebookParameter, check_parameters, notebook_parameters
from gtmkit.reports.run import NotebookRun, refresh_checked_outputs, run_notebook
from gtmkit.reports.scrub import is_checked, scrub_notebook, strip_outputs

__all__ = [
    "FIGURES_TAG",
    "FiguresError",
    "Leak",
    "NotebookLeakError",
    "NotebookNotFoundError",
    "NotebookParameter",
    "NotebookRun",
    "NotebookRunError",
    "ReportParameterError",
    "check_parameters",
    "figures_data",
    "find_leaks",
    "is_checked",
    "notebook_parameters",
    "read_figures",
    "record_figures",
    "refresh_checked_outputs",
    "run_notebook",
    "scrub_notebook",
    "strip_outputs",
    "to_html",
]
