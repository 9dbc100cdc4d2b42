"""ZoomInfo GTM contact enrich: OAuth client-credentials token, 25-record batches, billing.

Wire checks on ``httpx.MockTransport`` (method, path, auth, content type, body) and on the
in-process simulated API; the budget through the engine is checked with the simulation's own
billing counter.
"""

from __future__ import annotations

import asyncio
import base64
import json
from urllib.parse import parse_qsl

import httpx
import polars as pl
import pytest
from _providers_helpers import FAKE_KEY, run
from _twin_helpers import check_compare

from gtmkit.providers import errors
from gtmkit.providers.zoominfo import ZoomInfoProvider, zoominfo_throttle
from gtmkit.sandbox import simulate
from gtmkit.sandbox.world import World

TOKEN = "zi-access-token-SECRET-42"
RECORD = {"first_name": "Olivia", "last_name": "Martin", "company_name": "Acme"}


def _hit(email: str = "olivia.martin@acme.com") -> dict:
    return {
        "type": "Contact",
        "id": "1234",
        "attributes": {
            "firstName": "Olivia",
            "lastName": "Martin",
            "email": email,
            "jobTitle": "VP Sales",
            "managementLevel": ["VP Level Exec"],
            "contactAccuracyScore": 95,
            "externalUrls": [{"type": "linkedin.com", "url": "https://www.linkedin.com/in/om"}],
            "company": {"name": "Acme", "website": "www.acme.com", "employeeCount": 120},
        },
        "meta": {"matchStatus": "FULL_MATCH"},
    }


NO_MATCH = {"type": "NoMatch", "id": None, "meta": {"matchStatus": "NO_MATCH"}}


class FakeZoomInfo:
    """A scripted ZoomInfo: token endpoint + contacts/enrich, recording every request."""

    def __init__(self, answers=None, *, expires_in: int = 3600, unauthorized: int = 0):
        self.requests: list[httpx.Request] = []
        self.answers = answers  # callable(inputs) -> data list, or None: alternate hit/miss
        self.expires_in = expires_in
        self.unauthorized = unauthorized  # how many enrich calls answer 401 first
        self.tokens = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/gtm/oauth/v1/token":
            self.tokens += 1
            return httpx.Response(
                200,
                json={
                    "access_token": f"{TOKEN}-{self.tokens}",
                    "token_type": "Bearer",
                    "expires_in": self.expires_in,
                },
            )
        if self.unauthorized:
            self.unauthorized -= 1
            return httpx.Response(401, json={"errors": [{"code": "ZI0001", "title": "x"}]})
        inputs = json.loads(request.content)["data"]["attributes"]["matchPersonInput"]
        if self.answers is not None:
            data = self.answers(inputs)
        else:
            data = [_hit() if i % 2 == 0 else NO_MATCH for i in range(len(inputs))]
        return httpx.Response(
            200,
            json={"data": data},
            headers={"X-RateLimit-Limit-Second": "25", "X-RateLimit-Remaining-Second": "24"},
        )

    def enrich_requests(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith("/contacts/enrich")]


def _adapter(fake: FakeZoomInfo, **kwargs) -> ZoomInfoProvider:
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return ZoomInfoProvider(client, api_key=FAKE_KEY, client_id="cid-123", **kwargs)


def test_token_then_enrich_on_the_wire() -> None:
    fake = FakeZoomInfo()
    zi = _adapter(fake)
    finding = run(zi.lookup(RECORD))
    assert finding.outcome == "hit" and finding.email == "olivia.martin@acme.com"
    assert (finding.email_status, finding.confidence, finding.credits) == ("risky", 0.95, 1.0)
    assert finding.fields["company_domain"] == "acme.com"
    assert finding.fields["linkedin_url"] == "https://www.linkedin.com/in/om"
    assert finding.throttle is not None and finding.throttle.remaining == 24
    token_request, enrich = fake.requests
    assert (token_request.method, str(token_request.url)) == (
        "POST",
        "https://api.zoominfo.com/gtm/oauth/v1/token",
    )
    basic = base64.b64decode(token_request.headers["Authorization"].split()[1]).decode()
    assert basic == f"cid-123:{FAKE_KEY}"
    form = dict(parse_qsl(token_request.content.decode()))
    assert form["grant_type"] == "client_credentials"
    assert (enrich.method, enrich.url.path) == ("POST", "/gtm/data/v1/contacts/enrich")
    assert enrich.headers["Authorization"] == f"Bearer {TOKEN}-1"
    assert enrich.headers["Content-Type"] == "application/vnd.api+json"
    assert FAKE_KEY not in str(enrich.headers) and FAKE_KEY not in enrich.content.decode()
    body = json.loads(enrich.content)
    assert body["data"]["type"] == "ContactEnrich"
    attributes = body["data"]["attributes"]
    assert attributes["matchPersonInput"] == [
        {"firstName": "Olivia", "lastName": "Martin", "companyName": "Acme"}
    ]
    assert "email" in attributes["outputFields"] and attributes["requiredFields"] == ["email"]


