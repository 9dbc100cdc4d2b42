"""Simulated People Data Labs API (``https://api.peopledatalabs.com/v5``).

Served: ``GET /person/enrich`` (POST with a JSON body accepted too) and ``GET /company/enrich``
(flat body). Auth: ``X-Api-Key`` header or ``api_key`` query parameter. A hit is
``{"status": 200, "likelihood": N, "data": {...}}`` with ``work_email``; a miss is **404**
``{"status": 404, "error": {"type": "not_found", ...}}`` and is not billed. Every answer carries
``x-ratelimit-limit`` / ``x-ratelimit-remaining`` as JSON objects and ``x-ratelimit-reset`` as a
UTC timestamp, never Retry-After; hits carry ``x-call-credits-spent``. Exhausted credits → 402.
"""

from __future__ import annotations

import functools
import json
import time
from typing import Any, ClassVar

from gtmkit.sandbox.http.api import (
    SIMULATED_TODAY,
    ProviderAPI,
    as_int,
    attr,
    sold_phones,
    split_name,
)
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import (
    Exchange,
    Reply,
    build_query,
    clean,
    json_reply,
    looks_like_domain,
    stable_id,
)

NOT_FOUND_MESSAGE = "No records were found matching your request"
COMPANY_LATENCY_S = 0.4
_SIZES = (
    (10, "1-10"),
    (50, "11-50"),
    (200, "51-200"),
    (500, "201-500"),
    (1000, "501-1000"),
    (5000, "1001-5000"),
    (10000, "5001-10000"),
)
_LEVELS = {
    "c_suite": ["cxo"],
    "c-suite": ["cxo"],
    "executive": ["cxo"],
    "founder": ["owner", "cxo"],
    "owner": ["owner"],
    "partner": ["partner"],
    "vp": ["vp"],
    "director": ["director"],
    "head": ["director"],
    "manager": ["manager"],
    "senior": ["senior"],
    "entry": ["entry"],
    "junior": ["entry"],
    "intern": ["training"],
}
_PLACES = frozenset({"locality", "region", "company", "school", "location", "postal_code"})
_DIRECT = frozenset({"profile", "email", "phone", "email_hash", "lid", "pdl_id"})
_PERSON_MINIMUM = (
    "profile, email, phone, email_hash, lid, pdl_id or ((first_name and last_name) or name) "
    "and (locality or region or company or school or location or postal_code)"
)


@functools.lru_cache(maxsize=16)
def _limit_json(per_minute: int) -> str:
    return json.dumps({"minute": per_minute, "day": None, "month": None})


