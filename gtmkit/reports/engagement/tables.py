"""Tables of the engagement report, rendered by Great Tables (``polars.DataFrame.style``).

Every cell arrives already written by :mod:`~gtmkit.reports.engagement.numbers` (money as
money, shares as percentages, counts with separators) and HTML-escaped, so a figure in a table
reads exactly as it does in a sentence; Great Tables lays it out (headings, alignment, notes).
Tables get a fixed id so the same report renders the same bytes.

Example:
    >>> import polars as pl
    >>> from gtmkit.reports.engagement.tables import cell, table_html
    >>> frame = pl.DataFrame({"Source": [cell("Hunter & co")], "Spend": ["$75.50"]})
    >>> html = table_html(frame, table_id="t", numeric=["Spend"])
    >>> "Hunter &amp; co" in html, "$75.50" in html, "shape:" in html
    (True, True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import polars as pl

__all__ = ["cell", "table_html"]

#: The report's table look: quiet rules, the report's font, compact rows.
_OPTIONS = {
    "table_font_names": ["Liberation Sans", "DejaVu Sans", "Helvetica", "Arial", "sans-serif"],
    "table_font_size": "14px",
    "heading_title_font_size": "15px",
    "heading_align": "left",
    "column_labels_font_weight": "bold",
    "column_labels_background_color": "#f3f6f9",
    "data_row_padding": "5px",
    "source_notes_font_size": "12px",
    "table_border_top_color": "#1f5f8b",
    "table_margin_left": "0px",
}


def cell(text: object) -> str:
    """Plain text made safe to place in a table cell (``None`` reads as an em dash)."""
    return "—" if text is None else escape(str(text))


def table_html(
    frame: pl.DataFrame,
    *,
    table_id: str,
    numeric: Sequence[str] = (),
    title: str | None = None,
    notes: Sequence[str] = (),
) -> str:
    """A frame of ready-written cells (strings, HTML-safe) as a Great Tables table.

    Args:
        frame: one column per table column, named as the header reads; every value a string
            already formatted and escaped (see :func:`cell` and ``numbers``).
        table_id: the table's HTML id (stable, so a report's bytes are reproducible).
        numeric: columns aligned right (figures).
        title: a heading above the table.
        notes: source notes under the table (plain text, escaped here).
    """
    from great_tables import GT, html

    data = frame.with_columns(pl.all().cast(pl.String).fill_null("—"))
    gt = GT(data, id=table_id).fmt(lambda value: value, columns=data.columns)
    gt = gt.cols_align("left", columns=[c for c in data.columns if c not in numeric])
    if numeric:
        gt = gt.cols_align("right", columns=list(numeric))
    if title:
        gt = gt.tab_header(title=title)
    for note in notes:
        gt = gt.tab_source_note(html(escape(note)))
    gt = gt.tab_options(**_OPTIONS)  # type: ignore[arg-type]
    return str(gt.as_raw_html())
