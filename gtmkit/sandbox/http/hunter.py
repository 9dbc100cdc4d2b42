"""Simulated Hunter.io API (``https://api.hunter.io/v2``).

Served: ``GET /email-finder``, ``GET /email-verifier`` (statuses valid / invalid / accept_all /
webmail / disposable / unknown; now and then 202 "still running" on a first request), ``GET`` or
``POST /domain-search``, and the free ``GET /account`` (credits used / available). Auth:
``api_key`` query parameter, ``X-API-KEY`` header or ``Authorization: Bearer``. Errors use the
``{"errors": [{"id", "code", "details"}]}`` envelope. Billing: finder 1 credit only when an email
is found; verifier 1 only for valid / invalid / accept_all; domain search 1 per 10 emails returned.

Hunter's sources disagree on its throttle and quota statuses, so both are served (set on
``app.apis["hunter"]``):

* ``throttle_status`` 403 (default): "403 — You have reached the rate limit", no Retry-After
  (hunter.io/api-documentation/v2); 429: a 429 with ``Retry-After``, as Hunter's own MCP server
  reads it (hunter-io/chatgpt-mcp, src/helpers.ts).
* ``quota_status`` 402 (default): "You have reached your usage limit. Please log in to Hunter to
  upgrade your plan or purchase additional credits." (the 402 Hunter's MCP server handles); 429:
  "You have reached your usage limit. Upgrade your plan" (the API reference's 429).
"""

from __future__ import annotations

import math
import re
from typing import Any, ClassVar

from gtmkit.sandbox.http.api import SIMULATED_TODAY, ProviderAPI, attr, percent, retry_after
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import (
    Exchange,
    Reply,
    build_query,
    clean,
    json_reply,
    looks_like_domain,
    normalize_domain,
    unit_float,
)

CHARGED_VERIFIER_STATUSES = frozenset({"valid", "invalid", "accept_all"})
SEARCH_LATENCY_S = 0.5
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PATTERN_TOKEN = re.compile(r"first|last|f|l")

_SENIORITY = {
    "executive": "executive",
    "c_suite": "executive",
    "c-suite": "executive",
    "founder": "executive",
    "owner": "executive",
    "partner": "executive",
    "vp": "executive",
    "head": "executive",
    "director": "senior",
    "manager": "senior",
    "senior": "senior",
}


def hunter_seniority(value: Any) -> str | None:
    """World seniority → Hunter's junior / senior / executive."""
    if not value:
        return None
    return _SENIORITY.get(str(value).lower(), "junior")


def hunter_pattern(pattern: Any) -> str | None:
    """``first.last`` → ``{first}.{last}`` (Hunter's pattern syntax)."""
    if not pattern:
        return None
    text = str(pattern)
    if "{" in text:
        return text
    return _PATTERN_TOKEN.sub(lambda m: "{" + m.group(0) + "}", text)