def test_no_match_is_a_free_miss_and_the_token_never_shows() -> None:
    fake = FakeZoomInfo(lambda inputs: [NO_MATCH for _ in inputs])
    zi = _adapter(fake)
    finding = run(zi.lookup(RECORD))
    assert (finding.outcome, finding.credits, finding.http_status) == ("miss", 0.0, 200)
    assert TOKEN not in repr(finding) and TOKEN not in repr(zi) and TOKEN not in repr(vars(zi))
    assert zi.redact(f"token {TOKEN}-1 leaked") == "token *** leaked"


def test_concurrent_lookups_share_requests_of_25_one_row_one_result() -> None:
    fake = FakeZoomInfo(
        lambda inputs: [
            _hit(f"{i['firstName'].lower()}@acme.com") if int(i["firstName"][1:]) % 3 else NO_MATCH
            for i in inputs
        ]
    )
    zi = _adapter(fake)
    records = [{"first_name": f"p{n}", "last_name": "x", "company_name": "Acme"} for n in range(60)]

    async def main():
        return await asyncio.gather(*(zi.lookup(r) for r in records))

    findings = run(main())
    assert [len(json.loads(r.content)["data"]["attributes"]["matchPersonInput"]) for r in
            fake.enrich_requests()] == [25, 25, 10]  # fmt: skip
    assert fake.tokens == 1
    for n, finding in enumerate(findings):
        if n % 3:
            assert finding.outcome == "hit" and finding.email == f"p{n}@acme.com"
        else:
            assert finding.outcome == "miss" and finding.credits == 0.0
    assert sum(f.credits for f in findings) == 40


def test_token_is_cached_until_shortly_before_expiry() -> None:
    fake = FakeZoomInfo()
    zi = _adapter(fake)

    async def twice():
        await zi.lookup(RECORD)
        await zi.lookup({**RECORD, "first_name": "Ada"})

    run(twice())
    assert fake.tokens == 1 and zi.tokens_fetched == 1
    short = FakeZoomInfo(expires_in=30)  # inside the refresh margin: never reused
    zi = _adapter(short)
    run(twice())
    assert short.tokens == 2


def test_a_401_refreshes_the_token_exactly_once() -> None:
    fake = FakeZoomInfo(unauthorized=1)
    zi = _adapter(fake)
    finding = run(zi.lookup(RECORD))
    assert finding.outcome == "hit"
    assert fake.tokens == 2
    assert [r.headers["Authorization"] for r in fake.enrich_requests()] == [
        f"Bearer {TOKEN}-1",
        f"Bearer {TOKEN}-2",
    ]
    always = FakeZoomInfo(unauthorized=10)
    zi = _adapter(always)
    finding = run(zi.lookup(RECORD))
    assert isinstance(finding.error, errors.AuthError) and finding.error.disables_provider
    assert always.tokens == 2 and len(always.enrich_requests()) == 2


