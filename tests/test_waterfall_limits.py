"""Per-provider limits: priority order, shared accounts, pacing against a rate-limited server."""

from __future__ import annotations

import asyncio

import polars as pl

from gtmkit.providers.base import RateLimit
from gtmkit.waterfall import Step, Waterfall
from gtmkit.waterfall.limits import ProviderLimiter, build_limiters
from tests._waterfall_helpers import FakeService, finder_class, make_records
from tests.test_waterfall_engine import FAST_RETRY, run


def test_waiters_are_served_deepest_step_first():
    async def main() -> list[int]:
        limiter = ProviderLimiter(float("inf"), 1)
        await limiter.acquire()  # the only slot is taken: everyone else queues
        order: list[int] = []

        async def waiter(priority: int) -> None:
            await limiter.acquire(priority=priority)
            order.append(priority)
            limiter.release()

        tasks = [asyncio.create_task(waiter(p)) for p in (0, -3, -1, 0, -2)]
        await asyncio.sleep(0)  # let them all queue
        limiter.release()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(main()) == [-3, -2, -1, 0, 0]


def test_providers_on_one_base_url_share_a_limiter():
    shared_a = finder_class("a", default_base_url="https://same.test")()
    shared_b = finder_class("b", default_base_url="https://same.test")()
    other = finder_class("c", default_base_url="https://other.test")()

    async def main():
        return build_limiters(
            {"a": shared_a, "b": shared_b, "c": other},
            {"b": RateLimit(per_second=7.0, max_in_flight=3), "c": 5.0},
        )

    limiters = asyncio.run(main())
    assert limiters["a"] is limiters["b"] is not limiters["c"]
    assert (limiters["a"].per_second, limiters["a"].max_in_flight) == (7.0, 3)
    assert limiters["c"].per_second == 5.0


def test_paced_at_the_servers_rate_sends_no_429():
    records = make_records(60, seed=31)
    svc = FakeService(rate_limits={"alpha": 50.0})
    res, svc = run(Waterfall([Step("alpha")]), records, svc, rate_limits={"alpha": 50.0})
    assert svc.calls["alpha"] == records.height
    assert svc.rejected["alpha"] == 0
    assert res.totals["limits"]["alpha"]["waited_s"] > 0  # it did have to pace itself


def test_a_too_optimistic_rate_adapts_and_loses_nothing():
    records = make_records(80, seed=32)
    clean, _ = run(Waterfall([Step("alpha"), Step("beta")]), records)
    svc = FakeService(rate_limits={"alpha": 40.0})
    res, svc = run(
        Waterfall([Step("alpha"), Step("beta")]),
        records,
        svc,
        rate_limits={"alpha": 400.0},
        retry=FAST_RETRY,
    )
    assert svc.rejected["alpha"] > 0
    limits = res.totals["limits"]["alpha"]
    assert limits["throttled"] == svc.rejected["alpha"]
    assert limits["final_per_second"] < 400.0  # it slowed down
    cols = ["row_id", "email", "email_source", "status"]
    assert res.records.select(cols).equals(clean.records.select(cols))
    assert (res.records["status"] != "failed").all()
    assert res.attempts.filter(pl.col("http_status") == 429).height == svc.rejected["alpha"]
