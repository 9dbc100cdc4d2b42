"""A provider that takes many records per request (ZoomInfo: 25) is called in batches, with
one result per row, one reservation per row (so the batch's worst case is held) and one
ledger row per lookup — measured by the fake provider's own request and billing counts."""

from __future__ import annotations

import asyncio
import json
from typing import ClassVar

import httpx
import polars as pl

from gtmkit.providers.base import Finding, Record
from gtmkit.waterfall import Ledger, RetryPolicy, Step, Waterfall
from tests._waterfall_helpers import FakeFinder, FakeService, FakeWorld, make_records

FAST = RetryPolicy(base_s=0.001, max_backoff_s=0.01)


class BatchService(FakeService):
    """The fake provider side, plus a batch endpoint answering a list of people."""

    batch_requests: int = 0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/batch":
            return await super().handler(request)
        self.batch_requests += 1
        people = json.loads(request.content)["people"]
        answers = []
        for person in people:
            found = self.world.find("alpha", person["first"], person["last"], person["domain"])
            key = f"{person['first']}|{person['last']}|{person['domain']}".lower()
            self._bill("alpha", key, 1.0 if found else 0.0)
            answers.append(found)
        return httpx.Response(200, json={"people": answers})


class BatchFinder(FakeFinder):
    name: ClassVar[str] = "alpha"
    default_base_url: ClassVar[str] = "https://alpha.fake.test"
    batch_size: ClassVar[int] = 25

    async def lookup_batch(self, records: list[Record]) -> list[Finding]:
        assert self.client is not None
        body = {
            "people": [
                {"first": r["first_name"], "last": r["last_name"], "domain": r["company_domain"]}
                for r in records
            ]
        }
        response = await self.client.post(f"{self.base_url}/batch", json=body)
        out = []
        for person in response.json()["people"]:
            if person is None:
                out.append(Finding(self.name, self.endpoint, "miss", http_status=200))
            else:
                out.append(
                    Finding(
                        self.name,
                        self.endpoint,
                        "hit",
                        fields={"email": person["email"]},
                        email_status=person["status"],
                        credits=1.0,
                        http_status=200,
                    )
                )
        return out


class SingleFinder(FakeFinder):
    """The same provider asked one record per request."""

    name: ClassVar[str] = "alpha"
    default_base_url: ClassVar[str] = "https://alpha.fake.test"


def run(records, *, batch: bool, **options):
    svc = BatchService(world=FakeWorld(hit_rates={"alpha": 0.6}))

    async def go():
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            cls = BatchFinder if batch else SingleFinder
            providers = {"alpha": cls(client, api_key="k")}
            return await Waterfall([Step("alpha")]).run_async(
                records, providers=providers, progress=False, retry=FAST, **options
            )

    return asyncio.run(go()), svc


def test_batched_rows_get_the_same_results_in_far_fewer_requests(tmp_path):
    records = make_records(200, seed=3)
    single, one_by_one = run(records, batch=False, ledger=None)
    batched, svc = run(records, batch=True, ledger=tmp_path / "l.sqlite")
    cols = ["row_id", "email", "email_source", "status", "credits"]
    assert batched.records.select(cols).equals(single.records.select(cols))
    # 200 lookups; one at a time until a billed hit confirms the price, then up to 25 a request
    assert svc.batch_requests < 200 / 5
    assert svc.billed == one_by_one.billed  # the provider billed the same either way
    with Ledger(tmp_path / "l.sqlite") as ledger:
        rows = ledger.attempts(batched.totals["run_id"])
    assert rows.height == 200 and (rows["state"] == "done").all()  # one ledger row per lookup
    assert ledger_total(rows) == sum(svc.billed.values())


def ledger_total(rows: pl.DataFrame) -> float:
    return float(rows["credits"].sum())


def test_the_budget_holds_a_batch_worst_case():
    records = make_records(200, seed=4)
    result, svc = run(records, batch=True, ledger=None, budget_credits=30)
    assert sum(svc.billed.values()) <= 30
    assert result.totals["budget_peak_committed_credits"] <= 30
    assert (result.records["status"] == "budget_exhausted").any()
