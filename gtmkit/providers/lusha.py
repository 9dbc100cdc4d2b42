"""Lusha person API adapter (v2): an email finder keyed by LinkedIn URL, email or name + company.

Real API (``../shared/providers.md`` §6: mirror of Lusha's own OAS, ``api-evangelist/lusha`` @
1fc27a7 ``openapi/_original/lusha-v2-openapi.yaml``, and docs.lusha.com/error-codes):

* ``GET https://api.lusha.com/v2/person``, key in the ``api_key`` **header** (OAS
  securityScheme ``ApiKeyAuth``, in header; a help article says Bearer — the OAS wins).
* Inputs: ``linkedinUrl``, or ``email``, or ``firstName`` + ``lastName`` with ``companyName`` or
  ``companyDomain``.
* Answer: ``{"contact": {"error": ..., "isCreditCharged": bool, "data": {"firstName",
  "lastName", "fullName", "emailAddresses": [{"email", "emailType", "emailConfidence"}],
  "phoneNumbers": [{"number", "phoneType", "doNotCall"}], "jobTitle": {"title", "seniority",
  "departments"}, "company": {"name", "fqdn", ...}, "socialLinks": {"linkedin"}}}}``.
* Miss: HTTP 200 with ``contact.error`` (``{"code": 3, "name": "EMPTY_DATA", "message": "Could
  not find requested data"}``) — "A 200 response does not always mean data was found"
  (error-codes page).
* Billing: ``contact.isCreditCharged`` is the signal ("Check contact.isCreditCharged to confirm
  whether a credit was consumed"): 1 credit when true, 0 when false; no data, no charge.
* Errors: 400, 401 (invalid key), 402 ("Your account requires payment"), 403 (inactive / plan),
  404, 412 (bad full name), 429 (trial limit, "Daily API quota limit exceeded" → out of
  credits for the day; "Hourly API rate limit exceeded ... Reset in X seconds" → rate limited),
  **451 GDPR** (the contact is withheld: :class:`GdprRestricted`, never retried), 499, 5xx.
  Throttle headers ``RateLimit-Limit`` / ``RateLimit-Remaining`` / ``RateLimit-Reset`` (seconds),
  ``X-RateLimit-Remaining-Daily``; no Retry-After (docs prescribe backoff), so a 429's
  ``retry_after`` comes from ``RateLimit-Reset``.
* ``emailConfidence`` grades (``A+``...) are Lusha's own: ``A+`` is read as valid, other grades
  as risky (Lusha publishes no bounce figure per grade).
"""

from __future__ import annotations

from typing import Any, ClassVar

