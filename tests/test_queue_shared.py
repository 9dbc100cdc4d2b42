"""The queue tier's shared parts (``gtmkit/queue/shared.py``), each against a real redis-server:
the budget account, the rate limiter, the cache, and the claims with the journal."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._redis_helpers import RedisServer, needs_redis, redis_server

pytestmark = needs_redis

redis = pytest.importorskip("redis")

from gtmkit.providers import provider_class  # noqa: E402
from gtmkit.providers.base import Finding  # noqa: E402
from gtmkit.queue import shared  # noqa: E402
from gtmkit.queue.shared import (  # noqa: E402
    Leases,
    RedisBudget,
    RedisCache,
    RedisClaims,
    RedisJournal,
    RedisLimiter,
)
from gtmkit.waterfall.budget import BudgetExhausted  # noqa: E402
from gtmkit.waterfall.lookup import Answer, Failure, Lookup, RowAccount, Sent  # noqa: E402


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("redis")) as srv:
        yield srv


@pytest.fixture
def conn(server: RedisServer) -> Iterator[Any]:
    client = redis.Redis.from_url(server.url)
    client.flushall()
    yield client
    client.close()


# -- budget -------------------------------------------------------------------------------------


def test_many_workers_reserving_at_once_never_pass_the_cap(server: RedisServer, conn: Any) -> None:
    """8 threads, each its own connection and event loop, 40 reservations each of 1 credit
    on a 25-credit cap, settled at full price: exactly 25 go, the rest are refused."""
    RedisBudget.create(conn, "r", 25.0, None)
    granted: list[int] = []
    refused: list[int] = []

    def worker() -> None:
        budget = RedisBudget(redis.Redis.from_url(server.url), "r")

        async def go() -> None:
            async def one() -> None:
                try:
                    reservation = await budget.reserve(1.0, 0.1)
                except BudgetExhausted:
                    refused.append(1)
                    return
                await asyncio.sleep(0.001)
                await budget.settle(reservation, credits=1.0, usd=0.1)
                granted.append(1)

            await asyncio.gather(*(one() for _ in range(40)))

        asyncio.run(go())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    budget = RedisBudget(conn, "r")
    assert len(granted) == 25 and len(refused) == 8 * 40 - 25
    assert budget.spent_credits == pytest.approx(25.0)
    assert budget.peak_committed_credits <= 25.0 + 1e-9
    assert budget.held_credits() == 0.0


def test_a_reservation_waits_for_room_that_settling_frees(conn: Any) -> None:
    """Room held by a call in flight that then costs nothing is given to the waiting call."""
    RedisBudget.create(conn, "r", 1.0, None)
    budget = RedisBudget(conn, "r")

    async def go() -> float:
        first = await budget.reserve(1.0, 0.0)
        waiter = asyncio.create_task(budget.reserve(1.0, 0.0))
        await asyncio.sleep(0.05)
        assert not waiter.done()  # the cap is held by the first call
        await budget.settle(first, credits=0.0, usd=0.0)  # a miss: free
        second = await asyncio.wait_for(waiter, 2)
        await budget.settle(second, credits=1.0, usd=0.0)
        return budget.spent_credits

    assert asyncio.run(go()) == 1.0
    with pytest.raises(BudgetExhausted, match="1 of 1 credits"):
        asyncio.run(budget.reserve(1.0, 0.0))


def test_a_dollar_cap_and_an_unsettled_reservation_stay_held(conn: Any) -> None:
    RedisBudget.create(conn, "r", None, 0.5)
    budget = RedisBudget(conn, "r")
    first = budget.try_reserve(1.0, 0.3)
    assert first
    assert budget.try_reserve(1.0, 0.3) is None  # would pass $0.50 with the first in flight
    # the worker holding ``first`` dies: its reservation is never settled, and stays held
    assert budget.held_credits() == 1.0
    assert budget.try_reserve(1.0, 0.3) is None
    assert budget.try_reserve(1.0, 0.1)


# -- rate limiter ------------------------------------------------------------------------------


def _limiter(conn: Any, *, per_second: float, max_in_flight: int, leases: Leases) -> RedisLimiter:
    return RedisLimiter(conn, "hunter@test", per_second=per_second,
                        max_in_flight=max_in_flight, leases=leases)  # fmt: skip


def test_the_in_flight_cap_is_shared_by_every_limiter_of_an_account(conn: Any) -> None:
    leases = Leases(conn)
    a = _limiter(conn, per_second=float("inf"), max_in_flight=2, leases=leases)
    b = _limiter(conn, per_second=float("inf"), max_in_flight=2, leases=leases)

    async def go() -> None:
        await a.acquire()
        await b.acquire()
        third = asyncio.create_task(a.acquire())
        await asyncio.sleep(0.1)
        assert not third.done()  # two in flight across "two workers": the third waits
        b.release()
        await asyncio.wait_for(third, 2)
        a.release()
        a.release()

    try:
        asyncio.run(go())
    finally:
        leases.stop()
    assert conn.zcard("gtmkit:limit:hunter@test:slots") == 0


def test_the_pace_is_shared(server: RedisServer, conn: Any) -> None:
    """Two processes' worth of limiters at 40/s: 30 sends take about 0.75 s, not half."""
    leases = Leases(conn)

    def sends(n: int) -> None:
        limiter = _limiter(redis.Redis.from_url(server.url), per_second=40.0,
                           max_in_flight=100, leases=leases)  # fmt: skip

        async def go() -> None:
            for _ in range(n):
                await limiter.acquire()
                limiter.release()

        asyncio.run(go())

    started = time.perf_counter()
    threads = [threading.Thread(target=sends, args=(15,)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    leases.stop()
    assert 29 / 40 * 0.95 <= elapsed < 3.0


def test_a_dead_workers_slots_come_back(conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared, "LEASE_S", 0.3)
    leases = Leases(conn)
    leases.stop()  # nobody refreshes: as if the process was killed
    limiter = _limiter(conn, per_second=float("inf"), max_in_flight=1, leases=leases)

    async def go() -> float:
        await limiter.acquire()  # never released
        started = time.perf_counter()
        await asyncio.wait_for(limiter.acquire(), 3)
        return time.perf_counter() - started

    assert 0.1 < asyncio.run(go()) < 2.0


# -- journal, claims and cache -----------------------------------------------------------------


def _lookup(
    row: int = 1, key: str = "ada|acme.io", *, worst: float = 1.0, hold: Any = None
) -> Lookup:
    """A Hunter lookup at $0.10 a credit, held by ``hold`` when the test reserved one."""
    return Lookup("hunter", provider_class("hunter"), key, {}, RowAccount(row),
                  step=0, worst=worst, price=0.1, hold=hold)  # fmt: skip


def _sent(email: str = "ada@acme.io") -> Sent:
    finding = Finding("hunter", "email-finder", "hit", fields={"email": email}, credits=1.0,
                      email_status="valid")  # fmt: skip
    return Sent(finding, 1.0, 0.0)


def _journal(conn: Any, execution: str, leases: Leases, ttl_s: float = 0.0) -> RedisJournal:
    return RedisJournal(conn, "r", execution=execution, ttl_s=ttl_s, leases=leases)


def test_a_lookup_paid_by_one_worker_is_waited_for_and_reused_by_another(conn: Any) -> None:
    leases = Leases(conn)
    a, b = _journal(conn, "a", leases), _journal(conn, "b", leases)
    claims = RedisClaims(conn, stopping=lambda: None)

    async def go() -> Any:
        intent = await a.intend(_lookup())
        assert not isinstance(intent, Answer | bool)
        assert await b.intend(_lookup(2)) is True  # a is paying: b must not
        waiting = asyncio.create_task(claims.wait_for(_lookup().claim_key))
        await asyncio.sleep(0.05)
        a.done(_lookup(), intent, _sent())  # answer, cache entry and release in one step
        other = await asyncio.wait_for(waiting, 2)
        again = await b.intend(_lookup(2))  # and a later ask is answered free
        return other, again

    try:
        other, again = asyncio.run(go())
    finally:
        leases.stop()
    assert isinstance(other, Answer) and other.fields["email"] == "ada@acme.io"
    assert isinstance(again, Answer) and again.cached
    paid = [row for row in conn.lrange("gtmkit:run:r:attempts", 0, -1) if b'"done"' in row]
    assert len(paid) == 1 and conn.hlen("gtmkit:run:r:inflight") == 0


def test_a_stale_claim_is_taken_over(conn: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The payer dies mid-call (its claim is no longer refreshed): the waiter is told to go
    ahead, and its own intent takes the claim; the dead one's intent stays as in flight."""
    monkeypatch.setattr(shared, "LEASE_S", 0.3)
    dead_leases, leases = Leases(conn), Leases(conn)
    dead_leases.stop()
    dead, alive = _journal(conn, "dead", dead_leases), _journal(conn, "alive", leases)
    claims = RedisClaims(conn, stopping=lambda: None)

    async def go() -> Any:
        assert not isinstance(await dead.intend(_lookup()), bool)
        assert await alive.intend(_lookup(2)) is True
        assert await asyncio.wait_for(claims.wait_for(_lookup().claim_key), 3) is None
        return await alive.intend(_lookup(2))

    try:
        taken = asyncio.run(go())
    finally:
        leases.stop()
    assert not isinstance(taken, Answer | bool)  # an Attempt: this worker pays now
    assert conn.hlen("gtmkit:run:r:inflight") == 2  # the dead one's intent: in flight (lost)


def test_the_cache_keeps_its_ttl(conn: Any) -> None:
    leases = Leases(conn)
    journal = _journal(conn, "a", leases, ttl_s=3600)

    async def go() -> tuple[Any, Any]:
        intent = await journal.intend(_lookup())
        journal.done(_lookup(), intent, _sent())
        fresh = await RedisCache(conn, ttl_s=3600).get(_lookup().claim_key)
        await asyncio.sleep(0.05)
        stale = await RedisCache(conn, ttl_s=0.01).get(_lookup().claim_key)
        return fresh, stale

    try:
        fresh, stale = asyncio.run(go())
    finally:
        leases.stop()
    assert isinstance(fresh, Answer) and fresh.cached and fresh.credits == 1.0
    assert stale is None


def test_gtmkit_import_does_not_need_redis(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = ("import sys, gtmkit; from gtmkit import Waterfall; import gtmkit.waterfall.run; "
            "print('redis' in sys.modules or 'rq' in sys.modules)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# -- circuit breaker ---------------------------------------------------------------------------


def test_a_provider_one_worker_stops_is_stopped_in_every_worker(conn: Any) -> None:
    from gtmkit.queue.shared import SharedBreaker
    from gtmkit.waterfall.breaker import BreakerPolicy

    policy = BreakerPolicy(cooldown_s=0.5)
    one, other = SharedBreaker(policy, conn, "r"), SharedBreaker(policy, conn, "r")
    aborted: list[str] = []
    other.on_open.append(aborted.append)  # the call layer abandons its calls in flight
    assert other.blocked("pdl") is None
    one.trip("pdl", "charged 5 credits for one call")
    other._synced = float("-inf")  # its next ask reads the run's breaker (every 0.25 s)
    assert "another worker" in (other.blocked("pdl") or "") and aborted == ["pdl"]
    # a cool-down is shared with what is left of it, and ends for everyone
    one._cool("hunter", "hunter did not answer for 5 s", time.monotonic())
    other._synced = float("-inf")
    assert other.blocked("hunter") is not None
    time.sleep(0.6)
    other._synced = float("-inf")
    assert other.blocked("hunter") is None and other.blocked("pdl") is not None


def test_a_dead_executions_unsent_holds_are_freed_and_its_sent_one_stays(conn: Any) -> None:
    """Execution ``job-1:a`` holds three reservations, one of them for a call it sent; it
    dies and job-1 is run again as ``job-1:b``: the two holds never sent are freed, the sent
    one stays at its worst case, and a hold of another job still running is not touched.
    Had ``job-1:a`` only stalled, its next call finds its hold gone and is not sent."""
    RedisBudget.create(conn, "r", 10.0, None)
    dead = RedisBudget(conn, "r", owner="job-1:a")
    other = RedisBudget(conn, "r", owner="job-2:c")
    conn.zadd("started", {"job-2:rq-exec": 1e12})  # job-2 still runs; job-1 does not
    leases = Leases(conn)
    journal = _journal(conn, "job-1:a", leases)

    async def go() -> Any:
        holds = [await dead.reserve(2.0, 0.2) for _ in range(3)]
        await other.reserve(1.0, 0.1)
        sent = _lookup()
        sent.hold = holds[0]
        assert not isinstance(await journal.intend(sent), Answer | Failure | bool)
        assert RedisBudget(conn, "r", owner="job-1:b").release_unsent(None) == 2
        late = _lookup(2, "bob|acme.io", worst=2.0, hold=holds[1])
        return await journal.intend(late)

    try:
        refused = asyncio.run(go())
    finally:
        leases.stop()
    assert isinstance(refused, Failure) and refused.kind == "stopped"
    assert dead.held_credits() == pytest.approx(2.0 + 1.0)  # the sent call and job-2's
    assert RedisBudget(conn, "r").release_unsent("started") == 0  # job-2 is live: kept
    conn.delete("started")
    assert RedisBudget(conn, "r").release_unsent("started") == 1  # job-2 died too
    assert dead.held_credits() == pytest.approx(2.0)


def test_a_dead_executions_sent_hold_counts_as_spent_until_it_settles(conn: Any) -> None:
    """A call a dead execution had sent may have been billed: once that execution is known
    dead its hold counts as spent, so a row waiting for room learns the budget is exhausted
    instead of waiting for good; if the execution was only stalled and its answer comes back,
    the hold settles to what was charged and the rest is free again."""
    RedisBudget.create(conn, "lost", 3.0, None)
    dead = RedisBudget(conn, "lost", owner="job-1:a")
    live = RedisBudget(conn, "lost", owner="job-1:b")
    leases = Leases(conn)
    journal = RedisJournal(conn, "lost", execution="job-1:a", ttl_s=0.0, leases=leases)

    async def go() -> Any:
        hold = await dead.reserve(2.0, 0.2)
        sent = _lookup(1, "eve|lost.io", worst=2.0, hold=hold)
        assert not isinstance(await journal.intend(sent), Answer | Failure | bool)
        mine = live.try_reserve(1.0, 0.1)  # fits beside the call in flight
        assert mine and live.try_reserve(1.0, 0.1) is None  # wait: calls in flight may free room
        assert live.release_unsent(None) == 0  # job-1:a is dead; its one hold was sent
        return hold, mine

    try:
        hold, mine = asyncio.run(go())
    finally:
        leases.stop()
    assert live.lost_credits() == pytest.approx(2.0)
    assert live.held_credits() == pytest.approx(3.0)
    live.settle_now(mine, credits=1.0, usd=0.1)
    assert live.try_reserve(1.0, 0.1) is False  # exhausted (1 spent + 2 lost), not "wait"
    dead.settle_now(hold, credits=1.0, usd=0.1)  # it only stalled: its answer came back
    assert live.lost_credits() == 0.0 and live.held_credits() == 0.0
    assert live.spent_credits == pytest.approx(2.0)
    assert live.try_reserve(1.0, 0.1) is not None  # the unused worst case is free again


def test_the_answer_booked_settles_its_hold_in_the_same_step(conn: Any) -> None:
    """The hold is settled by the script that books the answer: a worker killed right after
    leaves no hold behind, and the engine's own settle afterwards books nothing twice."""
    RedisBudget.create(conn, "booked", 5.0, None)
    budget = RedisBudget(conn, "booked", owner="job-1:a")
    leases = Leases(conn)
    journal = RedisJournal(conn, "booked", execution="job-1:a", ttl_s=0.0, leases=leases)

    async def go() -> Any:
        hold = await budget.reserve(2.0, 0.2)
        lk = _lookup(1, "kim|booked.io", worst=2.0, hold=hold)
        attempt = await journal.intend(lk)
        assert not isinstance(attempt, Answer | Failure | bool)
        journal.done(lk, attempt, _sent("kim@booked.io"))
        return hold

    try:
        hold = asyncio.run(go())
    finally:
        leases.stop()
    assert budget.held_credits() == 0.0 and budget.spent_credits == pytest.approx(1.0)
    budget.settle_now(hold, credits=1.0, usd=0.1)  # the Meter's settle: nothing left to do
    assert budget.spent_credits == pytest.approx(1.0)
