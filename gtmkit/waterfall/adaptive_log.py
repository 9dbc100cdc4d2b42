"""The record of an adaptive run's decisions, in the ledger: which order each row got and why.

Two tables, created the first time an adaptive run uses a ledger (a ledger that only ever ran
static waterfalls does not change):

* ``adaptive_runs`` — one row per chain of resumes: the seed, the segment columns, the block
  size and the prior the chain started from (JSON). A resume reads them back, so it continues
  with the same settings and the same prior even if the ledger gained history meanwhile.
* ``adaptive_orders`` — one row per decided row of the chain: its segment, the order it got
  (provider names), the rates drawn for each provider with the posterior means and lookups they
  rested on (``sampled_json``), the worth of a usable record used (``value_usd``), the block
  it was decided in (its posterior learned from the rows of the blocks before the previous
  one), and the run that decided it. A resumed run walks a decided row in its recorded order,
  and so does a rerun of the same spec on the same list with the same seed (a new chain, whose
  record repeats the orders it replays, each naming the run that decided it): from the cache,
  it reproduces the run at no cost. ``resume=False`` learns afresh instead.

Decisions are written in one transaction per block, when the next block's posterior is taken,
and at the end of the run. One not yet written when a process dies is decided again on resume
from the same rows' answers (the cache) with the same seed — the same decision.

Example:
    >>> log = DecisionLog(None, chain_id="c", run_id="r")
    >>> log.recorded(), log.frame().height
    ({}, 0)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from gtmkit.waterfall.ledger import translated, write_transaction

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.waterfall.ledger import Ledger

ADAPTIVE_TABLES = ("adaptive_runs", "adaptive_orders")

_DDL = (
    """CREATE TABLE IF NOT EXISTS adaptive_runs (
    chain_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,             -- the run that started the chain
    seed INTEGER NOT NULL,
    segment_by TEXT NOT NULL,         -- JSON list of columns
    block_size INTEGER NOT NULL,
    prior_json TEXT NOT NULL,
    created_at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS adaptive_orders (
    chain_id TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    run_id TEXT NOT NULL,             -- the run that decided it
    block INTEGER NOT NULL,
    segment TEXT NOT NULL,
    order_json TEXT NOT NULL,         -- JSON list of provider names, first tried first
    sampled_json TEXT NOT NULL,       -- per provider: drawn rates, index, posterior means, n
    value_usd REAL NOT NULL,          -- worth of one usable record the index used
    decided_at TEXT NOT NULL,
    PRIMARY KEY (chain_id, row_id)
)""",
)

DECISION_SCHEMA: dict[str, Any] = {
    "row_id": pl.Int64,
    "block": pl.Int64,
    "segment": pl.String,
    "order": pl.List(pl.String),
    "sampled_json": pl.String,
    "value_usd": pl.Float64,
    "run_id": pl.String,
    "reused": pl.Boolean,
}


@dataclass(frozen=True, slots=True)
class Decision:
    """One row's order and why (see the module docstring)."""

    row_id: int
    block: int
    segment: str
    order: tuple[str, ...]
    sampled: Mapping[str, Mapping[str, float]]
    value_usd: float
    run_id: str
    reused: bool = False

    def row(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id, "block": self.block, "segment": self.segment,
            "order": list(self.order), "sampled_json": json.dumps(self.sampled, sort_keys=True),
            "value_usd": self.value_usd, "run_id": self.run_id, "reused": self.reused,
        }  # fmt: skip


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _has_tables(ledger: Ledger) -> bool:
    rows = ledger._read(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", ADAPTIVE_TABLES
    )
    return len(rows) == len(ADAPTIVE_TABLES)


class DecisionLog:
    """The decisions of one chain: what earlier runs of it recorded, and this run's, written
    in batches (``ledger=None``: kept in memory for the result only)."""

    def __init__(self, ledger: Ledger | None, *, chain_id: str, run_id: str) -> None:
        self.ledger, self.chain_id, self.run_id = ledger, chain_id, run_id
        #: the chain recorded decisions are read from: this one, or the run it reruns
        self.source = chain_id
        self._queued: list[Decision] = []
        self._mine: list[Decision] = []

    def settings(self, chain_id: str | None = None) -> dict[str, Any] | None:
        """The settings the chain (this one by default) began with (``seed``, ``segment_by``,
        ``block_size``, ``prior``), or ``None`` for a new chain."""
        if self.ledger is None or not _has_tables(self.ledger):
            return None
        row = self.ledger._read(
            "SELECT seed, segment_by, block_size, prior_json FROM adaptive_runs WHERE chain_id = ?",
            (chain_id or self.chain_id,),
        )
        if not row:
            return None
        seed, segment_by, block_size, prior = row[0]
        return {"seed": int(seed), "segment_by": json.loads(segment_by),
                "block_size": int(block_size), "prior": json.loads(prior)}  # fmt: skip

    def begin(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """Record a new chain's settings (creating the tables on first use); returns them."""
        if self.ledger is None:
            return dict(settings)
        ledger = self.ledger
        with ledger.lock, translated(ledger.path), write_transaction(ledger.conn) as conn:
            for statement in _DDL:
                conn.execute(statement)
            conn.execute(
                "INSERT OR IGNORE INTO adaptive_runs (chain_id, run_id, seed, segment_by, "
                "block_size, prior_json, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (self.chain_id, self.run_id, settings["seed"],
                 json.dumps(list(settings["segment_by"])), settings["block_size"],
                 json.dumps(settings["prior"], sort_keys=True), _now()),
            )  # fmt: skip
        recorded = self.settings()
        assert recorded is not None
        return recorded

    def rerun_of(self, fingerprint: str, seed: int) -> dict[str, Any] | None:
        """A new chain on a list and spec an earlier adaptive chain ran with the same seed is a
        rerun of it: read that chain's decisions from now on, and return its settings."""
        if self.ledger is None or not fingerprint or not _has_tables(self.ledger):
            return None
        rows = self.ledger._read(
            "SELECT r.chain_id FROM runs r JOIN adaptive_runs a ON a.chain_id = r.chain_id "
            "WHERE r.fingerprint = ? AND r.chain_id != ? AND a.seed = ? "
            "ORDER BY r.started_at DESC LIMIT 1",
            (fingerprint, self.chain_id, seed),
        )
        if not rows:
            return None
        self.source = str(rows[0][0])
        return self.settings(self.source)

    def recorded(self) -> dict[int, Decision]:
        """Decisions recorded by earlier runs of the chain (or of the run it reruns), by row
        id, marked ``reused``."""
        if self.ledger is None or not _has_tables(self.ledger):
            return {}
        rows = self.ledger._read(
            "SELECT row_id, block, segment, order_json, sampled_json, value_usd, run_id "
            "FROM adaptive_orders WHERE chain_id = ?",
            (self.source,),
        )
        return {
            int(r[0]): Decision(int(r[0]), int(r[1]), str(r[2]), tuple(json.loads(r[3])),
                                json.loads(r[4]), float(r[5]), str(r[6]), reused=True)
            for r in rows
        }  # fmt: skip

    def add(self, decision: Decision) -> None:
        self._mine.append(decision)
        if not decision.reused or self.source != self.chain_id:
            self._queued.append(decision)  # a rerun records the orders it replays as its own

    def flush(self) -> None:
        """Write the decisions taken since the last flush, in one transaction."""
        if self.ledger is None or not self._queued:
            self._queued.clear()
            return
        queued, self._queued = self._queued, []
        ledger = self.ledger
        with ledger.lock, translated(ledger.path), write_transaction(ledger.conn) as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO adaptive_orders (chain_id, row_id, run_id, block, "
                "segment, order_json, sampled_json, value_usd, decided_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(self.chain_id, d.row_id, d.run_id, d.block, d.segment, json.dumps(d.order),
                  json.dumps(d.sampled, sort_keys=True), d.value_usd, _now()) for d in queued],
            )  # fmt: skip

    def frame(self) -> pl.DataFrame:
        """This run's decisions (taken or reused), one row per decided row, by row id."""
        rows = [d.row() for d in sorted(self._mine, key=lambda d: d.row_id)]
        return pl.DataFrame(rows, schema=DECISION_SCHEMA)


