"""Queued runs: :func:`enqueue` splits a list into chunks of RQ jobs, :func:`run_chunk` is the
job a worker runs (the same engine, on the run's shared parts), :class:`RunHandle` waits for
them and merges what they wrote into one :class:`~gtmkit.waterfall.result.WaterfallResult`.

Every row is accounted for: a chunk whose job failed for good (its retries used up) comes
back with its rows ``failed`` and the job's error as the reason; a call that was in flight in
a worker that died is in the attempts as ``lost``, held at its worst case.

Example:
    >>> chunks([0, 1, 2, 3, 4], 2)
    [[0, 1], [2, 3], [4]]
"""

from __future__ import annotations

import io
import json
import pickle
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.queue.keys import run_key
from gtmkit.queue.shared import RedisBudget
from gtmkit.queue.shipping import pack, unpack
from gtmkit.schema import ROW_ID
from gtmkit.waterfall.attempt import ATTEMPT_COLUMNS, attempts_frame
from gtmkit.waterfall.result import STATUSES, WaterfallResult
from gtmkit.waterfall.rows import prepare_records, representatives

if TYPE_CHECKING:  # pragma: no cover
    import redis

    from gtmkit.waterfall.spec import Waterfall

#: the RQ queue a run goes to unless told otherwise (``gtmkit worker`` listens on it)
DEFAULT_QUEUE = "gtmkit"
#: how many times RQ re-runs a chunk whose worker died or whose job raised
DEFAULT_RETRIES = 3
#: how many times a Redis command is resent while Redis is away (about 30 s in all)
RESEND_TRIES = 64
#: options a queued run decides itself (a worker has no ledger, bar or local budget)
_NOT_QUEUED = ("ledger", "backends", "progress", "cancel", "providers", "budget_credits",
               "budget_usd", "resume")  # fmt: skip


class QueueError(GtmkitError, ValueError):
    """A queued run cannot be made or read (what is wrong is in the message)."""


def chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _ipc(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return buffer.getvalue()


def _frame(raw: bytes) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(raw))


def _any(conn: Any) -> Any:
    """redis-py's answers typed loosely (this module reads raw bytes)."""
    return conn


def connection(redis_url: str) -> redis.Redis:
    """A Redis client for ``redis_url`` (RQ needs raw bytes, so no decoding)."""
    import redis as redis_module
    from redis.backoff import ExponentialBackoff
    from redis.retry import Retry

    # a Redis restart (AOF) pauses the run instead of failing it: every command is resent for
    # about half a minute; the scripts are written so that a resent one changes nothing twice
    retry = Retry(ExponentialBackoff(cap=0.5, base=0.02), RESEND_TRIES)
    return redis_module.Redis.from_url(
        redis_url,
        retry=retry,
        retry_on_error=[redis_module.ConnectionError, redis_module.TimeoutError],
    )


def enqueue(
    wf: Waterfall,
    records: Any,
    *,
    redis_url: str,
    queue: str = DEFAULT_QUEUE,
    batch_size: int = 200,
    budget_credits: float | None = None,
    budget_usd: float | None = None,
    retries: int = DEFAULT_RETRIES,
    job_timeout_s: int = 3600,
    **options: Any,
) -> RunHandle:
    """Queue ``wf`` over ``records`` in chunks of ``batch_size`` rows (see ``README.md``).

    ``options`` are :class:`~gtmkit.waterfall.options.RunOptions` fields each worker runs its
    chunk with (``mode``, ``connect_options``, ``cache_ttl_days``, ``rate_limits``...); the
    budget is the run's, shared by every worker.
    """
    from rq import Queue

    from gtmkit.waterfall.options import RunOptions, RunOptionsError

    refused = sorted(set(options) & set(_NOT_QUEUED))
    if refused:
        raise QueueError(f"{refused} cannot be set for a queued run (the workers own them)")
    # every option checked here, before anything is queued (a typo fails now, not in a worker)
    checked = RunOptions.build(None, budget_credits=budget_credits, budget_usd=budget_usd,
                               ledger=None, **options)  # fmt: skip
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise RunOptionsError(f"batch_size must be a whole number ≥ 1, got {batch_size!r}")
    shipped = pack(options)  # refused now, naming the option, if a worker could not get it
    frame, rejected = prepare_records(records)
    groups = _chunk_rows(frame, batch_size)
    conn = connection(redis_url)
    run_id = uuid.uuid4().hex[:16]
    RedisBudget.create(conn, run_id, checked.budget_credits, checked.budget_usd)
    meta = {
        "created_at": repr(time.time()),
        "chunks": str(len(groups)),
        "rows": str(frame.height + (0 if rejected is None else rejected.height)),
        "queue": queue,
        "spec": pickle.dumps(wf),
        "options": shipped,
        "budget_credits": "" if checked.budget_credits is None else repr(checked.budget_credits),
        "budget_usd": "" if checked.budget_usd is None else repr(checked.budget_usd),
        "retries": str(retries),
        "job_timeout_s": str(job_timeout_s),
    }
    if rejected is not None:
        meta["rejected"] = _ipc(rejected)
    pipe = conn.pipeline()
    pipe.hset(run_key(run_id, "meta"), mapping=meta)  # type: ignore[arg-type]
    for index, ids in enumerate(groups):
        pipe.set(run_key(run_id, f"chunk:{index}"), _ipc(frame.filter(pl.col(ROW_ID).is_in(ids))))
    pipe.execute()
    q = Queue(queue, connection=conn)
    for index in range(len(groups)):
        enqueue_chunk(q, run_id, index, job_id(run_id, index), retries=retries,
                      job_timeout_s=job_timeout_s)  # fmt: skip
    return RunHandle(run_id, redis_url=redis_url)