@functools.lru_cache(maxsize=4)
def _utc_stamp(epoch_s: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def size_range(count: Any) -> str | None:
    n = as_int(count)
    if n is None:
        return None
    for bound, label in _SIZES:
        if n <= bound:
            return label
    return "10001+"


def _pdl_id(*parts: object) -> str:
    raw = stable_id("pdl", *parts, size=16)
    return raw[:28]


def _bare_url(url: Any) -> str | None:
    """PDL writes URLs without scheme or ``www.``: ``linkedin.com/in/seanthorne``."""
    if not url:
        return None
    text = str(url).lower().split("://", 1)[-1]
    return text[4:] if text.startswith("www.") else text


def _likelihood(confidence: float | None) -> int:
    if confidence is None:
        return 8
    value = confidence * 10 if confidence <= 1.0 else confidence / 10
    return max(1, min(10, round(value)))


class PDLAPI(ProviderAPI):
    name = "pdl"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("GET", "/person/enrich"): "person_enrich",
        ("POST", "/person/enrich"): "person_enrich",
        ("GET", "/company/enrich"): "company_enrich",
    }

    def api_key(self, ex: Exchange) -> str | None:
        return ex.headers.get("x-api-key", "").strip() or ex.query.get("api_key", "").strip()

    # -- errors -------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        kind = {
            400: "invalid_request_error",
            401: "authentication_error",
            402: "payment_required",
            404: "not_found",
            405: "invalid_request_error",
            429: "rate_limit_error",
        }.get(status, "api_error")
        return json_reply(status, {"status": status, "error": {"type": kind, "message": message}})

    def unauthorized(self, ex: Exchange) -> Reply:
        return self.error(ex, 401, "", "Missing or invalid API key")

    def out_of_credits(self, ex: Exchange) -> Reply:
        return self.error(ex, 402, "", "You have reached your account maximum (all matches used)")

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        reply = self.error(
            ex, 429, "", "Rate limit exceeded. Please wait before making more requests."
        )
        reply.headers.extend(self._limit_headers(info, remaining=0))
        return reply

    def server_error(self, ex: Exchange) -> Reply:
        return self.error(ex, 500, "", "An unexpected error occurred. Please try again.")

    def bad_body(self, ex: Exchange) -> Reply:
        return self.error(ex, 400, "", "Request body must be a JSON object")

    def rate_headers(self, info: RateInfo) -> list[tuple[str, str]]:
        return self._limit_headers(info, remaining=info.minute_left)

    @staticmethod
    def _limit_headers(info: RateInfo, *, remaining: int) -> list[tuple[str, str]]:
        # Reset: when the next request will be accepted if throttled, else the window's end.
        wait = info.retry_after_s if not info.allowed else info.minute_reset_s
        reset = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + wait + 0.999))
        return [
            (
                "x-ratelimit-limit",
                json.dumps({"minute": info.minute_limit, "day": None, "month": None}),
            ),
            ("x-ratelimit-remaining", json.dumps({"minute": remaining})),
            ("x-ratelimit-reset", reset),
        ]

    def _credit_headers(self, ex: Exchange, spent: float, kind: str) -> list[tuple[str, str]]:
        key = ex.key_id or ""
        return [
            ("x-call-credits-spent", f"{spent:g}"),
            ("x-call-credits-type", kind),
            ("x-totallimit-remaining", str(int(self.ledger.remaining(self.name, key)))),
            ("x-lifetime-used", str(int(self.ledger.used(self.name, key)))),
        ]

    def _not_found(self, ex: Exchange, latency: float, kind: str) -> Reply:
        reply = self.error(ex, 404, "", NOT_FOUND_MESSAGE)
        reply.headers.extend(self._credit_headers(ex, 0, kind))
        reply.delay_s = latency
        return reply

    # -- endpoints -------------------------------------------------------------------------
    def person_enrich(self, ex: Exchange) -> Reply:
        given = {name: text for name, value in self.params(ex).items() if (text := clean(value))}
        get = given.get
        named = ("first_name" in given and "last_name" in given) or "name" in given
        placed = not given.keys().isdisjoint(_PLACES)
        direct = not given.keys().isdisjoint(_DIRECT)
        if not direct and not (named and placed):
            return self.error(
                ex, 400, "", f"Request object must contain at least one of: {_PERSON_MINIMUM}"
            )
        min_likelihood = as_int(get("min_likelihood")) or 0
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        company = get("company")
        by_domain = company is not None and looks_like_domain(company)
        query = build_query(
            first_name=get("first_name"),
            last_name=get("last_name"),
            full_name=get("name"),
            email=get("email"),
            linkedin_url=get("profile"),
            phone=get("phone"),
            company_domain=company if by_domain else None,
            company_name=None if by_domain else company,
            country=get("country"),
        )
        answer = self.oracle.person(self.name, query)
        if not answer.found:
            return self._not_found(ex, answer.latency_s, "enrich")
        likelihood = _likelihood(answer.confidence)
        required = (get("required") or "").lower()
        if likelihood < min_likelihood or (
            ("work_email" in required or "emails" in required) and not answer.email
        ):
            return self._not_found(ex, answer.latency_s, "enrich")
        spent = self.bill(ex)
        data = self._person(answer, titlecase=(get("titlecase") or "").lower() == "true")
        reply = json_reply(200, {"status": 200, "likelihood": likelihood, "data": data})
        reply.headers.extend(self._credit_headers(ex, spent, "enrich"))
        reply.delay_s = answer.latency_s
        return reply

    @staticmethod
    def _person(answer: Any, *, titlecase: bool) -> dict[str, Any]:
        a = answer.attributes
        first, last, full = split_name(
            attr(a, "first_name"), attr(a, "last_name"), attr(a, "full_name")
        )

        def text(value: Any) -> Any:
            if not isinstance(value, str):
                return value
            return value.title() if titlecase else value.lower()

        linkedin = _bare_url(attr(a, "linkedin_url"))
        domain = attr(a, "company_domain")
        seniority = str(attr(a, "seniority") or "").lower()
        department = attr(a, "department")
        return {
            "id": _pdl_id("person", answer.person_id),
            "full_name": text(full),
            "first_name": text(first),
            "middle_initial": None,
            "middle_name": None,
            "last_initial": text(last[0]) if last else None,
            "last_name": text(last),
            "sex": None,
            "birth_year": None,
            "birth_date": None,
            "linkedin_url": linkedin,
            "linkedin_username": linkedin.rsplit("/", 1)[-1] if linkedin else None,
            "linkedin_id": None,
            "facebook_url": None,
            "facebook_username": None,
            "facebook_id": None,
            "twitter_url": None,
            "twitter_username": None,
            "github_url": None,
            "github_username": None,
            "work_email": answer.email,
            "personal_emails": [],
            "recommended_personal_email": None,
            "mobile_phone": sold_phones(answer).get("mobile"),
            "phone_numbers": list(sold_phones(answer).values()),
            "industry": text(attr(a, "industry")),
            "job_title": text(attr(a, "title")),
            "job_title_role": text(department),
            "job_title_sub_role": None,
            "job_title_class": None,
            "job_title_levels": _LEVELS.get(seniority, []),
            "job_company_id": _pdl_id("company", domain) if domain else None,
            "job_company_name": text(attr(a, "company_name")),
            "job_company_website": domain,
            "job_company_size": size_range(attr(a, "employee_count")),
            "job_company_industry": text(attr(a, "industry")),
            "job_company_employee_count": as_int(attr(a, "employee_count")),
            "job_company_linkedin_url": None,
            "job_start_date": attr(a, "start_date"),
            "job_last_changed": None,
            "job_last_verified": SIMULATED_TODAY,
            "location_country": text(attr(a, "country")),
        }

    def company_enrich(self, ex: Exchange) -> Reply:
        p = self.params(ex)
        get = lambda name: clean(p.get(name))  # noqa: E731
        if not any(get(n) for n in ("pdl_id", "name", "ticker", "website", "profile")):
            return self.error(
                ex,
                400,
                "",
                "Request object must contain at least one of: pdl_id, name, ticker, website, "
                "profile",
            )
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        query = build_query(company_domain=get("website"), company_name=get("name"))
        company = self.oracle.company(self.name, query) if query else None
        if company is None:
            return self._not_found(ex, COMPANY_LATENCY_S, "enrich_company")
        spent = self.bill(ex)
        name = str(company.get("name") or "")
        domain = company.get("domain")
        count = as_int(company.get("employee_count"))
        industry = company.get("industry")
        body = {
            "status": 200,
            "name": name.lower() or None,
            "display_name": name or None,
            "size": size_range(count),
            "employee_count": count,
            "id": _pdl_id("company", domain or name),
            "founded": as_int(company.get("founded_year")),
            "industry": str(industry).lower() if industry else None,
            "location": {
                "country": str(company.get("country") or "").lower() or None,
                "continent": None,
                "region": None,
            },
            "linkedin_url": _bare_url(company.get("linkedin_url")),
            "website": domain,
            "ticker": None,
            "type": "private",
            "summary": None,
            "tags": [],
            "likelihood": 8,
        }
        reply = json_reply(200, body)
        reply.headers.extend(self._credit_headers(ex, spent, "enrich_company"))
        reply.delay_s = COMPANY_LATENCY_S
        return reply
