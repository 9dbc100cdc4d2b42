"""``gtmkit worker``: an RQ worker that runs queued waterfall chunks.

It is RQ's ``SimpleWorker`` (a job runs in the worker's own process, so killing the worker
kills its job, and the engine's imports are paid once) with two things tuned for money:

* while a job runs, a thread refreshes its execution's heartbeat every second with a short
  time-to-live (:data:`JOB_LEASE_S`), so a worker that dies (``kill -9``, a lost machine) is
  noticed within seconds by RQ's abandoned-job handling, which retries its chunk on another
  worker — instead of after the job's timeout plus a minute;
* registry maintenance runs every few seconds rather than every ten minutes;
* SIGTERM/SIGINT stop it promptly whatever Redis' state. RQ's own shutdown (warm: finish the
  job in hand) talks to Redis, and with Redis gone every command is resent for about half a
  minute (:data:`gtmkit.queue.jobs.RESEND_TRIES`), so an orphaned worker would spin in
  reconnects. On a stop signal a watchdog thread starts first: while Redis answers, RQ's
  shutdown runs as usual (exit 0); once Redis has not answered for :data:`REDIS_AWAY_S`, the
  worker says so on stderr and exits at once with ``128 + signal`` (143 for SIGTERM). Nothing
  held is lost: the budget holds, claims and the job's place in RQ's started registry live in
  Redis (AOF), untouched; when Redis is back the job's heartbeat has expired, RQ's
  abandoned-job handling retries the chunk on another worker, holds never sent are freed and
  calls that were in flight stay held at their worst case (``lost``), as after ``kill -9``.

Example:
    >>> parser().parse_args(["--redis", "redis://127.0.0.1:6379/0"]).queue
    'gtmkit'
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from rq import Queue, SimpleWorker

from gtmkit.queue.jobs import DEFAULT_QUEUE, connection

#: seconds a job's execution lives without a heartbeat before RQ takes it for abandoned
JOB_LEASE_S = 5
_BEAT_S = 1.0
#: after a stop signal, seconds Redis may stay unreachable before the worker exits anyway
REDIS_AWAY_S = 1.5
_PROBE_S = 0.25


class GtmkitWorker(SimpleWorker):
    """``SimpleWorker`` with a job heartbeat thread and a short job lease."""

    _job_in_hand: str | None = None
    _watchdog: threading.Thread | None = None

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return JOB_LEASE_S

    def _install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._stop_signal)
        signal.signal(signal.SIGTERM, self._stop_signal)

    def _stop_signal(self, signum: int, frame: FrameType | None) -> None:
        """Start the watchdog first (RQ's handler may block on Redis), then RQ's handler."""
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._exit_if_redis_away, args=(signum,),
                                              name="gtmkit-stop-watchdog", daemon=True)  # fmt: skip
            self._watchdog.start()
            self.request_stop(signum, frame)
        else:  # a second signal: RQ's cold shutdown
            self.request_force_stop(signum, frame)

    def _exit_if_redis_away(self, signum: int) -> None:
        away_since: float | None = None
        while True:
            if redis_answers(self.connection):
                away_since = None
            elif away_since is None:
                away_since = time.monotonic()
            elif time.monotonic() - away_since >= REDIS_AWAY_S:
                job = self._job_in_hand
                held = (f"job {job} stays in RQ's started registry with its budget holds; "
                        "once Redis is back it is retried and its calls in flight stay held "
                        "at worst case" if job else "no job was in hand")  # fmt: skip
                sys.stderr.write(f"gtmkit worker {self.name}: stop signal and Redis "
                                 f"unreachable; exiting now ({held})\n")  # fmt: skip
                sys.stderr.flush()
                os._exit(128 + signum)
            time.sleep(_PROBE_S)

    def execute_job(self, job: Any, queue: Any) -> None:
        self._job_in_hand = job.id
        try:
            self._execute_with_heartbeat(job, queue)
        finally:
            self._job_in_hand = None

    def _execute_with_heartbeat(self, job: Any, queue: Any) -> None:
        stop = threading.Event()
        holder: dict[str, Any] = {}
        original = self.prepare_execution

        def prepare(job_: Any) -> Any:
            holder["execution"] = original(job_)
            return holder["execution"]

        def beat() -> None:
            while not stop.wait(_BEAT_S):
                execution = holder.get("execution")
                if execution is None:
                    continue
                try:
                    self.maintain_heartbeats(job, execution)
                except Exception:  # Redis away for a moment: try again on the next beat
                    continue

        self.prepare_execution = prepare  # type: ignore[method-assign,assignment]
        thread = threading.Thread(target=beat, name="gtmkit-job-heartbeat", daemon=True)
        thread.start()
        try:
            super().execute_job(job, queue)
        finally:
            stop.set()
            thread.join(timeout=5)
            self.prepare_execution = original  # type: ignore[method-assign,assignment]


def redis_answers(conn: Any) -> bool:
    """Whether the Redis behind ``conn`` answers a PING now (one try, half a second at most:
    no resends, unlike the worker's own connection)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    pool = conn.connection_pool
    # a connection of the same kind (TCP, TLS or a unix socket) and address as ``conn``'s
    probe = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": 0.5,
                                     "socket_connect_timeout": 0.5,
                                     "retry": Retry(NoBackoff(), 0)})  # fmt: skip
    try:
        probe.connect()
        probe.send_command("PING")
        return bool(probe.read_response())
    except (redis.RedisError, OSError):
        return False
    finally:
        probe.disconnect()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gtmkit worker",
        description="Run queued waterfall chunks (an RQ worker). Start any number of them.",
    )
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    p.add_argument("--queue", default=DEFAULT_QUEUE, help=f"queue name (default {DEFAULT_QUEUE})")
    p.add_argument("--name", default=None, help="worker name (default: RQ's)")
    p.add_argument("--burst", action="store_true", help="exit once the queue is empty")
    p.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs")
    p.add_argument("--log-level", default="WARNING", help="RQ's logging level")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    conn = connection(args.redis)
    worker = GtmkitWorker(
        [Queue(args.queue, connection=conn)],
        connection=conn,
        name=args.name,
        worker_ttl=20,
        maintenance_interval=3,
    )
    worker.work(burst=args.burst, max_jobs=args.max_jobs, logging_level=args.log_level)
    return 0


__all__ = ["REDIS_AWAY_S", "GtmkitWorker", "main", "parser", "redis_answers"]
