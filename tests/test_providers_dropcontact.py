"""Dropcontact submit-then-poll: bounded polling, not-ready answers, refund on miss."""

from __future__ import annotations

import json

import httpx
import pytest
from _providers_helpers import (
    DROPCONTACT_400,
    DROPCONTACT_404,
    DROPCONTACT_NOT_READY,
    DROPCONTACT_RESULT_HIT,
    DROPCONTACT_RESULT_MISS,
    DROPCONTACT_SUBMIT,
    FAKE_KEY,
    make,
    run,
)

from gtmkit.providers import errors
from gtmkit.providers.dropcontact import DropcontactProvider, _retry_hint

LUCAS = {"first_name": "Lucas", "last_name": "Bernard", "website": "https://acme.com"}
FAST = {"poll_interval_s": 0.0, "max_poll_wait_s": 0.0}


def script(not_ready: int, result: dict, *, submit_status: int = 200, submit_body=None):
    """Submit answer, then ``not_ready`` not-ready answers, then ``result``."""
    polls = {"n": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(submit_status, json=submit_body or DROPCONTACT_SUBMIT)
        assert request.url.path == "/v1/enrich/all/qzmxkpvlrtdnhwa"
        polls["n"] += 1
        if polls["n"] <= not_ready:
            return httpx.Response(200, json=DROPCONTACT_NOT_READY)
        return httpx.Response(200, json=result)

    return answer


def test_hit_after_not_ready_answers() -> None:
    drop, rec = make(DropcontactProvider, script(2, DROPCONTACT_RESULT_HIT), **FAST)
    finding = run(drop.lookup(LUCAS))
    assert finding.outcome == "hit"
    # the nominative address wins over the generic one listed first
    assert finding.email == "lucas.bernard@acme.com"
    assert (finding.email_status, finding.provider_status) == ("valid", "nominative@pro")
    assert finding.credits == 1.0
    assert finding.fields["title"] == "VP Sales"
    assert finding.fields["company_domain"] == "acme.com"
    assert len(rec.requests) == 4  # submit + 2 not ready + result
    assert finding.raw == {"submit": DROPCONTACT_SUBMIT, "result": DROPCONTACT_RESULT_HIT}
    submit = rec.requests[0]
    assert (submit.method, submit.url.path) == ("POST", "/v1/enrich/all")
    assert submit.headers["X-Access-Token"] == FAKE_KEY
    body = json.loads(submit.content)
    assert body["data"] == [{"first_name": "Lucas", "last_name": "Bernard", "website": "acme.com"}]
    assert all(r.headers["X-Access-Token"] == FAKE_KEY for r in rec.requests)


def test_miss_is_refunded() -> None:
    drop, _ = make(DropcontactProvider, script(0, DROPCONTACT_RESULT_MISS), **FAST)
    finding = run(drop.lookup(LUCAS))
    assert (finding.outcome, finding.credits) == ("miss", 0.0)


def test_catch_all_qualification() -> None:
    result = json.loads(json.dumps(DROPCONTACT_RESULT_HIT))
    result["data"][0]["email"] = [{"email": "lucas@acme.com", "qualification": "catch_all@pro"}]
    drop, _ = make(DropcontactProvider, script(0, result), **FAST)
    assert run(drop.lookup(LUCAS)).email_status == "catch_all"


def test_polling_is_bounded_and_gives_up_with_a_charged_timeout() -> None:
    drop, rec = make(
        DropcontactProvider, script(10_000, DROPCONTACT_RESULT_HIT), max_polls=5, **FAST
    )
    finding = run(drop.lookup(LUCAS))
    assert finding.outcome == "error"
    assert isinstance(finding.error, errors.ProviderTimeout)
    assert "qzmxkpvlrtdnhwa" in str(finding.error)
    assert len(rec.requests) == 1 + 5
    assert finding.credits == 1.0  # taken at submit, refund unknown
    assert finding.raw == {"submit": DROPCONTACT_SUBMIT, "result": None}


def test_not_ready_hint_is_honoured_up_to_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("gtmkit.providers.dropcontact.asyncio.sleep", fake_sleep)
    drop, _ = make(
        DropcontactProvider,
        script(2, DROPCONTACT_RESULT_HIT),
        poll_interval_s=1.0,
        max_poll_wait_s=20.0,
    )
    assert run(drop.lookup(LUCAS)).outcome == "hit"
    # first wait = poll interval, then "try again in 30 seconds" capped at 20
    assert slept == [1.0, 20.0, 20.0]
    assert _retry_hint("Request not ready yet, try again in 30 seconds") == 30.0


def test_total_wait_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fake_sleep(seconds: float) -> None:
        return None

    monkeypatch.setattr("gtmkit.providers.dropcontact.asyncio.sleep", fake_sleep)
    drop, rec = make(
        DropcontactProvider,
        script(10_000, DROPCONTACT_RESULT_HIT),
        poll_interval_s=10.0,
        max_poll_wait_s=30.0,
        max_wait_s=100.0,
        max_polls=1000,
    )
    finding = run(drop.lookup(LUCAS))
    assert isinstance(finding.error, errors.ProviderTimeout)
    assert len(rec.requests) == 1 + 4  # waits 10 + 30 + 30 + 30 = 100 s, then stops


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (400, DROPCONTACT_400, errors.BadRequest),
        (401, {"error": True, "reason": "Invalid token", "success": False}, errors.AuthError),
        (
            403,
            {"error": True, "reason": "Not enough credits", "success": False},
            errors.OutOfCredits,
        ),
        (404, DROPCONTACT_404, errors.BadRequest),
        (429, {"error": True, "reason": "Too many requests", "success": False}, errors.RateLimited),
        (500, {"detail": "Internal Server Error"}, errors.ProviderDown),
    ],
)
def test_submit_errors(status, body, kind) -> None:
    drop, rec = make(
        DropcontactProvider, script(0, {}, submit_status=status, submit_body=body), **FAST
    )
    finding = run(drop.lookup(LUCAS))
    assert type(finding.error) is kind
    assert len(rec.requests) == 1  # nothing polled after a refused submit
    if status == 400:
        assert "up to 250 records" in str(finding.error)


def test_poll_error_is_typed() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(200, json=DROPCONTACT_SUBMIT)
        return httpx.Response(503, text="Service Unavailable")

    drop, _ = make(DropcontactProvider, answer, **FAST)
    assert isinstance(run(drop.lookup(LUCAS)).error, errors.ProviderDown)
