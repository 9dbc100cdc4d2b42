"""Hunter Email Finder, Domain Search and Email Verifier against the providers.md bodies."""

from __future__ import annotations

import json

import httpx
import pytest
from _providers_helpers import (
    FAKE_KEY,
    HUNTER_400,
    HUNTER_DOMAIN_SEARCH,
    HUNTER_FINDER_HIT,
    HUNTER_FINDER_MISS,
    HUNTER_VERIFIER_HIT,
    RECORD,
    make,
    reply,
    run,
)

from gtmkit.providers import errors
from gtmkit.providers.hunter import HunterProvider, HunterVerifier

ALEXIS = {"first_name": "Alexis", "last_name": "Ohanian", "company_domain": "reddit.com"}


def test_finder_hit() -> None:
    hunter, rec = make(HunterProvider, reply(200, HUNTER_FINDER_HIT))
    finding = run(hunter.lookup(ALEXIS))
    assert finding.outcome == "hit"
    assert finding.email == "alexis@reddit.com"
    assert (finding.email_status, finding.provider_status) == ("valid", "valid")
    assert finding.confidence == pytest.approx(0.97)
    assert finding.credits == 1.0
    assert finding.fields["title"] == "Cofounder"
    assert finding.fields["company_name"] == "Reddit"
    request = rec.last
    assert request.method == "GET"
    assert request.url.path == "/v2/email-finder"
    assert dict(request.url.params) == {
        "domain": "reddit.com",
        "first_name": "Alexis",
        "last_name": "Ohanian",
    }
    assert request.headers["X-API-KEY"] == FAKE_KEY
    assert "api_key" not in request.url.params  # the key never rides in the URL


def test_finder_miss_is_free() -> None:
    hunter, _ = make(HunterProvider, reply(200, HUNTER_FINDER_MISS))
    finding = run(hunter.lookup(ALEXIS))
    assert (finding.outcome, finding.credits, finding.email) == ("miss", 0.0, None)
    assert finding.email_status is None


def test_finder_404_errors_body_is_tolerated_as_a_miss() -> None:
    body = {"errors": [{"id": "not_found", "code": 404, "details": "no email"}]}
    hunter, _ = make(HunterProvider, reply(404, body))
    assert run(hunter.lookup(ALEXIS)).outcome == "miss"


def test_finder_accept_all_is_catch_all() -> None:
    body = json.loads(json.dumps(HUNTER_FINDER_HIT))
    body["data"]["verification"] = {"date": None, "status": "accept_all"}
    body["data"]["accept_all"] = True
    hunter, _ = make(HunterProvider, reply(200, body))
    finding = run(hunter.lookup(ALEXIS))
    assert (finding.email_status, finding.provider_status) == ("catch_all", "accept_all")


def test_finder_unverified_email_is_risky() -> None:
    body = json.loads(json.dumps(HUNTER_FINDER_HIT))
    body["data"]["verification"] = {"date": None, "status": None}
    hunter, _ = make(HunterProvider, reply(200, body))
    assert run(hunter.lookup(ALEXIS)).email_status == "risky"


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind", "retry_after"),
    [
        (400, HUNTER_400, None, errors.BadRequest, None),
        (
            401,
            {"errors": [{"id": "authentication_failed", "code": 401}]},
            None,
            errors.AuthError,
            None,
        ),
        # Hunter's documented throttle answer is 403, not 429.
        (
            403,
            {"errors": [{"id": "too_many_requests", "code": 403}]},
            None,
            errors.RateLimited,
            None,
        ),
        (
            429,
            {"errors": [{"id": "too_many_requests", "code": 429}]},
            {"Retry-After": "4"},
            errors.RateLimited,
            4.0,
        ),
        (402, {"errors": [{"id": "quota_exceeded", "code": 402}]}, None, errors.OutOfCredits, None),
        (451, {"errors": [{"id": "claimed_email", "code": 451}]}, None, errors.BadRequest, None),
        (502, None, None, errors.ProviderDown, None),
    ],
)
def test_finder_errors(status, body, headers, kind, retry_after) -> None:
    hunter, _ = make(HunterProvider, reply(status, body, headers))
    finding = run(hunter.lookup(ALEXIS))
    assert type(finding.error) is kind
    assert finding.http_status == status
    if retry_after is not None:
        assert finding.error.retry_after == retry_after
    if status == 400:
        assert "missing the domain parameter" in str(finding.error)
        assert finding.error.code == "wrong_params"
        assert finding.raw == HUNTER_400  # the error body is kept for audit