class HunterAPI(ProviderAPI):
    name = "hunter"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("GET", "/email-finder"): "email_finder",
        ("GET", "/email-verifier"): "email_verifier",
        ("GET", "/domain-search"): "domain_search",
        ("POST", "/domain-search"): "domain_search",
        ("GET", "/account"): "account",
    }

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._verifications_seen: set[tuple[str, str]] = set()
        #: how a throttle is answered: 403 (the API reference) or 429 + Retry-After (the MCP)
        self.throttle_status = 403
        #: how a used-up quota is answered: 402 (the MCP) or 429 (the API reference)
        self.quota_status = 402

    def api_key(self, ex: Exchange) -> str | None:
        return (
            ex.query.get("api_key", "").strip()
            or ex.headers.get("x-api-key", "").strip()
            or self._bearer(ex)
        )

    # -- errors -------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return json_reply(status, {"errors": [{"id": code, "code": status, "details": message}]})

    def unauthorized(self, ex: Exchange) -> Reply:
        return self.error(
            ex, 401, "authentication_failed", "No user found for the API key supplied"
        )

    def out_of_credits(self, ex: Exchange) -> Reply:
        if self.quota_status == 429:  # the API reference: "429 — usage limit reached"
            return self.error(
                ex, 429, "usage_limit", "You have reached your usage limit. Upgrade your plan"
            )
        return self.error(
            ex,
            402,
            "usage_limit",
            "You have reached your usage limit. Please log in to Hunter to upgrade your plan "
            "or purchase additional credits.",
        )

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        if self.throttle_status == 429:  # Hunter's MCP server: 429 with Retry-After
            reply = self.error(ex, 429, "too_many_requests", "Too many requests, slow down.")
            reply.headers.extend(retry_after(info))
            return reply
        # Hunter documents 403 for "You have reached the rate limit" (429 is the usage limit).
        return self.error(ex, 403, "rate_limited", "You have reached the rate limit.")

    def server_error(self, ex: Exchange) -> Reply:
        return self.error(
            ex, 500, "internal_error", "Something went wrong on our side. Please try again."
        )

    def bad_body(self, ex: Exchange) -> Reply:
        return self.error(ex, 400, "wrong_params", "The request body is not valid JSON")

    # -- endpoints -------------------------------------------------------------------------
    def email_finder(self, ex: Exchange) -> Reply:
        q = ex.query
        domain, company = clean(q.get("domain")), clean(q.get("company"))
        handle = clean(q.get("linkedin_handle"))
        first, last = clean(q.get("first_name")), clean(q.get("last_name"))
        full = clean(q.get("full_name"))
        if not (domain or company or handle):
            return self.error(
                ex, 400, "wrong_params", "You are missing the domain or company parameter"
            )
        if not handle and not ((first and last) or full):
            return self.error(
                ex,
                400,
                "wrong_params",
                "You are missing the first_name and last_name or full_name parameters",
            )
        if domain and not looks_like_domain(normalize_domain(domain) or ""):
            return self.error(ex, 400, "invalid_domain", "The domain is invalid")
        max_duration = clean(q.get("max_duration"))
        if max_duration is not None and (
            not max_duration.isdigit() or not 3 <= int(max_duration) <= 20
        ):
            return self.error(
                ex, 400, "invalid_max_duration", "max_duration should be between 3 and 20"
            )
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        query = build_query(
            first_name=first,
            last_name=last,
            full_name=full,
            company_domain=domain,
            company_name=company,
            linkedin_url=handle,
        )
        answer = self.oracle.person(self.name, query)
        meta = {
            "params": {
                "first_name": first,
                "last_name": last,
                "full_name": full,
                "domain": domain,
                "company": company,
                "max_duration": max_duration,
            }
        }
        if answer.found and answer.email:
            self.bill(ex)
            a = answer.attributes
            status = answer.email_status
            data = {
                "first_name": attr(a, "first_name") or first,
                "last_name": attr(a, "last_name") or last,
                "email": answer.email,
                "score": percent(answer.confidence),
                "domain": answer.email.rsplit("@", 1)[-1],
                "accept_all": bool(answer.catch_all),
                "position": attr(a, "title"),
                "twitter": None,
                "linkedin_url": attr(a, "linkedin_url"),
                "phone_number": attr(a, "phone"),
                "company": attr(a, "company_name"),
                "sources": [],
                "verification": {
                    "date": SIMULATED_TODAY if status else None,
                    "status": status,
                },
            }
        else:
            # Hunter's miss: 200, the person fields echoed, email/score/accept_all null.
            data = {
                "first_name": first,
                "last_name": last,
                "email": None,
                "score": None,
                "domain": normalize_domain(domain) if domain else None,
                "accept_all": None,
                "position": None,
                "twitter": None,
                "linkedin_url": None,
                "phone_number": None,
                "company": company,
                "sources": [],
                "verification": {"date": None, "status": None},
            }
        reply = json_reply(200, {"data": data, "meta": meta})
        reply.delay_s = answer.latency_s
        return reply

    def email_verifier(self, ex: Exchange) -> Reply:
        email = clean(ex.query.get("email"))
        if email is None:
            return self.error(ex, 400, "wrong_params", "You are missing the email parameter")
        email = email.lower()
        if not _EMAIL.match(email):
            return self.error(ex, 400, "invalid_email", "The email address is invalid")
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        answer = self.app.oracle.verify(email)
        meta = {"params": {"email": email}}
        seen_key = (ex.key_id or "", email)
        first_time = seen_key not in self._verifications_seen
        if not ex.dry:
            self._verifications_seen.add(seen_key)
        if (
            first_time
            and self.app.verifier_pending_rate > 0
            and unit_float(self.app.seed, "hunter-202", email) < self.app.verifier_pending_rate
        ):
            # Still running: 202, not charged; the same request later gets the result.
            reply = json_reply(202, {"data": _verification(email, None), "meta": meta})
            reply.delay_s = answer.latency_s
            return reply
        if answer.status in CHARGED_VERIFIER_STATUSES:
            self.bill(ex)
        reply = json_reply(200, {"data": _verification(email, answer), "meta": meta})
        reply.delay_s = answer.latency_s
        return reply

    def domain_search(self, ex: Exchange) -> Reply:
        p = self.params(ex)
        domain, company = clean(p.get("domain")), clean(p.get("company"))
        if not (domain or company):
            return self.error(
                ex, 400, "wrong_params", "You are missing the domain or company parameter"
            )
        limit_raw, offset_raw = clean(p.get("limit")), clean(p.get("offset"))
        try:
            limit = int(limit_raw) if limit_raw is not None else 10
            offset = int(offset_raw) if offset_raw is not None else 0
        except ValueError:
            limit, offset = -1, -1
        if not 1 <= limit <= 100 or offset < 0:
            return self.error(
                ex, 400, "wrong_params", "limit must be between 1 and 100, offset must be >= 0"
            )
        kind = clean(p.get("type"))
        seniority = {s.strip() for s in (clean(p.get("seniority")) or "").split(",") if s.strip()}
        departments = {
            d.strip().lower() for d in (clean(p.get("department")) or "").split(",") if d.strip()
        }
        titles = tuple(t.strip() for t in (clean(p.get("job_titles")) or "").split(",") if t)
        query = build_query(company_domain=domain, company_name=company)
        company_info = self.oracle.company(self.name, query)
        entries: list[dict[str, Any]] = []
        if company_info is not None and kind != "generic":
            items = self.oracle.search_people(self.name, company=query, titles=titles, limit=1000)
            for item in items:
                if not item.get("email"):
                    continue
                level = hunter_seniority(item.get("seniority"))
                dept = (item.get("department") or "").lower() or None
                if seniority and level not in seniority:
                    continue
                if departments and dept not in departments:
                    continue
                entries.append(_domain_entry(item, level, dept))
        page = entries[offset : offset + limit]
        if page:
            self.bill(ex, math.ceil(len(page) / 10))
        found_domain = (company_info or {}).get("domain") or normalize_domain(domain)
        data = {
            "domain": found_domain,
            "disposable": False,
            "webmail": False,
            "accept_all": bool((company_info or {}).get("catch_all")),
            "pattern": hunter_pattern((company_info or {}).get("email_pattern")),
            "organization": (company_info or {}).get("name"),
            "linked_domains": [],
            "emails": page,
        }
        meta = {
            "results": len(entries),
            "limit": limit,
            "offset": offset,
            "params": {
                "domain": domain,
                "company": company,
                "type": kind,
                "seniority": clean(p.get("seniority")),
                "department": clean(p.get("department")),
            },
        }
        reply = json_reply(200, {"data": data, "meta": meta})
        reply.delay_s = SEARCH_LATENCY_S
        return reply

    def account(self, ex: Exchange) -> Reply:
        key = ex.key_id or ""
        used = self.ledger.used(self.name, key)
        allowance = self.ledger.allowance(self.name)
        data = {
            "first_name": "Sandbox",
            "last_name": "User",
            "email": "sandbox@example.com",
            "plan_name": "Sandbox",
            "plan_level": 1,
            "reset_date": "2026-07-01",
            "team_id": 1,
            "requests": {
                "searches": {"used": used, "available": allowance},
                "verifications": {"used": 0, "available": 0},
            },
        }
        return json_reply(200, {"data": data})


