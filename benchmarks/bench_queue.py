"""Queue tier benchmarks (``gtmkit.queue``). Last line of output: one JSON object.

Against the loopback sandbox server (served by this process, whose billing counter is the
meter) with latency on, a private ``redis-server`` on a free port, and real ``gtmkit worker``
processes started before the clock starts:

(a) throughput — the same N rows (hunter → apollo → pdl + verifier, every provider's in-flight
    cap raised to ``IN_FLIGHT`` so the account limit is not the bound) run directly in this
    process, then queued to 1 worker and to 3 workers: rows/s and the speed-up of 3 workers
    over 1 (target ≥ 1.3×; 2 cores are shared by the workers, Redis and the server);
(b) budget exactness — 3 workers on one budget of B credits: billed (the server's counter) ≤ B
    and B − billed < 1 (the largest single worst case), the run's books equal to the billed;
(c) repeats — paid lookups the server billed twice, in the queued runs beyond what the direct
    run of the same list repeats (target 0; the direct run's own count is printed).

Usage: ``python benchmarks/bench_queue.py [--quick]`` (quick: N=600, B=120; full: N=3,000,
B=600). Exits 1 when a target is missed. Needs ``redis-server`` and the ``queue`` extra.
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

import polars as pl  # noqa: E402

from gtmkit.sandbox import World, simulate  # noqa: E402
from gtmkit.waterfall import RetryPolicy, Step, Waterfall  # noqa: E402
from tests._redis_helpers import redis_server, start_worker, stop_workers  # noqa: E402

LATENCY_MS = 50.0
IN_FLIGHT = 48
BATCH = 100
RETRY = RetryPolicy(base_s=0.001, max_backoff_s=0.01)
STATUSES = ("enriched", "not_found", "budget_exhausted", "failed")
TARGETS = {"speedup_3_vs_1": 1.3, "repeats": 0}


def _wf() -> Waterfall:
    return Waterfall([Step("hunter"), Step("apollo"), Step("pdl")], verify="hunter_verifier")


def _options(base_urls: dict[str, str], sim: Any) -> dict[str, Any]:
    connect = {"base_urls": base_urls, "timeout": 30, "options": worker_adapter_options(sim)}
    return {"mode": "sandbox", "retry": RETRY, "max_in_flight": IN_FLIGHT, "cache_ttl_days": 0,
            "connect_options": connect}  # fmt: skip


def worker_adapter_options(sim: Any) -> dict[str, dict[str, Any]]:
    """The simulation's adapter settings a worker can be sent: without Apollo's phone inbox
    (an open SQLite handle of this process, which cannot be pickled into a job; these
    waterfalls reveal no phones)."""
    options = {name: dict(values) for name, values in sim.adapter_options.items()}
    options.get("apollo", {}).pop("phone_inbox", None)
    return options


def _wait_for_workers(url: str, n: int) -> None:
    import redis
    from rq import Worker

    conn = redis.Redis.from_url(url)
    deadline = time.monotonic() + 60
    while Worker.count(connection=conn) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{n} workers did not register")
        time.sleep(0.05)


def _queued(world: World, records: Any, workers: int, budget: float | None, tmp: Path,
            tag: str) -> dict[str, Any]:  # fmt: skip
    sim = simulate(world, latency_ms=LATENCY_MS)
    with redis_server(tmp / f"redis-{tag}") as server, sim.serve() as srv:
        procs = [start_worker(server.url, name=f"{tag}-{i}") for i in range(workers)]
        try:
            _wait_for_workers(server.url, workers)
            started = time.perf_counter()
            options = _options(srv.base_urls, sim)
            handle = _wf().enqueue(
                records, redis_url=server.url, batch_size=BATCH, budget_credits=budget, **options
            )
            handle.wait(timeout_s=600, poll_s=0.1)
            wall = time.perf_counter() - started
            result = handle.result()
        finally:
            stop_workers(procs)
    billed = float(sum(sim.billed().values()))
    return {
        "workers": workers,
        "rows": result.records.height,
        "seconds": round(wall, 2),
        "rows_per_s": round(result.records.height / wall, 1),
        "calls": int(result.totals["calls"]),
        "calls_per_s": round(result.totals["calls"] / wall, 1),
        "billed": billed,
        "books_credits": result.totals["credits"],
        # calls whose answer was not seen (a client timeout, a worker taken for dead) are held
        # at their worst case until the provider says otherwise: the bill lies between the two
        "books_held": result.totals["credits_held"],
        "lost_calls": result.totals["lost_calls"],
        "books_by_provider": _books_by_provider(result.attempts),
        "billed_by_provider": sim.billed(),
        "budget": budget,
        "repeats": sim.repeated_lookups(),
        "chunks_failed": result.totals["chunks_failed"],
        "statuses": {s: result.totals[s] for s in STATUSES if result.totals[s]},
    }


def _books_by_provider(attempts: Any) -> dict[str, list[float]]:
    """provider → [credits booked, credits held] in a run's attempts (to diagnose a mismatch)."""
    grouped = attempts.group_by("provider").agg(pl.col("credits", "credits_held").sum())
    return {p: [round(c, 6), round(h, 6)] for p, c, h in grouped.sort("provider").iter_rows()}


