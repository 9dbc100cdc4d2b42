"""Simulated Findymail API (``https://app.findymail.com/api``).

Served: ``POST /search/name`` with ``Authorization: Bearer <key>`` and JSON ``{"name",
"domain"}`` (a domain or a company name). A hit is ``{"contact": {"name", "email",
"domain"}}`` and costs 1 credit; a miss is ``{"contact": null}`` (HTTP 200), free. Errors: 401
``{"message": "Unauthenticated."}``, 402 ``{"error": "Not enough credits"}``, 422 for a body
without name or domain, 429 ``{"message": "Too Many Attempts."}`` with ``Retry-After``.

Example:
    >>> sorted(FindymailAPI.routes.values())
    ['search_name']
"""

from __future__ import annotations

from typing import ClassVar

from gtmkit.sandbox.http.api import ProviderAPI, attr, retry_after
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import (
    BadBody,
    Exchange,
    Reply,
    build_query,
    clean,
    json_reply,
    looks_like_domain,
)


class FindymailAPI(ProviderAPI):
    name = "findymail"
    routes: ClassVar[dict[tuple[str, str], str]] = {("POST", "/search/name"): "search_name"}

    def api_key(self, ex: Exchange) -> str | None:
        return self._bearer(ex)

    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return json_reply(status, {"message": message})

    def unauthorized(self, ex: Exchange) -> Reply:
        return json_reply(401, {"message": "Unauthenticated."})

    def out_of_credits(self, ex: Exchange) -> Reply:
        return json_reply(402, {"error": "Not enough credits"})

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        return json_reply(429, {"message": "Too Many Attempts."}, retry_after(info))

    def search_name(self, ex: Exchange) -> Reply:
        body = ex.json()
        if not isinstance(body, dict):
            raise BadBody("body must be a JSON object")
        name, where = clean(body.get("name")), clean(body.get("domain"))
        if not name or not where:
            return json_reply(422, {"message": "The name and domain fields are required."})
        if looks_like_domain(where):
            query = build_query(full_name=name, company_domain=where)
        else:
            query = build_query(full_name=name, company_name=where)
        answer = self.oracle.person(self.name, query)
        if not answer.found:
            reply = json_reply(200, {"contact": None})
            reply.delay_s = answer.latency_s
            return reply
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        self.bill(ex)
        a = answer.attributes
        reply = json_reply(
            200,
            {
                "contact": {
                    "name": attr(a, "full_name"),
                    "email": answer.email,
                    "domain": attr(a, "company_domain"),
                }
            },
        )
        reply.delay_s = answer.latency_s
        return reply
