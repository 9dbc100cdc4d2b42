"""Re-attach to a queued run and resume it: after the process that enqueued it crashed, after
every worker died, or once it ended with chunks that failed for good or rows it could not
finish.

Everything a run needs lives in Redis under its id (``keys.py``), so a handle is only the id
and the Redis URL: :func:`attach` checks the run is there, :func:`runs` lists the runs a Redis
holds (for the id a crashed notebook lost). :func:`resume` runs again, **in the same run**,
every chunk that did not finish cleanly — its job failed for good or is missing (the enqueuing
process died before queueing it), or its rows include dead letters (``dead.DEAD_STATUSES``).
The same run means the same budget account (what was spent, and what dead workers' sent calls
hold, counts against the cap; ``budget_credits=`` raises the cap to a new total) and the same
cache cutoff: every lookup the run bought is answered free, whatever the cache TTL
(``shared.cache_cutoff``), so nothing already paid is paid again — bar the calls that were in
flight in a worker at the moment it died, which may have been billed without an answer.

Example:
    >>> _todo(3, stored={0: False, 1: True}, active={2: False})
    [1, 2]
"""

from __future__ import annotations

import pickle
from typing import Any

import polars as pl

from gtmkit.queue.jobs import (
    ACTIVE_STATES,
    DEFAULT_RETRIES,
    QueueError,
    RunHandle,
    _any,
    _frame,
    _state,
    connection,
    current_job_ids,
    enqueue_chunk,
    job_id,
)
from gtmkit.queue.keys import PREFIX, run_key
from gtmkit.queue.shared import RedisBudget

#: the statuses of rows a resume runs again (the dead letters of ``dead.py``)
RESUMED_STATUSES = ("failed", "budget_exhausted", "stopped")
#: how long one resume holds the run's resume lock (two at once would queue a chunk twice)
_LOCK_S = 30


def attach(run_id: str, *, redis_url: str) -> RunHandle:
    """A handle on the queued run ``run_id`` in the Redis at ``redis_url`` (what
    ``Waterfall.enqueue`` returned, got back after its process is gone)."""
    handle = RunHandle(run_id, redis_url=redis_url)
    if not _any(handle.conn).exists(run_key(run_id, "meta")):
        raise QueueError(
            f"no queued run {run_id!r} at {redis_url}: gtmkit.queue.runs(redis_url) lists the "
            "runs this Redis holds"
        )
    return handle


def runs(redis_url: str) -> pl.DataFrame:
    """Every queued run in this Redis, newest first: ``run_id``, ``created_at`` (UTC),
    ``chunks``, ``rows``, ``status`` and ``requeued_from``."""
    conn = connection(redis_url)
    out: list[dict[str, Any]] = []
    for key in _any(conn).scan_iter(match=f"{PREFIX}:run:*:meta", count=500):
        run_id = key.decode().split(":")[2]
        meta = _any(conn).hmget(key, ["created_at", "chunks", "rows", "requeued_from"])
        if meta[0] is None:
            continue  # deleted while we scanned
        out.append({
            "run_id": run_id,
            "created_at": float(meta[0]),
            "chunks": int(meta[1]),
            "rows": int(meta[2]),
            "status": RunHandle(run_id, redis_url=redis_url).status(),
            "requeued_from": meta[3].decode() if meta[3] else None,
        })  # fmt: skip
    schema = {"run_id": pl.String, "created_at": pl.Float64, "chunks": pl.Int64,
              "rows": pl.Int64, "status": pl.String, "requeued_from": pl.String}  # fmt: skip
    frame = pl.DataFrame(out, schema=schema).sort("created_at", descending=True)
    when = pl.from_epoch("created_at", time_unit="s").dt.replace_time_zone("UTC")
    return frame.with_columns(when)


