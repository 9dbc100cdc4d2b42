"""What was synced where, from a sync ledger: the figures an engagement report shows.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.sync.sqlite"
    >>> summary(path).columns
    ['destination', 'object', 'records', 'created', 'updated', 'failed_pending', 'last_write']
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from gtmkit.sync.ledger import SyncLedger

__all__ = ["SUMMARY_SCHEMA", "summary"]

SUMMARY_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "destination": pl.String,
    "object": pl.String,
    "records": pl.Int64,
    "created": pl.Int64,
    "updated": pl.Int64,
    "failed_pending": pl.Int64,
    "last_write": pl.String,
}


def summary(ledger_path: str | Path) -> pl.DataFrame:
    """One row per destination object: records in it now (synced), creates and updates ever
    made, records still failed (kept for retry), and the time of the last write (UTC).

    A ledger that does not exist yet is an empty frame (nothing was synced).
    """
    path = Path(ledger_path)
    if not path.exists():
        return pl.DataFrame(schema=SUMMARY_SCHEMA)
    with SyncLedger(path) as led:
        writes = led.writes()
        failed = led.failed()
    if writes.is_empty():
        return pl.DataFrame(schema=SUMMARY_SCHEMA)
    per = (
        writes.group_by("destination", "object")
        .agg(
            pl.col("record_key")
            .filter(pl.col("action") != "failed")
            .n_unique()
            .cast(pl.Int64)
            .alias("records"),
            (pl.col("action") == "create").sum().cast(pl.Int64).alias("created"),
            (pl.col("action") == "update").sum().cast(pl.Int64).alias("updated"),
            pl.col("at").max().alias("last_write"),
        )
        .join(
            failed.group_by("destination", "object").len("failed_pending"),
            on=["destination", "object"],
            how="left",
        )
        .with_columns(pl.col("failed_pending").fill_null(0).cast(pl.Int64))
    )
    return per.select(list(SUMMARY_SCHEMA)).sort("destination", "object")
