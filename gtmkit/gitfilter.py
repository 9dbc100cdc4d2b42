"""The git filter that commits notebooks without outputs (``.gitattributes``: ``*.ipynb
filter=nbstripout``; ``make install`` and ``make lab`` install it).

nbstripout does the stripping — outputs, execution counts, widget state, run metadata (its
defaults, plus papermill's) — with the cells nbval checks (``# NBVAL_CHECK_OUTPUT``, the one
definition in :func:`gtmkit.reports.is_checked`) kept. Two things nbstripout cannot do alone:

* keep a cell by what its source says: its per-cell keep is a ``keep_output`` tag, a second
  marker every checked cell would have to carry and that could drift from the first;
* keep a kept cell runnable by nbval: it blanks every execution count, and nbval refuses a
  cell with outputs but no count ("Unrun reference cell has outputs"). Checked cells get
  their position among the checked cells instead (1, 2, ...): deterministic, so re-running a
  notebook in JupyterLab changes nothing git stores.

Example:
    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> shown = new_output("stream", name="stdout", text="ann.lee@acme.com\\n")
    >>> leads = new_code_cell("leads.head()", execution_count=4, outputs=[shown])
    >>> figure = new_output("stream", name="stdout", text="rows: 3\\n")
    >>> checked = new_code_cell("# NBVAL_CHECK_OUTPUT\\nprint('rows: 3')", execution_count=9,
    ...                         outputs=[figure])
    >>> nb = strip(new_notebook(cells=[leads, checked], metadata={"widgets": {}}))
    >>> [(cell.execution_count, len(cell.outputs)) for cell in nb.cells], "widgets" in nb.metadata
    ([(None, 0), (1, 1)], False)

Command line (what git and ``make notebooks-clean`` run)::

    python -m gtmkit.gitfilter < in.ipynb > out.ipynb    # the clean filter: stdin to stdout
    python -m gtmkit.gitfilter notebooks/*.ipynb         # strip files in place (atomically)
    python -m gtmkit.gitfilter --textconv x.ipynb        # git diff's view: stripped, to stdout
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gtmkit.reports.scrub import is_checked

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = ["EXTRA_KEYS", "KERNELSPEC", "main", "strip"]

#: Metadata stripped besides outputs and counts: nbstripout's defaults, and papermill's.
EXTRA_KEYS: tuple[str, ...] = (
    "metadata.signature",
    "metadata.widgets",
    "metadata.papermill",
    "cell.metadata.collapsed",
    "cell.metadata.ExecuteTime",
    "cell.metadata.execution",
    "cell.metadata.heading_collapsed",
    "cell.metadata.hidden",
    "cell.metadata.scrolled",
    "cell.metadata.papermill",
)
_KEEP = "keep_output"  # nbstripout's per-cell marker
#: The kernel every committed notebook names: the one ``make install`` registers. A notebook
#: saved from another kernel (a conda env's "Python 3", a named venv) would otherwise change
#: what git stores and what papermill starts.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def strip(nb: NotebookNode) -> NotebookNode:
    """Strip ``nb`` as it is committed (modifies and returns it); cell ids are kept."""
    from nbstripout import strip_output

    marked = []
    for cell in nb.cells:
        if cell.cell_type == "code" and is_checked(cell) and _KEEP not in cell.metadata:
            cell.metadata[_KEEP] = True
            marked.append(cell)
    try:
        strip_output(nb, keep_output=False, keep_count=False, keep_id=True, extra_keys=EXTRA_KEYS)
    finally:
        for cell in marked:
            del cell.metadata[_KEEP]
    checked = (c for c in nb.cells if c.cell_type == "code" and is_checked(c) and c.outputs)
    for number, cell in enumerate(checked, start=1):
        cell.execution_count = number
    kernel = nb.metadata.get("kernelspec")
    if kernel and kernel.get("language", "python") == "python":
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
    return nb


def _text(nb: NotebookNode) -> str:
    import nbformat

    text: str = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _read(source: str, name: str) -> NotebookNode:
    import nbformat

    try:
        return nbformat.reads(source, as_version=nbformat.NO_CONVERT)
    except Exception as exc:  # git shows this message when `git add` refuses the file
        raise SystemExit(f"gtmkit.gitfilter: {name} is not a readable notebook: {exc}") from None


def main(argv: Sequence[str] | None = None) -> int:
    """Run the filter (see the module docstring); returns the exit status."""
    from gtmkit.paths import display_path
    from gtmkit.reports.notebook import write_notebook

    parser = argparse.ArgumentParser(
        prog="python -m gtmkit.gitfilter",
        description="Strip notebooks as they are committed: no outputs but NBVAL_CHECK_OUTPUT "
        "cells'. No file: stdin to stdout (the git clean filter).",
    )
    parser.add_argument("files", nargs="*", help="notebooks to strip in place")
    parser.add_argument(
        "-t", "--textconv", action="store_true", help="print the stripped files instead"
    )
    args = parser.parse_args(argv)
    if not args.files:
        sys.stdout.write(_text(strip(_read(sys.stdin.read(), "stdin"))))
        return 0
    for name in args.files:
        with open(name, encoding="utf-8") as handle:
            before = handle.read()
        stripped = strip(_read(before, name))
        if args.textconv:
            sys.stdout.write(_text(stripped))
        elif _text(stripped) != before:
            write_notebook(stripped, name)
            print(f"stripped {display_path(name)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
