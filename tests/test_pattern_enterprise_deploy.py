"""The seed's enterprise waterfall, Apollo → ZoomInfo → Hunter → Manual LinkedIn, deployed from
its pattern entry exactly as the entry's Deployment Guide says (issue 12): found by its use
case, ``pattern.to_waterfall()`` with no stand-in, ``wf.run(leads, budget_usd=...)``, on the
simulated providers. Each figure is checked against what the provider side saw — the wire
itself (every request and answer, logged between the adapters and the sandbox) and the
sandbox's own meter (``sim.billed()``) — never against what the engine says of itself."""

from __future__ import annotations

import json
from types import SimpleNamespace

import httpx
import polars as pl
import pytest
from _patterns_helpers import LIBRARY, REPO

import gtmkit
from gtmkit import patterns
from gtmkit.providers.registry import provider_class
from gtmkit.sandbox import simulate

ENTRY = LIBRARY / "enrichment-waterfalls" / "enterprise-contact-enrichment.md"
SAMPLE = REPO / "data" / "samples" / "leads_small.csv"
DOCUMENTED = ["apollo", "zoominfo", "hunter", "manual"]
PAID = DOCUMENTED[:-1]
HOSTS = {"api.apollo.io": "apollo", "api.zoominfo.com": "zoominfo", "api.hunter.io": "hunter"}
#: the entry's documented average cost ($0.68 a record) over the 300-row list
BUDGET_USD = 0.68 * 300
ZOOMINFO_BATCH = 25


