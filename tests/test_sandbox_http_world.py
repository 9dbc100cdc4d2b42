"""The HTTP layer over the real ``ProviderOracle``: what each endpoint says agrees with the
oracle's answer, billing matches each provider's rule, and loopback equals in-process."""

from __future__ import annotations

import functools

import httpx
import pytest

from gtmkit.sandbox.http.server import serve_in_thread
from gtmkit.sandbox.http.transport import SandboxTransport
from gtmkit.sandbox.oracle import ProviderOracle
from gtmkit.sandbox.world import World
from tests._sandbox_http_helpers import (
    APOLLO,
    DROPCONTACT,
    HUNTER,
    KEY,
    PDL,
    PROSPEO,
    request,
    requests,
)


@functools.cache
def world() -> World:
    return World.generate(seed=5, companies=60)


@functools.cache
def people() -> list[dict]:
    return world().people.head(80).to_dicts()


def make_transport() -> tuple[SandboxTransport, ProviderOracle]:
    oracle = ProviderOracle(world())
    return SandboxTransport(oracle=oracle, verifier_pending_rate=0.0), oracle


def canonical(p: dict) -> dict:
    return {
        "first_name": p["first_name"],
        "last_name": p["last_name"],
        "company_domain": p["company_domain"],
    }


def test_person_endpoints_agree_with_the_oracle_and_bill_by_each_rule():
    t, oracle = make_transport()
    calls = []
    for p in people():
        names = {"first_name": p["first_name"], "last_name": p["last_name"]}
        calls += [
            (
                "POST",
                f"{APOLLO}/people/match",
                {"json": {**names, "domain": p["company_domain"]}, "headers": {"x-api-key": KEY}},
            ),
            (
                "GET",
                f"{HUNTER}/email-finder",
                {"params": {**names, "domain": p["company_domain"], "api_key": KEY}},
            ),
            (
                "GET",
                f"{PDL}/person/enrich",
                {"params": {**names, "company": p["company_domain"], "api_key": KEY}},
            ),
            (
                "POST",
                f"{PROSPEO}/enrich-person",
                {
                    "json": {"data": {**names, "company_website": p["company_domain"]}},
                    "headers": {"X-KEY": KEY},
                },
            ),
        ]
    answers = requests(t, calls)
    expected_credits = {"apollo": 0, "hunter": 0, "pdl": 0, "prospeo": 0}
    found = {name: 0 for name in expected_credits}
    for i, p in enumerate(people()):
        apollo, hunter, pdl, prospeo = answers[4 * i : 4 * i + 4]
        a = oracle.person("apollo", canonical(p))
        if a.found:
            found["apollo"] += 1
            expected_credits["apollo"] += 1
            assert apollo.json()["person"]["email"] == a.email
            assert apollo.json()["person"]["email_status"] == a.email_status
        else:
            assert apollo.json() == {"person": None}
        h = oracle.person("hunter", canonical(p))
        data = hunter.json()["data"]
        if h.found and h.email:
            found["hunter"] += 1
            expected_credits["hunter"] += 1
            assert data["email"] == h.email
            assert data["verification"]["status"] == h.email_status
            assert data["score"] == round(h.confidence * 100)
            assert data["accept_all"] is bool(h.catch_all)
        else:
            assert data["email"] is None and data["score"] is None
        d = oracle.person("pdl", canonical(p))
        if d.found:
            found["pdl"] += 1
            expected_credits["pdl"] += 1
            assert pdl.status_code == 200
            assert pdl.json()["data"]["work_email"] == d.email
            assert pdl.json()["likelihood"] == round(d.confidence * 10)
        else:
            assert pdl.status_code == 404
        s = oracle.person("prospeo", canonical(p))
        if s.found:
            found["prospeo"] += 1
            expected_credits["prospeo"] += 1
            assert prospeo.json()["person"]["email"]["status"] == s.email_status
        else:
            assert prospeo.json() == {"error": True, "error_code": "NO_MATCH"}
    # the sample is big enough that every provider both hits and misses
    assert all(0 < n < len(people()) for n in found.values()), found
    assert t.app.ledger.totals() == {k: float(v) for k, v in expected_credits.items()}
    assert t.app.internal_errors == 0


def test_dropcontact_batch_agrees_with_the_oracle():
    t, oracle = make_transport()
    batch = [
        {"first_name": p["first_name"], "last_name": p["last_name"], "website": p["company_domain"]}
        for p in people()[:50]
    ]
    submit = request(
        t,
        "POST",
        f"{DROPCONTACT}/enrich/all",
        json={"data": batch},
        headers={"X-Access-Token": KEY},
    )
    rid = submit.json()["request_id"]
    result = request(
        t, "GET", f"{DROPCONTACT}/enrich/all/{rid}", headers={"X-Access-Token": KEY}
    ).json()
    assert result["success"] is True and len(result["data"]) == 50
    with_email = 0
    for p, record in zip(people()[:50], result["data"], strict=True):
        answer = oracle.person("dropcontact", canonical(p))
        if answer.found and answer.email:
            with_email += 1
            assert record["email"] == [
                {"email": answer.email, "qualification": answer.email_status}
            ]
        else:
            assert "email" not in record
    assert 0 < with_email < 50
    assert t.app.ledger.totals() == {"dropcontact": float(with_email)}  # the rest refunded


