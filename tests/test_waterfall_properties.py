"""Property tests (hypothesis) for the engine's money and accounting invariants."""

from __future__ import annotations

import asyncio
import random
import tempfile
from pathlib import Path

import httpx
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtmkit.waterfall import Budget, BudgetExhausted, Ledger, RetryPolicy, Step, Waterfall
from tests._waterfall_helpers import FakeService, make_providers, make_records

FAST_RETRY = RetryPolicy(base_s=0.001, max_backoff_s=0.005)
WF = Waterfall(
    [Step("alpha"), Step("beta", stop="first_verified"), Step("gamma", catch_all="continue")],
    verify="verifier",
    prices={"alpha": 0.1, "beta": 0.2, "gamma": 0.05, "verifier": 0.01},
)


async def _run(records, svc: FakeService, ledger: Path, **options):
    async with httpx.AsyncClient(transport=svc.transport()) as client:
        return await WF.run_async(
            records,
            providers=make_providers(client),
            ledger=ledger,
            progress=False,
            retry=FAST_RETRY,
            **options,
        )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 10_000),
    dup_rate=st.sampled_from([0.0, 0.2]),
    same_key_rate=st.sampled_from([0.0, 0.3]),
    budget=st.one_of(st.none(), st.floats(0, 50)),
    budget_usd=st.one_of(st.none(), st.floats(0, 4)),
    row_cap=st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.0, 3.0])),
    concurrency=st.integers(1, 64),
    in_flight=st.integers(1, 8),
    fault_rate=st.sampled_from([0.0, 0.1]),
    latency=st.sampled_from([0.0, 0.001]),
)
def test_money_and_accounting_invariants(
    n, seed, dup_rate, same_key_rate, budget, budget_usd, row_cap, concurrency, in_flight,
    fault_rate, latency,
):  # fmt: skip
    records = make_records(n, seed=seed, dup_rate=dup_rate, same_key_rate=same_key_rate)
    svc = FakeService(latency_s=latency, fault_rate=fault_rate, fault_seed=seed)
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.sqlite"
        results = []
        billed_before = 0.0
        for budget_credits in (budget, None):  # a capped run, then a resume without a cap
            res = asyncio.run(
                _run(
                    records,
                    svc,
                    ledger,
                    budget_credits=budget_credits,
                    budget_usd=budget_usd if budget_credits is not None else None,
                    per_row_cap_credits=row_cap,
                    concurrency=concurrency,
                    max_in_flight=in_flight,
                )
            )
            results.append(res)
            billed_now = sum(svc.billed.values())
            run_billed = billed_now - billed_before
            billed_before = billed_now

            # the budget is never exceeded, even with calls in flight (and the provider agrees)
            if budget_credits is not None:
                assert res.totals["budget_peak_committed_credits"] <= budget_credits + 1e-9
                assert run_billed <= budget_credits + 1e-9
                if budget_usd is not None:
                    assert res.totals["cost_usd"] <= budget_usd + 1e-9
            if row_cap is not None:
                assert res.records["credits"].max() <= row_cap + 1e-9

            # every input row exactly once
            assert res.records["row_id"].to_list() == sorted(records["row_id"].to_list())

            # summary == attempts == ledger == what the provider billed
            billed_attempts = res.attempts.filter(pl.col("billed"))["credits"].sum()
            with Ledger(ledger) as led:
                ledgered = led.total_credits(res.totals["run_id"])
            assert res.summary["credits"].sum() == billed_attempts == ledgered == run_billed
            assert res.totals["credits"] == billed_attempts
            assert res.records["credits"].sum() == billed_attempts

        # no (provider, lookup key) billed twice within the TTL across runs
        assert not svc.billed_keys or max(svc.billed_keys.values()) == 1
        assert (results[1].records["status"] != "budget_exhausted").all() or row_cap is not None


@settings(max_examples=40, deadline=None)
@given(
    cap=st.floats(0, 20),
    calls=st.lists(
        st.tuples(st.floats(0, 3), st.floats(0, 1), st.integers(0, 3)), min_size=1, max_size=40
    ),
    seed=st.integers(0, 1000),
)
def test_budget_holds_with_any_number_in_flight(cap, calls, seed):
    budget = Budget(credits=cap)
    rng = random.Random(seed)
    outcomes = []

    async def call(worst: float, share: float, hops: int) -> None:
        try:
            reservation = await budget.reserve(worst, 0.0)
        except BudgetExhausted:
            # refused only when even a zero-cost settle of everything in flight cannot make room
            assert budget.spent_credits + worst > cap
            outcomes.append("refused")
            return
        assert budget.spent_credits + budget.reserved_credits <= cap + 1e-9
        for _ in range(hops):
            await asyncio.sleep(0)
        budget.settle_now(reservation, credits=worst * share, usd=0.0)
        assert budget.spent_credits <= cap + 1e-9
        outcomes.append("paid")

    async def main() -> None:
        tasks = [call(w, s, h) for w, s, h in calls]
        rng.shuffle(tasks)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert len(outcomes) == len(calls)
    assert budget.spent_credits <= cap + 1e-9
    assert budget.peak_committed_credits <= cap + 1e-9
    assert budget.reserved_credits == 0
