"""The durable side of a Clay round trip: one SQLite file per Clay table.

It keeps what was pushed (each ``row_id``, the webhook it went to, whether Clay took it), how
many submissions each webhook has used against Clay's lifetime limit, and every callback Clay
sent back — matched to its ``row_id`` or, when it matches nothing, kept for review. Every write
is one ``BEGIN IMMEDIATE`` transaction in WAL mode, so a callback that was answered ``200`` is
on disk and two processes (the pusher and a webhook receiver) can share the file.

A webhook URL is a write credential for the table (a webhook without an auth token accepts
anything posted to it), so the store never writes one: a webhook is known by a hash of its URL
and a label that shows only the last four characters.

Example:
    >>> import tempfile, pathlib
    >>> store = ClayStore(pathlib.Path(tempfile.mkdtemp()) / "clay.sqlite")
    >>> usage = store.webhook_usage("https://api.clay.com/v3/sources/webhook/x-1f2e")
    >>> usage.label, usage.submissions, usage.left
    ('…/x-****1f2e', 0, 50000)
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gtmkit.errors import GtmkitError

__all__ = ["SUBMISSION_LIMIT", "ClayStore", "ClayStoreError", "WebhookUsage", "webhook_label"]

#: Clay: "Webhook sources are limited to 50,000 submissions, and this limit persists even
#: after deleting rows" (university.clay.com/docs/webhook-integration-docs).
SUBMISSION_LIMIT = 50_000

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS webhooks (
    key TEXT PRIMARY KEY,            -- sha256 of the URL: the URL itself is never stored
    label TEXT NOT NULL,
    submissions INTEGER NOT NULL DEFAULT 0,
    submission_limit INTEGER NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS pushes (
    row_id INTEGER PRIMARY KEY,
    payload_sha TEXT NOT NULL,
    webhook_key TEXT NOT NULL,
    state TEXT NOT NULL,             -- sending | sent | failed | unknown
    reason TEXT,
    updated_at REAL NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS callbacks (
    row_id INTEGER NOT NULL,
    body_sha TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    received_at REAL NOT NULL,
    PRIMARY KEY (row_id, body_sha)
)""",
    """CREATE TABLE IF NOT EXISTS unmatched (
    body_sha TEXT PRIMARY KEY,
    row_id TEXT,
    reason TEXT NOT NULL,
    body TEXT NOT NULL,
    received_at REAL NOT NULL
)""",
)


class ClayStoreError(GtmkitError, RuntimeError):
    """The store cannot be opened or written; the message says what to do."""


@dataclass(frozen=True, slots=True)
class WebhookUsage:
    """How much of one webhook's lifetime submission limit is used."""

    label: str
    submissions: int
    limit: int
    retired: bool

    @property
    def left(self) -> int:
        return max(0, self.limit - self.submissions)


def webhook_key(url: str) -> str:
    return hashlib.sha256(url.strip().encode("utf-8")).hexdigest()[:32]


def webhook_label(url: str) -> str:
    """A webhook as a person may see it: its path's stem and the URL's last 4 characters.

    Example:
        >>> webhook_label("https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-ab12cd")
        '…/pull-in-data-from-a-webhook-****12cd'
    """
    tail = url.strip().rstrip("/").rsplit("/", 1)[-1]
    stem = tail[: tail.rfind("-") + 1] if "-" in tail else ""
    return f"…/{stem}****{url.strip().rstrip('/')[-4:]}"


