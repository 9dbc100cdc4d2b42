"""A notebook's key figures as data: recorded by its last cell, read back from the executed
notebook (by the report runner and by the tests that assert on them).

Example:
    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> from gtmkit.reports.figures import FIGURES_TAG, read_figures
    >>> cell = new_code_cell("record_figures(...)", metadata={"tags": [FIGURES_TAG]})
    >>> cell.outputs = [new_output("stream", name="stdout", text='{"rows": 3}\\n')]
    >>> read_figures(new_notebook(cells=[cell]))
    {'rows': 3}
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from gtmkit.paths import display_path
from gtmkit.reports.errors import FiguresError
from gtmkit.reports.notebook import read_notebook

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = ["FIGURES_TAG", "cell_stdout", "figures_data", "read_figures", "record_figures"]

#: Cell tag of the cell that records a notebook's key figures (the last cell of each notebook).
FIGURES_TAG = "figures"


def figures_data(value: Any) -> Any:
    """Key figures as plain JSON types: floats rounded to 4 places (stable across platforms),
    NaN/inf as null, sets sorted, paths shown relative to the project, numpy/polars scalars
    unwrapped.

    Example:
        >>> figures_data({"rate": 2 / 3, "tags": {"b", "a"}, "bad": float("nan")})
        {'rate': 0.6667, 'tags': ['a', 'b'], 'bad': None}
    """
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        return round(value, 4)
    if isinstance(value, Mapping):
        return {str(k): figures_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [figures_data(v) for v in items]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, os.PathLike):
        return display_path(value)
    if hasattr(value, "item"):  # numpy/polars scalars
        return figures_data(value.item())
    return str(value)


def record_figures(figures: Mapping[str, Any]) -> dict[str, Any]:
    """Print a notebook's key figures as one JSON object (sorted keys, floats rounded to 4 places).

    The last cell of every gtmkit notebook calls this in a cell tagged ``figures``;
    :func:`read_figures` and :func:`gtmkit.reports.run_notebook` read it back from the executed
    notebook.

    Example:
        >>> _ = record_figures({"rows": 3, "coverage": 2 / 3})
        {
          "coverage": 0.6667,
          "rows": 3
        }
    """
    data: dict[str, Any] = figures_data(dict(figures))
    print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
    return data


def cell_stdout(cell: Mapping[str, Any]) -> str:
    """What a code cell printed to stdout (its stream outputs, joined)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            text = output.get("text", "")
            parts.append(text if isinstance(text, str) else "".join(text))
    return "".join(parts)


def read_figures(notebook: str | os.PathLike[str] | NotebookNode) -> dict[str, Any]:
    """The figures an executed notebook recorded with :func:`record_figures`.

    Raises:
        FiguresError: the notebook has no executed ``figures`` cell with a JSON object.
    """
    nb = read_notebook(notebook)
    tagged = [c for c in nb.cells if FIGURES_TAG in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise FiguresError(
            f"no cell tagged {FIGURES_TAG!r} in the notebook: its last cell should call "
            "gtmkit.reports.record_figures({...}) and carry that tag"
        )
    text = cell_stdout(tagged[-1]).strip()
    if not text:
        raise FiguresError("the figures cell has no output: was the notebook executed?")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FiguresError(
            "the figures cell printed something besides its JSON object: print nothing else "
            "in the cell tagged 'figures'"
        ) from exc
    if not isinstance(data, dict):
        raise FiguresError("the figures cell did not print a JSON object")
    return data