def enqueue_chunk(
    q: Any, run_id: str, index: int, jid: str, *, retries: int, job_timeout_s: int
) -> None:
    """One chunk's RQ job (``jid`` is its id: the first run's, or a resume's)."""
    from rq import Retry

    q.enqueue(
        "gtmkit.queue.jobs.run_chunk",
        run_id,
        index,
        job_id=jid,
        retry=Retry(max=retries) if retries else None,
        job_timeout=job_timeout_s,
        result_ttl=86400,
        failure_ttl=86400 * 7,
    )


def job_id(run_id: str, index: int) -> str:
    return f"gtmkit-{run_id}-{index}"


def current_job_ids(conn: Any, run_id: str, n: int) -> list[str]:
    """The RQ job of each chunk now: its first job's, or the last resume's (``jobs`` hash)."""
    resumed = {int(k): v.decode() for k, v in _any(conn).hgetall(run_key(run_id, "jobs")).items()}
    return [resumed.get(i, job_id(run_id, i)) for i in range(n)]


def _chunk_rows(frame: pl.DataFrame, size: int) -> list[list[Any]]:
    """Row ids per chunk; a duplicate row goes with the row it duplicates."""
    dupes = representatives(frame)
    with_rep: dict[Any, list[Any]] = {}
    for row_id in frame[ROW_ID].to_list():
        with_rep.setdefault(dupes.get(row_id, row_id), []).append(row_id)
    groups: list[list[Any]] = [[]]
    for members in with_rep.values():
        if len(groups[-1]) >= size:
            groups.append([])
        groups[-1].extend(members)
    return groups if groups[0] else []


def run_chunk(run_id: str, index: int, conn: redis.Redis | None = None) -> dict[str, Any]:
    """The job: run chunk ``index`` of run ``run_id`` with the run's shared parts, and store
    its records for the merge. Returns small figures (RQ keeps them as the job's result)."""
    from gtmkit.queue.backends import RedisBackends

    job_name = f"{run_id}-{index}"
    registry = None  # run directly: no other execution is known
    if conn is None:
        from rq import get_current_job

        job = get_current_job()
        if job is None:
            raise QueueError("run_chunk runs in an RQ worker (or pass conn=)")
        conn = job.connection
        job_name = job.id
        registry = job.started_job_registry.key
    meta: dict[bytes, Any] = _any(conn).hgetall(run_key(run_id, "meta"))
    if not meta:
        raise QueueError(f"no queued run {run_id!r} in this Redis")
    wf: Waterfall = pickle.loads(meta[b"spec"])
    options = unpack(meta[b"options"])
    raw = _any(conn).get(run_key(run_id, f"chunk:{index}"))
    if raw is None:
        raise QueueError(f"chunk {index} of run {run_id!r} is missing")
    frame = _frame(raw)
    execution = f"{job_name}:{uuid.uuid4().hex[:8]}"
    # a run of this chunk before this one died (RQ re-runs a job only once its worker stopped
    # heartbeating): its rows' holds that never reached a send would shrink the budget for
    # good, so they are freed; its calls in flight stay held at their worst case
    RedisBudget(conn, run_id, owner=execution).release_unsent(registry)
    backends = RedisBackends(conn, run_id, execution=execution)
    result = wf.run(frame, ledger=None, progress=False, backends=backends, **options)
    totals = {k: v for k, v in result.totals.items() if isinstance(v, int | float | str | None)}
    stored = {
        "execution": execution,
        "records": _ipc(result.records),
        "summary": _ipc(result.summary),
        "totals": totals,
        "disabled": dict(result.totals.get("disabled") or {}),
        "refused_calls": int(result.totals.get("refused_calls") or 0),
    }
    pipe = conn.pipeline()
    pipe.hset(run_key(run_id, "chunks"), str(index), pickle.dumps(stored))
    pipe.hset(run_key(run_id, "chunk_rows"), str(index), str(result.records.height))
    pipe.execute()
    return {"rows": result.records.height, "credits": result.totals.get("credits", 0.0)}