def books_cover_bill(run: dict[str, Any]) -> bool:
    """Every credit billed is in the books: the booked credits are at most the bill, and the
    booked plus the held (calls whose answer was never seen, at their worst case) at least it."""
    booked, held, billed = run["books_credits"], run["books_held"], run["billed"]
    return booked <= billed + 1e-6 and billed <= booked + held + 1e-6


def _direct(world: World, records: Any) -> dict[str, Any]:
    sim = simulate(world, latency_ms=LATENCY_MS)
    with sim.serve() as srv:
        started = time.perf_counter()
        result = _wf().run(records, ledger=None, progress=False, **_options(srv.base_urls, sim))
        wall = time.perf_counter() - started
    return {
        "rows": result.records.height,
        "seconds": round(wall, 2),
        "rows_per_s": round(result.records.height / wall, 1),
        "calls": int(result.totals["calls"]),
        "repeats": sim.repeated_lookups(),
    }


def _load() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except OSError:
        return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    args = parser.parse_args(argv)
    import shutil

    if shutil.which("redis-server") is None:  # not a miss: nothing to measure on
        print(json.dumps({"skipped": "redis-server is not installed"}))
        return 0
    n, budget = (600, 120.0) if args.quick else (3_000, 600.0)
    t0 = time.perf_counter()
    world = World.generate(seed=3, companies=200 if args.quick else 600)
    records = world.sample_records(n, seed=1)
    figures: dict[str, Any] = {"quick": args.quick, "load_before": _load(),
                               "latency_ms": LATENCY_MS, "in_flight": IN_FLIGHT}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        figures["direct"] = _direct(world, records)
        print(json.dumps(figures["direct"]), file=sys.stderr)
        figures["queue_1"] = _queued(world, records, 1, None, Path(tmp), "one")
        print(json.dumps(figures["queue_1"]), file=sys.stderr)
        figures["queue_3"] = _queued(world, records, 3, None, Path(tmp), "three")
        print(json.dumps(figures["queue_3"]), file=sys.stderr)
        figures["budget_3"] = _queued(world, records, 3, budget, Path(tmp), "budget")
        print(json.dumps(figures["budget_3"]), file=sys.stderr)
    one, three, capped = figures["queue_1"], figures["queue_3"], figures["budget_3"]
    figures["speedup_3_vs_1"] = round(three["rows_per_s"] / one["rows_per_s"], 2)
    figures["queue_1_vs_direct"] = round(one["seconds"] / figures["direct"]["seconds"], 2)
    # the direct tier's own repeats on this list (a baseline, not the queue's doing)
    baseline = figures["direct"]["repeats"]
    repeats = sum(max(0, figures[k]["repeats"] - baseline) for k in ("queue_1", "queue_3"))
    repeats += figures["budget_3"]["repeats"] - min(baseline, figures["budget_3"]["repeats"])
    figures["repeats_beyond_direct"] = repeats
    figures["load_after"] = _load()
    figures["targets"] = TARGETS | {"budget": "billed <= B and B - billed < 1"}
    figures["targets_met"] = {
        "speedup_3_vs_1": figures["speedup_3_vs_1"] >= TARGETS["speedup_3_vs_1"],
        "budget_exact": capped["billed"] <= budget + 1e-9 and budget - capped["billed"] < 1.0,
        "books_cover_bill": books_cover_bill(capped),
        "repeats": repeats == TARGETS["repeats"],
        "rows_intact": all(figures[k]["rows"] == n for k in ("queue_1", "queue_3", "budget_3"))
        and all(figures[k]["chunks_failed"] == 0 for k in ("queue_1", "queue_3", "budget_3")),
    }
    figures["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(figures))
    return 0 if all(figures["targets_met"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
