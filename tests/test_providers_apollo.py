"""Apollo adapter against MockTransport serving the verbatim providers.md bodies."""

from __future__ import annotations

import json

import httpx
import pytest
from _providers_helpers import (
    APOLLO_400,
    APOLLO_401_TEXT,
    APOLLO_403,
    APOLLO_422,
    APOLLO_429,
    APOLLO_LEGACY_RATE_HEADERS,
    APOLLO_MATCH_HIT,
    APOLLO_MATCH_MISS,
    APOLLO_ORG_HIT,
    APOLLO_SEARCH_HIT,
    FAKE_KEY,
    RECORD,
    make,
    reply,
    run,
)

from gtmkit.providers import errors
from gtmkit.providers.apollo import ApolloProvider


def test_hit_reads_person_fields_status_and_credits() -> None:
    apollo, rec = make(ApolloProvider, reply(200, APOLLO_MATCH_HIT))
    finding = run(apollo.lookup({"full_name": "Tim Zheng", "website": "https://www.apollo.io/"}))

    assert finding.outcome == "hit"
    assert finding.email == "tim@apollo.io"
    assert finding.email_status == "valid"
    assert finding.provider_status == "verified"
    assert finding.confidence is None  # extrapolated_email_confidence is null in the example
    assert finding.credits == 1.0
    assert finding.http_status == 200
    assert finding.fields["title"] == "Founder & CEO"
    assert finding.fields["seniority"] == "founder"
    assert finding.fields["department"] == "c_suite"
    assert finding.fields["company_domain"] == "apollo.io"
    assert finding.fields["employee_count"] == 1600
    assert finding.fields["industry"] == "information technology & services"
    assert finding.raw["request_id"] == 1039995589705121900  # kept exact, not via float

    request = rec.last
    assert request.method == "POST"
    assert request.url.path == "/api/v1/people/match"
    assert request.url.host == "api.apollo.io"
    assert request.headers["x-api-key"] == FAKE_KEY
    body = json.loads(request.content)
    assert (body["first_name"], body["last_name"]) == ("Tim", "Zheng")  # split from full_name
    assert body["domain"] == "apollo.io"
    assert body["reveal_phone_number"] is False
    assert FAKE_KEY not in str(request.url)


def test_guessed_email_is_risky_and_confidence_is_scaled() -> None:
    body = json.loads(json.dumps(APOLLO_MATCH_HIT))
    body["person"]["email_status"] = "guessed"
    body["person"]["extrapolated_email_confidence"] = 0.72
    apollo, _ = make(ApolloProvider, reply(200, body))
    finding = run(apollo.lookup(RECORD))
    assert (finding.email_status, finding.provider_status) == ("risky", "guessed")
    assert finding.confidence == pytest.approx(0.72)


def test_null_person_is_a_free_miss() -> None:
    apollo, _ = make(ApolloProvider, reply(200, APOLLO_MATCH_MISS))
    finding = run(apollo.lookup(RECORD))
    assert (finding.outcome, finding.credits, finding.email) == ("miss", 0.0, None)


def test_person_without_email_is_a_miss_that_costs_the_demographics_credit() -> None:
    body = json.loads(json.dumps(APOLLO_MATCH_HIT))
    body["person"]["email"] = None
    body["person"]["email_status"] = "unavailable"
    apollo, _ = make(ApolloProvider, reply(200, body))
    finding = run(apollo.lookup(RECORD))
    assert finding.outcome == "miss"
    assert finding.credits == 1.0  # "1 credit for demographics or email"
    assert finding.fields["title"] == "Founder & CEO"


def test_locked_placeholder_email_is_not_a_hit() -> None:
    body = json.loads(json.dumps(APOLLO_MATCH_HIT))
    body["person"]["email"] = "email_not_unlocked@apollo.io"
    apollo, _ = make(ApolloProvider, reply(200, body))
    assert run(apollo.lookup(RECORD)).outcome == "miss"


