"""The one mapping from (provider, HTTP status, body, headers) to a typed error."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from _providers_helpers import (
    APOLLO_403,
    APOLLO_422,
    APOLLO_429,
    DROPCONTACT_400,
    HUNTER_400,
    PDL_404,
    RECORD,
    make,
    run,
)

from gtmkit.providers import provider_class
from gtmkit.providers.errors import (
    AuthError,
    BadRequest,
    MalformedResponse,
    OutOfCredits,
    ProviderDown,
    ProviderTimeout,
    RateLimited,
    error_for_response,
    retry_after_seconds,
)
from gtmkit.providers.throttle import read_throttle

NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)

CASES = [
    # provider, status, body, expected class
    ("apollo", 401, None, AuthError),
    ("apollo", 403, APOLLO_403, AuthError),
    ("apollo", 422, APOLLO_422, BadRequest),
    ("apollo", 429, APOLLO_429, RateLimited),
    ("apollo", 402, {"error_code": "INSUFFICIENT_CREDITS"}, OutOfCredits),
    ("hunter", 400, HUNTER_400, BadRequest),
    ("hunter", 403, {"errors": [{"id": "rate_limited", "code": 403}]}, RateLimited),
    ("hunter_verifier", 403, None, RateLimited),
    # a bare 429 is Hunter's documented usage limit (hunter.io/api-documentation/v2); with
    # Retry-After it is a throttle (tests/test_providers_hunter.py checks both readings)
    ("hunter", 429, None, OutOfCredits),
    ("hunter", 402, None, OutOfCredits),
    ("hunter", 401, None, AuthError),
    ("pdl", 404, {"status": 404, "error": {"type": "bad_thing"}}, BadRequest),
    ("pdl", 402, {"status": 402, "error": {"type": "payment_required"}}, OutOfCredits),
    ("pdl", 429, {"status": 429, "error": {"type": "rate_limit_error"}}, RateLimited),
    ("prospeo", 400, {"error": True, "error_code": "INSUFFICIENT_CREDITS"}, OutOfCredits),
    ("prospeo", 200, {"error": True, "error_code": "INTERNAL_ERROR"}, ProviderDown),
    ("prospeo", 401, {"error": True, "error_code": "INVALID_API_KEY"}, AuthError),
    ("dropcontact", 400, DROPCONTACT_400, BadRequest),
    ("dropcontact", 403, {"error": True, "reason": "not enough credits"}, OutOfCredits),
    ("dropcontact", 403, {"error": True, "reason": "Invalid access token"}, AuthError),
    ("dropcontact", 429, None, RateLimited),
    ("any", 408, None, ProviderTimeout),
    ("any", 504, None, ProviderTimeout),
    ("any", 500, None, ProviderDown),
    ("any", 503, None, ProviderDown),
    ("any", 410, None, BadRequest),
    ("any", 422, {"message": "Not enough credits to run this"}, OutOfCredits),
]


@pytest.mark.parametrize(("provider", "status", "body", "expected"), CASES)
def test_mapping(provider, status, body, expected) -> None:
    error = error_for_response(provider, status, body, {})
    assert type(error) is expected
    assert error.provider == provider
    assert error.http_status == status
    assert str(error).startswith(f"{provider}: HTTP {status}")


def test_retry_and_disable_flags_follow_the_class() -> None:
    assert error_for_response("x", 429, None).retryable
    assert error_for_response("x", 503, None).retryable
    assert not error_for_response("x", 400, None).retryable
    assert error_for_response("x", 401, None).disables_provider
    assert error_for_response("x", 402, None).disables_provider
    assert not error_for_response("x", 429, None).disables_provider
    assert MalformedResponse("m").retryable


@pytest.mark.parametrize(
    "body",
    [{"data": {"email": None}}, {"person": None}, {"error": False, "person": {}}, None],
)
def test_successes_are_not_errors(body) -> None:
    assert error_for_response("apollo", 200, body) is None


def test_pdl_not_found_on_a_2xx_is_not_an_error_and_404_body_is_bad_request_here() -> None:
    # The adapter reads PDL's 404 not_found as a miss before asking the mapping.
    assert type(error_for_response("pdl", 404, PDL_404)) is BadRequest


def test_message_redaction_hook() -> None:
    error = error_for_response(
        "apollo",
        401,
        {"error": "bad key SECRET123"},
        redact=lambda t: t.replace("SECRET123", "***"),
    )
    assert "SECRET123" not in str(error) and "***" in str(error)


def test_message_is_short_even_for_a_huge_body() -> None:
    error = error_for_response("apollo", 500, {"error": "x" * 10_000})
    assert len(str(error)) < 300


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"Retry-After": "Mon, 30 Nov 2026 12:00:30 GMT"}, 30.0),
        ({"x-ratelimit-reset": "2026-11-30T12:00:45Z"}, 45.0),
        ({"x-ratelimit-reset": str(int(NOW.timestamp()) + 20)}, 20.0),
        ({"x-minute-reset-seconds": "12"}, 12.0),
        ({"Retry-After": "garbage"}, None),
        ({"x-ratelimit-reset": "2026-11-30T11:00:00Z"}, 0.0),  # in the past: retry now
        ({}, None),
    ],
)
def test_retry_after_parsing(headers, expected) -> None:
    assert retry_after_seconds(headers, now=NOW) == expected


def test_retry_after_prefers_the_explicit_header() -> None:
    headers = {"Retry-After": "3", "x-ratelimit-reset": "2026-11-30T12:01:00Z"}
    assert retry_after_seconds(headers, now=NOW) == 3.0


def test_rate_limited_error_carries_retry_after_from_pdl_reset() -> None:
    error = error_for_response("pdl", 429, None, {"x-ratelimit-reset": "2030-01-01T00:00:00Z"})
    assert isinstance(error, RateLimited)
    assert error.retry_after > 0


def test_throttle_reading() -> None:
    assert read_throttle({}) is None
    assert read_throttle({"content-type": "application/json"}) is None
    pdl = read_throttle(
        {
            "x-ratelimit-remaining": '{"minute": 10, "day": 500, "month": null}',
            "x-ratelimit-limit": '{"minute": 600, "day": 10000}',
            "x-ratelimit-reset": "2026-11-30T12:00:09Z",
        },
        now=NOW,
    )
    assert (pdl.remaining, pdl.reset_after_s, pdl.limit_per_second) == (10, 9.0, 10.0)
    generic = read_throttle({"X-RateLimit-Remaining": "4", "X-RateLimit-Limit": "100"})
    assert generic.remaining == 4
    broken = read_throttle({"x-ratelimit-remaining": "{not json"})
    assert broken is None


# -- a quota answer is never retried -----------------------------------------------------------


def _hunter(status: int, details: str) -> dict:
    return {"errors": [{"id": "x", "code": status, "details": details}]}


def _pdl(status: int, kind: str, message: str) -> dict:
    return {"status": status, "error": {"type": kind, "message": message}}


def _dropcontact(reason: str) -> dict:
    return {"error": True, "reason": reason, "success": False}


HUNTER_USAGE = "You have reached your usage limit. Upgrade your plan"  # Hunter's docs, 429
HUNTER_402 = "Please log in to Hunter to upgrade your plan or purchase additional credits."
PDL_402 = "You have reached your account maximum (all matches used)"
#: (provider, status, body) as each provider words "your plan / quota / credits are used up"
#: (../shared/providers.md: Hunter §2 and its MCP server, PDL §3, Apollo §1, Prospeo §7,
#: Dropcontact §8, Lusha §6 for the "daily quota" wording).
QUOTA_ANSWERS = [
    ("hunter", 429, _hunter(429, HUNTER_USAGE)),
    ("hunter_verifier", 429, _hunter(429, HUNTER_USAGE)),
    ("hunter", 403, _hunter(403, "Your monthly quota is exhausted")),
    ("hunter", 400, _hunter(400, HUNTER_402)),
    ("pdl", 429, _pdl(429, "rate_limit_error", PDL_402)),
    ("pdl", 402, _pdl(402, "payment_required", PDL_402)),
    ("apollo", 422, {"error": "You have insufficient credits. Please upgrade your plan."}),
    ("apollo", 429, {"message": "You are out of credits for this billing cycle"}),
    ("prospeo", 400, {"error": True, "error_code": "INSUFFICIENT_CREDITS"}),
    ("prospeo", 429, {"error": True, "error_code": "RATE_LIMITED", "message": "Monthly quota"}),
    ("dropcontact", 403, _dropcontact("You don't have enough credits to process this request")),
    ("dropcontact", 429, _dropcontact("No more credits left on this account")),
    ("lusha", 429, {"message": "Daily API quota limit exceeded. Limit 500 calls per day"}),
]
#: Throttles that only look alike: a retry after the pause can succeed.
THROTTLE_ANSWERS = [
    ("apollo", 429, APOLLO_429),  # "600 times per hour. Please upgrade your plan"
    ("hunter", 403, _hunter(403, "You have reached the rate limit")),
    ("lusha", 429, {"message": "Hourly API rate limit exceeded. Reset in 30 seconds"}),
    ("zoominfo", 429, {"message": "You have exceeded the rate limit for this resource."}),
    ("any", 429, {"message": "Per-minute quota exceeded, retry in 10 seconds"}),
    ("any", 429, {"message": "Too many requests; no credits were charged"}),
    ("prospeo", 429, {"error": True, "error_code": "RATE_LIMITED"}),
]


@pytest.mark.parametrize(("provider", "status", "body"), QUOTA_ANSWERS)
def test_quota_answers_are_out_of_credits(provider, status, body) -> None:
    error = error_for_response(provider, status, body, {"Retry-After": "1"})
    assert type(error) is OutOfCredits, str(error)
    assert not error.retryable and error.disables_provider


@pytest.mark.parametrize(("provider", "status", "body"), THROTTLE_ANSWERS)
def test_throttles_stay_rate_limits(provider, status, body) -> None:
    error = error_for_response(provider, status, body, {"Retry-After": "1"})
    assert type(error) is RateLimited, str(error)
    assert error.retryable and not error.disables_provider


@pytest.mark.parametrize(
    ("provider", "status", "body"), [q for q in QUOTA_ANSWERS if q[0] != "lusha"]
)
def test_each_adapter_stops_at_its_quota_answer_after_one_request(provider, status, body) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json=body, headers={"Retry-After": "1"})

    options = {"poll_interval_s": 0.0} if provider == "dropcontact" else {}
    adapter, rec = make(provider_class(provider), answer, **options)
    finding = run(adapter.lookup(dict(RECORD, email="olivia.martin@acme.com")))
    assert type(finding.error) is OutOfCredits
    assert finding.error.kind == "out_of_credits"
    assert len(rec.requests) == 1 and finding.credits == 0.0


# -- one exception root ----------------------------------------------------------------------


def test_every_exception_class_of_the_providers_derives_from_gtmkit_error() -> None:
    import importlib
    import inspect
    import pkgutil

    import gtmkit.providers as package
    from gtmkit.comparison import CompareError
    from gtmkit.errors import GtmkitError

    found = set()
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"gtmkit.providers.{info.name}")
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("gtmkit."):
                found.add(obj)
    assert len(found) >= 14
    assert all(issubclass(cls, GtmkitError) for cls in found), [
        cls for cls in found if not issubclass(cls, GtmkitError)
    ]
    # ... keeping the built-in bases callers catch today
    from gtmkit.providers import (
        InvalidCredentials,
        InvalidPrice,
        MissingCredentials,
        NotConnected,
        ProviderUsageError,
        UnknownProvider,
    )

    assert issubclass(MissingCredentials, RuntimeError) and issubclass(NotConnected, RuntimeError)
    assert issubclass(UnknownProvider, KeyError)
    for cls in (InvalidCredentials, InvalidPrice, ProviderUsageError, CompareError):
        assert issubclass(cls, ValueError) and issubclass(cls, GtmkitError)
