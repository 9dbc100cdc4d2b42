"""Cell cleaning shared by every field: trim, collapse whitespace, NFC, blank to null."""

from __future__ import annotations

import unicodedata

import polars as pl

_INVISIBLE = r"[\u200b\u200c\u200d\u2060\ufeff]"


def clean_expr(expr: pl.Expr) -> pl.Expr:
    """Trim, collapse inner whitespace, drop invisible characters, NFC; blank becomes null."""
    text = (
        expr.str.replace_all(_INVISIBLE, "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ")
        .str.normalize("NFC")
    )
    return pl.when(text.str.len_bytes() > 0).then(text)


# Anything but single inner spaces: doubled, leading or trailing whitespace, whitespace other
# than a plain space, invisible characters.
_SPACING = r"\s\s|[^\S ]|^\s|\s$|" + _INVISIBLE


def clean_values(values: pl.Series) -> pl.Series:
    """:func:`clean_expr`, done only where a cheap check says it can change something.

    Spacing is fixed on the rows whose spacing is off; NFC runs only on non-ASCII values
    that Python's ``unicodedata.is_normalized`` says are not NFC already.

    Example:
        >>> clean_values(pl.Series([" Ann  Lee ", "Bob", "", "Jose\u0301"])).to_list()
        ['Ann Lee', 'Bob', None, 'José']
    """
    spacing = (values.str.contains(_SPACING) | (values.str.len_bytes() == 0)).fill_null(False)
    rows = spacing.arg_true()
    if rows.len():
        text = (
            pl.lit(values.gather(rows))
            .str.replace_all(_INVISIBLE, "")
            .str.replace_all(r"\s+", " ")
            .str.strip_chars(" ")
        )
        fixed = pl.select(pl.when(text.str.len_bytes() > 0).then(text)).to_series()
        values = values.scatter(rows, fixed)
    wide = (values.str.len_bytes() != values.str.len_chars()).fill_null(False).arg_true()
    if wide.len():
        candidates = values.gather(wide)
        composed = pl.Series(
            [unicodedata.is_normalized("NFC", v) for v in candidates.to_list()], dtype=pl.Boolean
        )
        if not composed.all():
            values = values.scatter(
                wide.filter(~composed), candidates.filter(~composed).str.normalize("NFC")
            )
    return values
