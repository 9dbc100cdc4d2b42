"""``gtmkit worker``: an RQ worker that runs queued waterfall chunks.

It is RQ's ``SimpleWorker`` (a job runs in the worker's own process, so killing the worker
kills its job, and the engine's imports are paid once) with two things tuned for money:

* while a job runs, a thread refreshes its execution's heartbeat every second with a short
  time-to-live (:data:`JOB_LEASE_S`), so a worker that dies (``kill -9``, a lost machine) is
  noticed within seconds by RQ's abandoned-job handling, which retries its chunk on another
  worker — instead of after the job's timeout plus a minute;
* registry maintenance runs every few seconds rather than every ten minutes.

Example:
    >>> parser().parse_args(["--redis", "redis://127.0.0.1:6379/0"]).queue
    'gtmkit'
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from rq import Queue, SimpleWorker

from gtmkit.queue.jobs import DEFAULT_QUEUE, connection

#: seconds a job's execution lives without a heartbeat before RQ takes it for abandoned
JOB_LEASE_S = 5
_BEAT_S = 1.0


class GtmkitWorker(SimpleWorker):
    """``SimpleWorker`` with a job heartbeat thread and a short job lease."""

    def get_heartbeat_ttl(self, job: Any, working_time: float = 0.0) -> int:
        return JOB_LEASE_S

    def execute_job(self, job: Any, queue: Any) -> None:
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


__all__ = ["GtmkitWorker", "main", "parser"]
