"""Simulated ZoomInfo GTM API (``https://api.zoominfo.com/gtm``).

Served: ``POST /oauth/v1/token`` (client-credentials grant, client id + secret in HTTP Basic
auth, form body ``grant_type=client_credentials``; answers ``{"access_token", "token_type":
"Bearer", "expires_in": 3600}``) and ``POST /data/v1/contacts/enrich`` (``Authorization:
Bearer <token>``, JSON:API body ``{"data": {"type": "ContactEnrich", "attributes":
{"matchPersonInput": [...≤25], "outputFields": [...], "requiredFields": [...]}}}``).

Answers, one ``data`` element per input in input order: a found contact is ``{"type":
"Contact", "id", "attributes": {...}, "meta": {"matchStatus": "FULL_MATCH"}}``; a miss is
``{"type": "NoMatch", "meta": {"matchStatus": "NO_MATCH"}}`` (HTTP 200), and a contact found
without a field in ``requiredFields`` is ``NON_MATCH_BY_REQUIRED_FIELDS``. Billing: 1 credit
per record returned, 0 per no-match, 0 on any error. Errors use ZoomInfo's envelope
``{"errors": [{"code", "status", "title", "detail"}]}``; an unknown, expired or revoked token
is a 401; more than 25 inputs a 400; the rate limit a 429 ``ZI0004`` with ``Retry-After`` and
``X-RateLimit-Rejected-Bucket``. ``X-RateLimit-{Limit,Remaining}-{Second,Hour,Day}`` on every
authenticated answer. Not documented and chosen here: an exhausted allowance answers 402.

Example:
    >>> sorted(ZoomInfoAPI.routes.values())
    ['contacts_enrich', 'token']
"""

from __future__ import annotations

import base64
import time
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from gtmkit.sandbox.http.api import ProviderAPI, as_int, attr, sold_phones
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import BadBody, Exchange, Reply, build_query, clean, json_reply

MAX_INPUTS = 25
#: Plan figures reported in the headers (Standard plan: 25/s, 54,000/h, 648,000/day).
HOUR_LIMIT = 54_000
DAY_LIMIT = 648_000


def _errors(status: int, code: str, title: str, detail: str) -> Reply:
    return json_reply(
        status,
        {
            "errors": [
                {"id": code, "code": code, "status": str(status), "title": title, "detail": detail}
            ],
            "title": title,
            "detail": detail,
        },
    )


