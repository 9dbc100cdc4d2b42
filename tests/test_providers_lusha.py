"""Lusha v2 person: the api_key header, contact.error misses, isCreditCharged, 429 and 451."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from _providers_helpers import FAKE_KEY, make, run
from _twin_helpers import check_compare

from gtmkit.providers import errors
from gtmkit.providers.lusha import GdprRestricted, LushaProvider
from gtmkit.sandbox import simulate
from gtmkit.sandbox.world import World

RECORD = {"first_name": "Olivia", "last_name": "Martin", "company_domain": "acme.com"}
HIT = {
    "contact": {
        "error": None,
        "isCreditCharged": True,
        "data": {
            "firstName": "Olivia",
            "lastName": "Martin",
            "fullName": "Olivia Martin",
            "emailAddresses": [
                {"email": "o.martin@gmail.com", "emailType": "personal", "emailConfidence": "A"},
                {"email": "Olivia.Martin@acme.com", "emailType": "work", "emailConfidence": "A+"},
            ],
            "phoneNumbers": [{"number": "+1 555 0100", "phoneType": "direct", "doNotCall": False}],
            "jobTitle": {"title": "VP Sales", "seniority": "vp", "departments": ["Sales"]},
            "company": {"name": "Acme", "fqdn": "acme.com"},
            "socialLinks": {"linkedin": "https://www.linkedin.com/in/om"},
        },
    }
}
MISS = {
    "contact": {
        "error": {"code": 3, "name": "EMPTY_DATA", "message": "Could not find requested data"},
        "isCreditCharged": False,
        "data": None,
    }
}


def _answer(status: int, body: dict, headers: dict | None = None):
    return lambda request: httpx.Response(status, json=body, headers=headers or {})


def test_hit_on_the_wire() -> None:
    lusha, rec = make(LushaProvider, _answer(200, HIT))
    finding = run(lusha.lookup(RECORD))
    assert finding.outcome == "hit" and finding.email == "olivia.martin@acme.com"
    assert (finding.email_status, finding.provider_status, finding.credits) == ("valid", "A+", 1.0)
    # the number in E.164 with its type (issue 12: phones are filled in E.164)
    assert (finding.fields["phone"], finding.fields["phone_type"]) == ("+15550100", "direct")
    request = rec.last
    assert (request.method, str(request.url).split("?")[0]) == (
        "GET",
        "https://api.lusha.com/v2/person",
    )
    assert request.headers["api_key"] == FAKE_KEY and FAKE_KEY not in str(request.url)
    assert dict(request.url.params) == {
        "firstName": "Olivia",
        "lastName": "Martin",
        "companyDomain": "acme.com",
    }
    assert request.content == b""


def test_linkedin_first_and_contact_error_is_a_free_miss() -> None:
    lusha, rec = make(LushaProvider, _answer(200, MISS))
    finding = run(lusha.lookup({**RECORD, "linkedin_url": "linkedin.com/in/OM/"}))
    assert (finding.outcome, finding.credits, finding.provider_status) == (
        "miss",
        0.0,
        "EMPTY_DATA",
    )
    assert dict(rec.last.url.params) == {"linkedinUrl": "https://www.linkedin.com/in/om"}
    charged = {"contact": {**MISS["contact"], "isCreditCharged": True}}
    lusha, _ = make(LushaProvider, _answer(200, charged))
    assert run(lusha.lookup(RECORD)).credits == 1.0  # isCreditCharged is the billing signal


def test_429_and_451_are_clear_typed_errors() -> None:
    hourly = {"statusCode": 429, "message": "Hourly API rate limit exceeded. Reset in 7 seconds"}
    lusha, _ = make(LushaProvider, _answer(429, hourly, {"RateLimit-Reset": "7"}))
    error = run(lusha.lookup(RECORD)).error
    assert isinstance(error, errors.RateLimited) and error.retry_after == 7.0
    daily = {
        "statusCode": 429,
        "message": "Daily API quota limit exceeded. Limit 100 calls per day",
    }
    lusha, _ = make(LushaProvider, _answer(429, daily))
    assert isinstance(run(lusha.lookup(RECORD)).error, errors.OutOfCredits)
    lusha, _ = make(LushaProvider, _answer(451, {"statusCode": 451, "message": "GDPR"}))
    finding = run(lusha.lookup(RECORD))
    assert isinstance(finding.error, GdprRestricted) and "GDPR" in str(finding.error)
    assert not finding.error.retryable and not finding.error.disables_provider
    assert finding.credits == 0.0


@pytest.fixture(scope="module")
def world() -> World:
    return World.generate(seed=11, companies=300)


def test_sandbox_twin_bills_what_it_says_and_answers_451(world) -> None:
    people = world.people.head(120).to_dicts()
    records = [{k: p[k] for k in ("first_name", "last_name", "company_domain")} for p in people]
    sim = simulate(world)

    async def main():
        async with sim.connect(["lusha"]) as conn:
            found = await asyncio.gather(*(conn["lusha"].lookup(r) for r in records))
            eu = frozenset({p["country"] for p in people} - {"US", "CA"})
            sim.app.apis["lusha"].gdpr_countries = eu  # type: ignore[attr-defined]
            again = await asyncio.gather(
                *(
                    conn["lusha"].lookup({**r, "first_name": r["first_name"].upper()})
                    for r in records
                )
            )
            return found, again

    found, again = run(main())
    assert {f.outcome for f in found} == {"hit", "miss"}
    hits = [(f, p) for f, p in zip(found, people, strict=True) if f.outcome == "hit"]
    assert sum(f.email == p["email"] for f, p in hits) >= 0.8 * len(hits)
    assert {f.provider_status for f, _ in hits} <= {"A+", "A", "B"}
    billed_first = sum(f.credits for f in found)
    assert billed_first == len(hits)
    gdpr = [f for f in again if f.outcome == "error"]
    assert gdpr and all(isinstance(f.error, GdprRestricted) for f in gdpr)
    assert sum(f.credits for f in found + again) == sim.billed()["lusha"]


def test_lusha_in_compare_with_no_special_case(world) -> None:
    check_compare(world, "lusha", seed=6)