# Hunter's two readings of 429 and 403 (errors.py, hunter.py docstring): the API reference
# says 403 = rate limit and 429 = usage limit reached; Hunter's MCP server reads 429 +
# Retry-After as a throttle and 402 as the quota. The answer itself decides.
HUNTER_USAGE_429 = {
    "errors": [
        {
            "id": "usage_limit",
            "code": 429,
            "details": "You have reached your usage limit. Upgrade your plan",
        }
    ]
}


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        # the API reference's reading
        (429, HUNTER_USAGE_429, None, errors.OutOfCredits),
        (429, None, None, errors.OutOfCredits),  # a bare 429: the documented usage limit
        (429, HUNTER_USAGE_429, {"Retry-After": "3"}, errors.OutOfCredits),  # words win
        (
            403,
            {"errors": [{"id": "rate_limited", "details": "You have reached the rate limit"}]},
            None,
            errors.RateLimited,
        ),
        # the MCP server's reading
        (
            429,
            {"errors": [{"id": "too_many_requests", "code": 429}]},
            {"Retry-After": "2"},
            errors.RateLimited,
        ),
        (429, {"errors": [{"details": "Too many requests, slow down."}]}, None, errors.RateLimited),
        (402, {"errors": [{"id": "quota_exceeded", "code": 402}]}, None, errors.OutOfCredits),
        # a 403 that speaks of the key is an auth failure, not a throttle
        (
            403,
            {"errors": [{"id": "forbidden", "details": "This API key is disabled"}]},
            None,
            errors.AuthError,
        ),
    ],
)
def test_429_and_403_both_readings(status, body, headers, kind) -> None:
    for cls in (HunterProvider, HunterVerifier):
        adapter, _ = make(cls, reply(status, body, headers))
        finding = run(adapter.lookup({**ALEXIS, "email": "alexis@reddit.com"}))
        assert type(finding.error) is kind, (cls.__name__, status, body, headers)
        # a quota (or key) answer opens the breaker and is never retried; a throttle is
        assert finding.error.disables_provider is (kind is not errors.RateLimited)
        assert finding.error.retryable is (kind is errors.RateLimited)


def test_domain_search_reads_the_wire_fixture() -> None:
    hunter, rec = make(HunterProvider, reply(200, HUNTER_DOMAIN_SEARCH))
    people = run(hunter.search("acme.com", titles=["Head of Sales", "VP Sales"], limit=3))
    assert [p["email"] for p in people] == [
        "olivia.martin@acme.com",
        "lucas.bernard@acme.com",
        "emma.dubois@acme.com",
    ]
    olivia, lucas, _ = people
    assert olivia["email_status"] == "valid"
    assert olivia["confidence"] == pytest.approx(0.96)
    assert olivia["seniority"] == "executive"
    assert olivia["linkedin_url"] == "https://www.linkedin.com/in/olivia-martin"
    assert lucas["email_status"] == "risky"  # verification leaves are null: found, unchecked
    assert lucas["provider_status"] is None
    assert people.credits == 1.0  # 1 per 10 emails returned
    assert people.total == 3
    assert people.pattern == "{first}"
    params = rec.last.url.params
    assert rec.last.url.path == "/v2/domain-search"
    assert params["domain"] == "acme.com"
    assert params["limit"] == "3"
    assert params["job_titles"] == "Head of Sales,VP Sales"