@pytest.mark.parametrize(
    ("status", "body", "text", "headers", "kind"),
    [
        (401, None, APOLLO_401_TEXT, {"content-type": "text/plain"}, errors.AuthError),
        (403, APOLLO_403, "", None, errors.AuthError),
        (422, APOLLO_422, "", None, errors.BadRequest),
        (400, APOLLO_400, "", None, errors.BadRequest),
        (429, APOLLO_429, "", {"retry-after": "17"}, errors.RateLimited),
        (402, {"error": "insufficient credits"}, "", None, errors.OutOfCredits),
        (422, {"error": "You have insufficient credits to enrich"}, "", None, errors.OutOfCredits),
        (500, None, "Internal Server Error", None, errors.ProviderDown),
        (503, None, "", None, errors.ProviderDown),
    ],
)
def test_error_answers_become_typed_errors(status, body, text, headers, kind) -> None:
    apollo, _ = make(ApolloProvider, reply(status, body, headers, text=text))
    finding = run(apollo.lookup(RECORD))
    assert finding.outcome == "error"
    assert type(finding.error) is kind
    assert finding.error.provider == "apollo"
    assert finding.error.http_status == status
    assert finding.credits == 0.0
    if kind is errors.RateLimited:
        assert finding.error.retry_after == 17.0
        assert "600 times per hour" in str(finding.error)
    if status == 403:
        assert finding.error.code == "API_INACCESSIBLE"
        assert finding.error.disables_provider


def test_unparseable_200_is_malformed() -> None:
    apollo, _ = make(ApolloProvider, reply(200, text='{"person": {"email": "tim@'))
    finding = run(apollo.lookup(RECORD))
    assert isinstance(finding.error, errors.MalformedResponse)
    assert finding.error.retryable


def test_transport_failures_become_down_and_timeout() -> None:
    def reset(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection reset by peer", request=request)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read timed out", request=request)

    apollo, _ = make(ApolloProvider, reset)
    assert type(run(apollo.lookup(RECORD)).error) is errors.ProviderDown
    apollo, _ = make(ApolloProvider, slow)
    assert type(run(apollo.lookup(RECORD)).error) is errors.ProviderTimeout


def test_legacy_daily_rate_headers_are_read_into_throttle() -> None:
    headers = {k: str(v) for k, v in APOLLO_LEGACY_RATE_HEADERS.items()}
    apollo, _ = make(ApolloProvider, reply(200, APOLLO_MATCH_HIT, headers))
    throttle = run(apollo.lookup(RECORD)).throttle
    assert throttle is not None
    assert throttle.remaining == 45  # minute window is the tightest (45 < 95 < 295)
    assert throttle.limit_per_second == pytest.approx(50 / 60)


def test_current_24_hour_rate_headers_are_read_into_throttle() -> None:
    headers = {
        "x-rate-limit-minute": "200",
        "x-rate-limit-hourly": "400",
        "x-rate-limit-24-hour": "2000",
        "x-minute-requests-left": "150",
        "x-hourly-requests-left": "390",
        "x-24-hour-requests-left": "7",
    }
    apollo, _ = make(ApolloProvider, reply(200, APOLLO_MATCH_HIT, headers))
    throttle = run(apollo.lookup(RECORD)).throttle
    assert throttle.remaining == 7  # the day window runs out first
    assert throttle.limit_per_second == pytest.approx(200 / 60)


def test_enrich_company_reads_the_organization() -> None:
    apollo, rec = make(ApolloProvider, reply(200, APOLLO_ORG_HIT))
    finding = run(apollo.enrich_company("https://www.Apollo.io"))
    assert finding.outcome == "hit"
    assert finding.endpoint == "organizations/enrich"
    assert finding.credits == 1.0
    assert finding.fields["company_name"] == "Apollo.io"
    assert finding.fields["company_domain"] == "apollo.io"
    assert finding.fields["employee_count"] == 1600
    assert finding.fields["founded_year"] == 2015
    assert rec.last.method == "GET"
    assert rec.last.url.path == "/api/v1/organizations/enrich"
    assert rec.last.url.params["domain"] == "apollo.io"
    assert apollo.company_key({"website": "http://WWW.apollo.io/x"}) == "domain=apollo.io"


def test_enrich_company_403_is_an_auth_error_finding() -> None:
    apollo, _ = make(ApolloProvider, reply(403, APOLLO_403))
    finding = run(apollo.enrich_company("apollo.io"))
    assert finding.endpoint == "organizations/enrich"
    assert isinstance(finding.error, errors.AuthError)


def test_search_is_free_and_sends_domain_and_titles() -> None:
    apollo, rec = make(ApolloProvider, reply(200, APOLLO_SEARCH_HIT))
    people = run(apollo.search("scicomm.media", titles=["Professor"], limit=5))
    assert isinstance(people, list)
    assert people == [
        {
            "provider_id": "67bdafd0c3a4c50001bbd7c2",
            "first_name": "Andrew",
            "last_name_obfuscated": "Hu***n",
            "last_name": None,
            "title": "Professor and Neuroscientist at Stanford & Host",
            "has_email": True,
            "company_name": "Scicomm Media",
            "company_domain": "scicomm.media",
        }
    ]
    assert people.credits == 0.0
    assert people.total == 232764882
    sent = json.loads(rec.last.content)
    assert rec.last.url.path == "/api/v1/mixed_people/api_search"
    assert sent["q_organization_domains_list"] == ["scicomm.media"]
    assert sent["person_titles"] == ["Professor"]
    assert sent["per_page"] == 5