def test_token_endpoint_refusal_and_rate_limit_are_typed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    zi = ZoomInfoProvider(
        httpx.AsyncClient(transport=httpx.MockTransport(refuse)), api_key=FAKE_KEY, client_id="c"
    )
    assert isinstance(run(zi.lookup(RECORD)).error, errors.AuthError)

    def throttled(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        return httpx.Response(
            429,
            json={"errors": [{"code": "ZI0004", "title": "Too Many Requests"}]},
            headers={"Retry-After": "3", "X-RateLimit-Rejected-Bucket": "second"},
        )

    zi = ZoomInfoProvider(
        httpx.AsyncClient(transport=httpx.MockTransport(throttled)), api_key=FAKE_KEY, client_id="c"
    )
    error = run(zi.lookup(RECORD)).error
    assert isinstance(error, errors.RateLimited) and error.retry_after == 3.0


def test_live_needs_both_credentials(monkeypatch) -> None:
    monkeypatch.delenv("ZOOMINFO_CLIENT_ID", raising=False)
    from gtmkit.providers import MissingCredentials

    with pytest.raises(MissingCredentials, match="ZOOMINFO_CLIENT_ID"):
        ZoomInfoProvider(None, api_key="secret", live=True)
    assert zoominfo_throttle({"X-RateLimit-Remaining-Second": "-1"}) is None


# ------------------------------------------------------------------ the simulated twin
@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=11, companies=300)


def test_sandbox_twin_batches_bills_per_record_and_refreshes_revoked_tokens(world) -> None:
    people = world.people.head(80).to_dicts()
    records = [{k: p[k] for k in ("first_name", "last_name", "company_name")} for p in people]
    sim = simulate(world)

    async def main():
        async with sim.connect(["zoominfo"]) as conn:
            zi = conn["zoominfo"]
            first = await asyncio.gather(*(zi.lookup(r) for r in records[:50]))
            sim.app.apis["zoominfo"].revoke_tokens()  # type: ignore[attr-defined]
            second = await asyncio.gather(*(zi.lookup(r) for r in records[50:]))
            return first + second, zi.batches_sent, zi.tokens_fetched

    findings, batches, tokens = run(main())
    assert batches == [25, 25, 25, 5]
    assert tokens == 2
    assert all(f.outcome in ("hit", "miss") for f in findings)
    hits = [(f, p) for f, p in zip(findings, people, strict=True) if f.outcome == "hit"]
    assert 0.3 * len(people) < len(hits) < 0.8 * len(people)
    assert sum(f.email == p["email"] for f, p in hits) >= 0.8 * len(hits)
    assert sum(f.credits for f in findings) == sim.billed()["zoominfo"] == len(hits)
    # 2 token grants, 4 batches, and each batch the revoked token reached sent once more
    assert sim.requests()["zoominfo"] in (2 + 4 + 1, 2 + 4 + 2)


def test_budget_holds_with_batches_through_the_engine(world) -> None:
    from gtmkit import Step, Waterfall

    records = world.sample_records(200, seed=4)
    sim = simulate(world)
    result = Waterfall([Step("zoominfo")]).run(
        records,
        ledger=None,
        mode="sandbox",
        progress=False,
        budget_credits=30,
        connect_options=sim.connect_options,
    )
    billed = sim.billed().get("zoominfo", 0.0)
    assert 0 < billed <= 30
    assert sim.requests()["zoominfo"] < 30  # fewer requests than rows: the engine batched
    attempts = result.attempts
    assert attempts.filter(pl.col("provider") == "zoominfo")["credits"].sum() == billed


def test_zoominfo_in_compare_with_no_special_case(world) -> None:
    check_compare(world, "zoominfo", seed=5)


def test_lookup_batch_refuses_unsendable_rows_and_a_lost_answer_holds_every_row() -> None:
    fake = FakeZoomInfo()
    zi = _adapter(fake)
    rows = [RECORD, {"first_name": "only"}, {**RECORD, "company_name": "x" * 5000}, RECORD]
    findings = run(zi.lookup_batch(rows))
    assert [f.outcome for f in findings] == ["hit", "error", "error", "miss"]
    assert isinstance(findings[1].error, errors.BadRequest)
    assert findings[2].error is not None and findings[2].error.field == "company_name"
    sent = json.loads(fake.enrich_requests()[0].content)["data"]["attributes"]
    assert len(sent["matchPersonInput"]) == 2  # the refused rows were never sent

    def timeout(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 3600})
        raise httpx.ReadTimeout("timed out", request=request)

    zi = ZoomInfoProvider(
        httpx.AsyncClient(transport=httpx.MockTransport(timeout)), api_key=FAKE_KEY, client_id="c"
    )
    lost = run(zi.lookup_batch([RECORD, {**RECORD, "first_name": "Ada"}]))
    assert all(isinstance(f.error, errors.ProviderTimeout) for f in lost)
    assert all(f.charge_known is False for f in lost)  # the engine holds each row's 1 credit
    assert lost[0].error is not lost[1].error