class ZoomInfoAPI(ProviderAPI):
    name = "zoominfo"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "/oauth/v1/token"): "token",
        ("POST", "/data/v1/contacts/enrich"): "contacts_enrich",
    }
    #: lifetime of an issued access token, seconds (ZoomInfo: 1 hour)
    token_ttl_s: float = 3600.0

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (client secret, expiry)
        self.tokens_issued = 0

    def revoke_tokens(self) -> None:
        """Invalidate every issued token (the next enrich call gets a 401)."""
        self._tokens.clear()

    # -- auth ------------------------------------------------------------------------------
    def api_key(self, ex: Exchange) -> str | None:
        if ex.path.rstrip("/") == "/oauth/v1/token":
            return self._basic_secret(ex)
        token = self._bearer(ex)
        held = self._tokens.get(token or "")
        if held is None or held[1] < time.monotonic():
            return None
        return held[0]

    @staticmethod
    def _basic_secret(ex: Exchange) -> str | None:
        value = ex.headers.get("authorization", "")
        if value[:6].lower() != "basic ":
            return None
        try:
            decoded = base64.b64decode(value[6:].strip()).decode("utf-8")
        except ValueError:
            return None
        client_id, sep, secret = decoded.partition(":")
        return secret if sep and client_id and secret else None

    # -- errors ----------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return _errors(status, code.upper(), message, message)

    def unauthorized(self, ex: Exchange) -> Reply:
        if ex.path.rstrip("/") == "/oauth/v1/token":
            return json_reply(
                401,
                {"error": "invalid_client", "error_description": "Client authentication failed"},
            )
        return _errors(401, "ZI0001", "Unauthorized", "The access token is invalid or expired")

    def out_of_credits(self, ex: Exchange) -> Reply:
        return _errors(402, "ZI0005", "Payment Required", "Your account has no credits left")

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        reply = _errors(
            429,
            "ZI0004",
            "Too Many Requests",
            "You have exceeded the rate limit for this resource. Please try again later.",
        )
        reply.headers.extend(self.rate_headers(info))
        value = info.retry_after_header
        if value is not None:
            reply.headers.append(("retry-after", value))
        reply.headers.append(("x-ratelimit-rejected-bucket", "second"))
        reply.headers.append(("x-ratelimit-reset", str(int(info.now) + 1)))
        return reply

    def server_error(self, ex: Exchange) -> Reply:
        return _errors(500, "ZI0000", "Internal Server Error", "An unexpected error occurred")

    def bad_body(self, ex: Exchange) -> Reply:
        return _errors(400, "ZI0002", "Bad Request", "The request body is not valid JSON:API")

    def rate_headers(self, info: RateInfo) -> list[tuple[str, str]]:
        second = max(1, round(info.per_second))
        return [
            ("x-ratelimit-limit-second", str(second)),
            ("x-ratelimit-remaining-second", str(second - 1 if info.allowed else 0)),
            ("x-ratelimit-limit-hour", str(HOUR_LIMIT)),
            ("x-ratelimit-remaining-hour", str(max(0, HOUR_LIMIT - info.hour_used))),
            ("x-ratelimit-limit-day", str(DAY_LIMIT)),
            ("x-ratelimit-remaining-day", str(max(0, DAY_LIMIT - info.day_used))),
        ]

    # -- endpoints -------------------------------------------------------------------------
    def token(self, ex: Exchange) -> Reply:
        form = dict(parse_qsl(ex.body.decode("utf-8", errors="replace")))
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        secret = self._basic_secret(ex) or ""
        self.tokens_issued += 1
        token = f"zi-sandbox-token-{self.tokens_issued:06d}"
        self._tokens[token] = (secret, time.monotonic() + self.token_ttl_s)
        return json_reply(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(self.token_ttl_s),
                "scope": form.get("scope") or "api:data:contact",
            },
        )

    def contacts_enrich(self, ex: Exchange) -> Reply:
        body = ex.json()
        if not isinstance(body, dict):
            raise BadBody("body must be a JSON object")
        attributes = (
            (body.get("data") or {}).get("attributes")
            if isinstance(body.get("data"), dict)
            else None
        )
        inputs = attributes.get("matchPersonInput") if isinstance(attributes, dict) else None
        if not isinstance(inputs, list) or not inputs:
            return _errors(400, "ZI0002", "Bad Request", "matchPersonInput is required")
        if len(inputs) > MAX_INPUTS:
            return _errors(
                400, "ZI0003", "Bad Request", f"matchPersonInput accepts at most {MAX_INPUTS} items"
            )
        required = attributes.get("requiredFields") or []
        answers = [self._answer(item) for item in inputs]
        returned = [a for a in answers if a.found and not ("email" in required and not a.email)]
        if returned and not self.can_bill(ex, len(returned)):
            return self.out_of_credits(ex)
        data = []
        for answer in answers:
            if not answer.found:
                data.append({"type": "NoMatch", "id": None, "meta": {"matchStatus": "NO_MATCH"}})
            elif "email" in required and not answer.email:
                data.append(
                    {
                        "type": "NoMatch",
                        "id": None,
                        "meta": {"matchStatus": "NON_MATCH_BY_REQUIRED_FIELDS"},
                    }
                )
            else:
                data.append(self._contact(answer))
        if returned:
            self.bill(ex, len(returned))
        reply = json_reply(200, {"data": data})
        reply.delay_s = max(a.latency_s for a in answers)
        return reply

    def _answer(self, item: Any) -> Any:
        item = item if isinstance(item, dict) else {}
        get = lambda name: clean(item.get(name))  # noqa: E731
        query = build_query(
            email=get("emailAddress"),
            first_name=get("firstName"),
            last_name=get("lastName"),
            full_name=get("fullName"),
            company_name=get("companyName"),
            linkedin_url=get("externalURL"),
        )
        return self.oracle.person(self.name, query)

    @staticmethod
    def _contact(answer: Any) -> dict[str, Any]:
        a = answer.attributes
        domain = attr(a, "company_domain")
        seniority = attr(a, "seniority")
        department = attr(a, "department")
        score = 75 + round(24 * (answer.confidence or 0.0))
        person_number = int(str(answer.person_id).lstrip("p") or 0)
        phones = sold_phones(answer)  # phone = the direct dial; mobilePhone
        return {
            "type": "Contact",
            "id": str(1_000_000_000 + person_number),
            "attributes": {
                "id": 1_000_000_000 + person_number,
                "firstName": attr(a, "first_name"),
                "lastName": attr(a, "last_name"),
                "email": answer.email,
                "jobTitle": attr(a, "title"),
                "managementLevel": [seniority] if seniority else [],
                "jobFunction": [{"name": department}] if department else [],
                "phone": phones.get("direct"),
                "mobilePhone": phones.get("mobile"),
                "contactAccuracyScore": max(75, min(99, score)),
                "externalUrls": [{"type": "linkedin.com", "url": attr(a, "linkedin_url")}],
                "company": {
                    "id": None,
                    "name": attr(a, "company_name"),
                    "website": f"www.{domain}" if domain else None,
                    "employeeCount": as_int(attr(a, "employee_count")),
                    "primaryIndustry": [attr(a, "industry")] if attr(a, "industry") else [],
                },
            },
            "meta": {"matchStatus": "FULL_MATCH"},
        }
