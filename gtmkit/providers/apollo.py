"""Apollo.io adapter: people match (email finder), organization enrich, people API search.

Real API: ``https://api.apollo.io/api/v1``, key in the ``x-api-key`` header.

* ``POST /people/match`` (JSON body: ``first_name``, ``last_name`` or ``name``, ``domain`` or
  ``organization_name``, ``linkedin_url``). Hit: ``person.email`` present. Status:
  ``person.email_status`` (``verified`` → valid, ``guessed`` → risky...). Billing (Apollo's
  "Endpoint essentials"): 1 credit when credit-consuming data is found — demographics *or*
  email — so a matched person without an email is a miss that still costs 1 credit; 0 when
  nothing is enriched; +8 when a mobile phone is returned (never requested here, phones need
  ``reveal_phone_number`` + a webhook, so the worst case is 1).
* ``GET /organizations/enrich?domain=`` (1 credit per organization found).
* ``POST /mixed_people/api_search`` (0 credits; no emails, obfuscated last names).

Throttle headers: ``x-minute-requests-left`` / ``x-hourly-requests-left`` and the day window
under both ``x-24-hour-*`` and legacy ``x-daily-*`` spellings; 429 carries ``retry-after``.

Endpoint-scoped keys: an Apollo key can be limited to some endpoints — a 403 ``API_INACCESSIBLE``
"This API key is not authorized to access api/v1/organizations/enrich. Request an API key ...
that includes this endpoint in its configured scope" (OAS example, ../shared/providers.md §1) —
and People API Search "requires a master API key" (docs.apollo.io/reference/people-api-search).
Such an answer says nothing about the other endpoints, so it switches off only the endpoint that
gave it: later calls to that endpoint fail at once, unsent, with the same error
(``error.endpoint_only``, ``error.endpoint``, ``disables_provider=False``), and ``people/match``
goes on. On ``people/match`` itself — the one endpoint the waterfall engine calls — it still
stops the provider's step (``disables_provider=True``). A 401 (bad key) is never scoped.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from gtmkit.providers._http import (
    HttpProvider,
    Reply,
    SearchResults,
    as_confidence,
    as_mapping,
    first_text,
)
from gtmkit.providers.base import NAME_AT_COMPANY, Finding, RateLimit, Record
from gtmkit.providers.errors import ProviderError, ProviderUsageError
from gtmkit.providers.normalize import (
    normalize_domain,
    normalize_linkedin,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import found_status

#: Apollo shows this placeholder instead of an address it has not unlocked for the team.
_LOCKED_PREFIX = "email_not_unlocked@"


class ApolloProvider(HttpProvider):
    """Apollo people match as an email finder, plus company enrichment and people search.

    Example:
        >>> ApolloProvider.needs[0]
        ('first_name', 'last_name', 'company_domain')
    """

    name: ClassVar[str] = "apollo"
    api_name: ClassVar[str] = "apollo"
    endpoint: ClassVar[str] = "people/match"
    default_base_url: ClassVar[str] = "https://api.apollo.io/api/v1"
    env_var: ClassVar[str | None] = "APOLLO_API_KEY"
    auth_header: ClassVar[str] = "x-api-key"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (*NAME_AT_COMPANY, ("linkedin_url",))
    returns: ClassVar[frozenset[str]] = frozenset(
        {
            "email",
            "first_name",
            "last_name",
            "full_name",
            "title",
            "seniority",
            "department",
            "linkedin_url",
            "phone",
            "company_name",
            "company_domain",
            "employee_count",
            "industry",
            "country",
        }
    )
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: Apollo's "Endpoint essentials" (OAS via ../shared/providers.md §1): 1 credit for
    #: demographics or email, +8 if a mobile phone is returned — which takes
    #: ``reveal_phone_number`` and a webhook, never sent here — so 1. Apollo reports no per-call
    #: credit figure on ``people/match``; a returned mobile is still counted as 9, which the
    #: engine sees as a charge beyond ``max_credits`` and stops the provider.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.05 per credit (practitioner estimate of Apollo's cost per found
    #: email on paid plans, ../shared/field-notes.md). Override per run.
    price_per_credit: ClassVar[float] = 0.05
    #: Paid-plan limit of Apollo's enrichment endpoints: 1,000 requests per minute.
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=1000 / 60, max_in_flight=16)
    listing_order: ClassVar[int] = 10

    @property
    def disabled_endpoints(self) -> dict[str, ProviderError]:
        """Endpoints this key may not use (a 403 about that endpoint's scope), with the error."""
        return self.__dict__.setdefault("_disabled_endpoints", {})  # type: ignore[no-any-return]

    def lookup_key(self, record: Record) -> str:
        return person_key(record)

    def _check_endpoint(self, reply: Reply, endpoint: str) -> None:
        """:meth:`_check`, with an endpoint-scoped answer switching off that endpoint only."""
        try:
            self._check(reply)
        except ProviderError as error:
            if error.endpoint_only:
                error.endpoint = endpoint
                if endpoint != self.endpoint:  # not the lookup the engine's breaker guards
                    error.disables_provider = False
                    error.args = (
                        f"{error} (only {endpoint} is switched off for this key; "
                        f"{self.endpoint} still works)",
                    )
                    self.disabled_endpoints[endpoint] = error
            raise

    def _refused(self, endpoint: str) -> ProviderError | None:
        """The error that switched ``endpoint`` off for this key, if it is off."""
        return self.disabled_endpoints.get(endpoint)

    def _match_body(self, record: Record) -> dict[str, Any]:
        first, last = record_names(record)
        body: dict[str, Any] = {
            "reveal_personal_emails": False,
            "reveal_phone_number": False,
        }
        if first and last:
            body["first_name"], body["last_name"] = first, last
        elif text(record.get("full_name")):
            body["name"] = text(record.get("full_name"))
        domain = record_domain(record)
        if domain:
            body["domain"] = domain
        if text(record.get("company_name")):
            body["organization_name"] = text(record.get("company_name"))
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin:
            body["linkedin_url"] = "https://www." + linkedin if "/" in linkedin else linkedin
        return body

    async def _lookup(self, record: Record) -> Finding:
        reply = await self._send("POST", "people/match", json_body=self._match_body(record))
        self._check_endpoint(reply, "people/match")
        person = reply.body.get("person")
        if not isinstance(person, Mapping) or not person:
            return self._finding(reply, "miss", credits=0.0)
        fields = person_fields(person)
        email = first_text(person.get("email"))
        if email and email.lower().startswith(_LOCKED_PREFIX):
            email = None
        credits = 1.0 + (8.0 if _has_mobile(person) else 0.0)
        status_word = first_text(person.get("email_status"))
        if not email:
            return self._finding(
                reply, "miss", fields=fields, provider_status=status_word, credits=credits
            )
        fields["email"] = email.lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=found_status(self.name, status_word),
            provider_status=status_word,
            confidence=_apollo_confidence(person.get("extrapolated_email_confidence")),
            credits=credits,
        )

    # -- company enrichment --------------------------------------------------------------
    async def enrich_company(self, company: str | Record) -> Finding:
        """Organization enrichment by domain (``GET /organizations/enrich``), 1 credit if found.

        Args:
            company: a domain / website, or a record with ``company_domain`` or ``website``.
        """
        domain = normalize_domain(company) if isinstance(company, str) else record_domain(company)
        refused = self._refused("organizations/enrich")
        if refused is not None:  # this key may not use it: not sent again
            return self._failed(refused, time.perf_counter(), "organizations/enrich")
        return await self._safely("organizations/enrich", self._enrich_company(domain))

    async def _enrich_company(self, domain: str) -> Finding:
        reply = await self._send("GET", "organizations/enrich", params={"domain": domain})
        self._check_endpoint(reply, "organizations/enrich")
        org = reply.body.get("organization")
        if not isinstance(org, Mapping) or not org:
            return self._finding(reply, "miss", endpoint="organizations/enrich")
        return self._finding(
            reply,
            "hit",
            endpoint="organizations/enrich",
            fields=organization_fields(org),
            credits=1.0,
        )

    def company_key(self, company: str | Record) -> str:
        """Lookup key of :meth:`enrich_company`."""
        domain = normalize_domain(company) if isinstance(company, str) else record_domain(company)
        return "domain=" + domain

    # -- people search -------------------------------------------------------------------
    async def search(
        self,
        company_domain: str,
        *,
        titles: Sequence[str] = (),
        limit: int = 10,
    ) -> SearchResults:
        """People at a company, filtered by job titles (``POST /mixed_people/api_search``).

        Free (0 credits). Apollo's search returns no emails and obfuscated last names; follow
        up with :meth:`lookup` to get an email. Raises a typed
        :class:`~gtmkit.providers.errors.ProviderError` on an error answer.

        Returns:
            one dict per person: ``provider_id``, ``first_name``, ``last_name_obfuscated``,
            ``title``, ``has_email``, ``company_name``, ``company_domain``.
        """
        domain = normalize_domain(company_domain)
        if not domain:
            raise ProviderUsageError("apollo search needs a company domain (e.g. 'acme.com')")
        refused = self._refused("mixed_people/api_search")
        if refused is not None:  # this key may not search (no master key): not sent again
            raise refused
        body = {
            "q_organization_domains_list": [domain],
            "person_titles": [t for t in titles if t],
            "page": 1,
            "per_page": max(1, min(int(limit), 100)),
        }
        reply = await self._send("POST", "mixed_people/api_search", json_body=body)
        self._check_endpoint(reply, "mixed_people/api_search")
        people = reply.body.get("people") or []
        results = SearchResults(
            {
                "provider_id": p.get("id"),
                "first_name": p.get("first_name"),
                "last_name_obfuscated": p.get("last_name_obfuscated"),
                "last_name": p.get("last_name"),
                "title": p.get("title"),
                "has_email": p.get("has_email"),
                "company_name": (p.get("organization") or {}).get("name"),
                "company_domain": domain,
            }
            for p in people[: max(1, int(limit))]
            if isinstance(p, Mapping)
        )
        results.credits = 0.0
        results.total = _int(
            reply.body.get("total_entries")
            or (reply.body.get("pagination") or {}).get("total_entries")
        )
        results.raw = reply.body
        results.http_status = reply.status
        results.throttle = reply.throttle
        return results