def test_search_raises_typed_errors() -> None:
    apollo, _ = make(ApolloProvider, reply(429, APOLLO_429, {"retry-after": "2"}))
    with pytest.raises(errors.RateLimited) as info:
        run(apollo.search("apollo.io"))
    assert info.value.retry_after == 2.0


def test_lookup_key_is_normalized() -> None:
    apollo = ApolloProvider(api_key=FAKE_KEY)
    a = apollo.lookup_key(
        {"first_name": " Olivia ", "last_name": "MARTIN", "website": "https://www.acme.com/"}
    )
    b = apollo.lookup_key(
        {"first_name": "olivia", "last_name": "martin", "company_domain": "ACME.com"}
    )
    assert a == b
    assert apollo.can_lookup({"linkedin_url": "linkedin.com/in/x"})
    assert not apollo.can_lookup({"first_name": "Olivia"})


# -- a 403 about one endpoint's scope switches off that endpoint only -----------------------
# docs.apollo.io/reference/people-api-search: "This endpoint requires a master API key"; the
# OAS 403 API_INACCESSIBLE "... not authorized to access api/v1/<endpoint> ..." (§1).
SEARCH_403 = {
    "error": "This API key is not authorized to access api/v1/mixed_people/api_search. This "
    "endpoint requires a master API key.",
    "error_code": "API_INACCESSIBLE",
}


def _by_path(search_status: int, search_body) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/mixed_people/api_search"):
            return httpx.Response(search_status, json=search_body)
        return httpx.Response(200, json=APOLLO_MATCH_HIT)

    return answer


def test_a_search_403_switches_off_search_only_not_people_match() -> None:
    apollo, rec = make(ApolloProvider, _by_path(403, SEARCH_403))
    with pytest.raises(errors.AuthError) as caught:
        run(apollo.search("apollo.io"))
    error = caught.value
    assert error.endpoint_only and error.endpoint == "mixed_people/api_search"
    assert error.disables_provider is False  # the key works elsewhere
    assert "people/match still works" in str(error)
    # search again: refused at once, unsent
    sent = len(rec.requests)
    with pytest.raises(errors.AuthError):
        run(apollo.search("apollo.io"))
    assert len(rec.requests) == sent
    # people/match goes on
    finding = run(apollo.lookup(RECORD))
    assert finding.outcome == "hit"
    assert rec.last.url.path == "/api/v1/people/match"
    assert set(apollo.disabled_endpoints) == {"mixed_people/api_search"}


def test_an_org_enrich_403_is_scoped_to_that_endpoint() -> None:
    apollo, rec = make(ApolloProvider, reply(403, APOLLO_403))
    first = run(apollo.enrich_company("apollo.io"))
    again = run(apollo.enrich_company("apollo.io"))
    assert first.error.endpoint == "organizations/enrich" and not first.error.disables_provider
    assert again.error is first.error and len(rec.requests) == 1  # not sent again


def test_a_403_on_people_match_still_stops_the_step_and_a_401_is_never_scoped() -> None:
    apollo, _ = make(ApolloProvider, reply(403, APOLLO_403))
    finding = run(apollo.lookup(RECORD))
    assert finding.error.endpoint_only and finding.error.disables_provider
    apollo, _ = make(ApolloProvider, _by_path(401, None))
    with pytest.raises(errors.AuthError) as caught:
        run(apollo.search("apollo.io"))
    assert not caught.value.endpoint_only and caught.value.disables_provider
    assert apollo.disabled_endpoints == {}


def test_sandbox_without_a_master_key_refuses_search_and_matches_people() -> None:
    import asyncio

    from gtmkit.sandbox import World, simulate

    sim = simulate(World.generate(seed=1, companies=20))
    sim.app.apis["apollo"].master_keys = frozenset({"a-master-key"})
    person = sim.app.oracle.world.people.row(0, named=True)

    async def go():
        async with sim.connect(["apollo"]) as conn:
            apollo = conn["apollo"]
            with pytest.raises(errors.AuthError) as caught:
                await apollo.search(person["company_domain"])
            record = {
                "first_name": person["first_name"],
                "last_name": person["last_name"],
                "company_domain": person["company_domain"],
            }
            return caught.value, await apollo.lookup(record)

    error, finding = asyncio.run(go())
    assert error.endpoint == "mixed_people/api_search" and not error.disables_provider
    assert finding.outcome in ("hit", "miss") and finding.error is None
    assert sim.requests()["apollo"] == 2
