"""People Data Labs adapter: person enrichment (email finder) and company enrichment.

Real API: ``https://api.peopledatalabs.com/v5``, key in the ``X-Api-Key`` header.

* ``GET /person/enrich`` with ``first_name`` + ``last_name`` (or ``name``) and ``company``
  (domain or name), or ``profile`` (LinkedIn URL). Hit: 200 with ``data.work_email``.
  Miss: **404** ``{"status": 404, "error": {"type": "not_found", ...}}`` (not billed).
  A 200 without a usable work email is a miss that is still billed (PDL charges per match).
  PDL has no email status: ``likelihood`` (1–10) is *match* confidence, not deliverability, so
  a returned email is ``risky`` (unverified database email) and ``confidence = likelihood/10``.
  On plans without contact-data access PDL may send ``true`` instead of the email: read as a
  miss with ``fields["email_hidden"] = True``.
* ``GET /company/enrich`` (``website`` or ``name``): a *flat* body (no ``data`` wrapper).

Credits: the ``x-call-credits-spent`` header when present, else 1 per 200 match and 0 on 404.
Throttle: ``x-ratelimit-remaining`` / ``x-ratelimit-limit`` JSON objects and
``x-ratelimit-reset`` (a UTC timestamp, also used as retry-after on 429; PDL sends no
``Retry-After``). 402 = all matches used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from gtmkit.providers._http import HttpProvider, Reply, as_confidence, first_text
from gtmkit.providers.base import Finding, RateLimit, Record
from gtmkit.providers.errors import MalformedResponse
from gtmkit.providers.normalize import (
    best_phone,
    normalize_domain,
    normalize_linkedin,
    normalize_name,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import PDL_FOUND


def _credits_spent(reply: Reply, default: float) -> float:
    """PDL's own billing signal, the ``x-call-credits-spent`` header; ``default`` (the
    documented rule) when it is missing or not a finite, non-negative number."""
    headers = {k.lower(): v for k, v in reply.headers.items()}
    value = headers.get("x-call-credits-spent")
    if value is None:
        return default
    try:
        spent = float(value)
    except ValueError:
        return default
    return spent if math.isfinite(spent) and spent >= 0 else default


def _is_not_found(reply: Reply) -> bool:
    if reply.status != 404:
        return False
    body = reply.body
    if not isinstance(body, Mapping):
        return True  # a bare 404 from PDL's enrich endpoints is a miss
    error = body.get("error")
    kind = error.get("type") if isinstance(error, Mapping) else None
    if isinstance(kind, list):
        kind = kind[0] if kind else None
    return kind in (None, "not_found")


class PDLProvider(HttpProvider):
    """PDL person enrichment as an email finder, plus :meth:`enrich_company`.

    Example:
        >>> PDLProvider.endpoint, PDLProvider.env_var
        ('person/enrich', 'PDL_API_KEY')
    """

    name: ClassVar[str] = "pdl"
    api_name: ClassVar[str] = "pdl"
    endpoint: ClassVar[str] = "person/enrich"
    default_base_url: ClassVar[str] = "https://api.peopledatalabs.com/v5"
    env_var: ClassVar[str | None] = "PDL_API_KEY"
    auth_header: ClassVar[str] = "X-Api-Key"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("first_name", "last_name", "company_domain"),
        ("first_name", "last_name", "website"),
        ("first_name", "last_name", "company_name"),
        ("full_name", "company_domain"),
        ("full_name", "website"),
        ("full_name", "company_name"),
        ("linkedin_url",),
        ("email",),
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
            "employee_count",
            "industry",
            "country",
        }
    )
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: "We charge per match" (docs.peopledatalabs.com via ../shared/providers.md §3): one person
    #: enrichment is 1 credit, a 404 is free. The header can report more; the engine then stops
    #: the provider rather than exceed what it reserved.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.25 per person match, a rough figure for PDL's self-serve plans
    #: (Clay charges 2.5× Hunter's credits for PDL, ../shared/field-notes.md), not checked
    #: against the current price page. Override per run.
    price_per_credit: ClassVar[float] = 0.25
    #: Paid plans: 1,000 person enrichments per minute (free: 100/min).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=1000 / 60, max_in_flight=16)
    listing_order: ClassVar[int] = 30

    def lookup_key(self, record: Record) -> str:
        return person_key(record, use_email=True)

    def _person_params(self, record: Record) -> dict[str, Any]:
        params: dict[str, Any] = {}
        first, last = record_names(record)
        if first and last:
            params["first_name"], params["last_name"] = first, last
        elif text(record.get("full_name")):
            params["name"] = text(record.get("full_name"))
        params["company"] = record_domain(record) or text(record.get("company_name")) or None
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin:
            params["profile"] = linkedin
        email = text(record.get("email")).lower()
        if email:
            params["email"] = email
        return params

    async def _lookup(self, record: Record) -> Finding:
        reply = await self._send("GET", "person/enrich", params=self._person_params(record))
        if _is_not_found(reply):
            return self._finding(reply, "miss", credits=_credits_spent(reply, 0.0))
        self._check(reply)
        data = reply.body.get("data")
        if not isinstance(data, Mapping):
            raise MalformedResponse(
                f"{self.name}: person/enrich {reply.status} without a data object",
                provider=self.name,
                http_status=reply.status,
            )
        credits = _credits_spent(reply, 1.0)
        likelihood = reply.body.get("likelihood")
        fields = _person_fields(data)
        work_email = data.get("work_email")
        confidence = as_confidence(likelihood, scale=10.0)
        provider_status = None  # PDL has no email status word; likelihood is in confidence
        if work_email is True:  # plan without contact data: present but hidden
            fields["email_hidden"] = True
        email = first_text(work_email)
        if not email:
            return self._finding(
                reply,
                self._phone_outcome(fields),
                fields=fields,
                confidence=confidence,
                provider_status=provider_status,
                credits=credits,
            )
        fields["email"] = email.lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=PDL_FOUND,
            provider_status=provider_status,
            confidence=confidence,
            credits=credits,
        )

    # -- company enrichment --------------------------------------------------------------
    async def enrich_company(self, company: str | Record) -> Finding:
        """Company enrichment (``GET /company/enrich``) by website/domain, or by name.

        Args:
            company: a domain / website, or a record with ``company_domain``, ``website`` or
                ``company_name``.
        """
        params = self._company_params(company)
        return await self._safely("company/enrich", self._enrich_company(params))

    def _company_params(self, company: str | Record) -> dict[str, Any]:
        if isinstance(company, str):
            return {"website": normalize_domain(company)}
        domain = record_domain(company)
        if domain:
            return {"website": domain}
        return {"name": text(company.get("company_name"))}

    def company_key(self, company: str | Record) -> str:
        """Lookup key of :meth:`enrich_company`."""
        params = self._company_params(company)
        if "website" in params:
            return "domain=" + str(params["website"])
        return "company=" + normalize_name(params["name"])

    async def _enrich_company(self, params: Mapping[str, Any]) -> Finding:
        reply = await self._send("GET", "company/enrich", params=params)
        if _is_not_found(reply):
            return self._finding(
                reply, "miss", endpoint="company/enrich", credits=_credits_spent(reply, 0.0)
            )
        self._check(reply)
        body = reply.body
        fields = {
            "company_name": first_text(body.get("display_name"), body.get("name")),
            "company_domain": normalize_domain(body.get("website")) or None,
            "website": first_text(body.get("website")),
            "linkedin_url": first_text(body.get("linkedin_url")),
            "employee_count": _int(body.get("employee_count")),
            "size": first_text(body.get("size")),
            "industry": first_text(body.get("industry")),
            "founded_year": _int(body.get("founded")),
            "country": _location_country(body.get("location")),
        }
        return self._finding(
            reply,
            "hit",
            endpoint="company/enrich",
            fields=fields,
            confidence=as_confidence(body.get("likelihood"), scale=10.0),
            credits=_credits_spent(reply, 1.0),
        )


def _person_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    levels = data.get("job_title_levels") or []
    return {
        "first_name": first_text(data.get("first_name")),
        "last_name": first_text(data.get("last_name")),
        "full_name": first_text(data.get("full_name")),
        "title": first_text(data.get("job_title")),
        "seniority": levels[0] if isinstance(levels, list) and levels else None,
        "department": first_text(data.get("job_title_role")),
        "linkedin_url": first_text(data.get("linkedin_url")),
        # mobile_phone is the mobile; other phone_numbers carry no type (taken as direct)
        **best_phone(
            [(data.get("mobile_phone"), "mobile")]
            + [(n, "direct") for n in data.get("phone_numbers") or [] if isinstance(n, str)],
            _location_country(data.get("location")) or None,
        ),
        "company_name": first_text(data.get("job_company_name")),
        "company_domain": normalize_domain(data.get("job_company_website")) or None,
        "employee_count": _int(data.get("job_company_employee_count")),
        "industry": first_text(data.get("job_company_industry"), data.get("industry")),
        "country": first_text(data.get("location_country")),
    }


def _location_country(location: Any) -> str | None:
    if isinstance(location, Mapping):
        return first_text(location.get("country"))
    return None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["PDLProvider"]
