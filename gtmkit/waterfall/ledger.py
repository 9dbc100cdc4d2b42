"""The ledger: every attempt and every credit in an embedded SQLite database, which is also
the result cache and the run/resume bookkeeping.

Durability design (what "in flight" means):

* Before a paid call is sent, its *intent* row (``state='sent'``) is committed. Calls wait for
  that commit, but intents from every call that became ready during one event-loop turn share
  one ``BEGIN IMMEDIATE`` transaction, written at the end of the turn (group commit,
  :meth:`Ledger.write_now`); the calls are sent on the next turn.
* When a call returns, its result (``state='done'``, outcome, credits, fields) and the cache
  entry are queued and ride along with the next group commit (at most ~20 ms later); nobody
  waits for that commit.
* A call is **in flight** when its intent is committed and its result is not. After a
  ``kill -9`` those are exactly the calls that may have been sent (and billed) without the
  ledger knowing the answer; they are the only ones a resumed run can repeat, and
  :meth:`Ledger.begin_run` reports how many there were.
* ``journal_mode=WAL`` with ``synchronous=NORMAL``: a commit is in the OS page cache when it
  returns, so it survives the process being killed (not a power cut, which needs FULL).
* Two processes may share a ledger: each has its own connections, writes use
  ``BEGIN IMMEDIATE`` and a generous ``busy_timeout``, readers never block writers under WAL.
* API keys are never written: only canonical fields, statuses and error *kinds* are stored.
* The cache is read once at the start of a run. Two processes enriching the *same* people at
  the *same* time can therefore both pay for a lookup; run one list per ledger at a time (or
  let the second run start after the first) when that matters.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

DEFAULT_LEDGER_PATH = Path("data") / "ledger.sqlite"
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    name TEXT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,             -- running | finished | interrupted
    resumed_from TEXT,
    resumed_in_flight INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_fingerprint ON runs (fingerprint, status);
CREATE TABLE IF NOT EXISTS attempts (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,              -- sent | done | cached | lost
    row_id INTEGER,
    lookup_key TEXT NOT NULL,
    step INTEGER NOT NULL,
    provider TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    outcome TEXT,
    error_kind TEXT,
    http_status INTEGER,
    latency_s REAL,
    credits REAL NOT NULL DEFAULT 0,
    billed INTEGER NOT NULL DEFAULT 0,
    cost_usd REAL NOT NULL DEFAULT 0,
    cached INTEGER NOT NULL DEFAULT 0,
    email TEXT,
    email_status TEXT,
    provider_status TEXT,
    confidence REAL,
    fields_json TEXT,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS attempts_lookup ON attempts (provider, endpoint, lookup_key);
CREATE TABLE IF NOT EXISTS cache (
    provider TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    lookup_key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    fields_json TEXT NOT NULL,
    email_status TEXT,
    provider_status TEXT,
    confidence REAL,
    http_status INTEGER,
    credits REAL NOT NULL,
    fetched_at REAL NOT NULL,         -- unix time, for the TTL
    run_id TEXT NOT NULL,
    PRIMARY KEY (provider, endpoint, lookup_key)
);
"""