def test_verifier_statuses_come_from_the_oracle():
    t, oracle = make_transport()
    emails = [p["email"] for p in people()[:30]] + [
        p["prev_email"] for p in people()[:30] if p["prev_email"]
    ]
    answers = requests(
        t,
        [
            ("GET", f"{HUNTER}/email-verifier", {"params": {"email": e, "api_key": KEY}})
            for e in emails
        ],
    )
    statuses = [a.json()["data"]["status"] for a in answers]
    assert statuses == [oracle.verify(e).status for e in emails]
    assert set(statuses) <= {"valid", "invalid", "accept_all", "webmail", "disposable", "unknown"}
    charged = sum(s in ("valid", "invalid", "accept_all") for s in statuses)
    assert t.app.ledger.totals().get("hunter", 0.0) == charged


def test_company_and_search_endpoints_over_the_world():
    t, oracle = make_transport()
    domain = max(world().companies.to_dicts(), key=lambda c: c["employee_count"])["domain"]
    org = request(
        t,
        "GET",
        f"{APOLLO}/organizations/enrich",
        params={"domain": domain},
        headers={"x-api-key": KEY},
    ).json()
    company = oracle.company("apollo", {"company_domain": domain})
    if company is None:
        assert org == {}
    else:
        assert org["organization"]["primary_domain"] == domain
        assert org["organization"]["estimated_num_employees"] == company["employee_count"]
    search = request(
        t,
        "POST",
        f"{APOLLO}/mixed_people/api_search",
        json={"q_organization_domains_list": [domain], "per_page": 100},
        headers={"x-api-key": KEY},
    ).json()
    listed = oracle.search_people("apollo", company={"company_domain": domain}, limit=500)
    assert search["total_entries"] == len(listed) > 0
    assert [p["first_name"] for p in search["people"]] == [p["first_name"] for p in listed[:100]]
    # search, then enrich by Apollo id: the same person as a match by person id
    for shown, item in zip(search["people"][:10], listed[:10], strict=True):
        matched = request(
            t,
            "POST",
            f"{APOLLO}/people/match",
            json={"id": shown["id"]},
            headers={"x-api-key": KEY},
        ).json()["person"]
        answer = oracle.person("apollo", {"person_id": item["person_id"]})
        assert (matched is not None) == answer.found
        if matched is not None:
            assert matched["email"] == answer.email
    hunter = request(
        t, "GET", f"{HUNTER}/domain-search", params={"domain": domain, "limit": 100, "api_key": KEY}
    ).json()
    known = [
        i["email"]
        for i in oracle.search_people("hunter", company={"company_domain": domain}, limit=1000)
        if i.get("email")
    ]
    if oracle.company("hunter", {"company_domain": domain}) is not None:
        assert [e["value"] for e in hunter["data"]["emails"]] == known[:100]
    pdl = request(t, "GET", f"{PDL}/company/enrich", params={"website": domain, "api_key": KEY})
    assert pdl.status_code in (200, 404)
    assert t.app.internal_errors == 0


@pytest.mark.parametrize("provider", ["apollo", "hunter", "pdl", "prospeo"])
def test_loopback_bodies_equal_in_process_bodies_over_the_world(provider):
    sample = people()[:15]

    def calls(base: str) -> list[tuple[str, str, dict]]:
        out = []
        for p in sample:
            names = {"first_name": p["first_name"], "last_name": p["last_name"]}
            if provider == "apollo":
                out.append(
                    (
                        "POST",
                        f"{base}/people/match",
                        {
                            "json": {**names, "domain": p["company_domain"]},
                            "headers": {"x-api-key": KEY},
                        },
                    )
                )
            elif provider == "hunter":
                out.append(
                    (
                        "GET",
                        f"{base}/email-finder",
                        {"params": {**names, "domain": p["company_domain"], "api_key": KEY}},
                    )
                )
            elif provider == "pdl":
                out.append(
                    (
                        "GET",
                        f"{base}/person/enrich",
                        {"params": {**names, "company": p["company_domain"], "api_key": KEY}},
                    )
                )
            else:
                out.append(
                    (
                        "POST",
                        f"{base}/enrich-person",
                        {
                            "json": {"data": {**names, "company_website": p["company_domain"]}},
                            "headers": {"X-KEY": KEY},
                        },
                    )
                )
        return out

    t, _ = make_transport()
    real = {"apollo": APOLLO, "hunter": HUNTER, "pdl": PDL, "prospeo": PROSPEO}[provider]
    expected = [(r.status_code, r.content) for r in requests(t, calls(real))]
    with (
        serve_in_thread(oracle=ProviderOracle(world()), verifier_pending_rate=0.0) as srv,
        httpx.Client() as client,
    ):
        served = [client.request(m, u, **kw) for m, u, kw in calls(srv.base_urls[provider])]
    assert [(r.status_code, r.content) for r in served] == expected
