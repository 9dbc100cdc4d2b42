"""The result at a glance: counts by status, and the first rows with their email's source,
verification, cost and why a row has no email — each status in its own colour.

Example:
    >>> import polars as pl
    >>> records = pl.DataFrame({"row_id": [0, 1], "email": ["a@x.io", None],
    ...     "email_source": ["hunter", None], "email_status": ["valid", None],
    ...     "credits": [1.0, 0.0], "cost_usd": [0.1, 0.0],
    ...     "status": ["enriched", "not_found"], "status_reason": [None, "no provider found one"]})
    >>> status_counts(records)
    {'enriched': 1, 'not_found': 1}
    >>> "Showing 2 of 2 rows" in preview_html(records)
    True
"""

from __future__ import annotations

from html import escape
from typing import Any

import polars as pl

from gtmkit.reports.wording import counted
from gtmkit.waterfall import STATUSES

__all__ = ["PREVIEW_COLUMNS", "STATUS_COLOURS", "preview_html", "status_counts"]

#: Colour of each status (text on a light chip): green found, amber stopped short, red failed.
STATUS_COLOURS: dict[str, str] = {
    "enriched": "#067647",
    "not_found": "#6b7280",
    "budget_exhausted": "#b54708",
    "failed": "#b42318",
    "manual": "#6941c6",
    "stopped": "#b54708",
    "duplicate": "#475467",
    "rejected": "#b42318",
}
#: What the preview shows of each row, when the list has it.
PREVIEW_COLUMNS: tuple[str, ...] = (
    "row_id", "status", "email", "email_source", "email_status", "credits", "cost_usd",
    "first_name", "last_name", "company_domain", "status_reason",
)  # fmt: skip


def status_counts(records: pl.DataFrame) -> dict[str, int]:
    """Rows per status, in the engine's status order."""
    counts = dict(records.group_by("status").len().iter_rows())
    return {s: int(counts[s]) for s in STATUSES if s in counts}


def _cell(column: str, value: Any) -> str:
    if value is None:
        return "<td></td>"
    if column == "status":
        colour = STATUS_COLOURS.get(str(value), "#344054")
        return (
            f"<td><span class='gtmkit-status' data-status='{escape(str(value))}' "
            f"style='color:{colour};border:1px solid {colour};border-radius:9px;"
            f"padding:0 6px;white-space:nowrap'>{escape(str(value))}</span></td>"
        )
    if column == "status_reason":
        return f"<td class='gtmkit-reason'>{escape(str(value))}</td>"
    if column == "cost_usd":
        return f"<td>${float(value):.2f}</td>"
    if column == "credits":
        return f"<td>{float(value):g}</td>"
    return f"<td>{escape(str(value))}</td>"


def preview_html(records: pl.DataFrame, *, limit: int = 50) -> str:
    """The counts line and an HTML table of the first ``limit`` rows."""
    columns = [c for c in PREVIEW_COLUMNS if c in records.columns]
    counts = status_counts(records)
    chips = " · ".join(
        f"<span style='color:{STATUS_COLOURS.get(s, '#344054')}'>{escape(s)} {n:,}</span>"
        for s, n in counts.items()
    )
    shown = records.head(limit)
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    rows = "".join(
        "<tr>" + "".join(_cell(c, row[c]) for c in columns) + "</tr>"
        for row in shown.select(columns).iter_rows(named=True)
    )
    return (
        f"<div class='gtmkit-preview-counts'><b>{counted(records.height, 'row')}</b>: {chips}</div>"
        f"<div class='gtmkit-preview-note'>Showing {shown.height:,} of "
        f"{counted(records.height, 'row')} "
        "(download for all of them).</div>"
        f"<div class='gtmkit-preview-scroll'><table class='gtmkit-preview'>"
        f"<tr>{head}</tr>{rows}</table></div>"
    )