class WireLog(httpx.AsyncBaseTransport):
    """Every request and its answer on their way to and from the sandbox, as sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[tuple[httpx.Request, bytes, int, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = await request.aread()
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        self.exchanges.append((request, sent, response.status_code, body))
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request
        )

    def to(self, host: str, path_end: str = "") -> list[tuple[httpx.Request, bytes, int, bytes]]:
        return [
            x for x in self.exchanges if x[0].url.host == host and x[0].url.path.endswith(path_end)
        ]


@pytest.fixture(scope="module")
def deployed() -> SimpleNamespace:
    # Deployment Guide step 1: load the client's list
    leads = gtmkit.load_list(SAMPLE)
    # step 2: find the entry by what the engagement needs (the guide's own query)
    found = patterns.search(
        query="decision-makers Series B SaaS", records=leads, patterns_dir=LIBRARY
    )
    assert found["name"][0] == "enterprise-contact-enrichment", found.select("name", "score")
    pattern = patterns.load(REPO / found["path"][0])
    assert pattern.path is not None and pattern.path.resolve() == ENTRY.resolve()
    # step 3: deploy it as documented, on the simulated providers
    sim = simulate()
    wire = WireLog(sim.transport)
    wf = pattern.to_waterfall()
    result = wf.run(
        leads,
        budget_usd=BUDGET_USD,
        mode="sandbox",
        ledger=None,
        progress=False,
        connect_options={"transport": wire, "options": sim.connect_options["options"]},
    )
    return SimpleNamespace(leads=leads, pattern=pattern, wf=wf, sim=sim, wire=wire, result=result)


def test_the_deployment_guide_deploys_it_with_no_stand_in():
    pattern = patterns.load(ENTRY)
    guide = pattern.section("deployment guide") or ""
    assert "pattern.to_waterfall()" in guide
    assert "substitute" not in guide, "the documented deployment names a stand-in provider"
    plan = pattern.plan()
    assert [p.provider for p in plan] == DOCUMENTED
    assert [p.step.provider for p in plan] == DOCUMENTED
    assert not any(p.substituted for p in plan)
    assert [p.role for p in plan] == ["finder", "finder", "finder", "manual"]


def test_every_step_runs_on_its_documented_provider(deployed):
    result = deployed.result
    assert [s.provider for s in deployed.wf.steps] == DOCUMENTED
    assert [s.label for s in deployed.wf.steps] == [
        "Apollo (company + title search)",
        "ZoomInfo (title + seniority fallback)",
        "Hunter.io (email pattern verification)",
        "Manual LinkedIn",
    ]
    assert result.summary["provider"].to_list() == DOCUMENTED
    assert result.totals["modes"] == {p: "sandbox" for p in PAID} | {"manual": "local"}
    assert result.totals["disabled"] == {}
    # on the wire: the three documented providers' hosts and no other (no stand-in answered)
    hosts = {request.url.host for request, *_ in deployed.wire.exchanges}
    assert hosts == set(HOSTS)
    assert deployed.sim.requests().keys() == set(PAID)
    # the benchmark this run writes says no step was substituted
    bench = patterns.load(ENTRY).record_benchmark(result)
    assert bench.substitutions == ()
    assert bench.providers == tuple(DOCUMENTED)
    steps = patterns.load(ENTRY).check(result).filter(pl.col("step").is_not_null())
    assert (
        steps.group_by("step").agg(pl.col("provider").first()).sort("step")["provider"].to_list()
        == DOCUMENTED
    )


def test_zoominfo_lookups_share_requests_of_at_most_25(deployed):
    wire, result = deployed.wire, deployed.result
    enrich = wire.to("api.zoominfo.com", "/contacts/enrich")
    tokens = wire.to("api.zoominfo.com", "/token")
    sizes = []
    asked: list[tuple[str, str]] = []
    for request, sent, status, _ in enrich:
        assert request.method == "POST" and status == 200
        assert request.headers["content-type"].startswith("application/vnd.api+json")
        assert request.headers["authorization"].startswith("Bearer ")
        inputs = json.loads(sent)["data"]["attributes"]["matchPersonInput"]
        sizes.append(len(inputs))
        asked += [(i.get("firstName"), i.get("lastName")) for i in inputs]
    assert len(tokens) == 1, "one OAuth token for the whole run"
    # the provider side counted exactly these requests
    assert deployed.sim.requests()["zoominfo"] == len(enrich) + len(tokens)
    reached = result.attempts.filter(pl.col("provider") == "zoominfo")
    rows = reached["row_id"].n_unique()
    assert rows == reached.height, "one ZoomInfo lookup per row"
    assert sum(sizes) == rows, "every row that reached step 2 was in exactly one request"
    assert max(sizes) <= ZOOMINFO_BATCH
    # the first lookups go one at a time until a billed hit confirms the price; the rows that
    # queued meanwhile then leave 25 to a request (later batches are as full as rows arrive)
    assert ZOOMINFO_BATCH in sizes, sizes
    assert len(enrich) < rows / 3, f"lookups were not batched: {sizes}"
    looked_up = result.records.filter(pl.col("row_id").is_in(reached["row_id"].implode()))
    assert sorted(asked) == sorted(looked_up.select("first_name", "last_name").rows())


def test_money_is_what_the_sandbox_billed(deployed):
    result, sim, wire = deployed.result, deployed.sim, deployed.wire
    billed = sim.billed()
    attempts = result.attempts
    assert set(billed) == set(PAID)
    for provider in PAID:
        mine = attempts.filter(pl.col("provider") == provider)
        assert mine.filter(pl.col("billed"))["credits"].sum() == billed[provider], provider
        assert mine.filter(~pl.col("billed"))["credits"].sum() == 0, provider
    # ZoomInfo bills one credit per record returned and none for a no-match: count them on
    # the wire, in the answers themselves
    returned = sum(
        item.get("type") != "NoMatch"
        for *_, answer in wire.to("api.zoominfo.com", "/contacts/enrich")
        for item in json.loads(answer)["data"]
    )
    assert billed["zoominfo"] == returned > 0
    calls = sim.billed_calls("zoominfo")
    assert len(calls) <= len(wire.to("api.zoominfo.com", "/contacts/enrich"))
    assert all(0 < c.credits <= ZOOMINFO_BATCH for c in calls)
    total = sum(billed.values())
    assert result.totals["credits"] == total == result.records["credits"].sum()
    assert result.summary["credits"].sum() == total
    # dollars: the meter's credits at the price each provider's attempts were booked at
    prices = attempts.group_by("provider").agg(pl.col("price_usd").unique())
    price = {p: v[0] for p, v in prices.iter_rows() if len(v) == 1}
    assert set(price) >= set(PAID), prices
    usd = sum(billed[p] * price[p] for p in PAID)
    assert result.totals["cost_usd"] == pytest.approx(usd)
    assert result.records["cost_usd"].sum() == pytest.approx(usd)
    assert result.totals["cost_usd"] <= BUDGET_USD
    assert attempts.filter(pl.col("provider") == "manual")["cost_usd"].sum() == 0
    assert sim.repeated_lookups() == 0, "a paid lookup was paid again"


def test_the_hand_off_is_exactly_the_rows_hunter_left_without_a_work_email(deployed):
    result = deployed.result
    records, attempts = result.records, result.attempts
    assert records.height == deployed.leads.records.height + deployed.leads.rejected.height
    # still missing after the last paid step: Hunter was asked and no paid step's email was
    # kept (a personal address the list came with does not count as found: it stays, flagged)
    hunter_rows = set(attempts.filter(pl.col("provider") == "hunter")["row_id"])
    found = set(records.filter(pl.col("email_source").is_in(PAID))["row_id"])
    still_missing = hunter_rows - found
    tasks = result.manual_tasks()
    assert set(tasks["row_id"]) == still_missing and tasks.height == len(still_missing) > 0
    assert set(records.filter(pl.col("status") == "manual")["row_id"]) == still_missing
    assert tasks["status_reason"].null_count() == 0
    handed = records.filter(pl.col("row_id").is_in(sorted(still_missing)))
    assert handed.filter(pl.col("email").is_not_null() & ~pl.col("email_is_personal")).is_empty()
    # a handed-off row went through the paid steps in order and none of them found it; a step
    # it skipped is one whose provider cannot be asked with what the row holds (ZoomInfo's
    # inputs need a company name, an email or a LinkedIn profile; a website alone is not one)
    needs = {p: provider_class(p).needs for p in PAID}
    tried = attempts.filter(pl.col("row_id").is_in(sorted(still_missing)))
    assert tried["row_id"].n_unique() == len(still_missing)
    for (row_id,), group in tried.sort("step").group_by("row_id", maintain_order=True):
        asked = [p for p in group["provider"].to_list() if p in PAID]
        assert asked == [p for p in PAID if p in asked] and asked[-1] == "hunter", row_id
        assert set(group["outcome"]) <= {"miss", "hit"}, row_id
        row = records.filter(pl.col("row_id") == row_id).row(0, named=True)
        for skipped in set(PAID) - set(asked):
            assert not any(all(row.get(f) for f in need) for need in needs[skipped]), row_id
    # and no other row is left without an email or an explanation
    counts = dict(records["status"].value_counts().iter_rows())
    assert set(counts) <= {"enriched", "manual", "duplicate", "rejected"}, counts
    assert counts["manual"] == result.totals["manual"] == len(still_missing)
