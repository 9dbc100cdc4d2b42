"""The ledger's tables, its schema version, and the one migration so far.

Version 2 (this one) added the money columns an unknown outcome needs (``worst_case``,
``credits_held``, ``price_usd``), a run's budget and its chain of resumes (``chain_id``) on
``runs``, and a heartbeat so other processes can tell a live run from a dead one. A version-1
ledger is migrated in place on open; a ledger from a newer gtmkit is refused.

Example:
    >>> import sqlite3
    >>> conn = sqlite3.connect(":memory:")
    >>> ensure_schema(conn)
    >>> conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    ('2',)
"""

from __future__ import annotations

import sqlite3

from gtmkit.waterfall.attempt import ATTEMPT_DDL

SCHEMA_VERSION = 2

_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    name TEXT,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,             -- running | finished | incomplete | stopped | interrupted
    resumed_from TEXT,
    resumed_in_flight INTEGER NOT NULL DEFAULT 0,
    chain_id TEXT,                    -- the first run of a chain of resumes
    budget_credits REAL,
    budget_usd REAL,
    heartbeat_at REAL                 -- unix time, refreshed while running
)""",
    "CREATE INDEX IF NOT EXISTS runs_fingerprint ON runs (fingerprint, status)",
    "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
    ATTEMPT_DDL,
    "CREATE INDEX IF NOT EXISTS attempts_lookup ON attempts (provider, endpoint, lookup_key)",
    """CREATE TABLE IF NOT EXISTS cache (
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
)""",
)

_V1_TO_V2 = (
    "ALTER TABLE attempts ADD COLUMN worst_case REAL NOT NULL DEFAULT 0",
    "ALTER TABLE attempts ADD COLUMN credits_held REAL NOT NULL DEFAULT 0",
    "ALTER TABLE attempts ADD COLUMN price_usd REAL NOT NULL DEFAULT 0",
    "UPDATE attempts SET price_usd = cost_usd / credits WHERE credits > 0",
    "ALTER TABLE runs ADD COLUMN chain_id TEXT",
    "ALTER TABLE runs ADD COLUMN budget_credits REAL",
    "ALTER TABLE runs ADD COLUMN budget_usd REAL",
    "ALTER TABLE runs ADD COLUMN heartbeat_at REAL",
    "UPDATE runs SET chain_id = run_id",
)


class NewerLedger(Exception):
    """The file was written by a newer gtmkit (carries the version it found)."""

    def __init__(self, version: int) -> None:
        super().__init__(version)
        self.version = version


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create or migrate the tables (inside the caller's write transaction)."""
    row = None
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if exists:
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0]) if row else None
    if version is not None and version > SCHEMA_VERSION:
        raise NewerLedger(version)
    if version == 1:
        for statement in _V1_TO_V2:
            conn.execute(statement)
    for statement in _TABLES:
        conn.execute(statement)
    # the claim check looks for calls in flight by lookup: keep those few rows indexed apart
    conn.execute(
        "CREATE INDEX IF NOT EXISTS attempts_in_flight ON attempts "
        "(provider, endpoint, lookup_key) WHERE state = 'sent'"
    )
    conn.execute(
        "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
        (str(SCHEMA_VERSION),),
    )
