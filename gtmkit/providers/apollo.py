"""Apollo.io adapter: people match (email finder), organization enrich, people API search.

Real API: ``https://api.apollo.io/api/v1``, key in the ``x-api-key`` header.

* ``POST /people/match`` (JSON body: ``first_name``, ``last_name`` or ``name``, ``domain`` or
  ``organization_name``, ``linkedin_url``). Hit: ``person.email`` present. Status:
  ``person.email_status`` (``verified`` → valid, ``guessed`` → risky...). Billing (Apollo's
  "Endpoint essentials"): 1 credit when credit-consuming data is found — demographics *or*
  email — so a matched person without an email is a miss that still costs 1 credit; 0 when
  nothing is enriched; +8 when a mobile phone is returned (never requested here, phones need
  ``reveal_phone_number`` + a webhook, so the worst case is 1).
* Phone reveal (a step that fills ``phone``): the same call with ``reveal_phone_number`` and a
  ``webhook_url``; Apollo answers the email at once and POSTs the numbers to the webhook later
  (``gtmkit.providers.apollo_phone``). The lookup waits for the delivery in its
  :class:`~gtmkit.providers.apollo_phone.PhoneInbox` — the row is pending meanwhile, other rows
  go on — until it arrives or ``phone_timeout_s`` ends the wait with a reason on the row.
  Billing: 1 credit at the answer, +8 when a mobile is delivered (9 reserved); after a
  timeout the reveal may still be billed, so the charge is unknown and held at 9.
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

import asyncio
import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from gtmkit.providers._http import (
    HttpProvider,
    Reply,
    SearchResults,
    as_confidence,
    as_mapping,
    first_text,
)
from gtmkit.providers.apollo_phone import (
    APOLLO_PHONE_TYPES,
    LOCAL_WEBHOOKS,
    PhoneInbox,
    phone_reveal_handler,
)
from gtmkit.providers.base import NAME_AT_COMPANY, Finding, RateLimit, Record
from gtmkit.providers.errors import ProviderError, ProviderUsageError
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

    #: Where the phone deliveries go when no ``webhook_url`` is given: a placeholder the
    #: simulated Apollo delivers to in process. Live, give the URL of a receiver (``gtmkit
    #: serve-webhooks``) that stores into the same ``phone_inbox``.
    default_webhook_url: ClassVar[str] = "https://webhooks.gtmkit.invalid/apollo/phones"
    #: Credits of a reveal that returns a mobile (1 + 8, OAS "Endpoint essentials").
    mobile_credits: ClassVar[float] = 9.0

    def __init__(
        self,
        client: Any = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        live: bool = False,
        webhook_url: str | None = None,
        phone_inbox: str | os.PathLike[str] | PhoneInbox | None = None,
        phone_timeout_s: float = 900.0,
        phone_poll_s: float = 2.0,
    ) -> None:
        """Args beyond :class:`~gtmkit.providers.base.Provider`'s (used by phone reveals):

        Args:
            webhook_url: where Apollo POSTs the numbers (a receiver mounting
                :func:`~gtmkit.providers.apollo_phone.phone_reveal_handler`).
            phone_inbox: the :class:`PhoneInbox` (or its path) the deliveries are stored in;
                default ``data/apollo-phones.sqlite``, beside the default ledger.
            phone_timeout_s: how long a lookup waits for its delivery.
            phone_poll_s: how often it looks in the inbox meanwhile.
        """
        super().__init__(client, api_key=api_key, base_url=base_url, live=live)
        self._webhook_url = webhook_url
        self._inbox_spec = phone_inbox
        if not phone_timeout_s > 0 or not phone_poll_s >= 0:
            raise ProviderUsageError(
                "apollo: phone_timeout_s must be > 0 and phone_poll_s >= 0, got "
                f"{phone_timeout_s!r} and {phone_poll_s!r}"
            )
        self.phone_timeout_s = float(phone_timeout_s)
        self.phone_poll_s = float(phone_poll_s)

    @property
    def inbox(self) -> PhoneInbox:
        """The phone-reveal inbox (opened on first use, registered for in-process delivery)."""
        inbox = self.__dict__.get("_inbox")
        if inbox is None:
            spec = self._inbox_spec
            inbox = (
                spec
                if isinstance(spec, PhoneInbox)
                else PhoneInbox(spec or Path("data") / "apollo-phones.sqlite")
            )
            self.__dict__["_inbox"] = inbox
            if not self._webhook_url:
                # no receiver given: the placeholder URL (one per inbox) is served in process,
                # so the simulated Apollo's delivery lands in the inbox that asked
                LOCAL_WEBHOOKS[self.webhook_url] = phone_reveal_handler(inbox)
        return inbox

    @property
    def webhook_url(self) -> str:
        """Where Apollo POSTs this adapter's phone deliveries."""
        if self._webhook_url:
            return self._webhook_url
        spec = self._inbox_spec
        where = spec.path if isinstance(spec, PhoneInbox) else Path(spec or "data")
        digest = hashlib.sha256(str(Path(where).resolve()).encode()).hexdigest()[:16]
        return f"{self.default_webhook_url}/{digest}"

    def want_fields(self, fields: frozenset[str]) -> None:
        """A step that fills ``phone`` turns the phone reveal on (9 credits reserved)."""
        super().want_fields(fields)
        reveal = self.reveals_phones
        self.max_credits = self.mobile_credits if reveal else 1.0  # type: ignore[misc]
        # the wait for a delivery is part of one healthy lookup
        self.stall_after_s = self.phone_timeout_s + 60.0 if reveal else None
        if reveal:
            _ = self.inbox

    @property
    def reveals_phones(self) -> bool:
        return "phone" in self.wanted_fields

    @property
    def disabled_endpoints(self) -> dict[str, ProviderError]:
        """Endpoints this key may not use (a 403 about that endpoint's scope), with the error."""
        return self.__dict__.setdefault("_disabled_endpoints", {})  # type: ignore[no-any-return]

    def lookup_key(self, record: Record) -> str:
        # the match body sends organization_name next to the domain
        key = person_key(record, company_always=True)
        return f"{key}|phone" if self.reveals_phones else key

    def legacy_lookup_key(self, record: Record) -> str | None:
        key = person_key(record)
        return f"{key}|phone" if self.reveals_phones else key

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
            "reveal_phone_number": self.reveals_phones,
        }
        if self.reveals_phones:
            body["webhook_url"] = self.webhook_url
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
        charge_known = True
        if self.reveals_phones:
            phone, credits, charge_known = await self._await_phones(person, fields, credits)
            fields.update(phone)
        if not email:
            if fields.get("phone"):
                return self._finding(
                    reply, "hit", fields=fields, provider_status=status_word, credits=credits,
                    charge_known=charge_known,
                )  # fmt: skip
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
            charge_known=charge_known,
        )

    async def _await_phones(
        self, person: Mapping[str, Any], fields: Mapping[str, Any], credits: float
    ) -> tuple[dict[str, Any], float, bool]:
        """Wait for the reveal's delivery: (phone fields, credits, whether the charge is known).

        The phone fields carry ``phone_pending`` (the reason) when the wait timed out.
        """
        person_id = first_text(person.get("id"))
        if not person_id:  # nothing Apollo could deliver to us
            return {}, credits, True
        deadline = time.monotonic() + self.phone_timeout_s
        while True:
            delivered = self.inbox.delivery(person_id)
            if delivered is not None:
                return _delivered_phone(delivered, fields, credits)
            if time.monotonic() >= deadline:
                reason = (
                    f"apollo: phone reveal not delivered within {self.phone_timeout_s:g} s "
                    "(pending at Apollo; it may still be billed)"
                )
                return {"phone_pending": reason}, credits, False
            await asyncio.sleep(self.phone_poll_s)

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


def _delivered_phone(
    delivered: Mapping[str, Any], fields: Mapping[str, Any], credits: float
) -> tuple[dict[str, Any], float, bool]:
    numbers = [as_mapping(n) for n in delivered.get("phone_numbers") or []]
    phone = best_phone(
        (
            first_text(n.get("sanitized_number"), n.get("raw_number")),
            APOLLO_PHONE_TYPES.get(str(n.get("type_cd") or "").lower(), "direct"),
        )
        for n in numbers
    )
    if _has_mobile({"phone_numbers": [{"type": n.get("type_cd")} for n in numbers]}):
        credits += 8.0  # "plus 8 credits if a mobile phone is returned"
    return phone, credits, True


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