@dataclass
class RunHandle:
    """A queued run: ``status()``, ``progress()``, ``wait()``, ``result()``."""

    run_id: str
    redis_url: str

    def __post_init__(self) -> None:
        self._conn = connection(self.redis_url)

    @property
    def conn(self) -> redis.Redis:
        return self._conn

    def _meta(self) -> dict[bytes, bytes]:
        meta: dict[bytes, bytes] = _any(self._conn).hgetall(run_key(self.run_id, "meta"))
        if not meta:
            raise QueueError(f"no queued run {self.run_id!r} at {self.redis_url}")
        return meta

    def _jobs(self) -> list[Any]:
        from rq.job import Job

        n = int(self._meta()[b"chunks"])
        ids = current_job_ids(self._conn, self.run_id, n)
        return [j for j in Job.fetch_many(ids, connection=self._conn)]

    def progress(self) -> dict[str, Any]:
        """Chunks done and failed, rows done, attempts so far and what the run has spent."""
        meta = self._meta()
        states = [_state(j) for j in self._jobs()]
        rows = _any(self._conn).hvals(run_key(self.run_id, "chunk_rows"))
        rows_done = sum(int(n) for n in rows)
        budget = RedisBudget(self._conn, self.run_id)
        return {
            "chunks": int(meta[b"chunks"]),
            "done": len(rows),
            "failed": states.count("failed"),
            "started": states.count("started"),
            "pending": sum(state in ACTIVE_STATES for state in states),
            "rows": int(meta[b"rows"]),
            "rows_done": rows_done,
            "attempts": int(self._conn.llen(run_key(self.run_id, "attempts"))),
            "spent_credits": budget.spent_credits,
            "held_credits": budget.held_credits(),
        }

    def status(self) -> str:
        """``queued``, ``running``, ``finished`` (no job left to run, every chunk stored) or
        ``failed`` (no job left to run, and a chunk failed for good or its job is missing:
        :meth:`resume` runs it again)."""
        p = self.progress()
        if p["pending"] == 0:
            return "finished" if p["done"] == p["chunks"] else "failed"
        return "running" if p["done"] or p["started"] or p["attempts"] else "queued"

    def resume(self, **kwargs: Any) -> list[int]:
        """Queue again, in this run and on its budget, every chunk that did not finish
        cleanly; returns their indexes (see :func:`gtmkit.queue.resume.resume`)."""
        from gtmkit.queue.resume import resume

        return resume(self, **kwargs)

    def reap(self) -> None:
        """RQ's abandoned-job handling, now: a chunk whose worker stopped heartbeating is
        retried (or failed once its retries are used up), and the budget its rows held for
        calls never sent is freed. Workers run the first part too."""
        from rq import Queue

        queue = Queue(self._meta()[b"queue"].decode(), connection=self._conn)
        queue.started_job_registry.cleanup()
        # the holds of a dead worker's rows that never sent are freed now, not when its chunk
        # is re-run: the live workers may all be waiting for that budget room
        RedisBudget(self._conn, self.run_id).release_unsent(queue.started_job_registry.key)

    def wait(self, timeout_s: float | None = None, *, poll_s: float = 0.2) -> RunHandle:
        """Block until every chunk has ended (stored or failed for good)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        last_reap = 0.0
        while self.status() not in ("finished", "failed"):
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"run {self.run_id} not done after {timeout_s} s: "
                                   f"{self.progress()}")  # fmt: skip
            if time.monotonic() - last_reap > 1.0:
                self.reap()
                last_reap = time.monotonic()
            time.sleep(poll_s)
        return self

    def result(self) -> WaterfallResult:
        """The run as one result (see :func:`merge`)."""
        return merge(self._conn, self.run_id)


#: RQ job states of a job that will still run (a chunk not ended)
ACTIVE_STATES = ("queued", "started", "deferred", "scheduled")


def _state(job: Any) -> str:
    """An RQ job's status word (``finished``, ``failed``, ``started``...)."""
    if job is None:
        return "missing"
    status = job.get_status()
    return str(getattr(status, "value", status))


