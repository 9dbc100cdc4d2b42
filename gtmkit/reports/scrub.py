"""Make a notebook fit to share or commit: what papermill injected, run metadata, and outputs.

* :func:`scrub_notebook` removes the ``injected-parameters`` cell papermill adds (it holds every
  parameter in plain text), its error banners and its metadata — what every report gets.
* :func:`strip_outputs` also drops outputs, execution counts and widget state, except in cells
  marked ``# NBVAL_CHECK_OUTPUT`` (:func:`is_checked`), whose outputs nbval compares — what a
  committed notebook gets.

Example:
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> from gtmkit.reports.scrub import scrub_notebook
    >>> params = new_code_cell("budget = 10", metadata={"tags": ["parameters"]})
    >>> injected = new_code_cell("budget = 99", metadata={"tags": ["injected-parameters"]})
    >>> nb = new_notebook(cells=[params, injected])
    >>> nb.metadata["papermill"] = {"parameters": {"budget": 99}}
    >>> scrubbed = scrub_notebook(nb)
    >>> [c.source for c in scrubbed.cells], "papermill" in scrubbed.metadata
    (['budget = 10'], False)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = ["CHECKED_MARKER", "is_checked", "scrub_notebook", "strip_outputs"]

#: A code cell whose output nbval compares (``pytest --nbval-lax``) starts with this comment.
CHECKED_MARKER = "NBVAL_CHECK_OUTPUT"

# Cells papermill adds: the parameters it injected, and the red banners of a failed run.
_INJECTED_TAGS = frozenset({"injected-parameters", "papermill-error-cell-tag"})


def is_checked(cell: Mapping[str, Any]) -> bool:
    """Whether nbval compares this cell's output (``# NBVAL_CHECK_OUTPUT`` or its tag).

    Example:
        >>> is_checked({"source": "# NBVAL_CHECK_OUTPUT\\nprint(1)"}), is_checked({"source": "1"})
        (True, False)
    """
    source = cell.get("source", "")
    source = source if isinstance(source, str) else "".join(source)
    tags = cell.get("metadata", {}).get("tags", [])
    return CHECKED_MARKER in source or "nbval-check-output" in tags


def scrub_notebook(nb: NotebookNode) -> NotebookNode:
    """Remove what papermill adds to an output notebook: the ``injected-parameters`` cell (it
    holds every parameter in plain text), its error banners, and run metadata on the notebook
    and on every cell. Modifies and returns ``nb``."""
    nb.metadata.pop("papermill", None)
    nb.cells = [c for c in nb.cells if not _INJECTED_TAGS & set(c.metadata.get("tags", []))]
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return nb


def strip_outputs(nb: NotebookNode, *, keep_checked: bool = True) -> NotebookNode:
    """Make a notebook fit to commit: no outputs or execution counts (except, with
    ``keep_checked``, cells marked ``# NBVAL_CHECK_OUTPUT``, whose outputs nbval compares), no
    widget state and no run metadata. Modifies and returns ``nb``."""
    scrub_notebook(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if keep_checked and is_checked(cell):
            continue
        cell.outputs = []
        cell.execution_count = None
    return nb
