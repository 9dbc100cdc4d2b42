"""Charts as static images inside the report: PNG drawn by vl-convert (it bundles Vega, so no
network), embedded as base64 so the HTML file renders offline, in an email, and in the PDF.

Drawn at twice the size it is shown, so it stays sharp on a high-density screen and in print.

Example:
    >>> import altair as alt
    >>> import polars as pl
    >>> from gtmkit.reports.engagement.images import chart_img
    >>> chart = alt.Chart(pl.DataFrame({"a": [1, 2]})).mark_bar().encode(x="a:Q")
    >>> chart_img(chart, alt_text="two bars").startswith('<img class="chart" src="data:image/png')
    True
"""

from __future__ import annotations

import base64
import struct
from html import escape
from typing import Any

from gtmkit.errors import InvalidInput

__all__ = ["chart_img", "png_size"]

_SCALE = 2


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise InvalidInput("not a PNG image")
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def chart_img(chart: Any, *, alt_text: str) -> str:
    """An altair chart as an ``<img>`` with the PNG inline (``alt_text`` describes it)."""
    import vl_convert as vlc

    png: bytes = vlc.vegalite_to_png(chart.to_dict(), scale=_SCALE)
    width, height = png_size(png)
    data = base64.b64encode(png).decode("ascii")
    return (
        f'<img class="chart" src="data:image/png;base64,{data}" width="{width // _SCALE}" '
        f'height="{height // _SCALE}" alt="{escape(alt_text)}">'
    )
