"""LeadMagic adapter: email finder by name + company, pay on hit.

Real API (leadmagic.io/docs/reference/email-finder and leadmagic.io/docs/v1/developer-
experience, read through the search tool):

* ``POST https://api.leadmagic.io/v1/people/email-finder``, key in the ``X-API-Key`` header,
  JSON ``{"first_name", "last_name", "full_name", "domain", "company_name"}`` ("You MUST put in
  the Company Domain or Company Name. Company Domain is always more accurate").
* Answer: ``{"email", "status", "credits_consumed", "message", "first_name", "last_name",
  "domain", "employment_verified", "company_name", "company_size", ...}``.
* ``status``: ``valid`` ("100% valid … Low bounce rate < 1%"), ``valid_catch_all`` (catch-all
  domain with engagement evidence, "Higher bounce rate to be expected. 3-5%"), ``catch_all``
  ("Very risky to email"), ``not_found`` (no email).
* Billing: "Cost 1 credit per email found … FREE if no email found" — ``credits_consumed`` in
  the answer is the signal (the rule applies when it is missing or not a number ≥ 0).
* Headers: ``RateLimit-Limit`` (per minute, e.g. 3000), ``RateLimit-Remaining``,
  ``RateLimit-Reset`` (seconds), ``X-Credits-Remaining``; errors as RFC 9457 problem+json.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from gtmkit.providers._http import HttpProvider, first_text
from gtmkit.providers.base import NAME_AT_COMPANY, Finding, RateLimit, Record
from gtmkit.providers.normalize import (
    normalize_domain,
    normalize_name,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import LEADMAGIC, found_status


class LeadMagicProvider(HttpProvider):
    """LeadMagic ``POST /v1/people/email-finder``.

    Example:
        >>> LeadMagicProvider.auth_header, round(LeadMagicProvider.rate_limit.per_second)
        ('X-API-Key', 50)
    """

    name: ClassVar[str] = "leadmagic"
    api_name: ClassVar[str] = "leadmagic"
    endpoint: ClassVar[str] = "v1/people/email-finder"
    default_base_url: ClassVar[str] = "https://api.leadmagic.io"
    env_var: ClassVar[str | None] = "LEADMAGIC_API_KEY"
    auth_header: ClassVar[str] = "X-API-Key"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = NAME_AT_COMPANY
    returns: ClassVar[frozenset[str]] = frozenset(
        {"email", "first_name", "last_name", "company_name", "company_domain"}
    )
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: "1 credit per email found", free otherwise.
    max_credits: ClassVar[float] = 1.0
    #: "LeadMagic ~55% ($0.05)" per found email (astragtm, ../shared/field-notes.md §4.1).
    price_per_credit: ClassVar[float] = 0.05
    #: ``RateLimit-Limit`` example 3,000 requests per minute (developer-experience page).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=3000 / 60, max_in_flight=50)
    listing_order: ClassVar[int] = 66

    def lookup_key(self, record: Record) -> str:
        # the body is the names, the domain and the company name: no LinkedIn; and the
        # full name as given, which is news only when it is not the first and last name
        key = person_key(record, linkedin=False, company_always=True)
        first, last = record_names(record)
        full = normalize_name(record.get("full_name"))
        return f"{key};full={full}" if full and full != normalize_name(f"{first} {last}") else key

    def legacy_lookup_key(self, record: Record) -> str | None:
        return person_key(record)

    def _body(self, record: Record) -> dict[str, Any]:
        first, last = record_names(record)
        body: dict[str, Any] = {}
        if first and last:
            body["first_name"], body["last_name"] = first, last
        full = text(record.get("full_name")) or f"{first} {last}".strip()
        if full:
            body["full_name"] = full
        domain = record_domain(record)
        if domain:
            body["domain"] = domain
        if text(record.get("company_name")):
            body["company_name"] = text(record.get("company_name"))
        return body

    async def _lookup(self, record: Record) -> Finding:
        reply = await self._send("POST", "v1/people/email-finder", json_body=self._body(record))
        self._check(reply)
        body: Mapping[str, Any] = reply.body
        word = first_text(body.get("status"))
        email = first_text(body.get("email"))
        found = bool(email and "@" in email) and word != "not_found"
        credits = _consumed(body.get("credits_consumed"), 1.0 if found else 0.0)
        fields = {
            "first_name": first_text(body.get("first_name")),
            "last_name": first_text(body.get("last_name")),
            "company_name": first_text(body.get("company_name")),
            "company_domain": normalize_domain(body.get("domain")) or None,
        }
        if not found:
            return self._finding(
                reply, "miss", fields=fields, provider_status=word, credits=credits
            )
        assert email is not None
        fields["email"] = email.lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=found_status(self.name, word, table=LEADMAGIC),
            provider_status=word,
            credits=credits,
        )


def _consumed(value: Any, default: float) -> float:
    if value is None or isinstance(value, bool):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) and number >= 0 else default


__all__ = ["LeadMagicProvider"]
