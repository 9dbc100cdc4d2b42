"""Simulated Lusha person API v2 (``https://api.lusha.com``).

Served: ``GET /v2/person`` with the key in the ``api_key`` header and ``linkedinUrl`` |
``email`` | ``firstName`` + ``lastName`` + (``companyName`` | ``companyDomain``). A hit is
``{"contact": {"error": null, "isCreditCharged": true, "data": {...}}}`` and costs 1 credit; a
miss is HTTP 200 ``{"contact": {"error": {"code": 3, "name": "EMPTY_DATA", ...},
"isCreditCharged": false, "data": null}}``, free. Errors in Lusha's envelope ``{"statusCode",
"message"}``: 401 bad key, 402 "Your account requires payment", 400 missing inputs, 429
"Hourly API rate limit exceeded" with ``RateLimit-*`` headers (no Retry-After), and **451** for
a contact in a country listed in ``gdpr_countries`` (empty by default: set it to exercise the
GDPR answer).

Example:
    >>> sorted(LushaAPI.routes.values())
    ['person']
"""

from __future__ import annotations

from typing import Any, ClassVar

from gtmkit.sandbox.http.api import ProviderAPI, attr, sold_phones
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import Exchange, Reply, build_query, json_reply, stable_id

#: How Lusha words a number's type (``phoneType``). "phone" for an office line is an
#: assumption: the v2 schema names the field, its examples show "mobile" and "direct".
LUSHA_PHONE_TYPE = {"mobile": "mobile", "direct": "direct", "office": "phone"}


def _error(status: int, message: str) -> Reply:
    return json_reply(status, {"statusCode": status, "message": message})


class LushaAPI(ProviderAPI):
    name = "lusha"
    routes: ClassVar[dict[tuple[str, str], str]] = {("GET", "/v2/person"): "person"}

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        #: countries whose contacts are withheld with a 451 (GDPR)
        self.gdpr_countries: frozenset[str] = frozenset()

    def api_key(self, ex: Exchange) -> str | None:
        return ex.headers.get("api_key", "").strip() or None

    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return _error(status, message)

    def unauthorized(self, ex: Exchange) -> Reply:
        return _error(401, "Invalid API key")

    def out_of_credits(self, ex: Exchange) -> Reply:
        return _error(402, "Your account requires payment")

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        reply = _error(
            429,
            f"Hourly API rate limit exceeded. Limit: {info.minute_limit * 60} calls per hour. "
            f"Reset in {max(1, round(info.retry_after_s))} seconds",
        )
        reply.headers.extend(self.rate_headers(info))
        return reply

    def rate_headers(self, info: RateInfo) -> list[tuple[str, str]]:
        second = max(1, round(info.per_second))
        daily = info.minute_limit * 60 * 24
        return [
            ("ratelimit-limit", str(second)),
            ("ratelimit-remaining", str(second - 1 if info.allowed else 0)),
            ("ratelimit-reset", str(max(1, round(info.retry_after_s)) if not info.allowed else 1)),
            ("x-ratelimit-remaining-daily", str(max(0, daily - info.day_used))),
        ]

    def person(self, ex: Exchange) -> Reply:
        q = ex.query
        named = (
            q.get("firstName")
            and q.get("lastName")
            and (q.get("companyName") or q.get("companyDomain"))
        )
        if not (q.get("linkedinUrl") or q.get("email") or named or q.get("personId")):
            return _error(400, "Missing required parameters")
        query = build_query(
            linkedin_url=q.get("linkedinUrl"),
            email=q.get("email"),
            first_name=q.get("firstName"),
            last_name=q.get("lastName"),
            company_name=q.get("companyName"),
            company_domain=q.get("companyDomain"),
        )
        answer = self.oracle.person(self.name, query)
        if not answer.found:
            reply = json_reply(
                200,
                {
                    "contact": {
                        "error": {
                            "code": 3,
                            "name": "EMPTY_DATA",
                            "message": "Could not find requested data",
                        },
                        "isCreditCharged": False,
                        "data": None,
                    }
                },
            )
            reply.delay_s = answer.latency_s
            return reply
        a = answer.attributes
        if attr(a, "country") in self.gdpr_countries:
            return _error(451, "Unavailable for legal reasons (GDPR)")
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        self.bill(ex)
        domain = attr(a, "company_domain")
        phones = sold_phones(answer)
        data = {
            "personId": stable_id("lusha", answer.person_id),
            "firstName": attr(a, "first_name"),
            "lastName": attr(a, "last_name"),
            "fullName": attr(a, "full_name"),
            "emailAddresses": [
                {
                    "email": answer.email,
                    "emailType": "work",
                    "emailConfidence": answer.email_status,
                }
            ],
            "phoneNumbers": [
                {"number": number, "phoneType": LUSHA_PHONE_TYPE[kind], "doNotCall": False}
                for kind, number in phones.items()
            ],
            "jobTitle": {
                "title": attr(a, "title"),
                "seniority": attr(a, "seniority"),
                "departments": [attr(a, "department")] if attr(a, "department") else [],
            },
            "company": {"name": attr(a, "company_name"), "fqdn": domain},
            "socialLinks": {"linkedin": attr(a, "linkedin_url")},
        }
        reply = json_reply(200, {"contact": {"error": None, "isCreditCharged": True, "data": data}})
        reply.delay_s = answer.latency_s
        return reply
