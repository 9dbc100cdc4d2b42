"""Read a notebook from a path or take an open one; write one atomically.

A report that is half written (a full disk, a killed process) must never look like a finished
one, so every file goes to a temporary name beside its target and is renamed into place.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> from gtmkit.reports.notebook import read_notebook, write_notebook
    >>> folder = Path(tempfile.mkdtemp())
    >>> path = write_notebook(new_notebook(cells=[new_code_cell("x = 1")]), folder / "n.ipynb")
    >>> read_notebook(path).cells[0].source
    'x = 1'
    >>> sorted(p.name for p in folder.iterdir())  # no temporary file left behind
    ['n.ipynb']
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

from gtmkit.paths import display_path, resolve_path
from gtmkit.reports.errors import NotebookNotFoundError

__all__ = ["find_notebook", "read_notebook", "write_notebook", "write_text_atomic"]


def find_notebook(notebook: str | os.PathLike[str]) -> Path:
    """The notebook file ``notebook`` names (relative paths from the project root are fine).

    Raises:
        NotebookNotFoundError: there is no such file.
    """
    source = resolve_path(notebook)
    if not source.is_file():
        raise NotebookNotFoundError(
            f"notebook not found: {display_path(source)} (paths are relative to the project "
            "root, e.g. notebooks/02-run-waterfall.ipynb)"
        )
    return source


def read_notebook(notebook: str | os.PathLike[str] | NotebookNode) -> NotebookNode:
    """The notebook at ``notebook`` (nbformat 4), or ``notebook`` itself when already open."""
    import nbformat

    if isinstance(notebook, (str, os.PathLike)):
        node: NotebookNode = nbformat.read(os.fspath(notebook), as_version=4)
        return node
    return notebook


def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temporary file renamed into place."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(scratch, target)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
    return target


def write_notebook(nb: NotebookNode, path: str | os.PathLike[str]) -> Path:
    """Validate and write ``nb`` to ``path`` atomically."""
    import nbformat

    nbformat.validate(nb)
    text: str = nbformat.writes(nb)
    return write_text_atomic(path, text if text.endswith("\n") else text + "\n")
