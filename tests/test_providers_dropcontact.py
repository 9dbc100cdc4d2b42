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


@pytest.mark.parametrize(
    ("qualification", "status"),
    [
        ("nominative@pro", "valid"),
        ("nominative@perso", "valid"),
        ("nominative@invalid", "invalid"),  # the domain is fake: never valid
        ("catch-all@invalid", "invalid"),
        ("generic@invalid", "invalid"),
        ("non_confirm@pro", "catch_all"),  # the docs' own word for a catch-all address
        ("random@perso", "invalid"),
        ("invalid@pro", "invalid"),
        ("NOMINATIVE@INVALID", "invalid"),
    ],
)
def test_both_halves_of_the_qualification_are_read(qualification: str, status: str) -> None:
    result = json.loads(json.dumps(DROPCONTACT_RESULT_HIT))
    result["data"][0]["email"] = [{"email": "lucas@acme.com", "qualification": qualification}]
    drop, _ = make(DropcontactProvider, script(0, result), **FAST)
    finding = run(drop.lookup(LUCAS))
    assert (finding.email_status, finding.provider_status) == (status, qualification)


def test_an_address_on_an_invalid_domain_never_outranks_a_valid_one() -> None:
    result = json.loads(json.dumps(DROPCONTACT_RESULT_HIT))
    result["data"][0]["email"] = [
        {"email": "lucas@acme-fake.com", "qualification": "nominative@invalid"},
        {"email": "lucas.bernard@acme.com", "qualification": "catch-all@pro"},
    ]
    drop, _ = make(DropcontactProvider, script(0, result), **FAST)
    finding = run(drop.lookup(LUCAS))
    assert (finding.email, finding.email_status) == ("lucas.bernard@acme.com", "catch_all")


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


# -- polls are free, submits are paid: never pay twice for one lookup --------------------------

POLL_FAULTS = {
    "503": lambda request: httpx.Response(503, text="Service Unavailable"),
    "500": lambda request: httpx.Response(500, json=DROPCONTACT_404 | {"detail": "Internal"}),
    "429": lambda request: httpx.Response(429, json={"error": True}, headers={"Retry-After": "0"}),
    "malformed": lambda request: httpx.Response(200, text='{"data": [{"email'),
    "reset": lambda request: (_ for _ in ()).throw(httpx.ReadError("reset by peer")),
    "timeout": lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("read timed out")),
}


