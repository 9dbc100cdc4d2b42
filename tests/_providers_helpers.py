# ruff: noqa: E501  (verbatim provider bodies keep their original long lines)
"""Fixtures and helpers for the provider adapter tests.

The ``*_TEXT`` constants are the verbatim JSON example bodies from ``../shared/providers.md``
(the line each starts at is noted), parsed with ``json.loads`` so big integers stay exact.
Bodies marked *synthesized* have no verbatim example in the sources; each says what it is
built from.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

#: A recognizable fake key: tests assert it never shows up where it must not.
FAKE_KEY = "sk-FAKE-gtmkit-7f3a9c1e5b2d-DO-NOT-LEAK"

# Apollo OAS POST /people/match 200 "Result" (providers.md §1, trims as listed there); providers.md line 138.
APOLLO_MATCH_HIT_TEXT = r"""{
  "person": {
    "id": "64a7ff0cc4dfae00013df1a5",
    "first_name": "Tim",
    "last_name": "Zheng",
    "name": "Tim Zheng",
    "linkedin_url": "http://www.linkedin.com/in/tim-zheng-677ba010",
    "title": "Founder & CEO",
    "email_status": "verified",
    "photo_url": "https://static.licdn.com/aero-v1/sc/h/uzfsocwl05iywf1hd7ba3915x",
    "twitter_url": null,
    "github_url": null,
    "facebook_url": null,
    "extrapolated_email_confidence": null,
    "headline": "Founder & CEO at Apollo",
    "email": "tim@apollo.io",
    "organization_id": "5e66b6381e05b4008c8331b8",
    "employment_history": [
      {
        "_id": "66d7af8c200cad0001404c1f",
        "created_at": null,
        "current": true,
        "degree": null,
        "description": null,
        "emails": null,
        "end_date": null,
        "grade_level": null,
        "kind": null,
        "major": null,
        "organization_id": "5e66b6381e05b4008c8331b8",
        "organization_name": "Apollo",
        "raw_address": null,
        "start_date": "2016-01-01",
        "title": "Founder & CEO",
        "updated_at": null,
        "id": "66d7af8c200cad0001404c1f",
        "key": "66d7af8c200cad0001404c1f"
      }
    ],
    "state": "California",
    "city": "San Francisco",
    "country": "United States",
    "revealed_for_current_team": true,
    "organization": {
      "id": "5e66b6381e05b4008c8331b8",
      "name": "Apollo.io",
      "website_url": "http://www.apollo.io",
      "blog_url": null,
      "angellist_url": null,
      "linkedin_url": "http://www.linkedin.com/company/apolloio",
      "twitter_url": "https://twitter.com/meetapollo/",
      "facebook_url": "https://www.facebook.com/MeetApollo",
      "primary_phone": {},
      "languages": [],
      "alexa_ranking": 3514,
      "phone": null,
      "linkedin_uid": "18511550",
      "founded_year": 2015,
      "publicly_traded_symbol": null,
      "publicly_traded_exchange": null,
      "logo_url": "https://zenprospect-production.s3.amazonaws.com/uploads/pictures/79049be00ff8e398b5935de8/picture",
      "crunchbase_url": null,
      "primary_domain": "apollo.io",
      "industry": "information technology & services",
      "estimated_num_employees": 1600,
      "industries": [
        "information technology & services"
      ],
      "secondary_industries": [],
      "snippets_loaded": true,
      "industry_tag_id": "5567cd4773696439b10b0000",
      "industry_tag_hash": {
        "information technology & services": "5567cd4773696439b10b0000"
      },
      "retail_location_count": 0,
      "raw_address": "415 Mission St, Floor 37, San Francisco, California 94105, US",
      "street_address": "415 Mission St",
      "city": "San Francisco",
      "state": "California",
      "postal_code": "94105-2301",
      "country": "United States",
      "owned_by_organization_id": null,
      "num_suborganizations": 0,
      "annual_revenue_printed": "100M",
      "annual_revenue": 100000000,
      "total_funding": 251200000,
      "total_funding_printed": "251.2M",
      "latest_funding_round_date": "2023-08-01T00:00:00.000+00:00",
      "latest_funding_stage": "Series D",
      "org_chart_sector": "OrgChart::SectorHierarchy::Rules::IT",
      "org_chart_removed": false,
      "org_chart_show_department_filter": true
    },
    "is_likely_to_engage": true,
    "show_intent": false,
    "departments": [
      "c_suite"
    ],
    "subdepartments": [
      "executive",
      "founder"
    ],
    "functions": [
      "entrepreneurship"
    ],
    "seniority": "founder"
  },
  "waterfall": {
    "status": "accepted",
    "message": "Waterfall enrichment request accepted. Results will be sent to the provided webhook URL."
  },
  "request_id": 1039995589705121900
}"""
APOLLO_MATCH_HIT: dict[str, Any] = json.loads(APOLLO_MATCH_HIT_TEXT)

# Apollo OAS GET /organizations/enrich 200 "Result" (§1); providers.md line 268.
APOLLO_ORG_HIT_TEXT = r"""{
  "organization": {
    "id": "5e66b6381e05b4008c8331b8",
    "name": "Apollo.io",
    "website_url": "http://www.apollo.io",
    "blog_url": null,
    "angellist_url": null,
    "linkedin_url": "http://www.linkedin.com/company/apolloio",
    "twitter_url": "https://twitter.com/meetapollo/",
    "facebook_url": "https://www.facebook.com/MeetApollo",
    "primary_phone": {},
    "languages": [],
    "num_languages": 0,
    "alexa_ranking": 3514,
    "phone": null,
    "linkedin_uid": "18511550",
    "founded_year": 2015,
    "publicly_traded_symbol": null,
    "publicly_traded_exchange": null,
    "logo_url": "https://zenprospect-production.s3.amazonaws.com/uploads/pictures/79049be00ff8e398b5935de8/picture",
    "crunchbase_url": null,
    "primary_domain": "apollo.io",
    "industry": "information technology & services",
    "estimated_num_employees": 1600,
    "industries": [
      "information technology & services"
    ],
    "secondary_industries": [],
    "snippets_loaded": true,
    "industry_tag_id": "5567cd4773696439b10b0000",
    "industry_tag_hash": {
      "information technology & services": "5567cd4773696439b10b0000"
    },
    "retail_location_count": 0,
    "num_retail_locations": 0,
    "raw_address": "415 Mission St, Floor 37, San Francisco, California 94105, US",
    "street_address": "415 Mission St",
    "city": "San Francisco",
    "state": "California",
    "postal_code": "94105-2301",
    "country": "United States",
    "owned_by_organization_id": null,
    "num_suborganizations": 0,
    "annual_revenue_printed": "100M",
    "annual_revenue": 100000000,
    "total_funding": 251200000,
    "total_funding_printed": "251.2M",
    "latest_funding_round_date": "2023-08-01T00:00:00.000+00:00",
    "latest_funding_stage": "Series D",
    "org_chart_sector": "OrgChart::SectorHierarchy::Rules::IT",
    "org_chart_removed": false,
    "org_chart_show_department_filter": true,
    "account_id": "63f53afe4ceeca00016bdd37",
    "organization_headcount_six_month_growth": 12.3,
    "organization_headcount_twelve_month_growth": 24.6,
    "organization_headcount_twenty_four_month_growth": 48.9
  }
}"""
APOLLO_ORG_HIT: dict[str, Any] = json.loads(APOLLO_ORG_HIT_TEXT)

# Apollo OAS POST /mixed_people/api_search 200 "Result" (§1); providers.md line 332.
APOLLO_SEARCH_HIT_TEXT = r"""{
  "total_entries": 232764882,
  "people": [
    {
      "id": "67bdafd0c3a4c50001bbd7c2",
      "first_name": "Andrew",
      "last_name_obfuscated": "Hu***n",
      "title": "Professor and Neuroscientist at Stanford & Host",
      "last_refreshed_at": "2025-11-04T23:20:32.690+00:00",
      "has_email": true,
      "has_city": true,
      "has_state": true,
      "has_country": true,
      "has_direct_phone": "Yes",
      "organization": {
        "name": "Scicomm Media",
        "has_industry": true,
        "has_phone": false,
        "has_city": true,
        "has_state": true,
        "has_country": true,
        "has_zip_code": false,
        "has_revenue": false,
        "has_employee_count": true
      }
    }
  ]
}"""
APOLLO_SEARCH_HIT: dict[str, Any] = json.loads(APOLLO_SEARCH_HIT_TEXT)

# Apollo legacy rate-limit header sample, headers rendered as JSON (§1); providers.md line 385.
APOLLO_LEGACY_RATE_HEADERS_TEXT = r"""{
    "x-daily-requests-left": 295,
    "x-daily-usage": 5,
    "x-hourly-requests-left": 95,
    "x-hourly-usage": 5,
    "x-minute-requests-left": 45,
    "x-minute-usage": 5,
    "x-rate-limit-daily": 300,
    "x-rate-limit-hourly": 100,
    "x-rate-limit-minute": 50
}"""
APOLLO_LEGACY_RATE_HEADERS: dict[str, Any] = json.loads(APOLLO_LEGACY_RATE_HEADERS_TEXT)

# Apollo OAS 403 organizations/enrich (§1); providers.md line 406.
APOLLO_403_TEXT = r"""{"error": "This API key is not authorized to access api/v1/organizations/enrich. Request an API key from your administrator that includes this endpoint in its configured scope.", "error_code": "API_INACCESSIBLE"}"""
APOLLO_403: dict[str, Any] = json.loads(APOLLO_403_TEXT)

# Apollo OAS 422 organizations/enrich (§1); providers.md line 412.
APOLLO_422_TEXT = r"""{
  "error": "Required parameter 'domain' missing"
}"""
APOLLO_422: dict[str, Any] = json.loads(APOLLO_422_TEXT)

# Apollo OAS 429 people/match (§1); providers.md line 420.
APOLLO_429_TEXT = r"""{"message": "The maximum number of api calls allowed for api/v1/people/match is 600 times per hour. Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade."}"""
APOLLO_429: dict[str, Any] = json.loads(APOLLO_429_TEXT)

# Hunter Email Finder hit (§2); providers.md line 469.
HUNTER_FINDER_HIT_TEXT = r"""{
  "data": {
    "first_name": "Alexis",
    "last_name": "Ohanian",
    "email": "alexis@reddit.com",
    "score": 97,
    "domain": "reddit.com",
    "accept_all": false,
    "position": "Cofounder",
    "twitter": null,
    "linkedin_url": null,
    "phone_number": null,
    "company": "Reddit",
    "sources": [
      { "domain": "redditblog.com", "uri": "http://redditblog.com/2008/10/22/widgets-get-an-upgrade-and-a-firefox-extension-that-will-rock-your-world", "extracted_on": "2018-10-19", "last_seen_on": "2021-05-18", "still_on_page": true }
    ],
    "verification": { "date": "2021-06-14", "status": "valid" }
  },
  "meta": {
    "params": { "first_name": "Alexis", "last_name": "Ohanian", "full_name": null, "domain": "reddit.com", "company": null, "max_duration": null }
  }
}"""
HUNTER_FINDER_HIT: dict[str, Any] = json.loads(HUNTER_FINDER_HIT_TEXT)

# Hunter Email Verifier hit (§2); providers.md line 506.
HUNTER_VERIFIER_HIT_TEXT = r"""{
  "data": {
    "status": "valid",
    "score": 100,
    "email": "patrick@stripe.com",
    "regexp": true,
    "gibberish": false,
    "disposable": false,
    "webmail": false,
    "mx_records": true,
    "smtp_server": true,
    "smtp_check": true,
    "accept_all": false,
    "block": false,
    "sources": [
      { "domain": "beta.paganresearch.io", "uri": "http://beta.paganresearch.io/details/stripe", "extracted_on": "2020-06-17", "last_seen_on": "2020-06-17", "still_on_page": true }
    ]
  },
  "meta": { "params": { "email": "patrick@stripe.com" } }
}"""
HUNTER_VERIFIER_HIT: dict[str, Any] = json.loads(HUNTER_VERIFIER_HIT_TEXT)

# Hunter domain-search wire fixture, byte for byte incl. its _comment key (§2); providers.md line 536.
HUNTER_DOMAIN_SEARCH_FIXTURE_TEXT = r"""{
  "_comment": "Real-shape Domain-Search wire fixture (HUN-20651 Phase 4). Captured to match app/app/views/api/domain_search/show.json.jbuilder EXACTLY, so shouldVerify is exercised against shapes that actually occur on the wire — NOT hand-authored payloads that omit `verification` or hoist `confidence` into the wrong place. Key invariants this fixture pins (verified against the jbuilder): (1) EVERY email entry carries a `verification: { date, status }` block — it is ALWAYS emitted; on a fresh email with no < 1-month EmailVerification row both leaves are null (the dominant case). (2) `confidence` is an ENTRY-level integer 0-100, never nested inside `verification`. (3) `accept_all` exists at BOTH the domain level (`data.accept_all`) and — rarely — per email entry. The default `data.accept_all` here is false; tests flip it via the domainAcceptAll param. (4) The non-null `verification.date` on the valid+high-confidence entry is recent because Rails strips any verification older than EmailVerification::VALIDITY_THRESHOLD = 1.month before rendering — so there is no stale-date arm to test. Mutate (deep-clone) this fixture to build the shouldVerify truth table; do not edit the leaves in place.",
  "data": {
    "domain": "acme.com",
    "disposable": false,
    "webmail": false,
    "accept_all": false,
    "pattern": "{first}",
    "organization": "Acme Inc",
    "linked_domains": [],
    "emails": [
      {
        "value": "olivia.martin@acme.com",
        "type": "personal",
        "confidence": 96,
        "sources": [
          {
            "domain": "acme.com",
            "uri": "http://acme.com/about/team",
            "extracted_on": "2026-02-11",
            "last_seen_on": "2026-06-02",
            "still_on_page": true
          }
        ],
        "first_name": "Olivia",
        "last_name": "Martin",
        "position": "Head of Sales",
        "position_raw": "Head of Sales",
        "seniority": "executive",
        "department": "sales",
        "linkedin": "https://www.linkedin.com/in/olivia-martin",
        "twitter": null,
        "phone_number": null,
        "verification": {
          "date": "2026-06-10",
          "status": "valid"
        }
      },
      {
        "value": "lucas.bernard@acme.com",
        "type": "personal",
        "confidence": 72,
        "sources": [
          {
            "domain": "acme.com",
            "uri": "http://acme.com/blog/author/lucas",
            "extracted_on": "2026-01-08",
            "last_seen_on": "2026-05-22",
            "still_on_page": true
          }
        ],
        "first_name": "Lucas",
        "last_name": "Bernard",
        "position": "VP Sales",
        "position_raw": "VP of Sales",
        "seniority": "executive",
        "department": "sales",
        "linkedin": null,
        "twitter": null,
        "phone_number": null,
        "verification": {
          "date": null,
          "status": null
        }
      },
      {
        "value": "emma.dubois@acme.com",
        "type": "personal",
        "confidence": 88,
        "sources": [
          {
            "domain": "linkedin.com",
            "uri": "https://www.linkedin.com/in/emma-dubois",
            "extracted_on": "2026-03-19",
            "last_seen_on": "2026-06-01",
            "still_on_page": true
          }
        ],
        "first_name": "Emma",
        "last_name": "Dubois",
        "position": "Sales Manager",
        "position_raw": "Sales Manager",
        "seniority": "senior",
        "department": "sales",
        "linkedin": null,
        "twitter": null,
        "phone_number": null,
        "verification": {
          "date": null,
          "status": null
        }
      }
    ]
  },
  "meta": {
    "results": 3,
    "limit": 10,
    "offset": 0,
    "params": {
      "domain": "acme.com",
      "company": null,
      "type": null,
      "seniority": null,
      "department": null
    }
  }
}"""
HUNTER_DOMAIN_SEARCH_FIXTURE: dict[str, Any] = json.loads(HUNTER_DOMAIN_SEARCH_FIXTURE_TEXT)

# Hunter error example (§2); providers.md line 670.
HUNTER_400_TEXT = r"""{
  "errors": [
    {
      "id": "wrong_params",
      "code": 400,
      "details": "You are missing the domain parameter"
    }
  ]
}"""
HUNTER_400: dict[str, Any] = json.loads(HUNTER_400_TEXT)

# PDL person record head wrapped in the documented envelope (§3); providers.md line 756.
PDL_PERSON_HIT_TEXT = r"""{
  "status": 200,
  "likelihood": 10,
  "data": {
    "id": "qEnOZ5Oh0poWnQ1luFBfVw_0000",
    "full_name": "sean thorne",
    "first_name": "sean",
    "middle_initial": "f",
    "middle_name": "fong",
    "last_initial": "t",
    "last_name": "thorne",
    "sex": "male",
    "birth_year": 1990,
    "birth_date": null,
    "linkedin_url": "linkedin.com/in/seanthorne",
    "linkedin_username": "seanthorne",
    "linkedin_id": "145991517",
    "facebook_url": "facebook.com/deseanthorne",
    "facebook_username": "deseanthorne",
    "facebook_id": "1089351304",
    "twitter_url": "twitter.com/seanthorne5",
    "twitter_username": "seanthorne5",
    "github_url": null,
    "github_username": null,
    "work_email": "sean@peopledatalabs.com",
    "personal_emails": [
      "sean.thorne@gmail.com"
    ],
    "recommended_personal_email": "sean.thorne@gmail.com",
    "mobile_phone": "+14155688415",
    "industry": "computer software"
  }
}"""
PDL_PERSON_HIT: dict[str, Any] = json.loads(PDL_PERSON_HIT_TEXT)

# PDL 404 miss body (§3); providers.md line 812.
PDL_404_TEXT = r"""{
    "status": 404,
    "error": {
        "type": "not_found",
        "message": "No records were found matching your request"
    }
}"""
PDL_404: dict[str, Any] = json.loads(PDL_404_TEXT)

# Dropcontact submit response (§8); providers.md line 1115.
DROPCONTACT_SUBMIT_TEXT = r"""{
  "credits_left": 15277,
  "request_id": "qzmxkpvlrtdnhwa",
  "error": false,
  "success": true
}"""
DROPCONTACT_SUBMIT: dict[str, Any] = json.loads(DROPCONTACT_SUBMIT_TEXT)

# Dropcontact 400 error body (§8); providers.md line 1139.
DROPCONTACT_400_TEXT = r"""{
  "error": true,
  "reason": "Too many records, you can only submit up to 250 records",
  "success": false
}"""
DROPCONTACT_400: dict[str, Any] = json.loads(DROPCONTACT_400_TEXT)

# Dropcontact 404 body (§8); providers.md line 1147.
DROPCONTACT_404_TEXT = r"""{
  "detail": "Not Found"
}"""
DROPCONTACT_404: dict[str, Any] = json.loads(DROPCONTACT_404_TEXT)

# Apollo 401: text/plain, not JSON (providers.md §1, verbatim).
APOLLO_401_TEXT = (
    "Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate."
)
# Apollo 400 people/bulk_match (verbatim, §1).
APOLLO_400: dict[str, Any] = {
    "status": "failed",
    "error_code": "INVALID_REQUEST",
    "error_message": "invalid request, missing details",
}
# Apollo miss: *synthesized* — documented only as "200 ... no records have been enriched";
# providers.md's adapter rule reads a missing/null ``person`` as a miss.
APOLLO_MATCH_MISS: dict[str, Any] = {"person": None}

# Hunter domain-search fixture without the fixture file's ``_comment`` key (as §2 says).
HUNTER_DOMAIN_SEARCH: dict[str, Any] = {
    k: v for k, v in HUNTER_DOMAIN_SEARCH_FIXTURE.items() if k != "_comment"
}
# Hunter finder miss: *synthesized* as §2 instructs — the hit with ``email``, ``score`` and
# ``accept_all`` nulled (Hunter's MCP types say the jbuilder always emits them, null on a miss).
HUNTER_FINDER_MISS: dict[str, Any] = json.loads(HUNTER_FINDER_HIT_TEXT)
HUNTER_FINDER_MISS["data"].update(
    {
        "email": None,
        "score": None,
        "accept_all": None,
        "verification": {"date": None, "status": None},
    }
)

# Prospeo: verbatim MCP test mock (§7).
PROSPEO_INVALID_FILTERS: dict[str, Any] = {"error": True, "error_code": "INVALID_FILTERS"}
# Prospeo miss: the documented envelope with the documented NO_MATCH code (§7).
PROSPEO_NO_MATCH: dict[str, Any] = {"error": True, "error_code": "NO_MATCH"}
# Prospeo hit: *synthesized* from Prospeo's first-party TypeScript types (§7 lists every field
# used here); no verbatim full example was retrieved.
PROSPEO_HIT: dict[str, Any] = {
    "error": False,
    "free_enrichment": False,
    "person": {
        "person_id": "aaa111",
        "first_name": "Olivia",
        "last_name": "Martin",
        "full_name": "Olivia Martin",
        "linkedin_url": "https://www.linkedin.com/in/olivia-martin",
        "current_job_title": "Head of Sales",
        "headline": "Head of Sales at Acme",
        "job_history": [
            {
                "title": "Head of Sales",
                "company_name": "Acme Inc",
                "current": True,
                "seniority": "Head",
                "departments": ["Sales"],
            }
        ],
        "email": {
            "status": "VERIFIED",
            "revealed": True,
            "email": "olivia.martin@acme.com",
            "verification_method": "SMTP",
            "email_mx_provider": "Google",
        },
        "mobile": {"status": None, "revealed": False},
    },
    "company": {
        "company_id": "ccc222",
        "name": "Acme Inc",
        "website": "https://acme.com",
        "domain": "acme.com",
        "industry": "Software Development",
        "employee_count": 120,
        "employee_range": "51-200",
    },
}

# Dropcontact result: *synthesized* from the documented result fields (§8: ``email:
# [{"email", "qualification"}]``, ``first_name``, ``last_name``, ``job``, ``linkedin``,
# ``website``, ``company``...); the not-ready body uses the documented reason text.
DROPCONTACT_RESULT_HIT: dict[str, Any] = {
    "data": [
        {
            "civility": "M",
            "first_name": "Lucas",
            "last_name": "Bernard",
            "full_name": "Lucas Bernard",
            "email": [
                {"email": "contact@acme.com", "qualification": "generic@pro"},
                {"email": "lucas.bernard@acme.com", "qualification": "nominative@pro"},
            ],
            "job": "VP Sales",
            "linkedin": "https://www.linkedin.com/in/lucas-bernard",
            "website": "https://www.acme.com",
            "company": "Acme Inc",
        }
    ],
    "error": False,
    "success": True,
    "credits_left": 15276,
}
DROPCONTACT_RESULT_MISS: dict[str, Any] = {
    "data": [{"first_name": "Lucas", "last_name": "Bernard", "company": "Acme Inc"}],
    "error": False,
    "success": True,
    "credits_left": 15277,
}
DROPCONTACT_NOT_READY: dict[str, Any] = {
    "error": False,
    "reason": "Request not ready yet, try again in 30 seconds",
    "success": False,
}

#: The hit body of every synchronous HTTP adapter, by provider name.
HIT_BODIES: dict[str, dict[str, Any]] = {
    "apollo": APOLLO_MATCH_HIT,
    "hunter": HUNTER_FINDER_HIT,
    "hunter_verifier": HUNTER_VERIFIER_HIT,
    "pdl": PDL_PERSON_HIT,
    "prospeo": PROSPEO_HIT,
}

#: A record that every finder can look up.
RECORD: dict[str, Any] = {
    "first_name": "Olivia",
    "last_name": "Martin",
    "company_domain": "acme.com",
    "company_name": "Acme Inc",
}


class Recorder:
    """An ``httpx.MockTransport`` handler that answers from a function and keeps the requests."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def reply(
    status: int = 200, body: Any = None, headers: dict[str, str] | None = None, *, text: str = ""
) -> Callable[[httpx.Request], httpx.Response]:
    """A handler answering every request with one fixed response."""

    def answer(request: httpx.Request) -> httpx.Response:
        if body is not None:
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, text=text, headers=headers)

    return answer


def make(cls: type, answer: Callable[[httpx.Request], httpx.Response], **kwargs: Any):
    """An adapter of ``cls`` on a MockTransport client, with FAKE_KEY; returns (adapter, rec)."""
    recorder = Recorder(answer)
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    kwargs.setdefault("api_key", FAKE_KEY)
    return cls(client, **kwargs), recorder


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run one coroutine to completion (tests stay synchronous; no plugin needed)."""
    return asyncio.run(coro)
