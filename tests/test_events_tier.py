"""The event tier end to end: a real redis-server, real ``gtmkit consume`` processes, the
loopback sandbox server. The meter is the simulated providers' own billing counter."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._attack_helpers import FAST_RETRY, attack_world, billed_total, waterfall, world_records
from tests._redis_helpers import ROOT, RedisServer, needs_redis, redis_server, stop_workers

pytestmark = needs_redis
redis = pytest.importorskip("redis")

from gtmkit.events import (  # noqa: E402
    DLQ_STREAM,
    ENRICHED_STREAM,
    LEADS_STREAM,
    RedisStreamsBus,
    open_pipeline,
    publish_lead,
)
from gtmkit.queue.jobs import connection  # noqa: E402
from gtmkit.sandbox import simulate  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as srv:
        yield srv


def _consumer(url: str, name: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gtmkit", "consume", "--redis", url, "--pipeline", "enrichment",
         "--name", name, "--claim-idle-s", "1", "--block-ms", "100", *extra],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip


def _open(conn: Any, base_urls: dict[str, str], **kw: Any) -> None:
    open_pipeline(conn, waterfall(), mode="sandbox", retry=FAST_RETRY, cache_ttl_days=0,
                  connect_options={"base_urls": base_urls, "timeout": 30}, **kw)  # fmt: skip


def _publish(bus: RedisStreamsBus, n: int, *, seed: int = 1, prefix: str = "e") -> list[str]:
    leads = world_records(n, seed=seed).drop("row_id").to_dicts()
    return [publish_lead(bus, lead, event_id=f"{prefix}{i}") for i, lead in enumerate(leads)]


def _settled(bus: RedisStreamsBus) -> list[str]:
    return [f["event_id"] for _, f in bus.entries(ENRICHED_STREAM) + bus.entries(DLQ_STREAM)]


def _wait_settled(bus: RedisStreamsBus, conn: Any, n: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        group = conn.xinfo_groups(LEADS_STREAM)[0]
        if len(_settled(bus)) >= n and group["pending"] == 0 and group["lag"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError(f"not settled: {len(_settled(bus))} of {n}")


def test_what_the_budget_cannot_afford_goes_to_the_dlq_with_its_reason(
    server: RedisServer,
) -> None:
    conn = connection(server.url)
    bus = RedisStreamsBus(conn)
    sim = simulate(attack_world(), latency_ms=10)
    with sim.serve() as srv:
        _open(conn, srv.base_urls, budget_credits=12)
        ids = _publish(bus, 40)
        consumers = [_consumer(server.url, f"b{i}", "--batch-size", "5") for i in range(2)]
        try:
            _wait_settled(bus, conn, len(ids))
        finally:
            stop_workers(consumers)
    assert billed_total(sim) <= 12 + 1e-9  # the provider's own counter: never over the cap
    assert billed_total(sim) >= 12 - 5  # and the budget was used, not left idle
    assert sorted(_settled(bus)) == sorted(ids)  # every event settled exactly once
    dead = [f for _, f in bus.entries(DLQ_STREAM)]
    assert dead and all(f["kind"] == "budget" for f in dead)
    assert all("budget exhausted" in f["reason"] for f in dead)
    assert all(f["lead"] for f in dead)  # the lead rides along: nothing is lost
    assert sim.repeated_lookups() == 0


def test_an_event_delivered_more_than_n_times_goes_to_the_dlq(server: RedisServer) -> None:
    conn = connection(server.url)
    bus = RedisStreamsBus(conn)
    sim = simulate(attack_world(), latency_ms=1)
    with sim.serve() as srv:
        _open(conn, srv.base_urls)
        ids = _publish(bus, 3)
        # consumers that take the events and die each time: six deliveries, no acknowledgement
        assert len(bus.read(LEADS_STREAM, "enrichment", "ghost-0", count=10, block_ms=0)) == 3
        for i in range(1, 6):
            assert len(bus.reclaim(LEADS_STREAM, "enrichment", f"ghost-{i}", min_idle_ms=0,
                                   count=10)) == 3  # fmt: skip
        consumer = _consumer(server.url, "real", "--max-deliveries", "5")
        try:
            _wait_settled(bus, conn, 3)
        finally:
            stop_workers([consumer])
    dead = {f["event_id"]: f for _, f in bus.entries(DLQ_STREAM)}
    assert sorted(dead) == sorted(ids)
    assert {f["kind"] for f in dead.values()} == {"deliveries"}
    assert all(f["deliveries"] == "7" for f in dead.values())  # 6 ghosts + the real consumer
    assert "limit 5" in dead[ids[0]]["reason"]
    assert billed_total(sim) == 0  # a poison event is not run again
    assert bus.entries(ENRICHED_STREAM) == []


def test_a_killed_consumers_events_are_reclaimed_and_not_paid_twice(server: RedisServer) -> None:
    conn = connection(server.url)
    raw = redis.Redis.from_url(server.url)
    bus = RedisStreamsBus(conn)
    sim = simulate(attack_world(), latency_ms=150)
    with sim.serve() as srv:
        _open(conn, srv.base_urls)
        ids = _publish(bus, 20)
        victim = _consumer(server.url, "victim", "--batch-size", "20")
        try:
            deadline = time.monotonic() + 60
            while raw.llen("gtmkit:run:events-enrichment:attempts") < 5:
                assert time.monotonic() < deadline, "the victim never started paying"
                time.sleep(0.01)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            pending = raw.xpending(LEADS_STREAM, "enrichment")
            assert pending["pending"] == 20  # everything it took is left unacknowledged
            in_flight = raw.hlen("gtmkit:run:events-enrichment:inflight")
            survivor = _consumer(server.url, "survivor")
            try:
                _wait_settled(bus, conn, len(ids))
            finally:
                stop_workers([survivor])
        finally:
            stop_workers([victim])
    assert sorted(_settled(bus)) == sorted(ids)
    assert raw.xpending(LEADS_STREAM, "enrichment")["pending"] == 0
    # what the victim bought was reused; only its calls in flight at the kill can repeat
    assert sim.repeated_lookups() <= in_flight


def test_a_resent_event_is_settled_and_paid_once(server: RedisServer) -> None:
    conn = connection(server.url)
    bus = RedisStreamsBus(conn)
    sim = simulate(attack_world(), latency_ms=5)
    with sim.serve() as srv:
        _open(conn, srv.base_urls)
        consumers = [_consumer(server.url, f"i{i}", "--batch-size", "4") for i in range(2)]
        try:
            ids = _publish(bus, 12)
            _wait_settled(bus, conn, 12)
            billed, calls = billed_total(sim), sum(sim.billed_requests().values())
            assert billed > 0
            again = _publish(bus, 12)  # the same events (same ids), delivered again
            assert again == ids
            _wait_settled(bus, conn, 12)
            group = conn.xinfo_groups(LEADS_STREAM)[0]
            assert group["entries-read"] == 24  # the resends really were delivered
        finally:
            stop_workers(consumers)
    assert billed_total(sim) == billed  # the provider billed nothing more
    assert sum(sim.billed_requests().values()) == calls
    assert sorted(f["event_id"] for _, f in bus.entries(ENRICHED_STREAM)) == sorted(ids)