def _failed_rows(frame: pl.DataFrame, reason: str) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(0.0).alias("credits"),
        pl.lit(0.0).alias("cost_usd"),
        pl.lit(0, dtype=pl.Int64).alias("attempts"),
        pl.lit("failed").alias("status"),
        pl.lit(reason).alias("status_reason"),
        pl.lit(False).alias("email_verified"),
    )


def merge(conn: redis.Redis, run_id: str) -> WaterfallResult:
    """Every chunk's records, every worker's attempts (calls of a worker that died included;
    its intents never answered as ``lost`` at worst case), one summary and one set of totals."""
    from rq.job import Job

    r = _any(conn)
    meta: dict[bytes, Any] = r.hgetall(run_key(run_id, "meta"))
    if not meta:
        raise QueueError(f"no queued run {run_id!r} in this Redis")
    wf: Waterfall = pickle.loads(meta[b"spec"])
    n = int(meta[b"chunks"])
    stored = {int(k): pickle.loads(v) for k, v in r.hgetall(run_key(run_id, "chunks")).items()}
    parts: list[pl.DataFrame] = []
    jobs = current_job_ids(conn, run_id, n)
    for index in range(n):
        if index in stored:
            parts.append(_frame(stored[index]["records"]))
            continue
        job = Job.fetch_many([jobs[index]], connection=conn)[0]
        why = "its job never ran" if job is None else f"its job {_state(job)}"
        latest = job.latest_result() if job is not None else None
        error = getattr(latest, "exc_string", None)
        if error:
            why += ": " + str(error).strip().splitlines()[-1][:300]
        raw = r.get(run_key(run_id, f"chunk:{index}"))
        if raw is not None:
            parts.append(_failed_rows(_frame(raw), f"queued chunk {index} failed ({why})"))
    if b"rejected" in meta:
        rejected = _frame(meta[b"rejected"])
        reason = (
            rejected["reason"].cast(pl.String)
            if "reason" in rejected.columns
            else pl.Series(["rejected at intake"] * rejected.height)
        )
        parts.append(
            pl.DataFrame({ROW_ID: rejected[ROW_ID]}).with_columns(
                pl.lit(False).alias("email_verified"),
                pl.lit(0.0).alias("credits"),
                pl.lit(0.0).alias("cost_usd"),
                pl.lit(0, dtype=pl.Int64).alias("attempts"),
                pl.lit("rejected").alias("status"),
                reason.alias("status_reason"),
            )
        )
    records = pl.concat(parts, how="diagonal_relaxed").sort(ROW_ID) if parts else pl.DataFrame()
    accepted = {s["execution"] for s in stored.values()}
    rows: list[list[Any]] = []
    for raw in r.lrange(run_key(run_id, "attempts"), 0, -1):
        execution, *row = json.loads(raw)
        cached = row[ATTEMPT_COLUMNS.index("cached")]
        if cached and execution not in accepted:
            continue  # a free reuse by a run of a chunk that was re-run: not an attempt
        rows.append(row)
    lost = 0
    for raw in r.hvals(run_key(run_id, "inflight")):
        _, *row = json.loads(raw)
        row[ATTEMPT_COLUMNS.index("state")] = "lost"
        row[ATTEMPT_COLUMNS.index("credits_held")] = row[ATTEMPT_COLUMNS.index("worst_case")]
        rows.append(row)
        lost += 1
    seq = ATTEMPT_COLUMNS.index("seq")
    for i, row in enumerate(rows, start=1):
        row[seq] = i
    attempts = attempts_frame([tuple(r) for r in rows])
    summary = _summary(wf, records, attempts, [_frame(s["summary"]) for s in stored.values()])
    budget = RedisBudget(conn, run_id)
    counts = dict(records.group_by("status").len().rows()) if records.height else {}
    disabled: dict[str, str] = {}
    for s in stored.values():
        disabled.update(s["disabled"])
    money = attempts.select(
        pl.col("credits").sum(), pl.col("credits_held").sum(), pl.col("cost_usd").sum(),
        (~pl.col("cached")).sum().alias("calls"), pl.col("cached").sum(),
    ).row(0, named=True)  # fmt: skip
    found = records["email"].is_not_null().sum() if "email" in records.columns else 0
    totals: dict[str, Any] = {
        "rows": records.height,
        **{status: int(counts.get(status, 0)) for status in STATUSES},
        "emails_found": int(found),
        **{k: float(money[k]) for k in ("credits", "credits_held", "cost_usd")},
        **{k: int(money[k]) for k in ("calls", "cached")},
        "disabled": disabled,
        "run_id": run_id,
        "chain_id": run_id,
        "resumed_in_flight": lost,
        "lost_calls": lost,
        "ledger": None,
        "tier": "queue",
        "chunks": n,
        "chunks_failed": n - len(stored),
        "budget_credits": _opt(meta.get(b"budget_credits")),
        "budget_usd": _opt(meta.get(b"budget_usd")),
        "spent_credits_all_resumes": budget.spent_credits + budget.held_credits(),
        "spent_usd_all_resumes": budget.spent_usd,
        "overspent_credits": budget.overspent_credits,
        "budget_peak_committed_credits": budget.peak_committed_credits,
        "budget_peak_committed_usd": budget.peak_committed_usd,
        "refused_calls": sum(s["refused_calls"] for s in stored.values()),
    }
    return WaterfallResult(records=records, attempts=attempts, summary=summary, totals=totals)


