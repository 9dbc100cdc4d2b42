"""Frames as a reader wants them in a notebook: a Great Tables table, not polars' own repr.

polars renders a frame for Jupyter with every string in quotes (``"apollo"``), a dtype row and
a shape line: right for a developer, noise for an analyst reading a comparison. :func:`table`
keeps the frame's values and order and changes only how they read: text as text, a missing
value as an em dash, floats to a fixed number of decimals, the columns named as shares in
percent and the columns named as money in dollars, and long frames cut with a note that says
how many rows there are. It returns the Great Tables object, which Jupyter, papermill and an
HTML export all render.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"provider": ["apollo", None], "hit_rate": [0.5833, 0.51],
    ...                       "usd_per_hit": [0.0857, 0.1]})
    >>> html = table(frame, percent=["hit_rate"], money=["usd_per_hit"]).as_raw_html()
    >>> "&quot;apollo&quot;" in html, "apollo" in html, "58.3%" in html, "$0.0857" in html
    (False, True, True, True)
    >>> "—" in html
    True
    >>> totals = pl.DataFrame({"lookups": [120.0], "usd": [6.0], "usd_per_credit": [0.0125]})
    >>> html = table(totals, money=["usd", "usd_per_credit"]).as_raw_html()
    >>> ">120<" in html, "$6.00" in html, "$0.0125" in html
    (True, True, True)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import polars as pl

from gtmkit.errors import InvalidInput

if TYPE_CHECKING:  # pragma: no cover
    from great_tables import GT

__all__ = ["MAX_ROWS", "table"]

#: rows shown before a table is cut (the note under it says how many there are)
MAX_ROWS = 30


def table(
    frame: pl.DataFrame,
    *,
    percent: Sequence[str] = (),
    money: Sequence[str] = (),
    decimals: int = 4,
    title: str | None = None,
    max_rows: int = MAX_ROWS,
) -> GT:
    """``frame`` as a readable table (see the module docstring); a ``percent`` or ``money``
    column the frame does not have is an :class:`~gtmkit.errors.InvalidInput`.

    Args:
        frame: any polars frame; nested values (lists, structs) are shown as text.
        percent: columns holding shares (0–1), shown as percentages to one decimal.
        money: columns holding US dollars: in cents when every value is whole cents, else
            with ``decimals`` places (a price per credit).
        decimals: places of the other float columns.
        title: a heading above the table.
        max_rows: rows shown; a note under the table gives the full count.
    """
    from great_tables import GT

    unknown = sorted((set(percent) | set(money)) - set(frame.columns))
    if unknown:
        raise InvalidInput(
            f"no column {', '.join(map(repr, unknown))} in this frame; it has "
            f"{', '.join(frame.columns)}"
        )
    shown = frame.head(max_rows)
    nested = [c for c, t in shown.schema.items() if t.is_nested() or t == pl.Object]
    if nested:  # Great Tables prints lists and structs as reprs: make them plain text
        shown = shown.with_columns(  # at most max_rows values each: plain Python is fine
            pl.Series(c, [_as_text(v) for v in shown[c].to_list()], dtype=pl.String) for c in nested
        )
    floats = [c for c, t in shown.schema.items() if t.is_float()]
    gt = GT(shown)
    if percent:
        gt = gt.fmt_percent(columns=list(percent), decimals=1)
    for column in money:  # whole cents read as cents; a price per credit keeps its places
        places = 2 if _whole_cents(shown[column]) else decimals
        gt = gt.fmt_currency(columns=[column], currency="USD", decimals=places)
    others = [c for c in floats if c not in percent and c not in money]
    if others:  # 120.0 reads as 120, 0.40431 as 0.4043
        gt = gt.fmt_number(columns=others, decimals=decimals, drop_trailing_zeros=True)
    gt = gt.sub_missing(missing_text="—")
    if title:
        gt = gt.tab_header(title=title)
    if frame.height > shown.height:
        gt = gt.tab_source_note(f"First {shown.height:,} of {frame.height:,} rows.")
    return gt.tab_options(table_font_size="13px", data_row_padding="3px",
                          table_margin_left="0px")  # fmt: skip


def _whole_cents(values: pl.Series) -> bool:
    cents = values.drop_nulls().cast(pl.Float64) * 100
    return bool(((cents - cents.round()).abs() < 1e-9).all())


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join("—" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)
