"""Cell cleaning shared by every field: trim, collapse whitespace, NFC, blank to null."""

from __future__ import annotations

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


# Printable ASCII with single inner spaces needs no cleaning; anything else (non-ASCII for
# NFC, control or odd whitespace, edge or double spaces, empty) goes through clean_expr.
_NEEDS_CLEANING = r"[^\x20-\x7e]|^ | $|  |^$"


def clean_values(values: pl.Series) -> pl.Series:
    """:func:`clean_expr` applied only where a cheap check says it can change something.

    Example:
        >>> clean_values(pl.Series([" Ann  Lee ", "Bob", "", "Jose\u0301"])).to_list()
        ['Ann Lee', 'Bob', None, 'José']
    """
    rows = values.str.contains(_NEEDS_CLEANING).fill_null(False).arg_true()
    if rows.len() == 0:
        return values
    fixed = pl.select(clean_expr(pl.lit(values.gather(rows)))).to_series()
    return values.scatter(rows, fixed)
