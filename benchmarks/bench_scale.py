"""Scale-out benchmarks of the queue and event tiers (issue 14). Last line: one JSON object.

Against the loopback sandbox server (served by this process; its own request log and billing
counter are the meter, never the engine's books), with latency on, a private ``redis-server``
per part and real ``gtmkit worker`` processes started before the clock:

(a) rate-bound — 1, 2 and 4 workers share one account's rate limit: the server enforces the
    Hunter plan limit (15 requests/s, ``gtmkit.sandbox.http.ratelimit.DEFAULT_RATES``; Hunter
    documents 15 requests/s for its finder, hunter.io/api-documentation/v2#rate-limits) and the
    run is told the same plan (``rate_limits={"hunter": 15}``). Sends/s are the server's arrival
    times of hunter requests, (arrivals − 1) ÷ (last − first); the busiest 1-second window and
    the refusals of the server's rate limiter are printed. Targets: ≥ 0.9× the limit, 0 refused;
(b) not rate-bound — the same rows (hunter → apollo → pdl + verifier, in-flight caps at 48, no
    pacing) run directly in this process and queued to 1 worker: the queue tier's wall over the
    direct wall (target ≤ 1.5×; 2 and 4 workers printed too). The set-up is bench_queue.py's;
(c) overspend — 4 workers on one budget of B credits: billed (the server's counter) − B
    (target 0, i.e. billed ≤ B).
    The run's books (its attempts' credits) must equal the server's bill in every queued run;
(d) repeats — paid lookups the server billed twice, in the queued runs beyond what a direct run
    of the same rows repeats (target 0: no worker is killed, so no call is in flight at a kill);
(e) the event tier — the rate-bound rows published to ``leads.new`` for 2 ``gtmkit consume``
    processes on one budget of 0.4 credits a row (about 85% of what they would bill): sends/s and
    refusals at the server as in (a), overspend, repeats, and the events settled to
    ``enriched.contacts`` / ``dlq.enrichment`` (by kind). Same targets; every event settled once.

Usage: ``python benchmarks/bench_scale.py [--quick]`` (quick: 60 rate-bound rows a part in
chunks of 15, 120 rows not rate-bound, B=25; full: 450 in chunks of 25, 1,500, B=300). Exits 1
when a target is missed; a wall target missed under load is reported as missed with the load
average, never loosened. Needs ``redis-server`` and the ``queue`` extra.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_queue import (  # noqa: E402
    _direct,
    _load,
    _queued,
    _wait_for_workers,
    books_cover_bill,
    worker_adapter_options,
)
from gtmkit.sandbox import World, simulate  # noqa: E402
from gtmkit.sandbox.http.ratelimit import DEFAULT_RATES  # noqa: E402
from gtmkit.waterfall import RetryPolicy, Step, Waterfall  # noqa: E402
from tests._redis_helpers import redis_server, start_worker, stop_workers  # noqa: E402
from tests.test_events_tier import _consumer, _settled, _wait_settled  # noqa: E402

PROVIDER = "hunter"
LIMIT = float(DEFAULT_RATES[PROVIDER])  # the documented plan limit, requests/s
LATENCY_MS = 50.0
#: rows per chunk (queue) / per batch (events), so that 4 workers all hold one at once: the
#: rate-bound rows are 4 chunks (quick) or 18
BATCH = {"quick": 15, "full": 25}
RETRY = RetryPolicy(base_s=0.001, max_backoff_s=0.01)
TARGETS = {"sends_vs_limit": 0.9, "refused": 0, "queue_1_vs_direct": 1.5, "overspend": 0.0,
           "repeats": 0}  # fmt: skip


class ArrivalLog:
    """The server's own log of when each request for ``provider`` arrived (monotonic s): it
    wraps the app's ``respond``, which every loopback request goes through."""

    def __init__(self, sim: Any, provider: str) -> None:
        self.times: list[float] = []
        self._lock = threading.Lock()
        respond = sim.app.respond

        def logged(name: str, *args: Any, **kwargs: Any) -> Any:
            if name == provider:
                with self._lock:
                    self.times.append(time.monotonic())
            return respond(name, *args, **kwargs)

        sim.app.respond = logged

    def rate(self) -> float:
        times = sorted(self.times)
        span = times[-1] - times[0] if len(times) > 1 else 0.0
        return (len(times) - 1) / span if span > 0 else 0.0

    def figures(self, sim: Any) -> dict[str, Any]:
        """Arrivals, sends/s and its ratio to the limit, the busiest second, refusals."""
        return {
            "arrivals": len(self.times),
            "sends_per_s": round(self.rate(), 2),
            "sends_vs_limit": round(self.rate() / LIMIT, 3),
            "busiest_1s": self.busiest_second(),
            "refused": sim.refused().get(PROVIDER, 0),
        }

    def busiest_second(self) -> int:
        times = sorted(self.times)
        busiest, j = 0, 0
        for i, start in enumerate(times):
            while j < len(times) and times[j] < start + 1.0:
                j += 1
            busiest = max(busiest, j - i)
        return busiest