def _todo(n: int, *, stored: dict[int, bool], active: dict[int, bool]) -> list[int]:
    """The chunks to run again: not running now, and never stored or stored with dead letters
    (``stored`` maps a stored chunk to whether it has any; ``active``, whether its job will
    still run)."""
    return [i for i in range(n) if not active.get(i, False) and stored.get(i, True)]


def resume(
    run: RunHandle,
    *,
    budget_credits: float | None = None,
    budget_usd: float | None = None,
    retries: int | None = None,
) -> list[int]:
    """Queue again every chunk of ``run`` that did not finish cleanly (see the module doc);
    returns their indexes (``[]``: nothing to do, or every such chunk is still queued or
    running). ``budget_credits``/``budget_usd`` set the run's cap to a new **total** (what is
    spent already counts; a cap below it is refused). Needs workers, as the first run did."""
    conn: Any = run.conn
    lock = run_key(run.run_id, "resume_lock")
    if not conn.set(lock, "1", nx=True, ex=_LOCK_S):
        raise QueueError(f"run {run.run_id} is being resumed by another process: try again soon")
    try:
        meta = conn.hgetall(run_key(run.run_id, "meta"))
        if not meta:
            raise QueueError(f"no queued run {run.run_id!r} at {run.redis_url}")
        _set_caps(run, budget_credits, budget_usd)
        run.reap()  # a dead worker's chunk goes back to its queue (or fails for good) first
        n = int(meta[b"chunks"])
        ids = current_job_ids(conn, run.run_id, n)
        from rq.job import Job

        jobs = Job.fetch_many(ids, connection=conn)
        active = {i: _state(j) in ACTIVE_STATES for i, j in enumerate(jobs)}
        stored = {
            int(k): _has_dead_rows(pickle.loads(v)["records"])
            for k, v in conn.hgetall(run_key(run.run_id, "chunks")).items()
        }
        todo = _todo(n, stored=stored, active=active)
        if not todo:
            return []
        from rq import Queue

        count = int(conn.hincrby(run_key(run.run_id, "meta"), "resumes", 1))
        retries_ = int(meta.get(b"retries", DEFAULT_RETRIES)) if retries is None else retries
        timeout = int(meta.get(b"job_timeout_s", 3600))
        queue = Queue(meta[b"queue"].decode(), connection=conn)
        for index in todo:
            jid = f"{job_id(run.run_id, index)}-r{count}"
            conn.hset(run_key(run.run_id, "jobs"), str(index), jid)
            enqueue_chunk(queue, run.run_id, index, jid, retries=retries_, job_timeout_s=timeout)
        return todo
    finally:
        conn.delete(lock)


def _has_dead_rows(records: bytes) -> bool:
    frame = _frame(records)
    return "status" in frame.columns and frame["status"].is_in(RESUMED_STATUSES).any()


def _set_caps(run: RunHandle, credits: float | None, usd: float | None) -> None:
    """The run's caps raised (or set) to new totals; never below what is committed already."""
    budget = RedisBudget(run.conn, run.run_id)
    committed = {"credits": budget.spent_credits + budget.lost_credits(),
                 "usd": budget.spent_usd + budget.lost_usd()}  # fmt: skip
    for unit, cap in (("credits", credits), ("usd", usd)):
        if cap is None:
            continue
        if isinstance(cap, bool) or not isinstance(cap, int | float) or cap < 0:
            raise QueueError(f"budget_{unit} must be a number ≥ 0, got {cap!r}")
        if cap < committed[unit]:
            raise QueueError(
                f"budget_{unit}={cap:g} is below the {committed[unit]:g} this run has spent "
                f"or holds for calls a dead worker sent: give a total of at least that"
            )
        run.conn.hset(run_key(run.run_id, "budget"), f"cap_{unit}", repr(float(cap)))
        run.conn.hset(run_key(run.run_id, "meta"), f"budget_{unit}", repr(float(cap)))


__all__ = ["RESUMED_STATUSES", "attach", "resume", "runs"]
