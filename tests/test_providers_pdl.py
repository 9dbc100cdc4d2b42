"""People Data Labs person and company enrichment against the providers.md bodies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from _providers_helpers import FAKE_KEY, PDL_404, PDL_PERSON_HIT, make, reply, run

from gtmkit.providers import errors
from gtmkit.providers.pdl import PDLProvider

SEAN = {"first_name": "Sean", "last_name": "Thorne", "company_domain": "peopledatalabs.com"}
CREDIT_HEADERS = {"x-call-credits-spent": "1", "x-call-credits-type": "enrich"}


def test_hit_is_risky_with_likelihood_as_confidence() -> None:
    pdl, rec = make(PDLProvider, reply(200, PDL_PERSON_HIT, CREDIT_HEADERS))
    finding = run(pdl.lookup(SEAN))
    assert finding.outcome == "hit"
    assert finding.email == "sean@peopledatalabs.com"
    # likelihood is match confidence, not deliverability: the email is unverified.
    assert finding.email_status == "risky"
    assert finding.confidence == 1.0
    assert finding.provider_status is None  # PDL reports no email status word
    assert finding.credits == 1.0
    assert finding.fields["linkedin_url"] == "linkedin.com/in/seanthorne"
    assert finding.fields["phone"] == "+14155688415"
    request = rec.last
    assert request.method == "GET"
    assert request.url.path == "/v5/person/enrich"
    assert request.headers["X-Api-Key"] == FAKE_KEY
    assert dict(request.url.params) == {
        "first_name": "Sean",
        "last_name": "Thorne",
        "company": "peopledatalabs.com",
    }


def test_credits_come_from_the_header() -> None:
    pdl, _ = make(PDLProvider, reply(200, PDL_PERSON_HIT, {"x-call-credits-spent": "3"}))
    assert run(pdl.lookup(SEAN)).credits == 3.0
    pdl, _ = make(PDLProvider, reply(200, PDL_PERSON_HIT))  # no header: per-match rule
    assert run(pdl.lookup(SEAN)).credits == 1.0


def test_404_is_a_free_miss() -> None:
    pdl, _ = make(PDLProvider, reply(404, PDL_404))
    finding = run(pdl.lookup(SEAN))
    assert (finding.outcome, finding.credits, finding.http_status) == ("miss", 0.0, 404)
    assert finding.raw == PDL_404


def test_404_with_type_as_list_is_a_miss_too() -> None:
    body = {"status": 404, "error": {"type": ["not_found"], "message": "No records"}}
    pdl, _ = make(PDLProvider, reply(404, body))
    assert run(pdl.lookup(SEAN)).outcome == "miss"


def test_match_without_work_email_is_a_billed_miss_and_hidden_email_is_flagged() -> None:
    body = json.loads(json.dumps(PDL_PERSON_HIT))
    body["data"]["work_email"] = True  # plans without contact data send booleans
    pdl, _ = make(PDLProvider, reply(200, body, CREDIT_HEADERS))
    finding = run(pdl.lookup(SEAN))
    assert finding.outcome == "miss"
    assert finding.credits == 1.0
    assert finding.fields["email_hidden"] is True
    assert finding.email is None


def test_429_retry_after_comes_from_ratelimit_reset() -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    headers = {
        "x-ratelimit-reset": reset,
        "x-ratelimit-remaining": '{"minute": 0, "day": null, "month": null}',
        "x-ratelimit-limit": '{"minute": 1000, "day": null, "month": null}',
    }
    body = {"status": 429, "error": {"type": "rate_limit_error", "message": "slow down"}}
    pdl, _ = make(PDLProvider, reply(429, body, headers))
    finding = run(pdl.lookup(SEAN))
    assert isinstance(finding.error, errors.RateLimited)
    assert 30.0 <= finding.error.retry_after <= 41.0
    assert finding.throttle.remaining == 0
    assert finding.throttle.limit_per_second == pytest.approx(1000 / 60)


def test_json_object_rate_headers_on_a_hit() -> None:
    headers = {
        "x-ratelimit-remaining": '{"minute": 1187, "day": null, "month": null}',
        "x-ratelimit-limit": '{"minute": 1200, "day": null, "month": null}',
    }
    pdl, _ = make(PDLProvider, reply(200, PDL_PERSON_HIT, headers))
    throttle = run(pdl.lookup(SEAN)).throttle
    assert throttle.remaining == 1187
    assert throttle.limit_per_second == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("status", "etype", "kind"),
    [
        (400, "invalid_request_error", errors.BadRequest),
        (401, "authentication_error", errors.AuthError),
        (402, "payment_required", errors.OutOfCredits),
        (405, "invalid_request_error", errors.BadRequest),
        (500, "api_error", errors.ProviderDown),
    ],
)
def test_documented_error_types(status, etype, kind) -> None:
    body = {"status": status, "error": {"type": etype, "message": "documented error"}}
    pdl, _ = make(PDLProvider, reply(status, body))
    finding = run(pdl.lookup(SEAN))
    assert type(finding.error) is kind
    assert finding.error.code == etype


def test_company_enrich_reads_the_flat_body() -> None:
    body = {
        "status": 200,
        "name": "people data labs",
        "display_name": "People Data Labs",
        "id": "tnHcNHbCv8MKeLh92946LAkX6PKg",
        "website": "peopledatalabs.com",
        "size": "51-200",
        "employee_count": 145,
        "industry": "computer software",
        "founded": 2015,
        "linkedin_url": "linkedin.com/company/peopledatalabs",
        "location": {"country": "united states"},
        "likelihood": 6,
    }
    pdl, rec = make(PDLProvider, reply(200, body, {"x-call-credits-spent": "1"}))
    finding = run(pdl.enrich_company("https://peopledatalabs.com"))
    assert finding.outcome == "hit"
    assert finding.endpoint == "company/enrich"
    assert finding.fields["company_name"] == "People Data Labs"
    assert finding.fields["employee_count"] == 145
    assert finding.fields["country"] == "united states"
    assert finding.confidence == pytest.approx(0.6)
    assert rec.last.url.path == "/v5/company/enrich"
    assert rec.last.url.params["website"] == "peopledatalabs.com"
    pdl, _ = make(PDLProvider, reply(404, PDL_404))
    assert run(pdl.enrich_company({"company_name": "Nobody Inc"})).outcome == "miss"


def test_linkedin_and_email_inputs_are_sent_and_keyed() -> None:
    pdl, rec = make(PDLProvider, reply(200, PDL_PERSON_HIT))
    record = {"linkedin_url": "https://www.linkedin.com/in/SeanThorne/", "email": "Sean@PDL.com"}
    run(pdl.lookup(record))
    assert rec.last.url.params["profile"] == "linkedin.com/in/seanthorne"
    assert rec.last.url.params["email"] == "sean@pdl.com"
    assert pdl.lookup_key(record) == "email=sean@pdl.com;li=linkedin.com/in/seanthorne"
