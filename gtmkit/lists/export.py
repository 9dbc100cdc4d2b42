"""Write frames to CSV that is safe to open in a spreadsheet."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from gtmkit.lists.load import LoadedList

#: A cell starting with one of these is run as a formula by Excel, LibreOffice or Sheets.
FORMULA_TRIGGERS: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralize_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with ``'``.

    The value stays readable (``'=SUM(A1)`` shows as text); non-text columns are untouched.

    Example:
        >>> frame = pl.DataFrame({"note": ["=HYPERLINK(\\"x\\")", "ok", "+1 415", None]})
        >>> neutralize_formulas(frame)["note"].to_list()
        ['\\'=HYPERLINK("x")', 'ok', "'+1 415", None]
    """
    pattern = r"^[=+\-@\t\r]"  # FORMULA_TRIGGERS as a character class
    text = [c for c, t in frame.schema.items() if t == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(pattern))
        .then(pl.lit("'") + pl.col(c))
        .otherwise(pl.col(c))
        .alias(c)
        for c in text
    )


def export_csv(frame: pl.DataFrame | LoadedList, path: str | Path, *, bom: bool = False) -> Path:
    """Write ``frame`` (or a LoadedList's records) as CSV with formula injection neutralized.

    Args:
        frame: The frame to write; a :class:`~gtmkit.lists.load.LoadedList` writes its
            ``records``.
        path: Destination file; parent folders are created.
        bom: Start the file with a UTF-8 byte-order mark so old Excel versions pick UTF-8.

    Returns:
        The path written.
    """
    if not isinstance(frame, pl.DataFrame):
        frame = frame.records
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    neutralize_formulas(frame).write_csv(target, include_bom=bom)
    return target