#: Column order of an attempt row in the ledger: the tuple layout the engine passes around
#: (``result._ATTEMPT_SCHEMA`` types it in the same order).
LEDGER_COLUMNS = (
    "run_id",
    "seq",
    "state",
    "row_id",
    "lookup_key",
    "step",
    "provider",
    "endpoint",
    "attempt",
    "started_at",
    "outcome",
    "error_kind",
    "http_status",
    "latency_s",
    "credits",
    "billed",
    "cost_usd",
    "cached",
    "email",
    "email_status",
    "provider_status",
    "confidence",
    "fields_json",
)
#: what identifies a call's row, and what a later write of the same call cannot change
_ATTEMPT_IDENTITY = ("run_id", "seq", "provider", "endpoint", "lookup_key")
# A call's result row overwrites its intent row in place. (run_id, seq) names one call, and the
# engine writes the same provider, endpoint and lookup key for it both times, so those columns
# are left out of the update: SQLite then leaves the ``attempts_lookup`` index alone instead
# of deleting and re-inserting the row in every b-tree, as ``INSERT OR REPLACE`` did.
_INSERT_ATTEMPT = (
    f"INSERT INTO attempts ({', '.join(LEDGER_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in LEDGER_COLUMNS)}) "
    "ON CONFLICT (run_id, seq) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in LEDGER_COLUMNS if c not in _ATTEMPT_IDENTITY)
)
_UPSERT_CACHE = (
    "INSERT OR REPLACE INTO cache (provider, endpoint, lookup_key, outcome, fields_json, "
    "email_status, provider_status, confidence, http_status, credits, fetched_at, run_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True, slots=True)
class CachedFinding:
    """A cache entry: what a provider answered to a lookup, within the TTL."""

    outcome: str
    fields: Mapping[str, Any]
    email_status: str | None
    provider_status: str | None
    confidence: float | None
    http_status: int | None
    credits: float
    fetched_at: float


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    fingerprint: str
    resumed_from: str | None
    resumed_in_flight: int


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 60000")
    # Switching to WAL while another process opens or converts the same new file can answer
    # "database is locked" at once, without waiting on the busy timeout: retry it.
    deadline = time.monotonic() + 60.0
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.005)
    conn.execute("PRAGMA synchronous = NORMAL")
    # checkpoint (and fsync) the WAL every ~16 MB rather than every 4 MB: fewer stalls on a
    # big run; the WAL file is reset once the last connection closes
    conn.execute("PRAGMA wal_autocheckpoint = 4000")
    return conn


class _Batch:
    """Work handed to the writer thread; ``done`` fires after its transaction commits."""

    __slots__ = ("cache", "done", "records", "statements")

    def __init__(self) -> None:
        self.statements: list[tuple[str, tuple[Any, ...]]] = []
        self.records: list[tuple[Any, ...]] = []  # attempt rows (intents and results)
        self.cache: list[tuple[Any, ...]] = []
        self.done: list[Callable[[BaseException | None], None]] = []