def _rate_bound(world: World, records: Any, workers: int, batch: int, tmp: Path) -> dict[str, Any]:
    sim = simulate(world, latency_ms=LATENCY_MS, rate_limits={PROVIDER: LIMIT})
    log = ArrivalLog(sim, PROVIDER)
    tag = f"paced{workers}"
    with redis_server(tmp / f"redis-{tag}") as server, sim.serve() as srv:
        procs = [start_worker(server.url, name=f"{tag}-{i}") for i in range(workers)]
        try:
            _wait_for_workers(server.url, workers)
            started = time.perf_counter()
            handle = Waterfall([Step(PROVIDER)], verify=None).enqueue(
                records, redis_url=server.url, batch_size=batch, mode="sandbox", retry=RETRY,
                cache_ttl_days=0, rate_limits={PROVIDER: LIMIT},
                connect_options={"base_urls": srv.base_urls, "timeout": 30,
                                 "options": worker_adapter_options(sim)},
            )  # fmt: skip
            handle.wait(timeout_s=600, poll_s=0.1)
            wall = time.perf_counter() - started
            result = handle.result()
        finally:
            stop_workers(procs)
    return {
        "workers": workers,
        "rows": result.records.height,
        "seconds": round(wall, 2),
        **log.figures(sim),
        "repeats": sim.repeated_lookups(),
        "chunks_failed": result.totals["chunks_failed"],
    }


def _event_tier(
    world: World, records: Any, consumers: int, budget: float, batch: int, tmp: Path
) -> dict[str, Any]:
    from gtmkit.events import (
        DLQ_STREAM,
        ENRICHED_STREAM,
        RedisStreamsBus,
        open_pipeline,
        publish_lead,
    )
    from gtmkit.queue.jobs import connection

    sim = simulate(world, latency_ms=LATENCY_MS, rate_limits={PROVIDER: LIMIT})
    log = ArrivalLog(sim, PROVIDER)
    with redis_server(tmp / "redis-events") as server, sim.serve() as srv:
        conn = connection(server.url)
        bus = RedisStreamsBus(conn)
        open_pipeline(
            conn, Waterfall([Step(PROVIDER)], verify=None), budget_credits=budget,
            mode="sandbox", retry=RETRY, cache_ttl_days=0, rate_limits={PROVIDER: LIMIT},
            connect_options={"base_urls": srv.base_urls, "timeout": 30,
                             "options": worker_adapter_options(sim)},
        )  # fmt: skip
        procs = [_consumer(server.url, f"c{i}", "--batch-size", str(batch))
                 for i in range(consumers)]  # fmt: skip
        try:
            started = time.perf_counter()
            for i, lead in enumerate(records.drop("row_id").to_dicts()):
                publish_lead(bus, lead, event_id=f"bench-{i}")
            _wait_settled(bus, conn, records.height, timeout_s=600)
            wall = time.perf_counter() - started
            settled = _settled(bus)
            dead = [fields["kind"] for _, fields in bus.entries(DLQ_STREAM)]
            enriched = len(bus.entries(ENRICHED_STREAM))
        finally:
            stop_workers(procs)
    billed = float(sum(sim.billed().values()))
    return {
        "consumers": consumers,
        "events": records.height,
        "seconds": round(wall, 2),
        **log.figures(sim),
        "billed": billed,
        "budget": budget,
        "overspend": round(max(0.0, billed - budget), 6),
        "repeats": sim.repeated_lookups(),
        "enriched": enriched,
        "dead_letters": {kind: dead.count(kind) for kind in sorted(set(dead))},
        "settled_once": sorted(settled) == sorted(f"bench-{i}" for i in range(records.height)),
    }