from gtmkit.providers._http import HttpProvider, Reply, as_mapping, first_text
from gtmkit.providers.base import Finding, RateLimit, Record
from gtmkit.providers.errors import BadRequest, RateLimited
from gtmkit.providers.normalize import (
    best_phone,
    normalize_domain,
    normalize_email,
    normalize_linkedin,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import LUSHA as LUSHA_STATUS
from gtmkit.providers.status import found_status


class GdprRestricted(BadRequest):
    """Lusha's HTTP 451: the contact is withheld under GDPR. Not retried, nothing billed; the
    row stays without Lusha's data (the provider stays usable for other rows)."""

    @property
    def kind(self) -> str:
        return "bad_request"


#: Lusha's ``phoneType`` words → the common types (unknown words count as a direct line).
_PHONE_TYPE = {"mobile": "mobile", "direct": "direct", "phone": "office", "office": "office",
               "work": "direct", "landline": "office"}  # fmt: skip


class LushaProvider(HttpProvider):
    """Lusha ``GET /v2/person``.

    Example:
        >>> LushaProvider.auth_header, LushaProvider.endpoint
        ('api_key', 'v2/person')
    """

    name: ClassVar[str] = "lusha"
    api_name: ClassVar[str] = "lusha"
    endpoint: ClassVar[str] = "v2/person"
    default_base_url: ClassVar[str] = "https://api.lusha.com"
    env_var: ClassVar[str | None] = "LUSHA_API_KEY"
    auth_header: ClassVar[str] = "api_key"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("linkedin_url",),
        ("email",),
        ("first_name", "last_name", "company_domain"),
        ("first_name", "last_name", "website"),
        ("first_name", "last_name", "company_name"),
        ("full_name", "company_domain"),
        ("full_name", "company_name"),
    )
    returns: ClassVar[frozenset[str]] = frozenset(
        {
            "email",
            "first_name",
            "last_name",
            "full_name",
            "title",
            "seniority",
            "linkedin_url",
            "phone",
            "phone_type",
            "company_name",
            "company_domain",
        }
    )
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: One credit per person revealed (``isCreditCharged``), none when nothing is found.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.10 per credit, a rough figure not checked against Lusha's price
    #: page. Override per run.
    price_per_credit: ClassVar[float] = 0.10
    #: Plan-specific and unpublished; 10/s is a conservative assumption.
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=10.0, max_in_flight=10)
    listing_order: ClassVar[int] = 62

    def lookup_key(self, record: Record) -> str:
        # one input set is sent, the first present of: LinkedIn, email, name + company
        params = self._params(record)
        if "linkedinUrl" in params:
            return "li=" + normalize_linkedin(record.get("linkedin_url"))
        if "email" in params:
            return "email=" + normalize_email(record.get("email"))
        return person_key(record, linkedin=False)

    def legacy_lookup_key(self, record: Record) -> str | None:
        return person_key(record, use_email=True)

    def _params(self, record: Record) -> dict[str, Any]:
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin:
            return {"linkedinUrl": "https://www." + linkedin}
        email = normalize_email(record.get("email"))
        if email:
            return {"email": email}
        first, last = record_names(record)
        params: dict[str, Any] = {"firstName": first, "lastName": last}
        domain = record_domain(record)
        if domain:
            params["companyDomain"] = domain
        else:
            params["companyName"] = text(record.get("company_name"))
        return params

    async def _lookup(self, record: Record) -> Finding:
        reply = await self._send("GET", "v2/person", params=self._params(record))
        if reply.status == 451:
            error = GdprRestricted(
                f"{self.name}: HTTP 451 — Lusha withholds this contact under GDPR",
                provider=self.name,
                http_status=451,
            )
            error.code = "GDPR"
            error.body = reply.body
            raise error
        try:
            self._check(reply)
        except RateLimited as error:
            if error.retry_after is None:
                error.retry_after = _reset_seconds(reply)
            raise
        contact = as_mapping(reply.body.get("contact"))
        credits = 1.0 if contact.get("isCreditCharged") is True else 0.0
        data = as_mapping(contact.get("data"))
        if contact.get("error") or not data:
            word = first_text(as_mapping(contact.get("error")).get("name"))
            return self._finding(reply, "miss", provider_status=word, credits=credits)
        job = as_mapping(data.get("jobTitle"))
        company = as_mapping(data.get("company"))
        phones = [as_mapping(p) for p in data.get("phoneNumbers") or []]
        phone = best_phone(
            (p.get("number"), _PHONE_TYPE.get(str(p.get("phoneType") or "").lower(), "direct"))
            for p in phones
            if not p.get("doNotCall")  # a number flagged do-not-call is not one to dial
        )
        fields = {
            "first_name": first_text(data.get("firstName")),
            "last_name": first_text(data.get("lastName")),
            "full_name": first_text(data.get("fullName")),
            "title": first_text(job.get("title")),
            "seniority": first_text(job.get("seniority")),
            "linkedin_url": first_text(as_mapping(data.get("socialLinks")).get("linkedin")),
            **phone,
            "company_name": first_text(company.get("name")),
            "company_domain": normalize_domain(company.get("fqdn")) or None,
        }
        work = [
            as_mapping(e)
            for e in data.get("emailAddresses") or []
            if first_text(as_mapping(e).get("email"))
        ]
        work.sort(key=lambda e: e.get("emailType") != "work")
        if not work:
            return self._finding(reply, self._phone_outcome(fields), fields=fields, credits=credits)
        best = work[0]
        word = first_text(best.get("emailConfidence"))
        fields["email"] = str(best["email"]).strip().lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=found_status(self.name, word, table=LUSHA_STATUS),
            provider_status=word,
            credits=credits,
        )


def _reset_seconds(reply: Reply) -> float | None:
    headers = {k.lower(): v for k, v in reply.headers.items()}
    try:
        value = float(headers.get("ratelimit-reset", ""))
    except ValueError:
        return None
    return max(0.0, value)


__all__ = ["GdprRestricted", "LushaProvider"]