def test_domain_search_accept_all_domain_marks_unverified_entries_catch_all() -> None:
    body = json.loads(json.dumps(HUNTER_DOMAIN_SEARCH))
    body["data"]["accept_all"] = True
    hunter, _ = make(HunterProvider, reply(200, body))
    people = run(hunter.search("acme.com"))
    assert [p["email_status"] for p in people] == ["valid", "catch_all", "catch_all"]


def test_empty_domain_search_costs_nothing() -> None:
    body = json.loads(json.dumps(HUNTER_DOMAIN_SEARCH))
    body["data"]["emails"] = []
    hunter, _ = make(HunterProvider, reply(200, body))
    people = run(hunter.search("acme.com"))
    assert people == [] and people.credits == 0.0


def test_verifier_valid_is_a_billed_hit() -> None:
    verifier, rec = make(HunterVerifier, reply(200, HUNTER_VERIFIER_HIT))
    finding = run(verifier.lookup({"email": " Patrick@Stripe.com "}))
    assert finding.outcome == "hit"
    assert finding.email_status == "valid"
    assert finding.confidence == 1.0
    assert finding.credits == 1.0
    assert finding.endpoint == "email-verifier"
    assert rec.last.url.params["email"] == "patrick@stripe.com"
    assert verifier.lookup_key({"email": " Patrick@Stripe.com "}) == "email=patrick@stripe.com"


@pytest.mark.parametrize(
    ("status", "common", "outcome", "credits"),
    [
        ("valid", "valid", "hit", 1.0),
        ("invalid", "invalid", "hit", 1.0),
        ("accept_all", "catch_all", "hit", 1.0),
        ("webmail", "risky", "miss", 0.0),
        ("disposable", "invalid", "miss", 0.0),
        ("unknown", "unknown", "miss", 0.0),
    ],
)
def test_verifier_bills_only_valid_invalid_accept_all(status, common, outcome, credits) -> None:
    body = json.loads(json.dumps(HUNTER_VERIFIER_HIT))
    body["data"]["status"] = status
    verifier, _ = make(HunterVerifier, reply(200, body))
    finding = run(verifier.lookup({"email": "patrick@stripe.com"}))
    assert (finding.email_status, finding.outcome, finding.credits) == (common, outcome, credits)
    assert finding.provider_status == status


def test_verifier_202_is_polled_then_answered() -> None:
    answers = [(202, {"data": None}), (202, {"data": None}), (200, HUNTER_VERIFIER_HIT)]

    def answer(request: httpx.Request) -> httpx.Response:
        status, body = answers.pop(0)
        return httpx.Response(status, json=body)

    verifier, rec = make(HunterVerifier, answer, pending_wait_s=0.0)
    finding = run(verifier.lookup({"email": "patrick@stripe.com"}))
    assert len(rec.requests) == 3
    assert finding.outcome == "hit" and finding.credits == 1.0


def test_verifier_202_forever_and_222_are_retryable_errors() -> None:
    verifier, rec = make(HunterVerifier, reply(202, {"data": None}), pending_wait_s=0.0)
    finding = run(verifier.lookup({"email": "patrick@stripe.com"}))
    assert isinstance(finding.error, errors.ProviderDown) and finding.error.retryable
    assert len(rec.requests) == verifier.pending_retries + 1  # bounded
    verifier, _ = make(HunterVerifier, reply(222, {"data": None}))
    finding = run(verifier.lookup({"email": "patrick@stripe.com"}))
    assert isinstance(finding.error, errors.ProviderDown) and finding.http_status == 222


def test_verifier_kind_and_needs() -> None:
    assert HunterVerifier.kind == "verifier"
    assert HunterVerifier(api_key=FAKE_KEY).can_lookup({"email": "a@b.co"})
    assert not HunterVerifier(api_key=FAKE_KEY).can_lookup(RECORD)


