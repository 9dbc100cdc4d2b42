"""What was synced where, from a sync ledger: the figures an engagement report shows.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.sync.sqlite"
    >>> summary(path).columns
    ['destination', 'object', 'records', 'created', 'updated', 'failed_pending', 'last_write']
    >>> from gtmkit.sync.ledger import SyncLedger
    >>> with SyncLedger(path) as led:
    ...     led.record_success("hubspot", "contacts", [("email:a@x.io", "1", {}, "create")])
    >>> synced_sentence(path)
    'Synced to HubSpot: 1 contact created (last write 20...'
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from gtmkit.sync.ledger import SyncLedger

__all__ = ["SUMMARY_SCHEMA", "summary", "synced_sentence"]

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


_VENDORS = {
    "hubspot": "HubSpot",
    "salesforce": "Salesforce",
    "outreach": "Outreach",
    "salesloft": "Salesloft",
}
_OBJECTS = {
    "contacts": ("contact", "contacts"),
    "Lead": ("Lead", "Leads"),
    "Contact": ("Contact", "Contacts"),
    "prospects": ("prospect", "prospects"),
    "people": ("person", "people"),
}


def synced_sentence(ledger_path: str | Path | None) -> str | None:
    """What was synced where, in one sentence for a client report; ``None`` when nothing was
    (no ledger, or an empty one).

    ``Synced to HubSpot: 243 contacts created, 25 updated (last write 2026-12-03); 17 Salesforce
    Leads wait for a retry.``
    """
    if ledger_path is None:
        return None
    table = summary(ledger_path)
    if table.is_empty():
        return None
    done: list[str] = []
    pending: list[str] = []
    for row in table.iter_rows(named=True):
        vendor = _VENDORS.get(row["destination"], row["destination"])
        one, many = _OBJECTS.get(row["object"], (row["object"], row["object"]))
        noun = one if row["created"] == 1 else many
        parts = [f"{row['created']:,} {noun} created"]
        if row["updated"]:
            parts.append(f"{row['updated']:,} updated")
        done.append(f"{vendor}: {', '.join(parts)} (last write {str(row['last_write'])[:10]})")
        if row["failed_pending"]:
            waiting = one if row["failed_pending"] == 1 else many
            verb = "waits" if row["failed_pending"] == 1 else "wait"
            pending.append(f"{row['failed_pending']:,} {vendor} {waiting} {verb} for a retry")
    sentence = "Synced to " + "; ".join(done)
    return sentence + ("; " + "; ".join(pending) if pending else "") + "."