def _verification(email: str, answer: Any) -> dict[str, Any]:
    if answer is None:  # 202: still running
        return {
            "status": "unknown",
            "score": None,
            "email": email,
            "regexp": True,
            "gibberish": False,
            "disposable": None,
            "webmail": None,
            "mx_records": None,
            "smtp_server": None,
            "smtp_check": None,
            "accept_all": None,
            "block": None,
            "sources": [],
        }
    mx = answer.status != "invalid" or answer.smtp_check
    return {
        "status": answer.status,
        "score": answer.score,
        "email": email,
        "regexp": True,
        "gibberish": False,
        "disposable": answer.status == "disposable",
        "webmail": bool(answer.webmail),
        "mx_records": bool(mx),
        "smtp_server": bool(mx),
        "smtp_check": bool(answer.smtp_check),
        "accept_all": bool(answer.accept_all),
        "block": False,
        "sources": [],
    }


def _domain_entry(item: Any, level: str | None, dept: str | None) -> dict[str, Any]:
    linkedin = item.get("linkedin_url")
    confidence = item.get("confidence")
    return {
        "value": item["email"],
        "type": "personal",
        "confidence": percent(confidence) if isinstance(confidence, (int, float)) else None,
        "sources": [],
        "first_name": item.get("first_name"),
        "last_name": item.get("last_name"),
        "position": item.get("title"),
        "position_raw": item.get("title"),
        "seniority": level,
        "department": dept,
        "linkedin": linkedin,
        "twitter": None,
        "phone_number": None,
        "verification": {"date": None, "status": None},
    }
