"""Throughput of one process on each transport: ``python benchmarks/bench_transport.py [--quick]
[--http httpx,aiohttp]``.

The loopback sandbox server runs in a child process (``serve_in_subprocess``: an in-thread
server would share this process's GIL and skew the very figure measured). For each transport of
``connect(http=...)`` (``gtmkit.providers.transport``):

(a) no latency — requests/s of a bare ``httpx.AsyncClient`` on the transport (Hunter's
    email-finder, 16 and 64 in flight), lookups/s through the adapters of one ``connect()``
    (Apollo, Hunter, PDL and Prospeo in turn, 64 in flight), and the engine's lookups/s
    (``Waterfall.run``, three steps plus verification, no ledger) — target ≥ 1,000 lookups/s
    through the adapters;
(b) 100 ms median latency — the engine on N rows (in-flight cap 64 per provider; also with the
    adapters' own caps) against a sequential loop, one request at a time, over the first K rows
    (scaled to N) — target ≥ 40×.

Figures per transport, wall clock and CPU seconds of this process; the last line of output is
one JSON object. Exit 1 when the default transport misses a target (the other is reported).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_waterfall import sequential_loop, waterfall

from gtmkit.providers import connect
from gtmkit.providers.transport import (
    HTTP_CHOICES,
    HTTP_ENV,
    resolve_http,
)
from gtmkit.sandbox import default_world
from gtmkit.sandbox.http.server import serve_in_subprocess

FINDERS = ("apollo", "hunter", "pdl", "prospeo")
LOOKUPS_TARGET = 1_000.0
SPEEDUP_TARGET = 40.0
#: in-flight cap per provider for the 100 ms run: the adapters' own (Hunter 15, its verifier 10,
#: Apollo 16) bound any engine to ~15x a one-at-a-time loop, whatever the transport
IN_FLIGHT_100MS = 64


async def bare_requests(http: str, base_urls: dict[str, str], people: list[dict[str, Any]],
                        n: int, in_flight: int) -> dict[str, float]:  # fmt: skip
    """Hunter email-finder requests on a bare client: the transport and httpx, nothing else."""
    gate = asyncio.Semaphore(in_flight)
    url = base_urls["hunter"] + "/email-finder"

    async def one(client: httpx.AsyncClient, person: dict[str, Any]) -> int:
        params = {"first_name": person["first_name"], "last_name": person["last_name"],
                  "domain": person["company_domain"]}  # fmt: skip
        async with gate:
            response = await client.get(url, params=params, headers={"X-API-KEY": "sandbox"})
            return response.status_code

    limits = httpx.Limits(max_connections=in_flight)
    async with httpx.AsyncClient(transport=_transport(http, limits), limits=limits) as client:
        await asyncio.gather(*(one(client, p) for p in people[:in_flight]))  # warm the pool
        return await _timed(n, [one(client, people[i % len(people)]) for i in range(n)])


def _transport(http: str, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    if http == "aiohttp":
        from gtmkit.providers._aiohttp import AiohttpTransport

        return AiohttpTransport(limits=limits)
    return httpx.AsyncHTTPTransport(limits=limits)


async def _timed(n: int, calls: list[Any]) -> dict[str, float]:
    started, cpu = time.perf_counter(), time.process_time()
    statuses = await asyncio.gather(*calls)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if any(not isinstance(s, int) or s >= 500 for s in statuses):
        raise RuntimeError("the sandbox failed requests during the benchmark")
    return {"per_s": round(n / wall, 1), "per_cpu_s": round(n / cpu, 1)}


async def adapter_lookups(http: str, base_urls: dict[str, str], people: list[dict[str, Any]],
                          n: int, in_flight: int) -> dict[str, float]:  # fmt: skip
    """Lookups through the adapters of one ``connect()`` (the engine's own path to the wire)."""
    gate = asyncio.Semaphore(in_flight)
    async with connect(list(FINDERS), mode="sandbox", base_urls=base_urls, http=http,  # type: ignore[arg-type]
                       env_file=None) as conn:  # fmt: skip

        async def one(i: int) -> int:
            async with gate:
                finding = await conn[FINDERS[i % len(FINDERS)]].lookup(people[i % len(people)])
                return 599 if finding.outcome == "error" else 200

        await asyncio.gather(*(one(i) for i in range(in_flight)))
        return await _timed(n, [one(i) for i in range(n)])


def engine(http: str, base_urls: dict[str, str], records: Any,
           max_in_flight: int | None = None) -> tuple[float, int, float]:  # fmt: skip
    """(wall seconds, lookups sent, CPU seconds) of ``Waterfall.run`` over ``records``;
    ``max_in_flight`` overrides the adapters' own in-flight caps (Hunter's 15...)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = waterfall().run(records, mode="sandbox", ledger=None, progress=False,
                             max_in_flight=max_in_flight,
                             connect_options={"base_urls": base_urls, "http": http})  # fmt: skip
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    if result.attempts.filter(result.attempts["outcome"] == "error").height:
        raise RuntimeError("the engine met errors on a fault-free server")
    return wall, result.attempts.height, cpu


def bench(http: str, n: int, rows: int, seq_rows: int) -> dict[str, Any]:
    os.environ[HTTP_ENV] = http  # the sequential loop's connect() takes the process default
    world = default_world()
    people = world.sample_records(2_000, seed=3).to_dicts()
    out: dict[str, Any] = {}
    with serve_in_subprocess(latency_ms=0) as srv:
        for in_flight in (16, 64):
            figures = asyncio.run(bare_requests(http, srv.base_urls, people, n, in_flight))
            out[f"bare_requests_{in_flight}"] = figures
        out["adapter_lookups_64"] = asyncio.run(adapter_lookups(http, srv.base_urls, people, n, 64))
        wall, sent, cpu = engine(http, srv.base_urls, world.sample_records(rows, seed=1))
        out["engine_no_latency"] = {"rows": rows, "lookups": sent,
                                    "per_s": round(sent / wall, 1),
                                    "per_cpu_s": round(sent / cpu, 1)}  # fmt: skip
    records = world.sample_records(rows, seed=1)
    with serve_in_subprocess(latency_ms=100) as srv:
        capped, sent, _ = engine(http, srv.base_urls, records)
        wall, _, _ = engine(http, srv.base_urls, records, max_in_flight=IN_FLIGHT_100MS)
        seq = asyncio.run(sequential_loop(records.head(seq_rows), world, srv.base_urls))
    scaled = seq * rows / seq_rows
    out["latency_100ms"] = {"rows": rows, "lookups": sent, "max_in_flight": IN_FLIGHT_100MS,
                            "engine_s": round(wall, 3), "engine_default_caps_s": round(capped, 3),
                            "sequential_rows_timed": seq_rows, "sequential_s": round(seq, 3),
                            "sequential_scaled_s": round(scaled, 3),
                            "speedup_vs_sequential": round(scaled / wall, 1),
                            "speedup_default_caps": round(scaled / capped, 1)}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    parser.add_argument("--http", default=",".join(HTTP_CHOICES),
                        help="transports to measure, comma-separated (default: all)")  # fmt: skip
    args = parser.parse_args(argv)
    n, rows, seq_rows = (1_000, 300, 10) if args.quick else (10_000, 2_000, 50)
    chosen = [resolve_http(h.strip()) for h in args.http.split(",") if h.strip()]
    default = resolve_http(None)  # before bench() sets the environment
    results: dict[str, Any] = {"default": default}
    missed: list[str] = []
    for http in chosen:
        figures = bench(http, n, rows, seq_rows)
        results[http] = figures
        lookups = figures["adapter_lookups_64"]["per_s"]
        speedup = figures["latency_100ms"]["speedup_vs_sequential"]
        verdict = {"lookups_per_s_met": lookups >= LOOKUPS_TARGET,
                   "speedup_met": speedup >= SPEEDUP_TARGET}  # fmt: skip
        figures["targets"] = verdict
        print(f"{http:8} bare 16/64: {figures['bare_requests_16']['per_s']:>7}/"
              f"{figures['bare_requests_64']['per_s']:>7} req/s  adapters: {lookups:>7} "
              f"lookups/s (target {LOOKUPS_TARGET:,.0f})  engine: "
              f"{figures['engine_no_latency']['per_s']:>7} lookups/s  100 ms: {speedup}× ("
              f"default caps {figures['latency_100ms']['speedup_default_caps']}×) a "
              f"sequential loop (target {SPEEDUP_TARGET:.0f}×)")  # fmt: skip
        if http == default and not all(verdict.values()):
            missed.append(http)
    print(json.dumps(results))
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
