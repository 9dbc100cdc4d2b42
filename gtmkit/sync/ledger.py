"""The sync ledger: what was written where, with the destination's ids, and what failed and why.

One SQLite file beside the run's ledger (:func:`sync_ledger_path`: ``data/ledger.sqlite`` →
``data/ledger.sync.sqlite``). Every batch's outcomes are committed in one transaction
(``BEGIN IMMEDIATE``, WAL journal), so a crash leaves either all of a batch's rows or none.

Tables:

* ``synced``: one row per (destination, object, record key): the destination id and the
  fingerprint of the properties last written. A later sync with the same fingerprint writes
  nothing; a changed value is one update.
* ``failed``: records whose write failed, with the reason and the properties that were meant
  to be written, until a later sync writes them (then the row is removed). Each keeps every
  match key of its record (``match_keys``), so a record written later under another key (its
  email fixed after HubSpot refused it) clears its old failure.
* ``writes``: every create/update/failure as it happened (what :func:`gtmkit.sync.summary`
  reports).

Only record keys, destination ids, property values and reasons are stored: never a token.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.sync.sqlite"
    >>> with SyncLedger(path) as led:
    ...     led.record_success("hubspot", "contacts", [("email:a@x.io", "101", {"email": "a@x.io"}, "create")])
    ...     led.synced("hubspot", "contacts")["email:a@x.io"].dest_id
    '101'
"""  # noqa: E501

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import polars as pl

from gtmkit.sync.errors import SyncError

__all__ = ["SyncLedger", "Synced", "fingerprint", "sync_ledger_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS synced (
    destination TEXT NOT NULL, object TEXT NOT NULL, record_key TEXT NOT NULL,
    dest_id TEXT NOT NULL, fingerprint TEXT NOT NULL, properties TEXT NOT NULL,
    synced_at TEXT NOT NULL,
    PRIMARY KEY (destination, object, record_key)
);
CREATE TABLE IF NOT EXISTS failed (
    destination TEXT NOT NULL, object TEXT NOT NULL, record_key TEXT NOT NULL,
    kind TEXT NOT NULL, reason TEXT NOT NULL, properties TEXT NOT NULL,
    attempts INTEGER NOT NULL, failed_at TEXT NOT NULL, match_keys TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (destination, object, record_key)
);
CREATE TABLE IF NOT EXISTS writes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, destination TEXT NOT NULL, object TEXT NOT NULL,
    record_key TEXT NOT NULL, dest_id TEXT, action TEXT NOT NULL, reason TEXT, at TEXT NOT NULL
);
"""


def sync_ledger_path(run_ledger: str | Path) -> Path:
    """The sync ledger that sits beside a run's ledger (``x.sqlite`` → ``x.sync.sqlite``)."""
    path = Path(run_ledger)
    return path.with_name(f"{path.stem}.sync.sqlite")


def fingerprint(properties: Mapping[str, Any]) -> str:
    """A stable digest of the properties a write sends (order-independent, as text)."""
    canon = json.dumps(
        {k: None if v is None else str(v) for k, v in properties.items()}, sort_keys=True
    )
    return hashlib.blake2b(canon.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True)