class ClayStore:
    """An SQLite file holding one Clay table's pushes, webhook counts and callbacks.

    Args:
        path: the database file (folders are created).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            with self._write() as conn:
                for ddl in _SCHEMA:
                    conn.execute(ddl)
        except sqlite3.Error as exc:
            raise ClayStoreError(
                f"cannot open the Clay store at {self.path} ({exc}). Check that the folder is "
                "writable and the file is a gtmkit Clay store, or pass another path."
            ) from exc
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ClayStore({str(self.path)!r})"

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ClayStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ClayStoreError(
                f"cannot write the Clay store at {self.path} ({exc}). Free disk space or fix "
                "the folder's permissions and try again: nothing was half-written."
            ) from exc

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.Error as exc:
            raise ClayStoreError(f"cannot read the Clay store at {self.path} ({exc})") from exc

    # -- webhooks ---------------------------------------------------------------------------
    def webhook_usage(self, url: str, *, limit: int = SUBMISSION_LIMIT) -> WebhookUsage:
        """The webhook's usage, its limit set to ``limit`` (registered when first seen)."""
        key = webhook_key(url)
        with self._lock, self._write() as conn:
            conn.execute(  # the limit the caller gives now is the one that holds
                "INSERT INTO webhooks (key, label, submission_limit, created_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET "
                "submission_limit = excluded.submission_limit",
                (key, webhook_label(url), limit, time.time()),
            )
            label, used, cap, retired = conn.execute(
                "SELECT label, submissions, submission_limit, retired FROM webhooks WHERE key = ?",
                (key,),
            ).fetchone()
        return WebhookUsage(label, int(used), int(cap), bool(retired))

    def retire_webhook(self, url: str) -> None:
        """Mark a webhook used up: it is never pushed to again from this store."""
        with self._lock, self._write() as conn:
            conn.execute("UPDATE webhooks SET retired = 1 WHERE key = ?", (webhook_key(url),))

    # -- pushes -----------------------------------------------------------------------------
    def pushed(self) -> dict[int, tuple[str, str, str | None]]:
        """``row_id -> (state, payload hash, reason)`` of every row pushed so far."""
        rows = self._read("SELECT row_id, state, payload_sha, reason FROM pushes")
        return {int(r): (s, p, why) for r, s, p, why in rows}

    def begin_batch(self, url: str, batch: Sequence[tuple[int, str]]) -> None:
        """Before sending: count the batch against the webhook and mark its rows ``sending``,
        in one transaction (a submission whose answer never comes is counted all the same)."""
        key, now = webhook_key(url), time.time()
        with self._lock, self._write() as conn:
            conn.execute(
                "UPDATE webhooks SET submissions = submissions + ? WHERE key = ?",
                (len(batch), key),
            )
            conn.executemany(
                "INSERT INTO pushes (row_id, payload_sha, webhook_key, state, updated_at) "
                "VALUES (?, ?, ?, 'sending', ?) ON CONFLICT (row_id) DO UPDATE SET "
                "payload_sha = excluded.payload_sha, webhook_key = excluded.webhook_key, "
                "state = 'sending', reason = NULL, updated_at = excluded.updated_at",
                [(row_id, sha, key, now) for row_id, sha in batch],
            )

    def end_batch(self, row_ids: Sequence[int], state: str, reason: str | None = None) -> None:
        """After the answer: ``sent``, ``failed`` (with why) or ``unknown`` (no answer)."""
        with self._lock, self._write() as conn:
            conn.executemany(
                "UPDATE pushes SET state = ?, reason = ?, updated_at = ? WHERE row_id = ?",
                [(state, reason, time.time(), r) for r in row_ids],
            )

    # -- callbacks --------------------------------------------------------------------------
    def is_pushed(self, row_id: int) -> bool:
        return bool(self._read("SELECT 1 FROM pushes WHERE row_id = ?", (row_id,)))

    def add_callback(self, row_id: int, fields: dict[str, Any], body_sha: str) -> bool:
        """Store one matched callback; ``False`` when this exact body was stored before."""
        with self._lock, self._write() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO callbacks (row_id, body_sha, fields_json, received_at) "
                "VALUES (?, ?, ?, ?)",
                (row_id, body_sha, json.dumps(fields, ensure_ascii=False), time.time()),
            )
        return cur.rowcount == 1

    def add_unmatched(self, body: str, body_sha: str, row_id: str | None, reason: str) -> None:
        """Keep a callback that matches no pushed row (nothing Clay sends is dropped)."""
        with self._lock, self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO unmatched (body_sha, row_id, reason, body, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (body_sha, row_id, reason, body, time.time()),
            )

    def callbacks(self) -> list[tuple[int, dict[str, Any], float]]:
        """The latest callback per ``row_id``: ``(row_id, fields, received_at)``."""
        rows = self._read(
            "SELECT row_id, fields_json, received_at FROM callbacks c WHERE received_at = "
            "(SELECT MAX(received_at) FROM callbacks d WHERE d.row_id = c.row_id) "
            "ORDER BY row_id, rowid DESC"
        )
        latest: dict[int, tuple[int, dict[str, Any], float]] = {}
        for row_id, fields_json, received in rows:
            latest.setdefault(int(row_id), (int(row_id), json.loads(fields_json), received))
        return list(latest.values())

    def unmatched(self) -> list[tuple[str | None, str]]:
        """Callbacks kept for review: ``(row_id as sent, reason)``."""
        return [(r, why) for r, why in self._read("SELECT row_id, reason FROM unmatched")]
