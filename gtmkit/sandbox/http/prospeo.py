"""Simulated Prospeo API (``https://api.prospeo.io``).

Served: ``POST /enrich-person``, ``POST /enrich-company`` and the free ``GET
/account-information``. Auth: ``X-KEY`` header. Success is ``{"error": false, "free_enrichment":
bool, "person": {... "email": {"status", "revealed", "email"}}, "company": {...}}``; failures are
``{"error": true, "error_code": ...}`` — the body is authoritative, the HTTP status follows
Prospeo's historical use (``NO_MATCH`` and ``INSUFFICIENT_CREDITS`` 400, ``INVALID_API_KEY``
401, ``RATE_LIMITED`` 429). Billing: 1 credit per match (10 with a revealed mobile), nothing on
``NO_MATCH``, and nothing when the same key enriches the same record again
(``free_enrichment: true``).
"""

from __future__ import annotations

from typing import Any, ClassVar

from gtmkit.sandbox.http.api import ProviderAPI, as_int, attr, sold_phones, split_name
from gtmkit.sandbox.http.pdl import size_range
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import (
    BadBody,
    Exchange,
    Reply,
    build_query,
    clean,
    json_reply,
    stable_id,
)

COMPANY_LATENCY_S = 0.4
MOBILE_CREDITS = 10


def _failure(status: int, code: str) -> Reply:
    return json_reply(status, {"error": True, "error_code": code})


