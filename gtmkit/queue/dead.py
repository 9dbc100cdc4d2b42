"""Dead letters of a queued run: the rows it could not finish, with why, and a way to send
them back.

A row is a dead letter when it ended ``failed`` (retries exhausted, an error, its chunk's job
failed for good, or its provider's breaker open), ``budget_exhausted`` (the run could not
afford it) or ``stopped`` (deadline or cancel). Nothing is dropped: :func:`dead_letters` lists
them as a frame; :func:`requeue` queues them again as a new run of the same spec and options
(with a new budget, say), which reuses everything the first run bought.

Example:
    >>> import polars as pl
    >>> kinds(pl.DataFrame({"status": ["budget_exhausted", "failed"],
    ...                     "status_reason": ["budget exhausted", "hunter disabled: 5xx"]}))
    ['budget', 'breaker']
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from typing import Any

import polars as pl

from gtmkit.queue.jobs import RunHandle, enqueue
from gtmkit.queue.keys import run_key
from gtmkit.queue.shipping import unpack
from gtmkit.schema import ROW_ID
from gtmkit.waterfall.result import WaterfallResult

#: the statuses of rows a run could not finish
DEAD_STATUSES = ("failed", "budget_exhausted", "stopped")


def _kind() -> pl.Expr:
    reason = pl.col("status_reason").fill_null("")
    return (
        pl.when(pl.col("status") == "budget_exhausted")
        .then(pl.lit("budget"))
        .when(pl.col("status") == "stopped")
        .then(pl.lit("stopped"))
        .when(reason.str.contains("queued chunk"))
        .then(pl.lit("job"))
        .when(reason.str.contains("disabled"))
        .then(pl.lit("breaker"))
        .otherwise(pl.lit("error"))
    )


def kinds(frame: pl.DataFrame) -> list[str]:
    """``budget``, ``stopped``, ``job`` (its chunk's job failed for good), ``breaker`` or
    ``error``, per row of a records frame."""
    return frame.select(_kind()).to_series().to_list()


def dead_letters(run: RunHandle | WaterfallResult) -> pl.DataFrame:
    """The rows ``run`` could not finish: ``row_id``, ``status``, ``kind``, ``reason``."""
    result = run.result() if isinstance(run, RunHandle) else run
    dead = result.records.filter(pl.col("status").is_in(DEAD_STATUSES))
    return dead.select(
        ROW_ID, "status", _kind().alias("kind"), pl.col("status_reason").alias("reason")
    )


def requeue(run: RunHandle, *, rows: Iterable[Any] | None = None, **overrides: Any) -> RunHandle:
    """Queue ``run``'s dead letters (or the given ``rows``' ids) again: a new run of the same
    spec and options with ``overrides`` (``budget_credits=...``, ``batch_size=...``)."""
    conn: Any = run.conn
    meta = conn.hgetall(run_key(run.run_id, "meta"))
    ids = list(rows) if rows is not None else dead_letters(run)[ROW_ID].to_list()
    inputs = [conn.get(run_key(run.run_id, f"chunk:{i}")) for i in range(int(meta[b"chunks"]))]
    frame = pl.concat([pl.read_ipc(raw) for raw in inputs if raw is not None])
    frame = frame.filter(pl.col(ROW_ID).is_in(ids))
    options = {**unpack(meta[b"options"]), **overrides}
    handle = enqueue(
        pickle.loads(meta[b"spec"]), frame, redis_url=run.redis_url,
        queue=meta[b"queue"].decode(), **options,
    )  # fmt: skip
    conn.hset(run_key(handle.run_id, "meta"), "requeued_from", run.run_id)
    return handle


__all__ = ["DEAD_STATUSES", "dead_letters", "kinds", "requeue"]
