"""Render an executed notebook as a static page a client can open offline: no code, no prompts,
charts as embedded images, no script fetched from a CDN.

Example:
    >>> from nbformat.v4 import new_code_cell, new_notebook, new_output
    >>> from gtmkit.reports.export import to_html
    >>> cell = new_code_cell("print('coverage 84%')")
    >>> cell.outputs = [new_output("stream", name="stdout", text="coverage 84%\\n")]
    >>> html = to_html(new_notebook(cells=[cell]))
    >>> "coverage 84%" in html, "print(" in html
    (True, False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = ["to_html"]


def to_html(nb: NotebookNode) -> str:
    """The notebook as one HTML page without its code (see the module docstring)."""
    from nbconvert import HTMLExporter

    # Code hidden; no MathJax/require.js/mermaid from a CDN (a report must render offline).
    exporter = HTMLExporter(
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        mathjax_url="",
        require_js_url="",
        mermaid_js_url="",
    )
    body, _ = exporter.from_notebook_node(nb)
    return str(body)