class ProspeoAPI(ProviderAPI):
    name = "prospeo"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "/enrich-person"): "enrich_person",
        ("POST", "/enrich-company"): "enrich_company",
        ("GET", "/account-information"): "account_information",
    }

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._enriched: set[tuple[str, str]] = set()  # (key digest, record id) already paid

    def api_key(self, ex: Exchange) -> str | None:
        return ex.headers.get("x-key", "").strip() or None

    # -- errors -------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        codes = {404: "INVALID_REQUEST", 405: "INVALID_REQUEST"}
        return _failure(status, codes.get(status, code.upper()))

    def unauthorized(self, ex: Exchange) -> Reply:
        return _failure(401, "INVALID_API_KEY")

    def out_of_credits(self, ex: Exchange) -> Reply:
        return _failure(400, "INSUFFICIENT_CREDITS")

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        reply = _failure(429, "RATE_LIMITED")
        reply.headers.extend(self.rate_headers(info))
        return reply

    def server_error(self, ex: Exchange) -> Reply:
        return _failure(500, "INTERNAL_ERROR")

    def bad_body(self, ex: Exchange) -> Reply:
        return _failure(400, "INVALID_REQUEST")

    def rate_headers(self, info: RateInfo) -> list[tuple[str, str]]:
        daily = info.minute_limit * 60 * 24
        return [
            ("x-daily-request-left", str(max(0, daily - info.day_used))),
            ("x-minute-request-left", str(info.minute_left if info.allowed else 0)),
            ("x-second-rate-limit", str(max(1, round(info.per_second)))),
            ("x-daily-reset-seconds", str(int(info.day_reset_s))),
            ("x-minute-reset-seconds", str(int(info.minute_reset_s))),
        ]

    def _data(self, ex: Exchange) -> dict[str, Any] | None:
        body = ex.json()
        if not isinstance(body, dict):
            raise BadBody("body must be a JSON object")
        data = body.get("data")
        return data if isinstance(data, dict) else None

    # -- endpoints -------------------------------------------------------------------------
    def enrich_person(self, ex: Exchange) -> Reply:
        data = self._data(ex)
        if data is None:
            return _failure(400, "INVALID_REQUEST")
        options = ex.json()
        get = lambda name: clean(data.get(name))  # noqa: E731
        named = (get("first_name") and get("last_name")) or get("full_name")
        company = get("company_name") or get("company_website") or get("company_linkedin_url")
        if not (get("linkedin_url") or get("email") or get("person_id") or (named and company)):
            return _failure(400, "INVALID_DATAPOINTS")
        key = ex.key_id or ""
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        query = build_query(
            first_name=get("first_name"),
            last_name=get("last_name"),
            full_name=get("full_name"),
            email=get("email"),
            linkedin_url=get("linkedin_url"),
            company_name=get("company_name"),
            company_domain=get("company_website"),
        )
        answer = self.oracle.person(self.name, query)
        verified_only = options.get("only_verified_email") is True
        if not answer.found or (verified_only and answer.email_status != "VERIFIED"):
            reply = _failure(400, "NO_MATCH")
            reply.delay_s = answer.latency_s
            return reply
        a = answer.attributes
        with_mobile = options.get("enrich_mobile") is True and "mobile" in sold_phones(answer)
        record = (key, f"{answer.person_id}|{with_mobile}")
        free = record in self._enriched
        if not free:
            self.bill(ex, MOBILE_CREDITS if with_mobile else 1)
            if not ex.dry:
                self._enriched.add(record)
        body = {
            "error": False,
            "free_enrichment": free,
            "person": self._person(answer, with_mobile),
            "company": self._company(a),
        }
        reply = json_reply(200, body)
        reply.delay_s = answer.latency_s
        return reply

    @staticmethod
    def _person(answer: Any, with_mobile: bool) -> dict[str, Any]:
        a = answer.attributes
        first, last, full = split_name(
            attr(a, "first_name"), attr(a, "last_name"), attr(a, "full_name")
        )
        title = attr(a, "title")
        department = attr(a, "department")
        phone = sold_phones(answer).get("mobile") if with_mobile else None
        if answer.email:
            email = {
                "status": answer.email_status or "UNVERIFIED",
                "revealed": True,
                "email": answer.email,
                "verification_method": "SMTP" if answer.email_status == "VERIFIED" else None,
                "email_mx_provider": None,
            }
        else:
            email = {"status": None, "revealed": False, "email": None}
        return {
            "person_id": stable_id("prospeo", answer.person_id),
            "first_name": first,
            "last_name": last,
            "full_name": full,
            "linkedin_url": attr(a, "linkedin_url"),
            "current_job_title": title,
            "headline": title,
            "job_history": [
                {
                    "title": title,
                    "company_name": attr(a, "company_name"),
                    "current": True,
                    "start_year": None,
                    "start_month": None,
                    "end_year": None,
                    "end_month": None,
                    "seniority": attr(a, "seniority"),
                    "departments": [department] if department else [],
                }
            ],
            "location": {"country": attr(a, "country"), "state": None, "city": None},
            "skills": [],
            "email": email,
            "mobile": {
                "status": "VERIFIED" if phone else None,
                "revealed": bool(phone),
                "mobile": phone,
                "mobile_national": None,
                "mobile_international": phone,
                "mobile_country": None,
                "mobile_country_code": None,
            },
        }

    @staticmethod
    def _company(c: Any) -> dict[str, Any] | None:
        domain = attr(c, "company_domain") or attr(c, "domain")
        name = attr(c, "company_name") or attr(c, "name")
        if not (domain or name):
            return None
        count = as_int(attr(c, "employee_count"))
        return {
            "company_id": stable_id("prospeo-company", domain or name),
            "name": name,
            "website": f"https://{domain}" if domain else None,
            "domain": domain,
            "industry": attr(c, "industry"),
            "employee_count": count,
            "employee_range": size_range(count),
            "linkedin_url": attr(c, "linkedin_url"),
            "founded": as_int(attr(c, "founded_year")),
            "location": {"country": attr(c, "country"), "state": None, "city": None},
        }

    def enrich_company(self, ex: Exchange) -> Reply:
        data = self._data(ex)
        if data is None:
            return _failure(400, "INVALID_REQUEST")
        get = lambda name: clean(data.get(name))  # noqa: E731
        if not (get("company_website") or get("company_name") or get("company_linkedin_url")):
            return _failure(400, "INVALID_DATAPOINTS")
        key = ex.key_id or ""
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        query = build_query(company_domain=get("company_website"), company_name=get("company_name"))
        company = self.oracle.company(self.name, query) if query else None
        if company is None:
            reply = _failure(400, "NO_MATCH")
            reply.delay_s = COMPANY_LATENCY_S
            return reply
        record = (key, f"company|{company.get('domain') or company.get('name')}")
        free = record in self._enriched
        if not free:
            self.bill(ex)
            if not ex.dry:
                self._enriched.add(record)
        reply = json_reply(
            200, {"error": False, "free_enrichment": free, "company": self._company(company)}
        )
        reply.delay_s = COMPANY_LATENCY_S
        return reply

    def account_information(self, ex: Exchange) -> Reply:
        key = ex.key_id or ""
        return json_reply(
            200,
            {
                "error": False,
                "response": {
                    "current_plan": "SANDBOX",
                    "remaining_credits": int(self.ledger.remaining(self.name, key)),
                    "used_credits": int(self.ledger.used(self.name, key)),
                    "next_quota_renewal_days": 30,
                    "next_quota_renewal_date": "2026-07-01 00:00:00+00:00",
                },
            },
        )
