"""How a dry run and a sync read in a notebook: plain HTML tables a person can scan (no dtypes,
no quotes, an empty value left blank, each field change on its own line, the action in
colour), with a few rows of every action rather than the first twenty creates.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"row_id": [0, 1], "action": ["create", "skip"],
    ...                       "changes": ["a: ∅ → 'x'; b: ∅ → 'y'", ""]})
    >>> html = Table(frame, caption="Two records")._repr_html_()
    >>> "a: ∅ → &#x27;x&#x27;<br>b: ∅ → &#x27;y&#x27;" in html, ">Two records</caption>" in html
    (True, True)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import polars as pl

__all__ = ["Table", "preview"]

_COLOURS = {
    "create": "#1a7f37",
    "update": "#0550ae",
    "skip": "#6e7781",
    "written": "#1a7f37",
    "skipped": "#6e7781",
    "failed": "#cf222e",
}
_STYLE = (
    "border-collapse:collapse;font-size:13px;margin:4px 0 12px 0;"
    "font-family:system-ui,-apple-system,'Segoe UI',sans-serif"
)
_CELL = "border-bottom:1px solid #d0d7de;padding:3px 10px;text-align:left;vertical-align:top"


def preview(
    frame: pl.DataFrame, *, by: str = "action", per: int = 6, first: Sequence[str] = ()
) -> pl.DataFrame:
    """A few rows of each value of ``by``: those in ``first`` first, then the others in the
    order they appear."""
    if frame.is_empty() or by not in frame.columns:
        return frame.head(per)
    present = list(dict.fromkeys(frame[by].to_list()))
    order = [v for v in first if v in present] + [v for v in present if v not in first]
    parts = [frame.filter(pl.col(by) == value).head(per) for value in order]
    return pl.concat(parts)


class Table:
    """A frame as a readable HTML table (``_repr_html_``), at most ``limit`` rows shown.

    Args:
        frame: what to show.
        columns: which columns, in order (default: all).
        caption: a line above the table.
        limit: rows shown; the caption says how many more there are.
    """

    def __init__(
        self,
        frame: pl.DataFrame,
        *,
        columns: Sequence[str] | None = None,
        caption: str | None = None,
        limit: int = 30,
    ) -> None:
        self.frame = frame.select(columns) if columns else frame
        self.caption = caption
        self.limit = limit

    def __repr__(self) -> str:
        return f"Table({self.frame.height} rows × {self.frame.width} columns)"

    def _repr_html_(self) -> str:
        shown = self.frame.head(self.limit)
        more = self.frame.height - shown.height
        caption = self.caption or ""
        if more > 0:
            caption += f" (first {shown.height} of {self.frame.height} rows)"
        head = "".join(f'<th style="{_CELL}">{html.escape(c)}</th>' for c in shown.columns)
        body = "".join(
            "<tr>" + "".join(_cell(c, v) for c, v in row.items()) + "</tr>"
            for row in shown.iter_rows(named=True)
        )
        cap = (
            f'<caption style="text-align:left;padding:2px 0">{html.escape(caption)}</caption>'
            if caption
            else ""
        )
        return f'<table style="{_STYLE}">{cap}<tr>{head}</tr>{body}</table>'


def _cell(column: str, value: Any) -> str:
    if value is None:
        return f'<td style="{_CELL}"></td>'
    text = html.escape(str(value))
    if column == "changes":
        text = text.replace("; ", "<br>")
    colour = _COLOURS.get(str(value)) if column in ("action", "status") else None
    style = f"{_CELL};color:{colour};font-weight:600" if colour else _CELL
    return f'<td style="{style}">{text}</td>'
