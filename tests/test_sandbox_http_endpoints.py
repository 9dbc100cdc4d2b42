"""Each simulated endpoint's hit / miss / error bodies, auth answers and billing, against the
shapes in ../shared/providers.md (served in process over a tiny hand-written oracle)."""

from __future__ import annotations

import json
import re

import pytest

from tests._sandbox_http_helpers import (
    ADA_APOLLO,
    ADA_HUNTER,
    ADA_PDL,
    ADA_PROSPEO,
    APOLLO,
    DROPCONTACT,
    HUNTER,
    KEY,
    NOBODY,
    PDL,
    PROSPEO,
    request,
    requests,
    transport,
)

APOLLO_KEY = {"x-api-key": KEY}

# -- Apollo ------------------------------------------------------------------------------------


def test_apollo_match_hit_json_body_and_query_params_give_the_same_person():
    t = transport()
    by_body = request(t, "POST", f"{APOLLO}/people/match", json=ADA_APOLLO, headers=APOLLO_KEY)
    by_query = request(t, "POST", f"{APOLLO}/people/match", params=ADA_APOLLO, headers=APOLLO_KEY)
    assert by_body.status_code == by_query.status_code == 200
    assert by_body.json() == by_query.json()
    person = by_body.json()["person"]
    assert person["email"] == "ada.lovelace@engines.example"
    assert person["email_status"] == "verified"
    assert person["name"] == "Ada Lovelace"
    assert person["title"] == "Head of Engineering"
    assert person["departments"] == ["engineering"]
    assert person["organization"]["primary_domain"] == "engines.example"
    assert person["organization"]["estimated_num_employees"] == 120
    assert re.fullmatch(r"[0-9a-f]{24}", person["id"])
    # the documented example's keys are all there
    for name in (
        "linkedin_url",
        "extrapolated_email_confidence",
        "employment_history",
        "seniority",
    ):
        assert name in person
    # two hits, one credit each; Apollo rate headers on every authenticated answer
    assert t.app.ledger.totals() == {"apollo": 2.0}
    assert by_body.headers["x-minute-requests-left"].isdigit()
    assert by_body.headers["x-rate-limit-24-hour"].isdigit()


def test_apollo_miss_is_200_with_null_person_and_costs_nothing():
    t = transport()
    r = request(t, "POST", f"{APOLLO}/people/match", json=NOBODY, headers=APOLLO_KEY)
    assert r.status_code == 200
    assert r.json() == {"person": None}
    assert t.app.ledger.totals() == {}


def test_apollo_missing_key_is_text_plain_401_verbatim():
    r = request(transport(), "POST", f"{APOLLO}/people/match", json=ADA_APOLLO)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == (
        "Invalid API key. See https://docs.apollo.io/reference/authentication for how to "
        "authenticate."
    )
    assert "x-minute-requests-left" not in r.headers  # no rate headers on 401


