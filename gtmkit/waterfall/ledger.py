"""The ledger: every attempt and every credit in an embedded SQLite database, which is also
the cache, the claims between processes, and the run/resume bookkeeping.

Durability (what "in flight" means):

* Before a paid call is sent, its *intent* row (``state='sent'``, with the worst case it may
  cost) is committed. Intents of every call that became ready during one event-loop turn share
  one ``BEGIN IMMEDIATE`` transaction (group commit, ``journal.py``).
* When a call returns, its result overwrites the intent in place and rides along with the next
  group commit; nobody waits for it. A call whose answer never came is ``unknown`` and held at
  its worst case.
* After a ``kill -9``, the calls whose intent is committed and result is not were in flight:
  the next resume marks them ``lost``, holds them at their worst case against the run's budget,
  and reports how many there were. Only those can be paid twice.
* A run's budget belongs to its chain of resumes: ``begin_run`` returns what the chain already
  spent (or holds), and the budget starts from there.
* ``journal_mode=WAL``, ``synchronous=NORMAL``: a commit survives the process being killed.
* Two processes may share a ledger: writes are ``BEGIN IMMEDIATE`` with a generous busy
  timeout; each running process refreshes a heartbeat, so a claim of a dead one is taken over.
* API keys are never written: only canonical fields, statuses and error *kinds*.

Every failure to open or write says what happened and what to do (:class:`LedgerError`).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.waterfall.attempt import ATTEMPT_COLUMNS, ATTEMPT_SCHEMA, INSERT_ATTEMPT, Attempt
from gtmkit.waterfall.ledger_schema import NewerLedger, ensure_schema
from gtmkit.waterfall.options import DEFAULT_LEDGER_PATH

__all__ = ["DEFAULT_LEDGER_PATH", "Ledger", "LedgerError", "RunInfo", "open_ledger"]

#: run statuses a rerun continues (budget included): killed, stopped by cancel or deadline, or
#: finished with rows its budget cut short. A run that finished every row does not chain on.
RESUMABLE = ("interrupted", "stopped", "incomplete")
#: a run on another host whose heartbeat is older than this is taken for dead
STALE_HEARTBEAT_S = 120.0
#: how often a running process refreshes its heartbeat
HEARTBEAT_EVERY_S = 5.0


class LedgerError(GtmkitError, RuntimeError):
    """The ledger cannot be opened or written; the message says why and what to do."""


def _advice(path: Path, exc: BaseException) -> str:
    text = str(exc)
    lowered = text.lower()
    if "not a database" in lowered or "malformed" in lowered:
        return (
            f"{path} is not a gtmkit ledger (not a readable SQLite database: {text}). "
            "Point ledger= at a new file, or move this one away."
        )
    if "disk is full" in lowered or "no space" in lowered:
        return (
            f"the disk holding the ledger {path} is full ({text}). Free some space and run "
            "again: the run resumes where it stopped."
        )
    if "readonly" in lowered or "read-only" in lowered or "unable to open" in lowered:
        return (
            f"cannot write the ledger at {path} ({text}). Check that its folder exists and is "
            "writable, or pass ledger=None to run without one (no cache, no resume)."
        )
    return f"the ledger at {path} failed: {text}. Check the file and its folder, then run again."


@contextlib.contextmanager
def translated(path: Path) -> Iterator[None]:
    """Turn sqlite and OS errors into a :class:`LedgerError` that says what to do."""
    try:
        yield
    except LedgerError:
        raise
    except NewerLedger as exc:
        raise LedgerError(
            f"{path} was written by a newer gtmkit (ledger schema version {exc.version}). Upgrade "
            "gtmkit to use it, or point ledger= at another file."
        ) from None
    except (sqlite3.Error, OSError) as exc:
        raise LedgerError(_advice(path, exc)) from exc


#: the tables of a gtmkit ledger (any version): a database holding others is someone else's
_LEDGER_TABLES = frozenset(
    {"meta", "runs", "attempts", "cache", "adaptive_runs", "adaptive_orders"}
)


def _foreign_tables(path: Path) -> list[str]:
    """The tables of the SQLite file at ``path`` when it is not a gtmkit ledger (no ``meta``
    table with a schema version); ``[]`` for a ledger or an empty database. Read only."""
    with translated(path):
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=60.0)
        try:
            names = [
                str(row[0])
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                    "AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            if not names:
                return []
            if "meta" in names:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                if row is not None and set(names) <= _LEDGER_TABLES:
                    return []
            return names
        except sqlite3.OperationalError as exc:  # e.g. a meta table of another shape
            if "no such column" in str(exc) or "no such table" in str(exc):
                return names
            raise
        finally:
            conn.close()


def connect_sqlite(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with a generous busy timeout."""
    conn = sqlite3.connect(str(path), timeout=60.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout = 60000")
    # switching to WAL while another process creates the same new file can answer "database
    # is locked" at once, without waiting on the busy timeout: retry it
    deadline = time.monotonic() + 60.0
    while True:
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(0.005)
    if mode is None or str(mode[0]).lower() != "wal":
        conn.close()
        raise LedgerError(
            f"{path} cannot hold a ledger (SQLite could not use write-ahead logging there). "
            "Put the ledger on a local disk, in a regular file."
        )
    conn.execute("PRAGMA synchronous = NORMAL")
    # checkpoint every ~16 MB rather than 4 MB: fewer stalls on a big run
    conn.execute("PRAGMA wal_autocheckpoint = 4000")
    return conn


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # a full disk may already have rolled it back
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


@dataclass(frozen=True, slots=True)
class RunInfo:
    """A registered run: its id, its chain of resumes and what that chain already spent."""

    run_id: str
    fingerprint: str
    chain_id: str
    resumed_from: str | None
    resumed_in_flight: int
    spent_credits: float
    spent_usd: float


def _utc_now() -> str:
    return datetime.now(UTC).isoformat()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class LedgerReader:
    """What can be read back from a ledger (the ``Ledger`` adds writing to it)."""

    path: Path
    conn: sqlite3.Connection
    lock: threading.Lock

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.lock, translated(self.path):
            return self.conn.execute(sql, params).fetchall()

    def cache_entries(
        self, pairs: Iterable[tuple[str, str]], *, ttl_s: float, now: float | None = None
    ) -> dict[tuple[str, str, str], tuple[Any, ...]]:
        """Every fresh cache entry for these (provider, endpoint) pairs, one query each:
        ``(provider, endpoint, key) -> (outcome, fields_json, email_status, provider_status,
        confidence, http_status)``. The one cache reader (``journal.LedgerCache`` uses it)."""
        cutoff = (time.time() if now is None else now) - ttl_s
        entries: dict[tuple[str, str, str], tuple[Any, ...]] = {}
        for provider, endpoint in pairs:
            rows = self._read(
                "SELECT lookup_key, outcome, fields_json, email_status, provider_status, "
                "confidence, http_status FROM cache WHERE provider = ? AND endpoint = ? "
                "AND fetched_at >= ?",
                (provider, endpoint, cutoff),
            )
            entries.update({(provider, endpoint, row[0]): row[1:] for row in rows})
        return entries

    def attempts(self, run_id: str | None = None) -> pl.DataFrame:
        """Every ledgered attempt (optionally of one run) as a polars frame."""
        sql = f"SELECT {', '.join(ATTEMPT_COLUMNS)} FROM attempts"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql, params = sql + " WHERE run_id = ?", (run_id,)
        rows = self._read(sql + " ORDER BY run_id, seq", params)
        return pl.DataFrame(rows, schema=ATTEMPT_SCHEMA, orient="row")

    def runs(self) -> pl.DataFrame:
        with self.lock, translated(self.path):
            cur = self.conn.execute("SELECT * FROM runs ORDER BY started_at")
            names = [d[0] for d in cur.description]
            rows = cur.fetchall()
        return pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)

    def total_credits(self, run_id: str | None = None) -> float:
        """Credits the providers said they billed (for one run, or all time)."""
        sql = "SELECT COALESCE(SUM(credits), 0) FROM attempts"
        params: tuple[Any, ...] = ()
        if run_id is not None:
            sql, params = sql + " WHERE run_id = ?", (run_id,)
        ((total,),) = self._read(sql, params)
        return float(total)

    def adaptive_orders(self, chain_id: str | None = None) -> pl.DataFrame:
        """Every row order an adaptive run decided (optionally of one chain of resumes), and
        why: see :mod:`gtmkit.waterfall.adaptive_log`."""
        from gtmkit.waterfall.adaptive_log import recorded_orders

        return recorded_orders(self, chain_id)  # type: ignore[arg-type]

    def integrity_check(self) -> str:
        ((result,),) = self._read("PRAGMA integrity_check")
        return str(result)


