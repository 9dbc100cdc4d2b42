"""Throughput of the in-process transport: ``python -m gtmkit.sandbox.http.bench [--quick]``.

Sends person lookups for real world people to Apollo, Hunter, PDL and Prospeo through an
``httpx.AsyncClient`` on :class:`SandboxTransport` (latency off, no faults), after one warm-up
pass, and reports lookups per wall-clock second and per CPU second of the process (the
latter is steady on a shared, busy machine). For scale it also measures the same client on an
``httpx.MockTransport`` that answers ``{}`` at once: the ceiling set by httpx itself. The last
line of output is one JSON object of the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from gtmkit.sandbox.http.transport import SandboxTransport

Send = Callable[[httpx.AsyncClient, dict[str, Any]], Any]


def _requests() -> list[Send]:
    def apollo(c: httpx.AsyncClient, p: dict[str, Any]) -> Any:
        body = {"first_name": p["first_name"], "last_name": p["last_name"]}
        body["domain"] = p["company_domain"]
        return c.post(
            "https://api.apollo.io/api/v1/people/match", json=body, headers={"x-api-key": "k"}
        )

    def hunter(c: httpx.AsyncClient, p: dict[str, Any]) -> Any:
        params = {"first_name": p["first_name"], "last_name": p["last_name"]}
        params["domain"] = p["company_domain"]
        return c.get(
            "https://api.hunter.io/v2/email-finder", params=params, headers={"X-API-KEY": "k"}
        )

    def pdl(c: httpx.AsyncClient, p: dict[str, Any]) -> Any:
        params = {"first_name": p["first_name"], "last_name": p["last_name"]}
        params["company"] = p["company_domain"]
        return c.get(
            "https://api.peopledatalabs.com/v5/person/enrich",
            params=params,
            headers={"X-Api-Key": "k"},
        )

    def prospeo(c: httpx.AsyncClient, p: dict[str, Any]) -> Any:
        data = {"first_name": p["first_name"], "last_name": p["last_name"]}
        data["company_website"] = p["company_domain"]
        return c.post(
            "https://api.prospeo.io/enrich-person", json={"data": data}, headers={"X-KEY": "k"}
        )

    return [apollo, hunter, pdl, prospeo]


async def _run(
    transport: httpx.AsyncBaseTransport, people: list[dict[str, Any]], n: int, concurrency: int
) -> tuple[float, float]:
    """(lookups per wall-clock second, lookups per CPU second of this process)."""
    sends = _requests()
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> int:
        async with gate:
            response = await sends[i % len(sends)](client, people[i % len(people)])
            return response.status_code

    async with httpx.AsyncClient(transport=transport) as client:
        started, cpu_started = time.perf_counter(), time.process_time()
        statuses = await asyncio.gather(*(one(i) for i in range(n)))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if any(s >= 500 for s in statuses):
        raise RuntimeError("the sandbox answered 5xx during the benchmark")
    return n / elapsed, n / cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer lookups (a few seconds)")
    parser.add_argument("--lookups", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)
    n = args.lookups or (4_000 if args.quick else 20_000)

    from gtmkit.sandbox.world import default_world

    world = default_world()
    people = world.people.head(n).select("first_name", "last_name", "company_domain").to_dicts()
    transport = SandboxTransport(world)
    asyncio.run(_run(transport, people, n, args.concurrency))  # warm-up: oracle draws cached
    rate, rate_cpu = asyncio.run(_run(transport, people, n, args.concurrency))
    errors = transport.app.internal_errors
    mock = httpx.MockTransport(lambda request: httpx.Response(200, content=b"{}"))
    ceiling, ceiling_cpu = asyncio.run(_run(mock, people, n, args.concurrency))
    figures = {
        "lookups": n,
        "concurrency": args.concurrency,
        "sandbox_lookups_per_s": round(rate),
        "sandbox_lookups_per_cpu_s": round(rate_cpu),
        "httpx_mock_lookups_per_s": round(ceiling),
        "httpx_mock_lookups_per_cpu_s": round(ceiling_cpu),
        "sandbox_share_of_httpx_ceiling_cpu": round(rate_cpu / ceiling_cpu, 3),
        "internal_errors": errors,
    }
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
