"""Prospeo adapter: person enrichment as an email finder.

Real API: ``https://api.prospeo.io``, key in the ``X-KEY`` header, JSON ``POST``.

* ``POST /enrich-person`` body ``{"data": {first_name, last_name | full_name, company_website |
  company_name, linkedin_url}, "only_verified_email": false, "enrich_mobile": false}``.
  Envelope: ``{"error": false, "free_enrichment": bool, "person": {...}, "company": {...}}``.
  Hit: ``person.email.email`` present (and not ``revealed: false``). Status
  ``person.email.status`` (``VERIFIED`` → valid, ``UNVERIFIED`` → risky).
* Miss: ``{"error": true, "error_code": "NO_MATCH"}`` whatever the HTTP status (the body flag is
  authoritative). Other ``error_code`` values (``INSUFFICIENT_CREDITS``, ``RATE_LIMITED``,
  ``INVALID_API_KEY``...) become typed errors in :mod:`gtmkit.providers.errors`.

Billing (Prospeo's docs via ``../shared/providers.md`` §7): "1 credit per match", "with a mobile
10 credit per match", nothing on NO_MATCH, and nothing when Prospeo says
``free_enrichment: true`` (the same record enriched before in the account's lifetime) — that
flag and a revealed mobile are Prospeo's billing signals in the answer.
Throttle: 429 ``RATE_LIMITED``; ``x-minute-request-left`` / ``x-daily-request-left`` headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from gtmkit.providers._http import HttpProvider, as_mapping, first_text
from gtmkit.providers.base import Finding, RateLimit, Record
from gtmkit.providers.normalize import (
    best_phone,
    normalize_domain,
    normalize_linkedin,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import found_status

_MISS_CODES = frozenset({"NO_MATCH", "NO_RESULTS"})
#: "Enriching a person record with a mobile cost 10 credit per match" (Prospeo's docs).
MOBILE_CREDITS = 10.0


class ProspeoProvider(HttpProvider):
    """Prospeo ``/enrich-person``.

    Example:
        >>> ProspeoProvider.auth_header, ProspeoProvider.rate_limit.per_second
        ('X-KEY', 5.0)
    """

    name: ClassVar[str] = "prospeo"
    api_name: ClassVar[str] = "prospeo"
    endpoint: ClassVar[str] = "enrich-person"
    default_base_url: ClassVar[str] = "https://api.prospeo.io"
    env_var: ClassVar[str | None] = "PROSPEO_API_KEY"
    auth_header: ClassVar[str] = "X-KEY"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("first_name", "last_name", "company_domain"),
        ("first_name", "last_name", "website"),
        ("first_name", "last_name", "company_name"),
        ("full_name", "company_domain"),
        ("full_name", "website"),
        ("full_name", "company_name"),
        ("linkedin_url",),
    )
    returns: ClassVar[frozenset[str]] = frozenset(
        {
            "email",
            "first_name",
            "last_name",
            "full_name",
            "title",
            "linkedin_url",
            "phone",
            "phone_type",
            "company_name",
            "company_domain",
            "employee_count",
            "industry",
        }
    )
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: 1: a mobile (10 credits) is only enriched when asked, and ``enrich_mobile`` is always
    #: false here. A revealed mobile in an answer is still counted as 10 — a charge beyond
    #: ``max_credits``, on which the engine stops the provider.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.04 per credit, a rough figure for Prospeo's entry plan, not
    #: checked against the current price page. Override per run.
    price_per_credit: ClassVar[float] = 0.04
    #: Enrich endpoints on Starter/Growth: 5 requests/s (300/min).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=5.0, max_in_flight=5)
    listing_order: ClassVar[int] = 40

    def want_fields(self, fields: frozenset[str]) -> None:
        """A step that fills ``phone`` asks for the mobile (``enrich_mobile``), 10 credits a
        match instead of 1; its lookups are keyed apart from email-only ones."""
        super().want_fields(fields)
        self.max_credits = MOBILE_CREDITS if self.wants_mobile else 1.0  # type: ignore[misc]

    @property
    def wants_mobile(self) -> bool:
        return "phone" in self.wanted_fields

    def lookup_key(self, record: Record) -> str:
        key = person_key(record)
        return f"{key}|mobile" if self.wants_mobile else key

    def _body(self, record: Record) -> dict[str, Any]:
        data: dict[str, Any] = {}
        first, last = record_names(record)
        if first and last:
            data["first_name"], data["last_name"] = first, last
        elif text(record.get("full_name")):
            data["full_name"] = text(record.get("full_name"))
        domain = record_domain(record)
        if domain:
            data["company_website"] = domain
        elif text(record.get("company_name")):
            data["company_name"] = text(record.get("company_name"))
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin:
            data["linkedin_url"] = "https://www." + linkedin
        return {
            "data": data,
            "only_verified_email": False,
            "enrich_mobile": self.wants_mobile,
            "only_verified_mobile": False,
        }

    async def _lookup(self, record: Record) -> Finding:
        reply = await self._send("POST", "enrich-person", json_body=self._body(record))
        body = reply.body
        if (
            isinstance(body, Mapping)
            and body.get("error") is True
            and body.get("error_code") in _MISS_CODES
        ):
            return self._finding(reply, "miss", provider_status=str(body.get("error_code")))
        self._check(reply)
        person = body.get("person")
        company = as_mapping(body.get("company"))
        if not isinstance(person, Mapping):
            return self._finding(reply, "miss")
        email_obj = as_mapping(person.get("email"))
        mobile = as_mapping(person.get("mobile"))
        revealed_mobile = mobile.get("revealed") is True and bool(
            first_text(mobile.get("mobile"), mobile.get("mobile_international"))
        )
        credits = 0.0
        if body.get("free_enrichment") is not True:
            credits = MOBILE_CREDITS if revealed_mobile else 1.0
        fields = {
            "first_name": first_text(person.get("first_name")),
            "last_name": first_text(person.get("last_name")),
            "full_name": first_text(person.get("full_name")),
            "title": first_text(person.get("current_job_title")),
            "linkedin_url": first_text(person.get("linkedin_url")),
            **(
                best_phone([(mobile.get("mobile_international") or mobile.get("mobile"), "mobile")])
                if mobile.get("revealed") is not False
                else {}
            ),
            "company_name": first_text(company.get("name")),
            "company_domain": normalize_domain(company.get("domain"))
            or normalize_domain(company.get("website"))
            or None,
            "employee_count": company.get("employee_count")
            if isinstance(company.get("employee_count"), int)
            else None,
            "industry": first_text(company.get("industry")),
        }
        email = first_text(email_obj.get("email"))
        word = first_text(email_obj.get("status"))
        if not email or email_obj.get("revealed") is False or "@" not in email:
            # A matched person without a usable email is still "a match" for billing.
            return self._finding(
                reply,
                self._phone_outcome(fields),
                fields=fields,
                provider_status=word,
                credits=credits,
            )
        fields["email"] = email.lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=found_status(self.name, word),
            provider_status=word,
            credits=credits,
        )


__all__ = ["ProspeoProvider"]
