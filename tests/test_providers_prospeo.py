"""Prospeo enrich-person: hit, NO_MATCH miss and error codes in the body."""

from __future__ import annotations

import json

import pytest
from _providers_helpers import (
    FAKE_KEY,
    PROSPEO_HIT,
    PROSPEO_INVALID_FILTERS,
    PROSPEO_NO_MATCH,
    RECORD,
    make,
    reply,
    run,
)

from gtmkit.providers import errors
from gtmkit.providers.prospeo import ProspeoProvider


def test_hit_verified_email() -> None:
    prospeo, rec = make(ProspeoProvider, reply(200, PROSPEO_HIT))
    finding = run(prospeo.lookup(RECORD))
    assert finding.outcome == "hit"
    assert finding.email == "olivia.martin@acme.com"
    assert (finding.email_status, finding.provider_status) == ("valid", "VERIFIED")
    assert finding.credits == 1.0
    assert finding.fields["company_domain"] == "acme.com"
    assert finding.fields["employee_count"] == 120
    assert "phone" not in finding.fields  # mobile not revealed
    request = rec.last
    assert (request.method, request.url.path) == ("POST", "/enrich-person")
    assert request.headers["X-KEY"] == FAKE_KEY
    sent = json.loads(request.content)
    assert sent["data"] == {
        "first_name": "Olivia",
        "last_name": "Martin",
        "company_website": "acme.com",
    }
    assert sent["enrich_mobile"] is False


def test_unverified_is_risky_and_free_enrichment_costs_nothing() -> None:
    body = json.loads(json.dumps(PROSPEO_HIT))
    body["person"]["email"]["status"] = "UNVERIFIED"
    body["free_enrichment"] = True
    prospeo, _ = make(ProspeoProvider, reply(200, body))
    finding = run(prospeo.lookup(RECORD))
    assert (finding.email_status, finding.credits) == ("risky", 0.0)


@pytest.mark.parametrize("status", [200, 400, 404])
def test_no_match_is_a_free_miss_whatever_the_status(status) -> None:
    prospeo, _ = make(ProspeoProvider, reply(status, PROSPEO_NO_MATCH))
    finding = run(prospeo.lookup(RECORD))
    assert (finding.outcome, finding.credits) == ("miss", 0.0)
    assert finding.provider_status == "NO_MATCH"


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "INVALID_FILTERS", errors.BadRequest),
        (400, "INVALID_DATAPOINTS", errors.BadRequest),
        (400, "INSUFFICIENT_CREDITS", errors.OutOfCredits),
        (401, "INVALID_API_KEY", errors.AuthError),
        (403, "ACCOUNT_RESTRICTED", errors.AuthError),
        (429, "RATE_LIMITED", errors.RateLimited),
        (200, "RATE_LIMIT_EXCEEDED", errors.RateLimited),
        (500, "INTERNAL_ERROR", errors.ProviderDown),
    ],
)
def test_error_codes(status, code, kind) -> None:
    prospeo, _ = make(ProspeoProvider, reply(status, {"error": True, "error_code": code}))
    finding = run(prospeo.lookup(RECORD))
    assert type(finding.error) is kind
    assert finding.error.code == code


def test_verbatim_mcp_mock_is_a_bad_request() -> None:
    prospeo, _ = make(ProspeoProvider, reply(400, PROSPEO_INVALID_FILTERS))
    assert isinstance(run(prospeo.lookup(RECORD)).error, errors.BadRequest)


def test_rate_headers_and_retry_hint() -> None:
    headers = {
        "x-daily-request-left": "1990",
        "x-minute-request-left": "0",
        "x-second-rate-limit": "5",
        "x-minute-reset-seconds": "12",
    }
    prospeo, _ = make(
        ProspeoProvider, reply(429, {"error": True, "error_code": "RATE_LIMITED"}, headers)
    )
    finding = run(prospeo.lookup(RECORD))
    assert finding.error.retry_after == 12.0
    assert finding.throttle.remaining == 0
    assert finding.throttle.reset_after_s == 12.0
    assert finding.throttle.limit_per_second == 5.0
