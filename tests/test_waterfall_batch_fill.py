"""The Batch layer fills its requests (issue 12: ZoomInfo takes 25 records a request): a batch
goes when full, when every row the engine walks waits in it, while the provider's price is being
probed, or after lingering about one recent request — and never holds a row past
``max_linger_s``. Alone with a fake next layer, then through the engine with the fake batch
provider of ``tests/test_waterfall_batch.py``."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from gtmkit.providers.base import Finding
from gtmkit.waterfall import Step, Waterfall
from gtmkit.waterfall.layers import Batch
from gtmkit.waterfall.lookup import Lookup, RowAccount, Sent
from tests._waterfall_helpers import FakeWorld, make_records
from tests.test_waterfall_batch import FAST, BatchFinder, BatchService, SingleFinder


class BatchAdapter:
    endpoint = "person/lookup"
    kind = "finder"
    batch_size = 25


class FakePace:
    """The layer below: records every request's size, answers each lookup after ``took_s``."""

    def __init__(self, took_s: float = 0.0) -> None:
        self.took_s, self.requests = took_s, []  # type: ignore[var-annotated]

    async def __call__(self, lk: Lookup) -> Any:
        raise AssertionError("a batched provider's lookup went alone")

    async def batch(self, items: list[Lookup]) -> list[Sent]:
        self.requests.append(len(items))
        await asyncio.sleep(self.took_s)
        return [Sent(Finding("p", "person/lookup", "miss"), 0.0, 0.0) for _ in items]


def lookup(i: int) -> Lookup:
    return Lookup(
        name="p", adapter=BatchAdapter(), key=str(i), record={}, row=RowAccount(i),
        step=0, worst=1.0, price=0.1,
    )  # fmt: skip


async def trickle(batch: Batch, n: int, every_s: float) -> list[Any]:
    async def one(i: int) -> Any:
        await asyncio.sleep(i * every_s)
        return await batch(lookup(i))

    return await asyncio.gather(*(one(i) for i in range(n)))


def test_the_linger_follows_the_providers_recent_requests():
    async def main():
        pace = FakePace(took_s=0.2)
        batch = Batch(pace, linger_s=0.01)  # type: ignore[arg-type]
        assert batch.linger("p") == 0.01  # nothing sent yet: the floor
        await batch(lookup(0))  # one request of 0.2 s teaches it the provider's pace
        assert 0.19 < batch.linger("p") < 0.5
        pace.requests.clear()
        # 20 rows 5 ms apart: a 10 ms linger sent ~10 requests; one recent request's linger one
        results = await trickle(batch, 20, 0.005)
        return results, pace.requests

    results, requests = asyncio.run(main())
    assert len(results) == 20 and all(isinstance(r, Sent) for r in results)
    assert requests == [20]


def test_a_full_batch_goes_at_once_and_the_rest_waits_its_linger():
    async def main():
        pace = FakePace()
        batch = Batch(pace, linger_s=0.05)  # type: ignore[arg-type]
        await asyncio.gather(*(batch(lookup(i)) for i in range(60)))
        return pace.requests, batch.fill()

    requests, fill = asyncio.run(main())
    assert requests == [25, 25, 10]
    assert fill == {"p": {"requests": 3, "batch_size": 25, "mean_batch": 20.0, "full_share": 0.667}}


def test_the_last_rows_of_a_list_go_at_once():
    """Every row the engine walks waits in the batch: nobody else could join, so no linger."""

    async def main():
        pace = FakePace(took_s=0.0)
        batch = Batch(pace, linger_s=30.0, max_linger_s=30.0)  # type: ignore[arg-type]
        for _ in range(3):
            batch.row_started()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.gather(*(batch(lookup(i)) for i in range(3)))
        return pace.requests, loop.time() - started

    requests, took = asyncio.run(main())
    assert requests == [3]
    assert took < 5.0  # far below the 30 s linger it would otherwise wait