def person_fields(person: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical fields from an Apollo ``person`` object (without the email)."""
    org = as_mapping(person.get("organization"))
    departments = person.get("departments") or []
    phones = person.get("phone_numbers") or []
    phone = None
    for item in phones:
        if isinstance(item, Mapping):
            phone = first_text(item.get("sanitized_number"), item.get("raw_number"))
            if phone:
                break
    return {
        "first_name": first_text(person.get("first_name")),
        "last_name": first_text(person.get("last_name")),
        "full_name": first_text(person.get("name")),
        "title": first_text(person.get("title")),
        "seniority": first_text(person.get("seniority")),
        "department": departments[0] if departments else None,
        "linkedin_url": first_text(person.get("linkedin_url")),
        "phone": phone,
        "company_name": first_text(org.get("name")),
        "company_domain": normalize_domain(org.get("primary_domain")) or None,
        "employee_count": _int(org.get("estimated_num_employees")),
        "industry": first_text(org.get("industry")),
        "country": first_text(person.get("country")),
    }


def organization_fields(org: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical company fields from an Apollo ``organization`` object."""
    return {
        "company_name": first_text(org.get("name")),
        "company_domain": normalize_domain(org.get("primary_domain"))
        or normalize_domain(org.get("website_url"))
        or None,
        "website": first_text(org.get("website_url")),
        "linkedin_url": first_text(org.get("linkedin_url")),
        "employee_count": _int(org.get("estimated_num_employees")),
        "industry": first_text(org.get("industry")),
        "country": first_text(org.get("country")),
        "founded_year": _int(org.get("founded_year")),
        "funding_stage": first_text(org.get("latest_funding_stage")),
    }


def _has_mobile(person: Mapping[str, Any]) -> bool:
    for item in person.get("phone_numbers") or []:
        if isinstance(item, Mapping) and str(item.get("type") or "").lower() == "mobile":
            return True
    return False


def _apollo_confidence(value: Any) -> float | None:
    # Apollo documents the field but not its scale; read >1 as a percentage.
    as_percent = as_confidence(value, scale=100.0)
    if as_percent is None:
        return None
    return as_percent if as_percent > 0.01 else as_percent * 100.0


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["ApolloProvider"]