class Synced:
    """What the ledger holds about one record already written."""

    dest_id: str
    fingerprint: str
    properties: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SyncLedger:
    """The sync ledger at ``path`` (created on first use; its folder too).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._add_match_keys()
        except sqlite3.Error as exc:
            raise SyncError(
                f"cannot open the sync ledger {self.path.name}: {exc}. Pass another ledger "
                "path, or free the file (another process may hold it)."
            ) from exc

    def __repr__(self) -> str:
        return f"SyncLedger({self.path.name!r})"

    def _add_match_keys(self) -> None:
        """A sync ledger written before ``failed.match_keys`` existed gets the column."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(failed)")}
        if "match_keys" not in columns:
            self._db.execute("ALTER TABLE failed ADD COLUMN match_keys TEXT NOT NULL DEFAULT '[]'")

    def __enter__(self) -> SyncLedger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- reads -----------------------------------------------------------------------------
    def synced(self, destination: str, object_type: str) -> dict[str, Synced]:
        """Record key → what was last written, for one destination object."""
        rows = self._db.execute(
            "SELECT record_key, dest_id, fingerprint, properties FROM synced "
            "WHERE destination = ? AND object = ?",
            (destination, object_type),
        )
        return {k: Synced(i, f, json.loads(p)) for k, i, f, p in rows}

    def failed(self, destination: str | None = None) -> pl.DataFrame:
        """Records whose last write failed (kept for retry), with the reason."""
        sql = (
            "SELECT destination, object, record_key, kind, reason, attempts, failed_at FROM failed"
        )
        args: tuple[str, ...] = ()
        if destination is not None:
            sql += " WHERE destination = ?"
            args = (destination,)
        rows = self._db.execute(sql + " ORDER BY destination, object, record_key", args).fetchall()
        schema = {
            "destination": pl.String,
            "object": pl.String,
            "record_key": pl.String,
            "kind": pl.String,
            "reason": pl.String,
            "attempts": pl.Int64,
            "failed_at": pl.String,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    def failed_keys(self, destination: str, object_type: str) -> set[str]:
        """Every match key of the records whose last write failed (their email may have
        changed since: any of their keys finds them)."""
        rows = self._db.execute(
            "SELECT record_key, match_keys FROM failed WHERE destination = ? AND object = ?",
            (destination, object_type),
        )
        keys: set[str] = set()
        for key, also in rows:
            keys.add(key)
            keys.update(json.loads(also))
        return keys

    def writes(self) -> pl.DataFrame:
        """Every write as it happened (oldest first)."""
        rows = self._db.execute(
            "SELECT destination, object, record_key, dest_id, action, reason, at FROM writes "
            "ORDER BY seq"
        ).fetchall()
        schema = {
            "destination": pl.String,
            "object": pl.String,
            "record_key": pl.String,
            "dest_id": pl.String,
            "action": pl.String,
            "reason": pl.String,
            "at": pl.String,
        }
        return pl.DataFrame(rows, schema=schema, orient="row")

    # -- writes (one transaction per call: a batch's outcomes land together) ----------------
    def record_success(
        self,
        destination: str,
        object_type: str,
        rows: Iterable[tuple[str, str, Mapping[str, Any], str]],
        *,
        match_keys: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Record ``(record_key, dest_id, properties written, action)`` rows. ``match_keys``
        (record key → every match key of its record) clears a failure the same record left
        under another key."""
        at = _now()
        match_keys = match_keys or {}
        with self._transaction() as db:
            rows = list(rows)
            _clear_failures(db, destination, object_type, rows, match_keys)
            for key, dest_id, props, action in rows:
                existing = db.execute(
                    "SELECT properties FROM synced WHERE destination=? AND object=? "
                    "AND record_key=?",
                    (destination, object_type, key),
                ).fetchone()
                merged = {**(json.loads(existing[0]) if existing else {}), **props}
                merged = {k: None if v is None else str(v) for k, v in merged.items()}
                db.execute(
                    "INSERT OR REPLACE INTO synced VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        destination,
                        object_type,
                        key,
                        dest_id,
                        fingerprint(merged),
                        json.dumps(merged, sort_keys=True),
                        at,
                    ),
                )
                db.execute(
                    "INSERT INTO writes (destination, object, record_key, dest_id, action, "
                    "reason, at) VALUES (?, ?, ?, ?, ?, NULL, ?)",
                    (destination, object_type, key, dest_id, action, at),
                )

    def record_failure(
        self,
        destination: str,
        object_type: str,
        rows: Iterable[tuple[str, str, str, Mapping[str, Any]]],
        *,
        match_keys: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """Record ``(record_key, kind, reason, properties meant to be written)`` rows, with
        ``match_keys`` (record key → every match key of its record)."""
        at = _now()
        match_keys = match_keys or {}
        with self._transaction() as db:
            for key, kind, reason, props in rows:
                also = sorted(set(match_keys.get(key, ())) - {key})
                db.execute(
                    "INSERT INTO failed (destination, object, record_key, kind, reason, "
                    "properties, attempts, failed_at, match_keys) "
                    "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) "
                    "ON CONFLICT (destination, object, record_key) DO UPDATE SET "
                    "kind=excluded.kind, reason=excluded.reason, "
                    "properties=excluded.properties, attempts=attempts + 1, "
                    "failed_at=excluded.failed_at, match_keys=excluded.match_keys",
                    (
                        destination,
                        object_type,
                        key,
                        kind,
                        reason,
                        json.dumps({k: None if v is None else str(v) for k, v in props.items()}),
                        at,
                        json.dumps(also),
                    ),
                )
                db.execute(
                    "INSERT INTO writes (destination, object, record_key, dest_id, action, "
                    "reason, at) VALUES (?, ?, ?, NULL, 'failed', ?, ?)",
                    (destination, object_type, key, reason, at),
                )


def _clear_failures(
    db: sqlite3.Connection,
    destination: str,
    object_type: str,
    written: Sequence[tuple[str, str, Mapping[str, Any], str]],
    match_keys: Mapping[str, Sequence[str]],
) -> None:
    """Remove the failures the written records leave behind: under the key they were written
    with, or under any other key of the same record (a failure keyed by the email that was
    refused, before the email was fixed). One statement: SQLite matches the stored keys."""
    keys = {key for key, *_ in written}
    for key in list(keys):
        keys.update(match_keys.get(key, ()))
    db.execute(
        "DELETE FROM failed WHERE destination = ? AND object = ? AND (record_key IN "
        "(SELECT value FROM json_each(?)) OR EXISTS (SELECT 1 FROM json_each(match_keys) "
        "WHERE value IN (SELECT value FROM json_each(?))))",
        (destination, object_type, json.dumps(sorted(keys)), json.dumps(sorted(keys))),
    )