def test_domain_search_by_company_name_and_linkedin_handle_finder() -> None:
    hunter, rec = make(HunterProvider, reply(200, HUNTER_DOMAIN_SEARCH))
    run(hunter.search(company_name="Acme Inc"))
    assert rec.last.url.params["company"] == "Acme Inc"
    assert "domain" not in rec.last.url.params
    with pytest.raises(ValueError, match="domain or name"):
        run(hunter.search())
    hunter, rec = make(HunterProvider, reply(200, HUNTER_FINDER_HIT))
    run(hunter.lookup({"linkedin_url": "https://www.linkedin.com/in/Alexis-Ohanian/"}))
    assert dict(rec.last.url.params) == {"linkedin_handle": "alexis-ohanian"}


def test_finder_unverified_on_an_accept_all_domain_is_catch_all() -> None:
    body = json.loads(json.dumps(HUNTER_FINDER_HIT))
    body["data"]["verification"] = {"date": None, "status": None}
    body["data"]["accept_all"] = True
    hunter, _ = make(HunterProvider, reply(200, body))
    finding = run(hunter.lookup(ALEXIS))
    assert (finding.email_status, finding.provider_status) == ("catch_all", None)


@pytest.mark.parametrize("quota_status", [402, 429])
def test_a_used_up_quota_opens_the_breaker_without_a_retry_storm(quota_status) -> None:
    """Both of Hunter's quota answers (the MCP's 402, the API reference's 429 "usage limit")
    stop Hunter for the run after the calls already in flight: no row is tried twice and the
    rows fall through to the next step."""
    import polars as pl

    from gtmkit.sandbox import World, simulate
    from gtmkit.waterfall import Step, Waterfall

    world = World.generate(seed=3, companies=40)
    records = world.sample_records(60, seed=1)
    sim = simulate(world, allowance={"hunter": 2})
    sim.app.apis["hunter"].quota_status = quota_status
    result = Waterfall([Step("hunter"), Step("pdl")]).run(
        records, ledger=None, mode="sandbox", progress=False, connect_options=sim.connect_options
    )
    asked = sim.requests()["hunter"]
    assert asked <= 2 + HunterProvider.rate_limit.max_in_flight  # billed ones + those in flight
    hunter = result.attempts.filter(pl.col("provider") == "hunter")
    assert hunter.height == asked  # every request is in the attempts, none retried
    assert hunter["row_id"].n_unique() == hunter.height
    assert set(hunter["error_kind"].drop_nulls()) == {"out_of_credits"}
    assert result.attempts.filter(pl.col("provider") == "pdl").height > 0  # rows fell through
    assert sim.billed()["hunter"] <= 2


def test_a_throttle_429_with_retry_after_is_retried_not_fatal() -> None:
    """The MCP server's reading: a 429 with Retry-After is a pace limit, retried; Hunter keeps
    answering once the window passes."""
    import polars as pl

    from gtmkit.sandbox import FaultConfig, World, simulate
    from gtmkit.waterfall import RetryPolicy, Step, Waterfall

    world = World.generate(seed=3, companies=40)
    records = world.sample_records(12, seed=1)
    # a share of the calls refused with the provider's own throttle answer
    faults = FaultConfig(rate=0.2, kinds=("429",), max_consecutive=1, retry_after_s=0, seed=2)
    sim = simulate(world, faults=faults)
    sim.app.apis["hunter"].throttle_status = 429
    result = Waterfall([Step("hunter")]).run(
        records,
        ledger=None,
        mode="sandbox",
        progress=False,
        connect_options=sim.connect_options,
        retry=RetryPolicy(base_s=0.001, max_backoff_s=0.01),
    )
    kinds = set(result.attempts["error_kind"].drop_nulls())
    refused = result.attempts.filter(pl.col("error_kind") == "rate_limited")
    assert refused.height > 0 and set(refused["http_status"]) == {429}
    assert "out_of_credits" not in kinds
    assert result.totals["enriched"] > 0
