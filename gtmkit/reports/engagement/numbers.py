"""How a figure is written in a client report: money as money, shares as percentages, counts
with thousands separators, intervals as ranges.

Every table cell, sentence and chart caption of the engagement report goes through these
functions, so one figure reads the same wherever it appears (the report's tests parse the HTML
and check it). A missing value is an em dash, never ``None`` or ``NaN``.

Example:
    >>> from gtmkit.reports.engagement.numbers import count, money, percent, share_range
    >>> count(1921), money(132.18), money(0.0688), percent(0.85945)
    ('1,921', '$132.18', '$0.069', '85.9%')
    >>> share_range(0.843, 0.874)
    '84.3–87.4%'
    >>> money(None), percent(float("nan"))
    ('—', '—')
"""

from __future__ import annotations

import math
from html import escape

__all__ = ["MISSING", "count", "figure_span", "money", "percent", "share_range"]

#: What a value that is not known reads as.
MISSING = "—"


def _known(value: float | int | None) -> bool:
    return value is not None and not (isinstance(value, float) and not math.isfinite(value))


def count(value: float | int | None) -> str:
    """A whole number with thousands separators (``1,921``)."""
    if not _known(value):
        return MISSING
    assert value is not None
    return f"{round(value):,}"


def money(value: float | int | None) -> str:
    """Dollars: cents for a dollar and more (``$132.18``), three decimals below a dollar, where
    prices per record live (``$0.069``)."""
    if not _known(value):
        return MISSING
    assert value is not None
    amount = float(value)
    if amount != 0 and abs(amount) < 1:
        return f"-${abs(amount):,.3f}" if amount < 0 else f"${amount:,.3f}"
    return f"-${abs(amount):,.2f}" if amount < 0 else f"${amount:,.2f}"


def percent(value: float | int | None, *, decimals: int = 1) -> str:
    """A share as a percentage (``0.85945`` → ``85.9%``)."""
    if not _known(value):
        return MISSING
    assert value is not None
    return f"{float(value) * 100:.{decimals}f}%"


def share_range(low: float | None, high: float | None) -> str:
    """A 95 % interval of a share as one range (``84.3–87.4%``)."""
    if not (_known(low) and _known(high)):
        return MISSING
    assert low is not None and high is not None
    return f"{percent(low)[:-1]}–{percent(high)}"


def figure_span(name: str, text: str) -> str:
    """``text`` marked as the report figure ``name``: a figure that appears in several places
    carries the same mark each time, so a test can check every copy reads the same.

    Example:
        >>> figure_span("coverage", "85.9%")
        '<span class="figure" data-figure="coverage">85.9%</span>'
    """
    return f'<span class="figure" data-figure="{escape(name)}">{escape(text)}</span>'
