"""Findymail search/name: Bearer auth, contact.email hits, free misses, 402/423 out of credits."""

from __future__ import annotations

import json

import httpx
import pytest
from _providers_helpers import FAKE_KEY, make, run
from _twin_helpers import check_compare, check_twin

from gtmkit.providers import errors
from gtmkit.providers.findymail import FindymailProvider
from gtmkit.sandbox.world import World

RECORD = {"first_name": "Olivia", "last_name": "Martin", "company_domain": "acme.com"}
HIT = {"contact": {"name": "Olivia Martin", "email": "Olivia@acme.com", "domain": "acme.com"}}


def _answer(status: int, body: object):
    return lambda request: httpx.Response(status, json=body)


def test_hit_on_the_wire() -> None:
    fm, rec = make(FindymailProvider, _answer(200, HIT))
    finding = run(fm.lookup(RECORD))
    assert (finding.outcome, finding.email, finding.credits) == ("hit", "olivia@acme.com", 1.0)
    assert (finding.email_status, finding.provider_status) == ("valid", None)
    request = rec.last
    assert (request.method, str(request.url)) == (
        "POST",
        "https://app.findymail.com/api/search/name",
    )
    assert request.headers["Authorization"] == f"Bearer {FAKE_KEY}"
    assert json.loads(request.content) == {"name": "Olivia Martin", "domain": "acme.com"}
    fm, rec = make(FindymailProvider, _answer(200, HIT))
    run(fm.lookup({"full_name": "Olivia Martin", "company_name": "Acme"}))
    assert json.loads(rec.last.content) == {"name": "Olivia Martin", "domain": "Acme"}


@pytest.mark.parametrize(("status", "body"), [(200, {"contact": None}), (200, {}), (404, {})])
def test_misses_are_free(status, body) -> None:
    fm, _ = make(FindymailProvider, _answer(status, body))
    finding = run(fm.lookup(RECORD))
    assert (finding.outcome, finding.credits) == ("miss", 0.0)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (402, {"error": "Not enough credits"}, errors.OutOfCredits),
        (200, {"error": "Not enough credits"}, errors.OutOfCredits),
        (423, {"message": "Subscription paused"}, errors.OutOfCredits),
        (401, {"message": "Unauthenticated."}, errors.AuthError),
        (429, {"message": "Too Many Attempts."}, errors.RateLimited),
        (400, {"message": "invalid payload"}, errors.BadRequest),
    ],
)
def test_errors_are_typed(status, body, kind) -> None:
    fm, _ = make(FindymailProvider, _answer(status, body))
    finding = run(fm.lookup(RECORD))
    assert isinstance(finding.error, kind) and finding.credits == 0.0


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=11, companies=300)


def test_sandbox_twin(world) -> None:
    check_twin(world, "findymail", min_correct=0.85)


def test_findymail_in_compare_with_no_special_case(world) -> None:
    check_compare(world, "findymail", seed=7, min_accuracy=0.85)
