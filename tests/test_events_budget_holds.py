"""The event tier's credit circuit breaker waits for open holds (issue 14): credits reserved
by calls in flight may settle for less, so an event is dead-lettered for ``budget`` only
when the settled budget cannot pay. The meter is the simulated providers' billing counter."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._attack_helpers import (
    FAST_RETRY,
    FULL_STEPS,
    FULL_VERIFY,
    attack_world,
    billed_total,
    waterfall,
    world_records,
)
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
from gtmkit.providers.pricing import worst_case_credits  # noqa: E402
from gtmkit.queue.jobs import connection  # noqa: E402
from gtmkit.sandbox import simulate  # noqa: E402

LEADS = 40


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as srv:
        yield srv


def _consumers(url: str, n: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gtmkit",
                "consume",
                "--redis",
                url,
                "--pipeline",
                "enrichment",
                "--name",
                f"h{i}",
                "--claim-idle-s",
                "5",
                "--block-ms",
                "100",
                "--batch-size",
                "3",
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for i in range(n)
    ]


def _run_events(url: str, budget: float | None) -> tuple[float, list[dict[str, str]], int]:
    """Publish the leads, run 4 consumers until every event is settled; returns what the
    providers billed, the DLQ entries and how many events were enriched."""
    conn = connection(url)
    bus = RedisStreamsBus(conn)
    sim = simulate(attack_world(), latency_ms=30)
    with sim.serve() as srv:
        open_pipeline(conn, waterfall(), mode="sandbox", retry=FAST_RETRY, cache_ttl_days=0,
                      connect_options={"base_urls": srv.base_urls, "timeout": 30},
                      budget_credits=budget)  # fmt: skip
        leads = world_records(LEADS, seed=7).drop("row_id").to_dicts()
        for i, lead in enumerate(leads):
            publish_lead(bus, lead, event_id=f"h{i}")
        consumers = _consumers(url, 4)
        try:
            _wait_settled(bus, conn)
        finally:
            stop_workers(consumers)
        assert sim.repeated_lookups() == 0
        dead = [f for _, f in bus.entries(DLQ_STREAM)]
        return billed_total(sim), dead, len(bus.entries(ENRICHED_STREAM))


def _wait_settled(bus: RedisStreamsBus, conn: Any, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        settled = len(bus.entries(ENRICHED_STREAM)) + len(bus.entries(DLQ_STREAM))
        group = conn.xinfo_groups(LEADS_STREAM)[0]
        if settled >= LEADS and group["pending"] == 0 and group["lag"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the events did not all settle")


def _worst_call() -> float:
    return max(worst_case_credits(name) for name in (*FULL_STEPS, FULL_VERIFY))


def test_nothing_affordable_is_dead_lettered_while_holds_are_open(tmp_path: Path) -> None:
    """What the leads cost with no cap is measured first; with a cap of that plus one
    call's worst case, every event is affordable once the holds settle — so none may be
    dead-lettered, however the 4 consumers' calls in flight overlap."""
    with redis_server(tmp_path / "free") as free:
        needed, dead, enriched = _run_events(free.url, None)
    assert not dead and enriched == LEADS and needed > 0
    budget = needed + _worst_call()
    with redis_server(tmp_path / "capped") as capped:
        billed, dead, enriched = _run_events(capped.url, budget)
    assert billed <= budget + 1e-9  # the providers' own counter: the cap holds
    assert [f["reason"] for f in dead] == []  # nothing affordable went to the DLQ
    assert enriched == LEADS


def test_a_tight_cap_dead_letters_only_what_the_settled_budget_cannot_pay(
    server: RedisServer,
) -> None:
    budget = 10.0
    billed, dead, enriched = _run_events(server.url, budget)
    assert billed <= budget + 1e-9
    assert dead and all(f["kind"] == "budget" for f in dead)
    assert enriched + len(dead) == LEADS
    # a budget dead letter is final only when what is left cannot pay one call's worst case
    assert budget - billed < _worst_call() + 1e-9


def _hold_then_settle(server: RedisServer, *, settle_for: float) -> tuple[float, Any]:
    """One lead, and a cap already filled by another consumer's call in flight (a real hold
    in the shared budget) that settles for ``settle_for`` credits 1.5 s later; one consumer,
    in process, takes the lead meanwhile. Returns what the providers billed and the bus."""
    from gtmkit.events.consumer import EnrichmentConsumer
    from gtmkit.queue.shared import RedisBudget

    cap = 30.0
    conn = connection(server.url)
    bus = RedisStreamsBus(conn)
    sim = simulate(attack_world(), latency_ms=5)
    with sim.serve() as srv:
        connect = {"base_urls": srv.base_urls, "timeout": 30}
        pipeline = open_pipeline(conn, waterfall(), mode="sandbox", retry=FAST_RETRY,
                                 cache_ttl_days=0, budget_credits=cap,
                                 connect_options=connect)  # fmt: skip
        other = RedisBudget(conn, pipeline.run_id, owner="other-consumer:1")
        hold = other.try_reserve(cap, 0.0)
        assert hold, "the other consumer's hold must fit the empty budget"
        publish_lead(bus, world_records(1, seed=9).drop("row_id").to_dicts()[0], event_id="x")
        consumer = EnrichmentConsumer(bus, conn, pipeline, name="c", block_ms=100)
        timer = threading.Timer(1.5, lambda: other.settle_now(hold, credits=settle_for, usd=0.0))
        timer.start()
        try:
            started = time.monotonic()
            while not _settled_ids(bus) and time.monotonic() - started < 30:
                consumer.step()
        finally:
            timer.cancel()
        return billed_total(sim), bus


def _settled_ids(bus: RedisStreamsBus) -> list[str]:
    return [f["event_id"] for _, f in bus.entries(ENRICHED_STREAM) + bus.entries(DLQ_STREAM)]


def test_an_event_waits_for_a_hold_that_settles_for_less(server: RedisServer) -> None:
    billed, bus = _hold_then_settle(server, settle_for=0.0)
    assert bus.entries(DLQ_STREAM) == []  # the hold left room: the lead was affordable
    assert [f["event_id"] for _, f in bus.entries(ENRICHED_STREAM)] == ["x"]
    assert 0 < billed <= 30.0 + 1e-9


def test_an_event_is_dead_lettered_when_the_settled_hold_spent_the_cap(
    server: RedisServer,
) -> None:
    billed, bus = _hold_then_settle(server, settle_for=30.0)
    dead = [f for _, f in bus.entries(DLQ_STREAM)]
    assert [(f["event_id"], f["kind"]) for f in dead] == [("x", "budget")]
    assert "budget exhausted" in dead[0]["reason"]
    assert billed == 0.0  # nothing was sent: the settled cap was spent by the other call
