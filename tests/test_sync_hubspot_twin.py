"""HubSpot's twin answers with HubSpot's documented shapes (batch answers, errors, 429s, search
paging), and the client copes with what those shapes allow: results in any order, the search
endpoints' own per-second limit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import polars as pl

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from tests._sync_helpers import people as _people


def _contacts(twin: CrmTransport) -> dict[str, dict]:
    return twin.app.apis["hubspot"].objects["contacts"]


def _call(twin: CrmTransport, method: str, path: str, body: object = None) -> httpx.Response:
    async def main() -> httpx.Response:
        async with httpx.AsyncClient(transport=twin) as client:
            return await client.request(
                method,
                f"https://api.hubapi.com{path}",
                json=body,
                headers={"Authorization": "Bearer twin-token"},
            )

    return asyncio.run(main())


def test_the_twins_batch_answer_has_hubspots_fields() -> None:
    twin = CrmTransport()
    inputs = [
        {"idProperty": "email", "id": "a@x.io", "properties": {"email": "a@x.io"},
         "objectWriteTraceId": "0"},
        {"idProperty": "email", "id": "nope", "properties": {"email": "nope"},
         "objectWriteTraceId": "1"},
    ]  # fmt: skip
    resp = _call(twin, "POST", "/crm/v3/objects/contacts/batch/upsert", {"inputs": inputs})
    assert resp.status_code == 207
    body = resp.json()
    assert {"status", "results", "errors", "numErrors", "requestedAt", "startedAt",
            "completedAt", "links"} <= set(body)  # fmt: skip
    assert body["status"] == "COMPLETE" and body["numErrors"] == 1
    (result,) = body["results"]
    assert result["objectWriteTraceId"] == "0" and result["new"] is True
    assert {"id", "properties", "createdAt", "updatedAt", "archived"} <= set(result)
    (error,) = body["errors"]
    assert error["status"] == "error" and error["category"] == "VALIDATION_ERROR"
    assert error["context"] == {"objectWriteTraceId": ["1"]}
    assert error["errors"][0]["code"] == "VALIDATION_ERROR" and "nope" in error["message"]


def test_the_twins_429_names_its_policy_and_search_pages_with_after() -> None:
    twin = CrmTransport(limits={"hubspot": {"burst": 1}})
    assert _call(twin, "GET", "/crm/v3/properties/contacts").status_code == 200
    refused = _call(twin, "GET", "/crm/v3/properties/contacts")
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert refused.json()["errorType"] == "RATE_LIMIT"
    assert refused.headers["x-hubspot-ratelimit-remaining"] == "0"

    twin = CrmTransport()
    for i in range(5):
        twin.app.apis["hubspot"].add("contacts", {"email": f"p{i}@x.io"})
    seen, after = [], None
    while True:
        body = {"filterGroups": [], "properties": ["email"], "limit": 2}
        if after:
            body["after"] = after
        page = _call(twin, "POST", "/crm/v3/objects/contacts/search", body).json()
        assert page["total"] == 5
        seen += [r["properties"]["email"] for r in page["results"]]
        after = (page.get("paging") or {}).get("next", {}).get("after")
        if not after:
            break
    assert seen == [f"p{i}@x.io" for i in range(5)]


def test_contacts_without_an_email_get_their_own_ids_whatever_the_answer_order(
    tmp_path: Path,
) -> None:
    twin = CrmTransport()
    hs = sync.destination("hubspot", transport=twin, associate_companies=False)
    rows = pl.DataFrame(
        {
            "row_id": [0, 1, 2],
            "linkedin_url": [f"https://www.linkedin.com/in/person-{i}" for i in range(3)],
            "first_name": ["Ann", "Bob", "Cy"],
        }
    )
    done = sync.write(sync.plan(rows, hs, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 3
    contacts = _contacts(twin)
    for row in done.frame.iter_rows(named=True):
        stored = contacts[row["destination_id"]]
        assert stored["hs_linkedin_url"].endswith(row["record_key"].split(":", 1)[1])


def test_the_search_limit_is_answered_429_waited_and_retried(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"hubspot": {"search_per_second": 1}})
    hs = sync.destination("hubspot", transport=twin, associate_companies=False)
    rows = _people(250)  # 3 searches of 100 emails, back to back
    p = sync.plan(rows, hs, ledger=tmp_path / "s.sqlite")
    assert p.counts()["create"] == 250
    assert twin.app.refused["hubspot"] >= 2 and twin.clock.now() >= 2.0
    assert sync.write(p).counts()["created"] == 250
    again = sync.plan(rows, hs, ledger=tmp_path / "s.sqlite")
    assert again.counts() == {"create": 0, "update": 0, "skip": 250}
