"""``gtmkit.display.table``: what an analyst reads in a notebook is the frame's values, written
for people — no quotes, nulls as a dash, long frames cut with the full count, nested values as
text — and a column that is not there is a clear error."""

from __future__ import annotations

import html as html_module
import re

import polars as pl
import pytest

from gtmkit.display import table


def _cells(html: str) -> list[str]:
    body = html.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    cells = re.findall(r"<td[^>]*>.*?</td>", body, re.S)
    return [html_module.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


def test_values_read_as_written_for_people() -> None:
    frame = pl.DataFrame({"provider": ["apollo", "hunter"], "hit_rate": [0.5833, None],
                          "jaccard": [0.40431, 1.0], "orders": [["a", "b"], []],
                          "meta": [{"k": 1}, None]})  # fmt: skip
    cells = _cells(table(frame, percent=["hit_rate"]).as_raw_html())
    assert cells[:5] == ["apollo", "58.3%", "0.4043", "a, b", '{"k": 1}']
    assert cells[5:] == ["hunter", "—", "1", "", "—"]


def test_a_long_frame_is_cut_and_says_how_long_it_is() -> None:
    html = table(pl.DataFrame({"n": list(range(45))}), max_rows=10).as_raw_html()
    assert len(_cells(html)) == 10 and "First 10 of 45 rows." in html


def test_a_column_that_is_not_there_is_named() -> None:
    with pytest.raises(ValueError, match="no column 'usd' in this frame; it has n"):
        table(pl.DataFrame({"n": [1]}), money=["usd"])