def faulty(fault, *, failures: int, result: dict):
    """Submit fine; then ``failures`` polls answered with ``fault``; then ``result``."""
    seen = {"submits": 0, "polls": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            seen["submits"] += 1
            return httpx.Response(200, json=DROPCONTACT_SUBMIT)
        seen["polls"] += 1
        if seen["polls"] <= failures:
            return fault(request)
        return httpx.Response(200, json=result)

    return answer, seen


@pytest.mark.parametrize("fault", sorted(POLL_FAULTS))
def test_a_failed_poll_is_polled_again_not_resubmitted(fault: str) -> None:
    answer, seen = faulty(POLL_FAULTS[fault], failures=3, result=DROPCONTACT_RESULT_HIT)
    drop, _ = make(DropcontactProvider, answer, **FAST)
    finding = run(drop.lookup(LUCAS))
    assert finding.outcome == "hit" and finding.credits == 1.0 and finding.charge_known
    assert seen == {"submits": 1, "polls": 4}
    assert drop.pending_request_id(LUCAS) is None  # resolved: forgotten


@pytest.mark.parametrize(
    ("result", "outcome", "resumed_credits"),
    [(DROPCONTACT_RESULT_HIT, "hit", 0.0), (DROPCONTACT_RESULT_MISS, "miss", -1.0)],
)
@pytest.mark.parametrize("fault", ["503", "reset", "timeout", "not ready"])
def test_a_retry_after_giving_up_polls_the_same_request(
    fault: str, result: dict, outcome: str, resumed_credits: float
) -> None:
    fail = POLL_FAULTS.get(fault, lambda request: httpx.Response(200, json=DROPCONTACT_NOT_READY))
    answer, seen = faulty(fail, failures=3, result=result)
    drop, rec = make(DropcontactProvider, answer, max_polls=3, **FAST)

    gave_up = run(drop.lookup(LUCAS))
    assert gave_up.outcome == "error" and gave_up.error.retryable
    assert isinstance(gave_up.error, errors.ProviderDown)  # ProviderTimeout is one too
    # the credit taken at submit, reported once, and known
    assert (gave_up.credits, gave_up.charge_known) == (1.0, True)
    assert "qzmxkpvlrtdnhwa" in str(gave_up.error) and "polls it again" in str(gave_up.error)
    assert drop.pending_request_id(LUCAS) == "qzmxkpvlrtdnhwa"

    resumed = run(drop.lookup(dict(LUCAS)))  # the engine's retry of the same lookup
    assert resumed.outcome == outcome
    assert resumed.credits == resumed_credits  # hit: already counted; miss: the refund
    assert seen["submits"] == 1  # never paid twice
    assert [r.method for r in rec.requests].count("POST") == 1
    # the lookup's findings add up to what Dropcontact charged: 1 for a hit, 0 for a miss
    assert gave_up.credits + resumed.credits == (1.0 if outcome == "hit" else 0.0)


def test_two_give_ups_report_the_submit_credit_once() -> None:
    answer, seen = faulty(POLL_FAULTS["503"], failures=4, result=DROPCONTACT_RESULT_MISS)
    drop, _ = make(DropcontactProvider, answer, max_polls=2, **FAST)
    findings = [run(drop.lookup(LUCAS)) for _ in range(3)]
    assert [f.outcome for f in findings] == ["error", "error", "miss"]
    assert [f.credits for f in findings] == [1.0, 0.0, -1.0]
    assert seen["submits"] == 1


def test_an_error_answer_to_a_poll_stops_polling_but_keeps_the_request() -> None:
    answer, seen = faulty(
        lambda request: httpx.Response(401, json={"error": True, "reason": "Invalid token"}),
        failures=1,
        result=DROPCONTACT_RESULT_HIT,
    )
    drop, _ = make(DropcontactProvider, answer, **FAST)
    first = run(drop.lookup(LUCAS))
    assert type(first.error) is errors.AuthError and first.error.disables_provider
    assert (first.credits, first.charge_known) == (1.0, True)
    assert seen == {"submits": 1, "polls": 1}  # no more polls after a refusal
    second = run(drop.lookup(LUCAS))
    assert (second.outcome, second.credits, seen["submits"]) == ("hit", 0.0, 1)


def test_a_different_lookup_is_submitted_on_its_own() -> None:
    answer, seen = faulty(POLL_FAULTS["503"], failures=0, result=DROPCONTACT_RESULT_HIT)
    drop, _ = make(DropcontactProvider, answer, **FAST)
    run(drop.lookup(LUCAS))
    run(drop.lookup(dict(LUCAS, first_name="Luc")))
    assert seen["submits"] == 2


def test_transient_poll_failures_share_the_poll_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("gtmkit.providers.dropcontact.asyncio.sleep", fake_sleep)
    throttled = lambda request: httpx.Response(429, json={}, headers={"Retry-After": "1"})  # noqa: E731
    answer, seen = faulty(throttled, failures=10_000, result=DROPCONTACT_RESULT_HIT)
    drop, _ = make(DropcontactProvider, answer, poll_interval_s=2.0, max_polls=4)
    finding = run(drop.lookup(LUCAS))
    assert isinstance(finding.error, errors.RateLimited)
    assert seen == {"submits": 1, "polls": 4}
    assert slept == [2.0, 1.0, 1.0, 1.0]  # first wait, then each 429's Retry-After


def test_under_sandbox_faults_the_findings_add_up_to_the_sandbox_meter() -> None:
    """The engine's retry loop, emulated: on a retryable error, look the same record up again.
    The sandbox's own credit counter is the meter; no submit is paid for twice."""
    from gtmkit.sandbox import FaultConfig, SandboxTransport, default_world

    people = default_world().people.head(40).to_dicts()
    fields = ("first_name", "last_name", "company_domain", "company_name")
    # distinct lookups only (the world has namesakes): repeating a lookup is the cache's job
    records = [
        dict(zip(fields, key, strict=True))
        for key in dict.fromkeys(tuple(p[k] for k in fields) for p in people)
    ]
    faults = FaultConfig(rate=0.4, kinds=("5xx", "reset", "timeout", "malformed", "429"), seed=5)
    transport = SandboxTransport(faults=faults, dropcontact_ready_polls=2)

    async def main():
        async with httpx.AsyncClient(transport=transport) as client:
            drop = DropcontactProvider(client, api_key="sandbox", max_polls=3, **FAST)
            out = []
            for record in records:
                for _ in range(8):
                    finding = await drop.lookup(record)
                    out.append((record, finding))
                    if finding.outcome != "error" or not finding.error.retryable:
                        break
            return out

    findings = run(main())
    final = {tuple(r.values()): f for r, f in findings}
    assert all(f.outcome != "error" for f in final.values()), "8 tries should get through"
    hits = sum(f.outcome == "hit" for f in final.values())
    assert hits > 0 and any(f.outcome == "error" for _, f in findings)  # faults did bite
    billed = transport.app.ledger.used("dropcontact")
    assert billed == hits  # one paid submit per found email, every miss refunded
    assert sum(f.credits for _, f in findings) == billed  # the findings' books agree
