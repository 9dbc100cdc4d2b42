"""LeadMagic email-finder: X-API-Key, status words, credits_consumed, problem+json errors."""

from __future__ import annotations

import json

import httpx
import pytest
from _providers_helpers import FAKE_KEY, make, run
from _twin_helpers import check_compare, check_twin

from gtmkit.providers import errors
from gtmkit.providers.leadmagic import LeadMagicProvider
from gtmkit.sandbox.world import World

RECORD = {"first_name": "Jesse", "last_name": "Ouellette", "company_domain": "leadmagic.io"}
# leadmagic.io/docs/reference/email-finder example answer (trimmed to the fields read)
HIT = {
    "email": "jesse@leadmagic.io",
    "status": "valid",
    "credits_consumed": 1,
    "message": "Valid email found.",
    "first_name": "Jesse",
    "last_name": "Ouellette",
    "domain": "leadmagic.io",
    "company_name": "Leadmagic",
    "employment_verified": True,
}


def _answer(status: int, body: object, headers: dict | None = None):
    return lambda request: httpx.Response(status, json=body, headers=headers or {})


def test_hit_on_the_wire() -> None:
    lm, rec = make(LeadMagicProvider, _answer(200, HIT))
    finding = run(lm.lookup(RECORD))
    assert (finding.outcome, finding.email, finding.credits) == ("hit", "jesse@leadmagic.io", 1.0)
    assert (finding.email_status, finding.provider_status) == ("valid", "valid")
    request = rec.last
    assert (request.method, str(request.url)) == (
        "POST",
        "https://api.leadmagic.io/v1/people/email-finder",
    )
    assert request.headers["X-API-Key"] == FAKE_KEY and "authorization" not in request.headers
    assert json.loads(request.content) == {
        "first_name": "Jesse",
        "last_name": "Ouellette",
        "full_name": "Jesse Ouellette",
        "domain": "leadmagic.io",
    }


@pytest.mark.parametrize(
    ("word", "status"), [("valid_catch_all", "catch_all"), ("catch_all", "catch_all")]
)
def test_catch_all_words(word, status) -> None:
    lm, _ = make(LeadMagicProvider, _answer(200, {**HIT, "status": word}))
    assert run(lm.lookup(RECORD)).email_status == status


def test_not_found_is_a_free_miss_and_credits_consumed_is_the_signal() -> None:
    miss = {"email": None, "status": "not_found", "credits_consumed": 0, "message": "No email"}
    lm, _ = make(LeadMagicProvider, _answer(200, miss))
    finding = run(lm.lookup(RECORD))
    assert (finding.outcome, finding.credits, finding.provider_status) == ("miss", 0.0, "not_found")
    lm, _ = make(LeadMagicProvider, _answer(200, {**HIT, "credits_consumed": None}))
    assert run(lm.lookup(RECORD)).credits == 1.0  # the rule when the signal is missing


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, errors.AuthError), (402, errors.OutOfCredits), (429, errors.RateLimited)],
)
def test_problem_json_errors_are_typed(status, kind) -> None:
    problem = {"type": "x", "title": "t", "status": status, "detail": "d"}
    lm, _ = make(LeadMagicProvider, _answer(status, problem, {"Retry-After": "2"}))
    finding = run(lm.lookup(RECORD))
    assert isinstance(finding.error, kind) and finding.credits == 0.0


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=11, companies=300)


def test_sandbox_twin(world) -> None:
    hits = check_twin(world, "leadmagic")
    assert {f.provider_status for f in hits} <= {"valid", "valid_catch_all", "catch_all"}


def test_leadmagic_in_compare_with_no_special_case(world) -> None:
    check_compare(world, "leadmagic", seed=8)