def test_a_row_ending_elsewhere_releases_the_rows_left_waiting():
    async def main():
        pace = FakePace()
        batch = Batch(pace, linger_s=30.0, max_linger_s=30.0)  # type: ignore[arg-type]
        for _ in range(3):
            batch.row_started()
        waiting = [asyncio.ensure_future(batch(lookup(i))) for i in range(2)]
        await asyncio.sleep(0.05)
        before = list(pace.requests)
        batch.row_ended()  # the third row finished at another step: the two are all that is left
        await asyncio.wait_for(asyncio.gather(*waiting), timeout=5.0)
        return before, pace.requests

    before, after = asyncio.run(main())
    assert before == [] and after == [2]


def test_no_row_waits_past_the_longest_linger():
    """Other rows walk but never come: the batch still goes after ``max_linger_s``."""

    async def main():
        pace = FakePace(took_s=0.3)
        batch = Batch(pace, linger_s=0.01, max_linger_s=0.05)  # type: ignore[arg-type]
        for _ in range(10):
            batch.row_started()
        await batch(lookup(0))  # slow request: its pace alone would linger 0.3 s
        assert batch.linger("p") == 0.05
        await asyncio.wait_for(batch(lookup(1)), timeout=5.0)
        return pace.requests

    assert asyncio.run(main()) == [1, 1]


def test_a_provider_still_probing_its_price_sends_each_row_at_once():
    async def main():
        pace = FakePace()
        probing = {"p"}
        batch = Batch(pace, linger_s=30.0, unconfirmed=lambda name: name in probing)  # type: ignore[arg-type]
        batch.row_started()
        batch.row_started()
        await asyncio.wait_for(batch(lookup(0)), timeout=5.0)
        return pace.requests

    assert asyncio.run(main()) == [1]


def engine_run(records, *, batch: bool, latency_s: float, **options):
    svc = BatchService(world=FakeWorld(hit_rates={"alpha": 0.6}), latency_s=latency_s)

    async def go():
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            cls = BatchFinder if batch else SingleFinder
            providers = {"alpha": cls(client, api_key="k")}
            return await Waterfall([Step("alpha")]).run_async(
                records, providers=providers, progress=False, retry=FAST, ledger=None, **options
            )

    return asyncio.run(go()), svc


def test_fewer_workers_than_a_batch_never_wait_for_rows_that_cannot_come(monkeypatch):
    """8 workers, batches of 25: each batch goes as soon as all 8 walking rows wait in it (the
    engine tells the layer how many rows it walks), not after its linger — made 30 s here."""
    monkeypatch.setattr(Batch, "linger", lambda self, name: 30.0)
    records = make_records(120, seed=5)
    result, svc = engine_run(records, batch=True, latency_s=0.01, concurrency=8, deadline_s=20)
    assert (result.records["status"] != "stopped").all()  # nothing waited out the deadline
    fill = result.totals["batches"]["alpha"]
    assert fill["requests"] == svc.batch_requests
    assert fill["mean_batch"] > 6.0  # 8 a request, bar the price probe and the last rows
    assert result.records.height == 120


def test_batches_fill_through_the_engine_and_each_row_keeps_its_own_result():
    records = make_records(300, seed=6)
    single, one_by_one = engine_run(records, batch=False, latency_s=0.02)
    # 100 ms requests: the linger (one recent request) dwarfs the loop's lag on a loaded machine
    batched, svc = engine_run(records, batch=True, latency_s=0.1)
    cols = ["row_id", "email", "email_source", "status", "credits"]
    assert batched.records.select(cols).equals(single.records.select(cols))
    assert svc.billed == one_by_one.billed
    fill = batched.totals["batches"]["alpha"]
    assert fill["requests"] == svc.batch_requests
    # 300 rows: 12 full requests at best; the price probe and the Meter releasing rows one by
    # one after it send fewer (measured 16–18 requests under load)
    assert fill["mean_batch"] >= 12.0 and fill["full_share"] >= 0.25  # measured 16.7–18.8
    assert "batches" in single.totals and single.totals["batches"] == {}