def recorded_orders(ledger: Ledger, chain_id: str | None = None) -> pl.DataFrame:
    """Every recorded adaptive decision of the ledger (or of one chain): ``chain_id``,
    ``row_id``, ``run_id``, ``block``, ``segment``, ``order``, ``sampled_json``,
    ``value_usd``, ``decided_at``."""
    schema: dict[str, Any] = {
        "chain_id": pl.String, "row_id": pl.Int64, "run_id": pl.String, "block": pl.Int64,
        "segment": pl.String, "order": pl.List(pl.String), "sampled_json": pl.String,
        "value_usd": pl.Float64, "decided_at": pl.String,
    }  # fmt: skip
    if not _has_tables(ledger):
        return pl.DataFrame(schema=schema)
    sql = (
        "SELECT chain_id, row_id, run_id, block, segment, order_json, sampled_json, value_usd, "
        "decided_at FROM adaptive_orders"
    )
    params: tuple[Any, ...] = ()
    if chain_id is not None:
        sql, params = sql + " WHERE chain_id = ?", (chain_id,)
    rows = [
        (*r[:5], json.loads(r[5]), *r[6:])
        for r in ledger._read(sql + " ORDER BY chain_id, row_id", params)
    ]
    return pl.DataFrame(rows, schema=schema, orient="row")


def previous_segments(
    ledger: Ledger, *, exclude_chain: str, segment_by: Sequence[str]
) -> pl.DataFrame | None:
    """``chain``, ``row_id``, ``segment`` of the rows earlier adaptive chains decided on the
    same segment columns (what lets the twin learn per segment from the ledger alone)."""
    if not segment_by or not _has_tables(ledger):
        return None
    rows = ledger._read(
        "SELECT o.chain_id, o.row_id, o.segment FROM adaptive_orders o JOIN adaptive_runs r "
        "ON o.chain_id = r.chain_id WHERE o.chain_id != ? AND r.segment_by = ?",
        (exclude_chain, json.dumps(list(segment_by))),
    )
    if not rows:
        return None
    schema = {"chain": pl.String, "row_id": pl.Int64, "segment": pl.String}
    return pl.DataFrame(rows, schema=schema, orient="row")


__all__ = [
    "ADAPTIVE_TABLES",
    "DECISION_SCHEMA",
    "Decision",
    "DecisionLog",
    "previous_segments",
    "recorded_orders",
]
