"""Simulated LeadMagic API (``https://api.leadmagic.io``).

Served: ``POST /v1/people/email-finder`` with the ``X-API-Key`` header and JSON ``{"first_name",
"last_name", "full_name", "domain", "company_name"}``. Answer ``{"email", "status",
"credits_consumed", "message", ...}`` with ``status`` ``valid`` / ``valid_catch_all`` /
``catch_all`` (1 credit) or ``not_found`` (``email: null``, 0 credits), always HTTP 200.
Errors as RFC 9457 problem+json (``{"type", "title", "status", "detail"}``): 401, 402, 400 for
a body without a name or a company, 429 with ``RateLimit-*`` and ``Retry-After``.
``RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` and ``X-Credits-Remaining`` on every
authenticated answer.

Example:
    >>> sorted(LeadMagicAPI.routes.values())
    ['email_finder']
"""

from __future__ import annotations

from typing import ClassVar

from gtmkit.sandbox.http.api import ProviderAPI, attr, retry_after
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import BadBody, Exchange, Reply, build_query, clean, json_reply

_MESSAGES = {
    "valid": "Valid email found.",
    "valid_catch_all": "Valid catch-all email found.",
    "catch_all": "Catch-all email found.",
    "not_found": "No email found.",
}


def _problem(status: int, title: str, detail: str) -> Reply:
    reply = json_reply(
        status,
        {
            "type": f"https://leadmagic.io/docs/errors/{status}",
            "title": title,
            "status": status,
            "detail": detail,
        },
    )
    reply.content_type = "application/problem+json"
    return reply


class LeadMagicAPI(ProviderAPI):
    name = "leadmagic"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "/v1/people/email-finder"): "email_finder"
    }

    def api_key(self, ex: Exchange) -> str | None:
        return ex.headers.get("x-api-key", "").strip() or self._bearer(ex)

    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return _problem(status, code, message)

    def unauthorized(self, ex: Exchange) -> Reply:
        return _problem(401, "Unauthorized", "Missing or invalid API key: send X-API-Key")

    def out_of_credits(self, ex: Exchange) -> Reply:
        return _problem(402, "Payment Required", "Insufficient credits")

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        reply = _problem(429, "Too Many Requests", "Rate limit exceeded")
        reply.headers.extend(self.rate_headers(info))
        reply.headers.extend(retry_after(info))
        return reply

    def rate_headers(self, info: RateInfo) -> list[tuple[str, str]]:
        return [
            ("ratelimit-limit", str(info.minute_limit)),
            ("ratelimit-remaining", str(info.minute_left if info.allowed else 0)),
            ("ratelimit-reset", str(int(info.minute_reset_s))),
        ]

    def email_finder(self, ex: Exchange) -> Reply:
        body = ex.json()
        if not isinstance(body, dict):
            raise BadBody("body must be a JSON object")
        get = lambda name: clean(body.get(name))  # noqa: E731
        named = (get("first_name") and get("last_name")) or get("full_name")
        if not named or not (get("domain") or get("company_name")):
            return _problem(400, "Bad Request", "A name and a company domain or name are required")
        query = build_query(
            first_name=get("first_name"),
            last_name=get("last_name"),
            full_name=None if get("first_name") and get("last_name") else get("full_name"),
            company_domain=get("domain"),
            company_name=None if get("domain") else get("company_name"),
        )
        answer = self.oracle.person(self.name, query)
        key = ex.key_id or ""
        if answer.found and not self.can_bill(ex):
            return self.out_of_credits(ex)
        charged = self.bill(ex) if answer.found else 0.0
        a = answer.attributes
        status = answer.email_status if answer.found else "not_found"
        reply = json_reply(
            200,
            {
                "email": answer.email if answer.found else None,
                "status": status,
                "credits_consumed": charged,
                "message": _MESSAGES.get(status or "", ""),
                "first_name": attr(a, "first_name"),
                "last_name": attr(a, "last_name"),
                "domain": attr(a, "company_domain"),
                "company_name": attr(a, "company_name"),
                "employment_verified": bool(answer.found and answer.email_current),
            },
            [("x-credits-remaining", str(int(self.ledger.remaining(self.name, key))))],
        )
        reply.delay_s = answer.latency_s
        return reply