class Ledger(LedgerReader):
    """An SQLite ledger (WAL) shared by runs, processes and the cache.

    Args:
        path: database file (parent folders are created). Default ``data/ledger.sqlite``.

    Example:
        >>> import tempfile, pathlib
        >>> with Ledger(pathlib.Path(tempfile.mkdtemp()) / "l.sqlite") as ledger:
        ...     ledger.total_credits()
        0.0
    """

    def __init__(self, path: str | Path = DEFAULT_LEDGER_PATH) -> None:
        self.path = Path(path)
        if self.path.exists() and not self.path.is_file():
            raise LedgerError(
                f"{self.path} is not a regular file, so it cannot hold a ledger. Point "
                "ledger= at a file path (it is created if missing)."
            )
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open("rb") as fh:
                header = fh.read(16)
            if header != b"SQLite format 3\x00":
                # SQLite would take a short file for an empty database and overwrite it
                raise LedgerError(
                    f"{self.path} is not a gtmkit ledger (not an SQLite database). Point "
                    "ledger= at a new file, or move this one away."
                )
            foreign = _foreign_tables(self.path)
            if foreign:
                # never add gtmkit's tables to (or switch the journal of) someone else's data
                raise LedgerError(
                    f"{self.path} is an SQLite database but not a gtmkit ledger (it holds "
                    f"tables {', '.join(foreign[:5])}{', ...' if len(foreign) > 5 else ''} and "
                    "no gtmkit schema). Point ledger= at a new file; gtmkit leaves this one "
                    "untouched."
                )
        with translated(self.path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = connect_sqlite(self.path)
            with write_transaction(self.conn):
                ensure_schema(self.conn)
        self.lock = threading.Lock()  # one connection; the engine and readers share it
        self.host = socket.gethostname()
        self._closed = False

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.conn.close()

    # -- runs -----------------------------------------------------------------------------
    def begin_run(
        self,
        fingerprint: str,
        *,
        name: str = "",
        resume: bool = True,
        budget_credits: float | None = None,
        budget_usd: float | None = None,
    ) -> RunInfo:
        """Register a run. With ``resume``, continue the chain of the latest run of the same
        list and spec if it did not finish every row (killed, stopped, cut short by its
        budget) or ended holding paid calls of unknown outcome (see ``run._final_status``): its
        calls in flight are marked ``lost`` and held at worst case, and what the
        chain spent so far comes back — the budget is the chain's, not each process's."""
        run_id = uuid.uuid4().hex
        chain_id, resumed_from, in_flight = run_id, None, 0
        with self.lock, translated(self.path), write_transaction(self.conn) as conn:
            if resume:
                found = self._resumable(conn, fingerprint)
                if found is not None:
                    resumed_from, chain_id, in_flight = found
            spent = conn.execute(
                "SELECT COALESCE(SUM(credits + credits_held), 0), "
                "COALESCE(SUM(cost_usd + credits_held * price_usd), 0) FROM attempts "
                "WHERE run_id IN (SELECT run_id FROM runs WHERE chain_id = ?)",
                (chain_id,),
            ).fetchone()
            conn.execute(
                "INSERT INTO runs (run_id, fingerprint, name, host, pid, started_at, status, "
                "resumed_from, resumed_in_flight, chain_id, budget_credits, budget_usd, "
                "heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (run_id, fingerprint, name, self.host, os.getpid(), _utc_now(), resumed_from,
                 in_flight, chain_id, budget_credits, budget_usd, time.time()),
            )  # fmt: skip
        return RunInfo(
            run_id, fingerprint, chain_id, resumed_from, in_flight, float(spent[0]), spent[1]
        )

    def _resumable(self, conn: sqlite3.Connection, fingerprint: str) -> tuple[str, str, int] | None:
        """Mark the dead runs of this list ``interrupted`` (their calls in flight ``lost``);
        return the latest run to continue — unless the latest one finished."""
        rows = conn.execute(
            "SELECT run_id, host, pid, status, chain_id, heartbeat_at FROM runs "
            "WHERE fingerprint = ? ORDER BY started_at",
            (fingerprint,),
        ).fetchall()
        latest: tuple[str, str, str] | None = None
        lost_total = 0
        for run_id, host, pid, status, chain_id, heartbeat in rows:
            if status == "running":
                if self.is_alive(host, pid, heartbeat):
                    continue  # another live process is running it right now
                lost_total += conn.execute(
                    "UPDATE attempts SET state = 'lost', credits_held = worst_case "
                    "WHERE run_id = ? AND state = 'sent'",
                    (run_id,),
                ).rowcount
                conn.execute("UPDATE runs SET status = 'interrupted' WHERE run_id = ?", (run_id,))
                status = "interrupted"
            latest = (run_id, chain_id or run_id, status)
        if latest is None or latest[2] not in RESUMABLE:
            return None
        return latest[0], latest[1], lost_total

    def is_alive(self, host: str, pid: int, heartbeat: float | None) -> bool:
        """Whether a run's process still runs (same host: its pid; else its heartbeat)."""
        if host == self.host:
            return pid_alive(pid)
        return heartbeat is not None and time.time() - heartbeat < STALE_HEARTBEAT_S

    def record_finished_run(
        self,
        run_id: str,
        attempts: Sequence[Attempt],
        *,
        name: str,
        fingerprint: str,
        chain_id: str,
        resumed_from: str | None = None,
    ) -> None:
        """Book a run that happened outside the engine (a manual import: what a person found)
        as one finished run in ``chain_id``, with its attempts, in one transaction: it counts in
        the chain's spend and shows in the report like any other run."""
        now = _utc_now()
        with self.lock, translated(self.path), write_transaction(self.conn) as conn:
            conn.execute(
                "INSERT INTO runs (run_id, fingerprint, name, host, pid, started_at, "
                "finished_at, status, resumed_from, resumed_in_flight, chain_id, heartbeat_at) "
                "VALUES (?, ?, ?, ?, 0, ?, ?, 'finished', ?, 0, ?, ?)",
                (run_id, fingerprint, name, self.host, now, now, resumed_from, chain_id,
                 time.time()),
            )  # fmt: skip
            conn.executemany(INSERT_ATTEMPT, [a.as_row() for a in attempts])

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        with self.lock, translated(self.path), write_transaction(self.conn) as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
                (status, _utc_now(), run_id),
            )


def open_ledger(ledger: str | Path | Ledger | None) -> tuple[Ledger | None, bool]:
    """Normalize the ``ledger=`` option: the ledger, and whether we own (must close) it."""
    if ledger is None:
        return None, False
    if isinstance(ledger, Ledger):
        return ledger, False
    return Ledger(ledger), True
