"""Event-tier DLQ benchmark (``gtmkit.events.replay``). Last line of output: one JSON object.

A private ``redis-server`` on a free loopback port with AOF on and ``appendfsync always`` (the
tests' server: every write on disk before Redis answers, the slowest durable setting), a
pipeline opened on it, and N dead letters written straight to ``dlq.enrichment`` (no provider
is called: this measures the replay path, not enrichment):

(a) listing — ``dead_letters`` of the N entries: entries/s (target ≥ 2,000);
(b) replay — ``replay`` of all N (publish every page, then remove it): entries/s
    (target ≥ 1,000), and its result: N republished, the DLQ empty, N new ``leads.new``
    entries, each original event id once (targets: exactly so);
(c) a second ``replay``: publishes nothing (target 0).

Usage: ``python benchmarks/bench_dlq.py [--quick]`` (quick: N=2,000; full: N=20,000). Exits 1
when a target is missed; without ``redis-server`` it prints ``skipped`` and exits 0 (nothing to
measure on). Needs the ``queue`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gtmkit.events import DLQ_STREAM, LEADS_STREAM, open_pipeline  # noqa: E402
from gtmkit.events.replay import dead_letters, replay  # noqa: E402
from gtmkit.queue.jobs import connection  # noqa: E402
from gtmkit.waterfall import Step, Waterfall  # noqa: E402
from tests._redis_helpers import REDIS_SERVER, redis_server  # noqa: E402

TARGETS = {"list_per_s": 2000.0, "replay_per_s": 1000.0}


def _fill(conn: Any, n: int) -> None:
    lead = json.dumps({"first_name": "Ada", "last_name": "Lovelace", "company_domain": "acme.io"})
    with conn.pipeline(transaction=False) as batch:
        for i in range(n):
            batch.xadd(DLQ_STREAM, {
                "event_id": f"crm-{i}", "kind": "budget", "pipeline": "enrichment",
                "reason": "budget exhausted: 12 of 12 credits spent (credit circuit breaker open)",
                "lead": lead, "source": "api", "source_id": f"{i + 1}-0", "deliveries": "1",
            })  # fmt: skip
        batch.execute()


def measure(n: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp, redis_server(Path(tmp)) as server:
        conn = connection(server.url)
        open_pipeline(conn, Waterfall([Step("hunter")]), budget_credits=12, mode="sandbox")
        _fill(conn, n)
        started = time.perf_counter()
        dead = dead_letters(conn)
        list_s = time.perf_counter() - started
        started = time.perf_counter()
        report = replay(conn)
        replay_s = time.perf_counter() - started
        second = replay(conn)
        replayed = [f for _, f in conn.xrange(LEADS_STREAM)]
        ids = [f[b"event_id"].decode() for f in replayed]
        return {
            "entries": n,
            "listed": dead.height,
            "list_s": round(list_s, 3),
            "list_per_s": round(n / list_s),
            "replay_s": round(replay_s, 3),
            "replay_per_s": round(n / replay_s),
            "republished": len(report.republished),
            "dlq_left": conn.xlen(DLQ_STREAM),
            "leads_new": len(replayed),
            "distinct_event_ids": len(set(ids)),
            "second_replay_published": len(second.republished) + len(second.resumed),
        }


def missed(figures: dict[str, Any]) -> list[str]:
    n = figures["entries"]
    out = [f"{k} {figures[k]} < {v:g}" for k, v in TARGETS.items() if figures[k] < v]
    exact = {"listed": n, "republished": n, "dlq_left": 0, "leads_new": n,
             "distinct_event_ids": n, "second_replay_published": 0}  # fmt: skip
    out += [f"{k} {figures[k]} != {v}" for k, v in exact.items() if figures[k] != v]
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2,000 entries instead of 20,000")
    args = p.parse_args(argv)
    if REDIS_SERVER is None:  # not a miss: nothing to measure on (as bench_queue.py)
        print(json.dumps({"skipped": "redis-server is not installed"}))
        return 0
    figures = measure(2_000 if args.quick else 20_000)
    figures["missed"] = missed(figures)
    print(json.dumps(figures))
    return 1 if figures["missed"] else 0


if __name__ == "__main__":
    sys.exit(main())