def _direct_repeats(world: World, records: Any) -> int:
    """What a direct run of the rate-bound rows repeats (the baseline for the queued runs)."""
    sim = simulate(world)
    with sim.serve() as srv:
        Waterfall([Step(PROVIDER)], verify=None).run(
            records, ledger=None, progress=False, mode="sandbox", retry=RETRY, cache_ttl_days=0,
            connect_options={"base_urls": srv.base_urls, "timeout": 30,
                             "options": worker_adapter_options(sim)},
        )  # fmt: skip
    return sim.repeated_lookups()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("redis-server",) if shutil.which(tool) is None]
    if missing:  # not a miss: nothing to measure on (apt-get install redis-server)
        print(json.dumps({"skipped": f"{', '.join(missing)} is not installed"}))
        return 0
    paced_n, free_n, budget = (60, 120, 25.0) if args.quick else (450, 1_500, 300.0)
    batch = BATCH["quick" if args.quick else "full"]
    t0 = time.perf_counter()
    world = World.generate(seed=3, companies=200 if args.quick else 600)
    paced_rows = world.sample_records(paced_n, seed=2)
    free_rows = world.sample_records(free_n, seed=1)
    figures: dict[str, Any] = {"quick": args.quick, "load_before": _load(), "limit": LIMIT,
                               "provider": PROVIDER, "latency_ms": LATENCY_MS}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2, 4):
            figures[f"paced_{workers}"] = _rate_bound(world, paced_rows, workers, batch, Path(tmp))
            print(json.dumps(figures[f"paced_{workers}"]), file=sys.stderr)
        figures["paced_direct_repeats"] = _direct_repeats(world, paced_rows)
        figures["direct"] = _direct(world, free_rows)
        print(json.dumps(figures["direct"]), file=sys.stderr)
        for workers in (1, 2, 4) if not args.quick else (1,):
            part = _queued(world, free_rows, workers, None, Path(tmp), f"free{workers}")
            figures[f"queue_{workers}"] = part
            print(json.dumps(part), file=sys.stderr)
        figures["budget_4"] = _queued(world, free_rows, 4, budget, Path(tmp), "budget")
        print(json.dumps(figures["budget_4"]), file=sys.stderr)
        figures["events_2"] = _event_tier(world, paced_rows, 2, 0.4 * paced_n, batch, Path(tmp))
        print(json.dumps(figures["events_2"]), file=sys.stderr)
    paced = [figures[f"paced_{w}"] for w in (1, 2, 4)]
    queued = [figures[k] for k in ("queue_1", "queue_2", "queue_4") if k in figures]
    direct_s = figures["direct"]["seconds"]
    for part in queued:
        figures[f"queue_{part['workers']}_vs_direct"] = round(part["seconds"] / direct_s, 2)
    capped = figures["budget_4"]
    figures["overspend"] = round(max(0.0, capped["billed"] - budget), 6)
    # each run's repeats beyond the direct tier's own on the same rows (a baseline)
    base_paced, base_free = figures["paced_direct_repeats"], figures["direct"]["repeats"]
    repeats = sum(max(0, p["repeats"] - base_paced) for p in paced)
    repeats += sum(max(0, q["repeats"] - base_free) for q in [*queued, capped])
    events = figures["events_2"]
    repeats += max(0, events["repeats"] - base_paced)
    figures["repeats_beyond_direct"] = repeats
    figures["load_after"] = _load()
    figures["targets"] = TARGETS
    figures["targets_met"] = {
        "sends_vs_limit": all(p["sends_vs_limit"] >= TARGETS["sends_vs_limit"] for p in paced),
        "refused": all(p["refused"] == 0 for p in paced),
        "events_sends_vs_limit": events["sends_vs_limit"] >= TARGETS["sends_vs_limit"],
        "events_refused": events["refused"] == 0,
        "events_overspend": events["overspend"] == TARGETS["overspend"],
        "events_settled_once": events["settled_once"],
        "queue_1_vs_direct": figures["queue_1_vs_direct"] <= TARGETS["queue_1_vs_direct"],
        "overspend": figures["overspend"] == TARGETS["overspend"],
        "repeats": repeats == TARGETS["repeats"],
        # the run's books against the server's bill: every credit billed is in the books
        "books_cover_bill": all(books_cover_bill(q) for q in [*queued, capped]),
        "rows_intact": all(p["rows"] == paced_n and p["chunks_failed"] == 0 for p in paced)
        and all(q["rows"] == free_n and q["chunks_failed"] == 0 for q in [*queued, capped]),
    }
    figures["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(figures))
    return 0 if all(figures["targets_met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
