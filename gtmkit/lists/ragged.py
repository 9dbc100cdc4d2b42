"""Ragged rows: rows with more or fewer fields than the header, kept and aligned.

A row with more fields than the header is usually a value holding an unquoted delimiter
(``Acme, Inc.`` in a comma-separated file); a row with fewer is usually a value left out.
Each such row is kept. Where the fields' shapes say how it lines up -- the email lands in
the email column, a URL in the website column, a piece starting with a space is the rest of
the value before it -- it is aligned; otherwise its extra values stay in ``extra_field_*``
columns. What was done is returned as notes for :attr:`SourceInfo.notes`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

import polars as pl

_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_URLISH = re.compile(r"^(?:https?://)?(?:www\.)?[\w-]+(?:\.[\w-]+)+(?:[/?#]\S*)?$", re.I)
_SHAPED = re.compile(r"@|^(?:https?://|www\.)", re.I)
# Rows are aligned one by one in Python: past this many, the extra values are kept as they are.
MAX_ALIGNED_ROWS = 50_000


def _fit(field: str | None, value: str | None) -> int:
    """+1: the value has its column's shape; -1: it plainly has another column's; 0: no say."""
    text = (value or "").strip()
    if not text:
        return 0
    if field == "email":
        return 1 if _EMAIL.match(text) else -1
    if field == "linkedin_url":
        return 1 if "linkedin." in text.lower() else -1
    if field in ("website", "company_domain"):
        return 1 if _URLISH.match(text) and "@" not in text else -1
    if field == "phone":
        digits = sum(ch.isdigit() for ch in text)
        return 1 if digits >= 6 and digits >= 0.6 * len(text.replace(" ", "")) else -1
    return -1 if _SHAPED.search(text) else 0


def _score(fields: Sequence[str | None], cells: Sequence[str | None]) -> int:
    return sum(_fit(f, c) for f, c in zip(fields, cells, strict=False))


def _best(
    options: list[tuple[tuple[int, int], int, list[str | None]]],
    baseline: int,
    *,
    latest_on_tie: bool = False,
) -> tuple[int, list[str | None]] | None:
    """The one option that beats the row as it is: a better fit, or as good a fit with a
    piece that starts with a space. Ties between options mean the shapes cannot say, unless
    ``latest_on_tie``: then the values before the gap stay where they are (a missing value is
    put as late as the shapes allow)."""
    if not options:
        return None
    options.sort(key=lambda o: (o[0], o[1] if latest_on_tie else 0), reverse=True)
    top = options[0]
    fit, spaced = top[0]
    if not (fit > baseline or (fit == baseline and spaced > 0)):
        return None
    if not latest_on_tie and len(options) > 1 and options[1][0] == top[0]:
        return None
    return top[1], top[2]


def _merged(cells: list[str | None], width: int, delimiter: str, fields: Sequence[str | None]):  # type: ignore[no-untyped-def]
    extra = len(cells) - width
    baseline = _score(fields, cells[:width])
    options = []
    for at in range(width):
        pieces = cells[at : at + extra + 1]
        joined = delimiter.join(p or "" for p in pieces)
        candidate = [*cells[:at], joined, *cells[at + extra + 1 :]]
        spaced = sum(1 for p in pieces[1:] if p and p[:1].isspace())
        options.append(((_score(fields, candidate), spaced), at, candidate))
    return _best(options, baseline)


def _padded(cells: list[str | None], width: int, fields: Sequence[str | None]):  # type: ignore[no-untyped-def]
    used = len(cells)
    while used and not (cells[used - 1] or "").strip():
        used -= 1
    missing = width - used
    if missing <= 0:
        return None
    baseline = _score(fields, cells)
    options = []
    for at in range(used + 1):
        candidate = [*cells[:at], *([None] * missing), *cells[at:used]]
        options.append(((_score(fields, candidate), 0), at, candidate))
    return _best(options, baseline, latest_on_tie=True)


def _rows(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids[:10]) + (" ..." if len(ids) > 10 else "")


def align_ragged(
    raw: pl.DataFrame,
    headers: Sequence[str],
    overflow: Sequence[str],
    field_of: Mapping[str, str],
    delimiter: str | None,
) -> tuple[pl.DataFrame, list[str]]:
    """Align the ragged rows of ``raw`` (header columns, then ``overflow`` columns).

    Returns the frame (same columns; overflow columns emptied on rows that were aligned,
    then dropped where nothing is left in them) and notes saying what was done.

    Example:
        >>> raw = pl.DataFrame({"Name": ["Ann Lee"], "Company": ["Acme"],
        ...                     "Email": [" Inc."], "extra_field_1": ["ann@acme.com"]})
        >>> fixed, notes = align_ragged(raw, ["Name", "Company", "Email"], ["extra_field_1"],
        ...                             {"Name": "full_name", "Email": "email"}, ",")
        >>> fixed.row(0)
        ('Ann Lee', 'Acme, Inc.', 'ann@acme.com', None)
        >>> print(notes[0][:60])
        1 row(s) had more fields than the header: 1 realigned by joi
    """
    fields = [field_of.get(h) for h in headers]
    width = len(headers)
    notes: list[str] = []
    long_rows = (
        raw.select(pl.any_horizontal(pl.col(c).is_not_null() for c in overflow)).to_series()
        if overflow
        else pl.Series([False] * raw.height)
    )
    short_rows = _short_candidates(raw, headers, fields)
    fixes: dict[int, list[str | None]] = {}
    for kind, mask, align in (
        ("more", long_rows, lambda cells: _merged(cells, width, delimiter or ",", fields)),
        ("fewer", short_rows, lambda cells: _padded(cells[:width], width, fields)),
    ):
        ids = mask.arg_true().to_list()
        if not ids:
            continue
        aligned, kept = _align(raw, ids, headers, overflow, align, fixes, width)
        what = f"{len(ids):,} row(s) had {kind} fields than the header"
        if kind == "more":
            done = []
            if aligned:
                done.append(
                    f"{len(aligned):,} realigned by joining values split by an unquoted "
                    f"{delimiter or ','!r} (row_id {_rows(aligned)})"
                )
            if kept:
                done.append(
                    f"{len(kept):,} kept with the values past the header in extra_field_* "
                    f"columns (row_id {_rows(kept)}); check the delimiter and quoting"
                )
        else:
            if not aligned:
                continue  # a row ending early with its values in place needs no note
            done = [f"{len(aligned):,} realigned past a missing value (row_id {_rows(aligned)})"]
        notes.append(f"{what}: {'; '.join(done)}.")
    if not fixes:
        return raw, notes
    order = sorted(fixes)
    index = pl.Series(order, dtype=pl.UInt32)
    columns = [*headers, *overflow]
    updated = []
    for position, name in enumerate(columns):
        values = [fixes[i][position] if position < len(fixes[i]) else None for i in order]
        updated.append(raw.get_column(name).scatter(index, pl.Series(values, dtype=pl.String)))
    return pl.DataFrame(updated), notes


def _align(
    raw: pl.DataFrame,
    ids: list[int],
    headers: Sequence[str],
    overflow: Sequence[str],
    align: Callable[[list[str | None]], tuple[int, list[str | None]] | None],
    fixes: dict[int, list[str | None]],
    width: int,
) -> tuple[list[int], list[int]]:
    aligned: list[int] = []
    kept: list[int] = []
    if len(ids) > MAX_ALIGNED_ROWS:
        return [], ids
    rows = raw.select(*headers, *overflow)[ids].rows()
    for row_id, row in zip(ids, rows, strict=True):
        cells = list(row)
        while len(cells) > width and cells[-1] is None:
            cells.pop()
        choice = align(cells)
        if choice is None:
            kept.append(row_id)
            continue
        aligned.append(row_id)
        fixes[row_id] = choice[1] + [None] * len(overflow)
    return aligned, kept


def _short_candidates(
    raw: pl.DataFrame, headers: Sequence[str], fields: Sequence[str | None]
) -> pl.Series:
    """Rows that may have lost a value: the last column is empty and an email or LinkedIn
    URL sits left of its own column, which does not hold one (cheap literal checks)."""
    conditions = []
    for field, mark in (("email", "@"), ("linkedin_url", "linkedin.")):
        if field not in fields:
            continue
        at = fields.index(field)
        if at == 0:
            continue
        own = pl.col(headers[at]).str.contains(mark, literal=True).fill_null(False)
        left = pl.any_horizontal(
            pl.col(h).str.contains(mark, literal=True).fill_null(False) for h in headers[:at]
        )
        conditions.append(~own & left)
    if not conditions or len(headers) < 2:
        return pl.Series([False] * raw.height)
    last = pl.col(headers[-1]).is_null()
    return raw.select((last & pl.any_horizontal(conditions)).alias("short")).to_series()