def test_apollo_accepts_oauth_bearer():
    r = request(
        transport(),
        "POST",
        f"{APOLLO}/people/match",
        json=ADA_APOLLO,
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert r.status_code == 200 and r.json()["person"] is not None


def test_apollo_organization_enrich_hit_miss_and_missing_domain():
    t = transport()
    hit, miss, missing = requests(
        t,
        [
            (
                "GET",
                f"{APOLLO}/organizations/enrich",
                {"params": {"domain": "engines.example"}, "headers": APOLLO_KEY},
            ),
            (
                "GET",
                f"{APOLLO}/organizations/enrich",
                {"params": {"domain": "nowhere.example"}, "headers": APOLLO_KEY},
            ),
            ("GET", f"{APOLLO}/organizations/enrich", {"headers": APOLLO_KEY}),
        ],
    )
    org = hit.json()["organization"]
    assert org["name"] == "Analytical Engines"
    assert org["primary_domain"] == "engines.example"
    assert org["estimated_num_employees"] == 120
    assert org["founded_year"] == 1834
    assert miss.status_code == 200 and miss.json() == {}
    assert missing.status_code == 422
    assert missing.json() == {"error": "Required parameter 'domain' missing"}
    assert t.app.ledger.totals() == {"apollo": 1.0}


def test_apollo_people_search_is_free_and_obfuscates_last_names():
    t = transport()
    r = request(
        t,
        "POST",
        f"{APOLLO}/mixed_people/api_search",
        json={"q_organization_domains_list": ["engines.example"], "per_page": 2, "page": 1},
        headers=APOLLO_KEY,
    )
    body = r.json()
    assert r.status_code == 200
    assert body["total_entries"] == 3
    assert [p["first_name"] for p in body["people"]] == ["Ada", "Charles"]
    assert body["people"][0]["last_name_obfuscated"] == "Lo***e"
    assert body["people"][1]["last_name_obfuscated"] == "Ba***e"
    assert "email" not in body["people"][0] and "last_name" not in body["people"][0]
    assert body["people"][0]["has_email"] is True
    assert body["people"][0]["organization"]["name"] == "Analytical Engines"
    page2 = request(
        t,
        "POST",
        f"{APOLLO}/mixed_people/api_search",
        json={"q_organization_domains_list": ["engines.example"], "per_page": 2, "page": 2},
        headers=APOLLO_KEY,
    ).json()
    assert [p["first_name"] for p in page2["people"]] == ["Mary"]
    assert page2["people"][0]["has_email"] is False
    titled = request(
        t,
        "POST",
        f"{APOLLO}/mixed_people/api_search",
        params={"q_organization_domains_list[]": "engines.example", "person_titles[]": "founder"},
        headers=APOLLO_KEY,
    ).json()
    assert [p["first_name"] for p in titled["people"]] == ["Charles"]
    assert t.app.ledger.totals() == {}


def test_apollo_search_then_match_by_id():
    t = transport()
    found = request(
        t,
        "POST",
        f"{APOLLO}/mixed_people/api_search",
        json={"q_organization_domains_list": ["engines.example"], "person_titles": ["founder"]},
        headers=APOLLO_KEY,
    ).json()["people"][0]
    by_id = request(
        t, "POST", f"{APOLLO}/people/match", json={"id": found["id"]}, headers=APOLLO_KEY
    )
    person = by_id.json()["person"]
    assert person["id"] == found["id"]
    assert person["name"] == "Charles Babbage" and person["email"] == "charles@engines.example"
    forged = found["id"][:-1] + ("0" if found["id"][-1] != "0" else "1")
    for bad in (forged, "64a7ff0cc4dfae00013df1a5", "nope"):
        r = request(
            t, "POST", f"{APOLLO}/people/match", json={"id": bad, **ADA_APOLLO}, headers=APOLLO_KEY
        )
        assert r.json() == {"person": None}  # an id names one person; a bad id finds nobody


def test_apollo_unknown_path_is_404():
    r = request(transport(), "POST", f"{APOLLO}/people/nope", headers=APOLLO_KEY)
    assert r.status_code == 404


# -- Hunter ------------------------------------------------------------------------------------


def test_hunter_finder_hit_body_shape():
    t = transport()
    r = request(t, "GET", f"{HUNTER}/email-finder", params={**ADA_HUNTER, "api_key": KEY})
    assert r.status_code == 200
    body = r.json()
    assert list(body["data"]) == [
        "first_name",
        "last_name",
        "email",
        "score",
        "domain",
        "accept_all",
        "position",
        "twitter",
        "linkedin_url",
        "phone_number",
        "company",
        "sources",
        "verification",
    ]
    assert body["data"]["email"] == "ada.lovelace@engines.example"
    assert body["data"]["score"] == 90
    assert body["data"]["accept_all"] is False
    assert body["data"]["verification"]["status"] == "valid"
    assert body["data"]["verification"]["date"]
    assert body["meta"]["params"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "full_name": None,
        "domain": "engines.example",
        "company": None,
        "max_duration": None,
    }
    assert t.app.ledger.totals() == {"hunter": 1.0}


def test_hunter_finder_miss_is_200_with_nulls_and_free():
    t = transport()
    r = request(t, "GET", f"{HUNTER}/email-finder", params=NOBODY, headers={"X-API-KEY": KEY})
    data = r.json()["data"]
    assert r.status_code == 200
    assert data["email"] is None and data["score"] is None and data["accept_all"] is None
    assert data["verification"] == {"date": None, "status": None}
    # found without an email is a miss too (charged only when an email is found)
    mary = {"first_name": "Mary", "last_name": "Somerville", "domain": "engines.example"}
    r2 = request(t, "GET", f"{HUNTER}/email-finder", params=mary, headers={"X-API-KEY": KEY})
    assert r2.json()["data"]["email"] is None
    assert t.app.ledger.totals() == {}


@pytest.mark.parametrize(
    "headers, params",
    [({"X-API-KEY": KEY}, {}), ({"Authorization": f"Bearer {KEY}"}, {}), ({}, {"api_key": KEY})],
)
def test_hunter_accepts_its_three_auth_styles(headers, params):
    r = request(
        transport(),
        "GET",
        f"{HUNTER}/email-finder",
        params={**ADA_HUNTER, **params},
        headers=headers,
    )
    assert r.status_code == 200 and r.json()["data"]["email"]


def test_hunter_errors_use_the_errors_envelope():
    t = transport()
    no_key, no_domain, no_name, bad_duration = requests(
        t,
        [
            ("GET", f"{HUNTER}/email-finder", {"params": ADA_HUNTER}),
            (
                "GET",
                f"{HUNTER}/email-finder",
                {"params": {"first_name": "Ada", "last_name": "L", "api_key": KEY}},
            ),
            (
                "GET",
                f"{HUNTER}/email-finder",
                {"params": {"domain": "engines.example", "api_key": KEY}},
            ),
            (
                "GET",
                f"{HUNTER}/email-finder",
                {"params": {**ADA_HUNTER, "max_duration": 99, "api_key": KEY}},
            ),
        ],
    )
    assert no_key.status_code == 401
    assert no_key.json()["errors"][0]["code"] == 401
    assert no_domain.status_code == 400
    assert no_domain.json()["errors"][0]["id"] == "wrong_params"
    assert "domain" in no_domain.json()["errors"][0]["details"]
    assert no_name.status_code == 400 and no_name.json()["errors"][0]["id"] == "wrong_params"
    assert bad_duration.json()["errors"][0]["id"] == "invalid_max_duration"
    for r in (no_key, no_domain, no_name, bad_duration):
        assert set(r.json()["errors"][0]) == {"id", "code", "details"}


@pytest.mark.parametrize(
    "local, status, charged",
    [
        ("ada", "valid", 1.0),
        ("invalid.x", "invalid", 1.0),
        ("accept_all.x", "accept_all", 1.0),
        ("webmail.x", "webmail", 0.0),
        ("disposable.x", "disposable", 0.0),
        ("unknown.x", "unknown", 0.0),
    ],
)
def test_hunter_verifier_statuses_and_billing(local, status, charged):
    t = transport()
    r = request(
        t,
        "GET",
        f"{HUNTER}/email-verifier",
        params={"email": f"{local}@engines.example", "api_key": KEY},
    )
    data = r.json()["data"]
    assert r.status_code == 200
    assert data["status"] == status
    for name in (
        "score",
        "regexp",
        "gibberish",
        "disposable",
        "webmail",
        "mx_records",
        "smtp_server",
        "smtp_check",
        "accept_all",
        "block",
        "sources",
    ):
        assert name in data
    assert t.app.ledger.totals().get("hunter", 0.0) == charged


def test_hunter_verifier_202_then_result_counted_once():
    t = transport(verifier_pending_rate=1.0)
    first, second = requests(
        t,
        [
            (
                "GET",
                f"{HUNTER}/email-verifier",
                {"params": {"email": "ada@engines.example", "api_key": KEY}},
            ),
            (
                "GET",
                f"{HUNTER}/email-verifier",
                {"params": {"email": "ada@engines.example", "api_key": KEY}},
            ),
        ],
    )
    assert first.status_code == 202
    assert second.status_code == 200 and second.json()["data"]["status"] == "valid"
    assert t.app.ledger.totals() == {"hunter": 1.0}


def test_hunter_verifier_rejects_bad_emails():
    t = transport()
    missing, bad = requests(
        t,
        [
            ("GET", f"{HUNTER}/email-verifier", {"params": {"api_key": KEY}}),
            (
                "GET",
                f"{HUNTER}/email-verifier",
                {"params": {"email": "not-an-email", "api_key": KEY}},
            ),
        ],
    )
    assert missing.status_code == 400 and missing.json()["errors"][0]["id"] == "wrong_params"
    assert bad.status_code == 400 and bad.json()["errors"][0]["id"] == "invalid_email"


def test_hunter_domain_search_shape_filters_and_billing():
    t = transport()
    r = request(
        t, "GET", f"{HUNTER}/domain-search", params={"domain": "engines.example", "api_key": KEY}
    )
    body = r.json()
    assert body["data"]["domain"] == "engines.example"
    assert body["data"]["pattern"] == "{first}.{last}"
    assert body["data"]["organization"] == "Analytical Engines"
    assert body["data"]["accept_all"] is False
    emails = body["data"]["emails"]
    assert [e["value"] for e in emails] == [
        "ada.lovelace@engines.example",
        "charles@engines.example",
    ]
    for entry in emails:  # Hunter's invariants: verification always emitted, entry-level confidence
        assert entry["verification"] == {"date": None, "status": None}
        assert isinstance(entry["confidence"], int) and 0 <= entry["confidence"] <= 100
        assert entry["type"] == "personal"
    assert body["meta"]["results"] == 2 and body["meta"]["limit"] == 10
    assert t.app.ledger.totals() == {"hunter": 1.0}  # 1 per 10 emails returned
    execs = request(
        t,
        "GET",
        f"{HUNTER}/domain-search",
        params={"domain": "engines.example", "seniority": "executive", "api_key": KEY},
    ).json()
    assert [e["first_name"] for e in execs["data"]["emails"]] == ["Ada", "Charles"]
    empty = request(
        t, "GET", f"{HUNTER}/domain-search", params={"domain": "nowhere.example", "api_key": KEY}
    ).json()
    assert empty["data"]["emails"] == [] and empty["meta"]["results"] == 0
    assert t.app.ledger.totals() == {"hunter": 2.0}  # an empty answer is free
    bad = request(t, "GET", f"{HUNTER}/domain-search", params={"api_key": KEY})
    assert bad.status_code == 400


def test_hunter_account_reports_credits_used():
    t = transport(credits={"hunter": 10})
    requests(
        t,
        [("GET", f"{HUNTER}/email-finder", {"params": {**ADA_HUNTER, "api_key": KEY}})],
    )
    account = request(t, "GET", f"{HUNTER}/account", params={"api_key": KEY}).json()
    assert account["data"]["requests"]["searches"] == {"used": 1.0, "available": 10.0}


# -- People Data Labs --------------------------------------------------------------------------


def test_pdl_person_hit_envelope_and_credit_headers():
    t = transport()
    r = request(t, "GET", f"{PDL}/person/enrich", params=ADA_PDL, headers={"X-Api-Key": KEY})
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == 200
    assert body["likelihood"] == 9
    data = body["data"]
    assert data["work_email"] == "ada.lovelace@engines.example"
    assert data["full_name"] == "ada lovelace"  # PDL lower-cases values
    assert data["linkedin_url"] == "linkedin.com/in/ada-lovelace"
    assert data["job_company_website"] == "engines.example"
    assert data["job_company_size"] == "51-200"
    assert r.headers["x-call-credits-spent"] == "1"
    assert r.headers["x-call-credits-type"] == "enrich"
    assert json.loads(r.headers["x-ratelimit-limit"])["minute"] > 0
    assert "minute" in json.loads(r.headers["x-ratelimit-remaining"])
    assert r.headers["x-ratelimit-reset"].endswith("Z")
    assert "retry-after" not in r.headers
    assert t.app.ledger.totals() == {"pdl": 1.0}


def test_pdl_api_key_query_parameter_works():
    r = request(transport(), "GET", f"{PDL}/person/enrich", params={**ADA_PDL, "api_key": KEY})
    assert r.status_code == 200


def test_pdl_miss_is_404_not_found_and_unbilled():
    t = transport()
    params = {"first_name": "No", "last_name": "Body", "company": "engines.example"}
    r = request(t, "GET", f"{PDL}/person/enrich", params=params, headers={"X-Api-Key": KEY})
    assert r.status_code == 404
    assert r.json() == {
        "status": 404,
        "error": {"type": "not_found", "message": "No records were found matching your request"},
    }
    assert r.headers["x-call-credits-spent"] == "0"
    assert t.app.ledger.totals() == {}


def test_pdl_min_likelihood_and_required_turn_hits_into_404():
    t = transport()
    too_strict = request(
        t,
        "GET",
        f"{PDL}/person/enrich",
        params={**ADA_PDL, "min_likelihood": 10},
        headers={"X-Api-Key": KEY},
    )
    mary = {"first_name": "Mary", "last_name": "Somerville", "company": "engines.example"}
    needs_email = request(
        t,
        "GET",
        f"{PDL}/person/enrich",
        params={**mary, "required": "work_email"},
        headers={"X-Api-Key": KEY},
    )
    assert too_strict.status_code == 404 and needs_email.status_code == 404
    assert t.app.ledger.totals() == {}


def test_pdl_errors():
    t = transport()
    no_key, too_little = requests(
        t,
        [
            ("GET", f"{PDL}/person/enrich", {"params": ADA_PDL}),
            (
                "GET",
                f"{PDL}/person/enrich",
                {"params": {"first_name": "Ada"}, "headers": {"X-Api-Key": KEY}},
            ),
        ],
    )
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    assert too_little.status_code == 400
    assert too_little.json()["error"]["type"] == "invalid_request_error"


def test_pdl_company_enrich_is_flat():
    t = transport()
    hit = request(
        t,
        "GET",
        f"{PDL}/company/enrich",
        params={"website": "engines.example"},
        headers={"X-Api-Key": KEY},
    )
    body = hit.json()
    assert hit.status_code == 200 and body["status"] == 200
    assert "data" not in body
    assert body["name"] == "analytical engines"
    assert body["employee_count"] == 120 and body["size"] == "51-200"
    assert body["website"] == "engines.example"
    assert hit.headers["x-call-credits-type"] == "enrich_company"
    miss = request(
        t,
        "GET",
        f"{PDL}/company/enrich",
        params={"website": "nowhere.example"},
        headers={"X-Api-Key": KEY},
    )
    assert miss.status_code == 404 and miss.json()["error"]["type"] == "not_found"
    assert t.app.ledger.totals() == {"pdl": 1.0}


# -- Prospeo -----------------------------------------------------------------------------------


def test_prospeo_hit_envelope_and_free_re_enrichment():
    t = transport()
    first, again = requests(
        t,
        [
            ("POST", f"{PROSPEO}/enrich-person", {"json": ADA_PROSPEO, "headers": {"X-KEY": KEY}}),
            ("POST", f"{PROSPEO}/enrich-person", {"json": ADA_PROSPEO, "headers": {"X-KEY": KEY}}),
        ],
    )
    body = first.json()
    assert first.status_code == 200
    assert body["error"] is False and body["free_enrichment"] is False
    assert body["person"]["email"]["email"] == "ada.lovelace@engines.example"
    assert body["person"]["email"]["status"] == "VERIFIED"
    assert body["person"]["email"]["revealed"] is True
    assert body["person"]["current_job_title"] == "Head of Engineering"
    assert body["company"]["domain"] == "engines.example"
    assert body["company"]["employee_count"] == 120
    assert again.json()["free_enrichment"] is True  # same record, same account: not charged
    assert t.app.ledger.totals() == {"prospeo": 1.0}


def test_prospeo_miss_and_error_codes():
    t = transport()
    nobody = {
        "data": {"first_name": "No", "last_name": "Body", "company_website": "engines.example"}
    }
    miss, no_key, no_data, bad_json = requests(
        t,
        [
            ("POST", f"{PROSPEO}/enrich-person", {"json": nobody, "headers": {"X-KEY": KEY}}),
            ("POST", f"{PROSPEO}/enrich-person", {"json": ADA_PROSPEO}),
            (
                "POST",
                f"{PROSPEO}/enrich-person",
                {"json": {"data": {"first_name": "Ada"}}, "headers": {"X-KEY": KEY}},
            ),
            (
                "POST",
                f"{PROSPEO}/enrich-person",
                {"content": b"{not json", "headers": {"X-KEY": KEY}},
            ),
        ],
    )
    assert miss.status_code == 400 and miss.json() == {"error": True, "error_code": "NO_MATCH"}
    assert no_key.status_code == 401 and no_key.json() == {
        "error": True,
        "error_code": "INVALID_API_KEY",
    }
    assert no_data.json() == {"error": True, "error_code": "INVALID_DATAPOINTS"}
    assert bad_json.status_code == 400 and bad_json.json()["error_code"] == "INVALID_REQUEST"
    assert t.app.ledger.totals() == {}


def test_prospeo_company_and_account():
    t = transport(credits={"prospeo": 5})
    company = request(
        t,
        "POST",
        f"{PROSPEO}/enrich-company",
        json={"data": {"company_website": "https://engines.example/"}},
        headers={"X-KEY": KEY},
    ).json()
    assert company["error"] is False and company["company"]["name"] == "Analytical Engines"
    info = request(t, "GET", f"{PROSPEO}/account-information", headers={"X-KEY": KEY}).json()
    assert info["response"]["remaining_credits"] == 4 and info["response"]["used_credits"] == 1


# -- Dropcontact -------------------------------------------------------------------------------

DC_KEY = {"X-Access-Token": KEY}
DC_BATCH = {
    "data": [
        {"first_name": "Ada", "last_name": "Lovelace", "website": "engines.example"},
        {"first_name": "No", "last_name": "Body", "website": "engines.example"},
        {"first_name": "Mary", "last_name": "Somerville", "company": "Analytical Engines"},
    ]
}


def test_dropcontact_submit_then_poll_with_refunds():
    t = transport(credits={"dropcontact": 10})
    submit = request(t, "POST", f"{DROPCONTACT}/enrich/all", json=DC_BATCH, headers=DC_KEY)
    body = submit.json()
    assert submit.status_code == 200
    assert set(body) == {"credits_left", "request_id", "error", "success"}
    assert body["success"] is True and body["error"] is False
    assert body["credits_left"] == 7  # all three records taken at submit
    assert len(body["request_id"]) == 15 and body["request_id"].isalpha()
    result = request(
        t, "GET", f"{DROPCONTACT}/enrich/all/{body['request_id']}", headers=DC_KEY
    ).json()
    assert result["success"] is True
    assert result["credits_left"] == 9  # two records without email were given back
    ada, nobody, mary = result["data"]
    assert ada["email"] == [
        {"email": "ada.lovelace@engines.example", "qualification": "nominative@pro"}
    ]
    assert ada["job"] == "Head of Engineering" and ada["linkedin"].endswith("ada-lovelace")
    assert "email" not in nobody and nobody["first_name"] == "No"
    assert "email" not in mary and mary["job"] == "Analyst"
    assert t.app.ledger.totals() == {"dropcontact": 1.0}


def test_dropcontact_not_ready_answers_until_enough_polls():
    t = transport(dropcontact_ready_polls=2)
    rid = request(t, "POST", f"{DROPCONTACT}/enrich/all", json=DC_BATCH, headers=DC_KEY).json()[
        "request_id"
    ]
    polls = requests(t, [("GET", f"{DROPCONTACT}/enrich/all/{rid}", {"headers": DC_KEY})] * 3)
    not_ready = {
        "error": False,
        "reason": "Request not ready yet, try again in 30 seconds",
        "success": False,
    }
    assert [p.status_code for p in polls] == [200, 200, 200]
    assert polls[0].json() == polls[1].json() == not_ready
    assert polls[2].json()["success"] is True
    unknown = request(t, "GET", f"{DROPCONTACT}/enrich/all/nosuchrequestid", headers=DC_KEY)
    assert unknown.json() == not_ready


def test_dropcontact_processing_time_follows_latency_scale():
    clock = [100.0]
    t = transport(latency_scale=0.001)
    t.app.clock = lambda: clock[0]
    rid = request(t, "POST", f"{DROPCONTACT}/enrich/all", json=DC_BATCH, headers=DC_KEY).json()[
        "request_id"
    ]
    early = request(t, "GET", f"{DROPCONTACT}/enrich/all/{rid}", headers=DC_KEY).json()
    assert early["success"] is False
    clock[0] += 1.0  # slowest record is 0.5 s × 0.001 scale
    late = request(t, "GET", f"{DROPCONTACT}/enrich/all/{rid}", headers=DC_KEY).json()
    assert late["success"] is True


def test_dropcontact_qualifies_a_given_email_in_both_halves():
    # "invalid..." mailboxes in the helper oracle have no SMTP answer: their domain is the
    # invalid half (developer.dropcontact.io: "@invalid: this domain is not a valid domain")
    t = transport(credits={"dropcontact": 10})
    batch = {
        "data": [
            {"first_name": "No", "last_name": "Body", "email": "invalid.nobody@fake.example"},
            {"first_name": "No", "last_name": "Body", "email": "accept_all.nb@engines.example"},
        ]
    }
    rid = request(t, "POST", f"{DROPCONTACT}/enrich/all", json=batch, headers=DC_KEY).json()[
        "request_id"
    ]
    result = request(t, "GET", f"{DROPCONTACT}/enrich/all/{rid}", headers=DC_KEY).json()
    dead, catch_all = result["data"]
    assert dead["email"][0]["qualification"] == "nominative@invalid"
    assert catch_all["email"][0]["qualification"] == "catch-all@pro"


def test_dropcontact_errors():
    t = transport(credits={"dropcontact": 2})
    too_many = {"data": [{"first_name": "a", "last_name": "b", "website": "x.example"}] * 251}
    no_key, big, empty, broke = requests(
        t,
        [
            ("POST", f"{DROPCONTACT}/enrich/all", {"json": DC_BATCH}),
            ("POST", f"{DROPCONTACT}/enrich/all", {"json": too_many, "headers": DC_KEY}),
            ("POST", f"{DROPCONTACT}/enrich/all", {"json": {"data": []}, "headers": DC_KEY}),
            ("POST", f"{DROPCONTACT}/enrich/all", {"json": DC_BATCH, "headers": DC_KEY}),
        ],
    )
    assert no_key.status_code == 401
    assert big.status_code == 400
    assert big.json() == {
        "error": True,
        "reason": "Too many records, you can only submit up to 250 records",
        "success": False,
    }
    assert empty.status_code == 400 and empty.json()["reason"] == "Missing data in JSON"
    assert broke.status_code == 403 and broke.json()["success"] is False  # 3 records, 2 credits
    assert t.app.ledger.totals() == {}
    assert request(t, "GET", f"{DROPCONTACT}/nope", headers=DC_KEY).json() == {
        "detail": "Not Found"
    }


# -- credits allowance, keys -------------------------------------------------------------------


def test_credit_allowance_is_per_key_and_answered_each_providers_way():
    t = transport(credits=1)
    calls = [
        ("POST", f"{APOLLO}/people/match", {"json": ADA_APOLLO, "headers": APOLLO_KEY}),
        ("GET", f"{HUNTER}/email-finder", {"params": {**ADA_HUNTER, "api_key": KEY}}),
        ("GET", f"{PDL}/person/enrich", {"params": ADA_PDL, "headers": {"X-Api-Key": KEY}}),
        ("POST", f"{PROSPEO}/enrich-person", {"json": ADA_PROSPEO, "headers": {"X-KEY": KEY}}),
    ]
    first = requests(t, calls)
    assert [r.status_code for r in first] == [200, 200, 200, 200]
    # Prospeo's repeat is a free re-enrichment, so ask for someone else there.
    calls[3] = (
        "POST",
        f"{PROSPEO}/enrich-person",
        {
            "json": {
                "data": {"full_name": "Charles Babbage", "company_name": "Analytical Engines"}
            },
            "headers": {"X-KEY": KEY},
        },
    )
    apollo, hunter, pdl, prospeo = requests(t, calls)
    assert apollo.status_code == 402 and apollo.json()["error_code"] == "INSUFFICIENT_CREDITS"
    assert hunter.status_code == 402 and hunter.json()["errors"][0]["code"] == 402
    assert pdl.status_code == 402 and pdl.json()["error"]["type"] == "payment_required"
    assert prospeo.json() == {"error": True, "error_code": "INSUFFICIENT_CREDITS"}
    # another key has its own allowance
    other = request(
        t, "POST", f"{APOLLO}/people/match", json=ADA_APOLLO, headers={"x-api-key": "other"}
    )
    assert other.status_code == 200


def test_key_never_appears_in_any_answer():
    t = transport(credits=0)
    calls = [
        ("POST", f"{APOLLO}/people/match", {"json": ADA_APOLLO, "headers": APOLLO_KEY}),
        ("GET", f"{HUNTER}/email-finder", {"params": {**ADA_HUNTER, "api_key": KEY}}),
        ("GET", f"{HUNTER}/email-verifier", {"params": {"email": "x@y.example", "api_key": KEY}}),
        ("GET", f"{PDL}/person/enrich", {"params": {**ADA_PDL, "api_key": KEY}}),
        ("POST", f"{PROSPEO}/enrich-person", {"json": ADA_PROSPEO, "headers": {"X-KEY": KEY}}),
        ("POST", f"{DROPCONTACT}/enrich/all", {"json": DC_BATCH, "headers": DC_KEY}),
    ]
    for r in requests(t, calls):
        assert KEY not in r.text
        assert all(KEY not in v for v in r.headers.values())
    assert KEY not in repr(t.app.ledger.__dict__)