class Ledger:
    """An SQLite ledger (WAL) shared by runs, processes and the cache.

    Args:
        path: database file (parent folders are created). Default ``data/ledger.sqlite``.
        flush_interval_s: longest a queued write waits for its group commit.

    Example:
        >>> import tempfile, pathlib
        >>> with Ledger(pathlib.Path(tempfile.mkdtemp()) / "l.sqlite") as ledger:
        ...     ledger.total_credits()
        0.0
    """

    def __init__(self, path: str | Path = DEFAULT_LEDGER_PATH, *, flush_interval_s: float = 0.0):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.flush_interval_s = flush_interval_s
        self._read = _connect(str(self.path))
        self._read_lock = threading.Lock()
        self._init_schema()
        self._queue: queue.SimpleQueue[_Batch | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._closed = False
        self._write_error: BaseException | None = None
        self._direct: sqlite3.Connection | None = None
        self._direct_lock = threading.Lock()

    # -- setup ----------------------------------------------------------------------------
    def _init_schema(self) -> None:
        conn = self._read
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (str(_SCHEMA_VERSION),),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def close(self) -> None:
        """Flush pending writes and close the connections."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        with self._writer_lock:
            if self._writer is not None:
                self._queue.put(None)
                self._writer.join()
                self._writer = None
        with self._direct_lock:
            if self._direct is not None:
                self._direct.close()
                self._direct = None
        self._read.close()

    # -- the writer thread ----------------------------------------------------------------
    def _ensure_writer(self) -> None:
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = threading.Thread(
                        target=self._write_loop, name="gtmkit-ledger-writer", daemon=True
                    )
                    self._writer.start()

    def _write_loop(self) -> None:
        conn = _connect(str(self.path))
        try:
            while True:
                first = self._queue.get()
                if first is None:
                    return
                # group commit: give concurrent callers a moment to join this transaction
                if self.flush_interval_s > 0:
                    time.sleep(self.flush_interval_s)
                batches = [first]
                stop = False
                while True:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if nxt is None:
                        stop = True
                        break
                    batches.append(nxt)
                error: BaseException | None = None
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        # executemany keeps the per-row work in C (and off the GIL)
                        records = [r for b in batches for r in b.records]
                        if records:
                            conn.executemany(_INSERT_ATTEMPT, records)
                        cache = [c for b in batches for c in b.cache]
                        if cache:
                            conn.executemany(_UPSERT_CACHE, cache)
                        for batch in batches:
                            for sql, params in batch.statements:
                                conn.execute(sql, params)
                        conn.execute("COMMIT")
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                except BaseException as exc:  # surfaced to waiters and to flush()
                    error = exc
                    self._write_error = exc
                for batch in batches:
                    for callback in batch.done:
                        callback(error)
                if stop:
                    return
        finally:
            conn.close()

    def _submit(
        self,
        statements: list[tuple[str, tuple[Any, ...]]] = (),  # type: ignore[assignment]
        done: Callable[[BaseException | None], None] | None = None,
        *,
        records: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
        cache: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
    ) -> None:
        if self._closed:
            raise RuntimeError("ledger is closed")
        if self._write_error is not None:
            raise RuntimeError(f"ledger write failed: {self._write_error}") from self._write_error
        self._ensure_writer()
        batch = _Batch()
        batch.statements = list(statements)
        batch.records = list(records)
        batch.cache = list(cache)
        if done is not None:
            batch.done.append(done)
        self._queue.put(batch)

    def flush(self) -> None:
        """Block until everything queued so far is committed."""
        if self._writer is None or self._closed:
            return
        event = threading.Event()
        self._submit([], lambda _err: event.set())
        event.wait()
        if self._write_error is not None:
            raise RuntimeError(f"ledger write failed: {self._write_error}") from self._write_error

    # -- runs -----------------------------------------------------------------------------
    def begin_run(self, fingerprint: str, *, name: str = "", resume: bool = True) -> RunInfo:
        """Register a run; with ``resume``, close earlier unfinished runs of the same list and
        spec whose process is gone, counting their calls in flight at the interruption."""
        run_id = uuid.uuid4().hex
        host = socket.gethostname()
        resumed_from, in_flight = None, 0
        conn = self._read
        with self._read_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if resume:
                    rows = conn.execute(
                        "SELECT run_id, host, pid FROM runs WHERE fingerprint = ? AND status = "
                        "'running' ORDER BY started_at",
                        (fingerprint,),
                    ).fetchall()
                    for old_id, old_host, old_pid in rows:
                        if old_host == host and _pid_alive(old_pid):
                            continue  # another live process is running it right now
                        (lost,) = conn.execute(
                            "SELECT COUNT(*) FROM attempts WHERE run_id = ? AND state = 'sent'",
                            (old_id,),
                        ).fetchone()
                        conn.execute(
                            "UPDATE attempts SET state = 'lost' "
                            "WHERE run_id = ? AND state = 'sent'",
                            (old_id,),
                        )
                        conn.execute(
                            "UPDATE runs SET status = 'interrupted' WHERE run_id = ?", (old_id,)
                        )
                        resumed_from, in_flight = old_id, in_flight + int(lost)
                conn.execute(
                    "INSERT INTO runs (run_id, fingerprint, name, host, pid, started_at, status, "
                    "resumed_from, resumed_in_flight) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                    (
                        run_id,
                        fingerprint,
                        name,
                        host,
                        os.getpid(),
                        _utc_now(),
                        resumed_from,
                        in_flight,
                    ),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return RunInfo(run_id, fingerprint, resumed_from, in_flight)

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        self._submit(
            [
                (
                    "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
                    (status, _utc_now(), run_id),
                )
            ]
        )
        self.flush()

    # -- attempts -------------------------------------------------------------------------
    def write_now(
        self,
        records: list[tuple[Any, ...]],
        cache: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
    ) -> None:
        """Write attempt rows and cache entries in one transaction on the calling thread;
        committed when this returns. The engine calls it once per event-loop turn with
        everything queued during that turn (group commit without a thread hop)."""
        if self._closed:
            raise RuntimeError("ledger is closed")
        with self._direct_lock:
            if self._direct is None:
                self._direct = _connect(str(self.path))
            conn = self._direct
            conn.execute("BEGIN IMMEDIATE")
            try:
                if records:
                    conn.executemany(_INSERT_ATTEMPT, records)
                if cache:
                    conn.executemany(_UPSERT_CACHE, cache)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def write(
        self,
        records: list[tuple[Any, ...]],
        cache: list[tuple[Any, ...]] = (),  # type: ignore[assignment]
        done: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        """Queue attempt rows (intents or results) and cache entries for the next group
        commit; ``done`` (if given) runs in the writer thread once they are committed."""
        self._submit(done=done, records=records, cache=cache)

    # -- cache ----------------------------------------------------------------------------
    def cached(
        self,
        provider: str,
        endpoint: str,
        lookup_key: str,
        *,
        ttl_s: float,
        now: float | None = None,
    ) -> CachedFinding | None:
        """The cached answer for a lookup, if fresher than ``ttl_s``."""
        now = time.time() if now is None else now
        with self._read_lock:
            row = self._read.execute(
                "SELECT outcome, fields_json, email_status, provider_status, confidence, "
                "http_status, credits, fetched_at FROM cache WHERE provider = ? AND endpoint = ? "
                "AND lookup_key = ?",
                (provider, endpoint, lookup_key),
            ).fetchone()
        if row is None or now - row[7] > ttl_s:
            return None
        return CachedFinding(row[0], json.loads(row[1]), *row[2:])

    def cache_index(
        self, pairs: Iterable[tuple[str, str]], *, ttl_s: float, now: float | None = None
    ) -> set[tuple[str, str, str]]:
        """Keys with a fresh cache entry for these (provider, endpoint) pairs.

        Loaded once per run so that lookups never cached cost no database read.
        """
        cutoff = (time.time() if now is None else now) - ttl_s
        keys: set[tuple[str, str, str]] = set()
        with self._read_lock:
            for provider, endpoint in pairs:
                rows = self._read.execute(
                    "SELECT lookup_key FROM cache WHERE provider = ? AND endpoint = ? "
                    "AND fetched_at >= ?",
                    (provider, endpoint, cutoff),
                ).fetchall()
                keys.update((provider, endpoint, k) for (k,) in rows)
        return keys

    def cache_entries(
        self, pairs: Iterable[tuple[str, str]], *, ttl_s: float, now: float | None = None
    ) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        """Every fresh cache entry for these (provider, endpoint) pairs, in one query each:
        ``(provider, endpoint, key) -> (outcome, fields_json, email_status, provider_status,
        confidence, http_status)``. A re-run of a big list then costs no per-lookup read."""
        cutoff = (time.time() if now is None else now) - ttl_s
        entries: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        with self._read_lock:
            for provider, endpoint in pairs:
                rows = self._read.execute(
                    "SELECT lookup_key, outcome, fields_json, email_status, provider_status, "
                    "confidence, http_status FROM cache WHERE provider = ? AND endpoint = ? "
                    "AND fetched_at >= ?",
                    (provider, endpoint, cutoff),
                ).fetchall()
                entries.update({(provider, endpoint, row[0]): row[1:] for row in rows})
        return entries

    # -- reading back ---------------------------------------------------------------------
    def attempts(self, run_id: str | None = None) -> pl.DataFrame:
        """Every ledgered attempt (optionally of one run) as a polars frame."""
        sql = f"SELECT {', '.join(LEDGER_COLUMNS)} FROM attempts"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " WHERE run_id = ?"
            params = (run_id,)
        sql += " ORDER BY run_id, seq"
        with self._read_lock:
            rows = self._read.execute(sql, params).fetchall()
        return pl.DataFrame(
            rows, schema=list(LEDGER_COLUMNS), orient="row", infer_schema_length=None
        )

    def runs(self) -> pl.DataFrame:
        with self._read_lock:
            cur = self._read.execute("SELECT * FROM runs ORDER BY started_at")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    def total_credits(self, run_id: str | None = None) -> float:
        """Billed credits ledgered (for one run, or all time)."""
        sql = "SELECT COALESCE(SUM(credits), 0) FROM attempts WHERE billed = 1"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql += " AND run_id = ?"
            params = (run_id,)
        with self._read_lock:
            (total,) = self._read.execute(sql, params).fetchone()
        return float(total)

    def integrity_check(self) -> str:
        with self._read_lock:
            (result,) = self._read.execute("PRAGMA integrity_check").fetchone()
        return str(result)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def open_ledger(ledger: str | Path | Ledger | None) -> tuple[Ledger | None, bool]:
    """Normalize the ``ledger=`` option: returns the ledger and whether we own (must close) it."""
    if ledger is None:
        return None, False
    if isinstance(ledger, Ledger):
        return ledger, False
    return Ledger(ledger), True