def _opt(raw: bytes | None) -> float | None:
    return float(raw) if raw else None


def _summary(
    wf: Waterfall, records: pl.DataFrame, attempts: pl.DataFrame, parts: list[pl.DataFrame]
) -> pl.DataFrame:
    """The chunks' per-step summaries added up; money, calls and latency from the merged
    attempts (calls of a chunk run that was cut off included), coverage from the records."""
    if not parts:
        return pl.DataFrame()
    base = pl.concat(parts).group_by("step", "provider", maintain_order=True).agg(
        pl.col("rows_in").sum(), pl.col("hits").sum(), pl.col("disabled").any(),
        pl.col("disabled_reason").drop_nulls().first(),
    )  # fmt: skip
    reps = records.filter(~pl.col("status").is_in(["duplicate", "rejected"]))
    n = max(1, reps.height)
    verifier = len(wf.steps) if wf.verify else None
    out = []
    cumulative = 0.0
    for row in base.sort("step").iter_rows(named=True):
        mine = attempts.filter(pl.col("step") == row["step"])
        sent = mine.filter(~pl.col("cached"))
        filled = 0
        if "email_source" in reps.columns and row["step"] != verifier:
            filled = reps.filter(
                (pl.col("email_source") == row["provider"]) & pl.col("email").is_not_null()
            ).height
        cumulative += filled / n
        cost = float(mine["cost_usd"].sum())
        latencies = sent["latency_s"].drop_nulls()
        out.append(
            {
                **{k: row[k] for k in ("step", "provider", "rows_in")},
                "calls": sent.height,
                "hits": row["hits"],
                "incremental_coverage": filled / n,
                "cumulative_coverage": cumulative,
                "credits": float(mine["credits"].sum()),
                "cost_usd": cost,
                "cost_per_hit": cost / row["hits"] if row["hits"] else None,
                "latency_p50_s": latencies.quantile(0.5) if latencies.len() else None,
                "latency_p95_s": latencies.quantile(0.95) if latencies.len() else None,
                "disabled": row["disabled"],
                "disabled_reason": row["disabled_reason"],
            }
        )
    return pl.DataFrame(out, schema=parts[0].schema)


__all__ = ["DEFAULT_QUEUE", "QueueError", "RunHandle", "chunks", "enqueue", "merge", "run_chunk"]
