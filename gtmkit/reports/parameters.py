"""A notebook's parameters: the names its ``parameters`` cell assigns, and which values the
report runner accepts for them.

The runner refuses, before anything runs:

* a name the notebook does not know (papermill would inject it anyway and the notebook would
  silently ignore it: a typo such as ``budget_credit`` would run with the default budget);
* a name that looks like a credential (``api_key``, ``token``, ``password``...): papermill writes
  every parameter in plain text into the output notebook, so keys come from the environment.

Example:
    >>> from nbformat.v4 import new_code_cell, new_notebook
    >>> from gtmkit.reports.parameters import check_parameters, notebook_parameters
    >>> cell = new_code_cell('path = "data/x.csv"  # the list\\nbudget = 50.0',
    ...                      metadata={"tags": ["parameters"]})
    >>> nb = new_notebook(cells=[cell])
    >>> [(p.name, p.default, p.help) for p in notebook_parameters(nb).values()]
    [('path', '"data/x.csv"', 'the list'), ('budget', '50.0', '')]
    >>> check_parameters(nb, {"budget": 10})
    >>> check_parameters(nb, {"budjet": 10})
    Traceback (most recent call last):
    ...
    gtmkit.reports.errors.ReportParameterError: unknown notebook parameter(s) ['budjet']; ...
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gtmkit.reports.errors import ReportParameterError
from gtmkit.reports.leaks import SECRET_PARAMETER_NAME
from gtmkit.reports.notebook import read_notebook

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = [
    "PARAMETERS_TAG",
    "NotebookParameter",
    "check_parameters",
    "notebook_parameters",
    "parse_value",
]

#: Cell tag papermill injects parameters after (one per notebook).
PARAMETERS_TAG = "parameters"


@dataclass(frozen=True, slots=True)
class NotebookParameter:
    """One name the ``parameters`` cell assigns: its default as source text and the comment
    that follows it on the line (the parameter's help)."""

    name: str
    default: str
    help: str = ""


def _targets(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, (ast.Tuple, ast.List)):
        return [name for element in node.elts for name in _targets(element)]
    return []  # attribute or subscript assignments are not parameters


def _help(lines: list[str], node: ast.stmt) -> str:
    end = getattr(node, "end_lineno", None)
    end_col = getattr(node, "end_col_offset", None)
    if end is None or end_col is None:
        return ""
    rest = lines[end - 1][end_col:].strip()
    return rest[1:].strip() if rest.startswith("#") else ""


def notebook_parameters(
    notebook: str | os.PathLike[str] | NotebookNode,
) -> dict[str, NotebookParameter]:
    """The parameters a notebook's cell tagged ``parameters`` defines, in order.

    Raises:
        ReportParameterError: the cell is not plain Python (it cannot be read).
    """
    nb = read_notebook(notebook)
    cells = [c for c in nb.cells if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])]
    found: dict[str, NotebookParameter] = {}
    for cell in cells:
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        try:
            tree = ast.parse(source)
        except SyntaxError as exc:
            raise ReportParameterError(
                f"the notebook's parameters cell is not valid Python (line {exc.lineno}): fix "
                "it so papermill can inject parameters after it"
            ) from None
        lines = source.splitlines()
        for node in tree.body:
            if isinstance(node, ast.Assign):
                targets = [name for target in node.targets for name in _targets(target)]
                value = node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                targets, value = _targets(node.target), node.value
            else:
                continue
            default = ast.get_source_segment(source, value) or ""
            for name in targets:
                found[name] = NotebookParameter(name, default, _help(lines, node))
    return found


def check_parameters(
    notebook: str | os.PathLike[str] | NotebookNode, parameters: Mapping[str, Any]
) -> None:
    """Refuse credential-like parameter names, then names the notebook does not define.

    Raises:
        ReportParameterError: with what to do (use environment variables for keys; the list
            of known names for a typo).
    """
    secret_names = sorted(name for name in parameters if SECRET_PARAMETER_NAME.search(name))
    if secret_names:
        raise ReportParameterError(
            f"refusing notebook parameters {secret_names}: papermill writes parameters in plain "
            "text into the output notebook. Put API keys in environment variables (e.g. "
            "HUNTER_API_KEY) or a git-ignored .env instead."
        )
    known = notebook_parameters(notebook)
    unknown = sorted(name for name in parameters if name not in known)
    if unknown:
        defined = ", ".join(sorted(known)) if known else "nothing (no cell tagged 'parameters')"
        raise ReportParameterError(
            f"unknown notebook parameter(s) {unknown}; the notebook's parameters cell defines: "
            f"{defined}"
        )


def parse_value(text: str) -> Any:
    """A ``-p`` value as papermill's CLI reads it: JSON when it parses (numbers, lists,
    true/false/null), else the plain string.

    Example:
        >>> parse_value("50"), parse_value('["hunter", "pdl"]'), parse_value("data/x.csv")
        (50, ['hunter', 'pdl'], 'data/x.csv')
    """
    try:
        return json.loads(text)
    except ValueError:
        return text
