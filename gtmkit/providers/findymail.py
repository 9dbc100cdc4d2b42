"""Findymail adapter: email finder by name + company domain, pay on hit.

Real API (app.findymail.com/docs, read through the search tool, and ``../shared/providers.md``
§9 for the finder's request and answer, consistent across six independent public clients):

* Base ``https://app.findymail.com/api``; ``Authorization: Bearer <key>`` on every endpoint
  ("Authenticate requests to this API's endpoints by sending an Authorization header with the
  value "Bearer {YOUR_AUTH_KEY}"", app.findymail.com/docs).
* ``POST /search/name`` with JSON ``{"name": "<full name>", "domain": "<domain or company
  name>"}`` (providers.md §9: "prefer ``name``").
* Hit: ``{"contact": {"name", "email", "domain"}}`` — every client reads ``contact.email``.
  Findymail returns verified addresses only (its "under 5% invalid" guarantee,
  ``../shared/field-notes.md`` §4.2), so a found email is ``valid``; the answer has no status
  word (``provider_status`` is ``None``).
* Miss: no ``contact.email`` (a ``null`` contact), or a 404 — both read as a free miss (the
  exact miss body is unconfirmed in public sources).
* Billing: "bills per successful match only" (providers.md §9): 1 credit per found email.
* Errors (providers.md §9, a client's ``mapFindymailError``): 401/403 auth, **402 no credits**,
  **423 subscription paused** (read as out of credits: the account cannot be used this run),
  429 rate limited, 400 invalid payload; the docs also show a 200 ``{"error": "Not enough
  credits"}`` (verifier example), read as out of credits.
* Rate limit: "all endpoints have a concurrent rate limit of 300 simultaneous requests"
  (app.findymail.com/docs); no per-second figure is published.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from gtmkit.providers._http import HttpProvider, as_mapping, first_text
from gtmkit.providers.base import NAME_AT_COMPANY, Finding, RateLimit, Record
from gtmkit.providers.errors import BadRequest, OutOfCredits, quota_exhausted
from gtmkit.providers.normalize import (
    normalize_domain,
    person_key,
    record_domain,
    record_names,
    text,
)


class FindymailProvider(HttpProvider):
    """Findymail ``POST /search/name``.

    Example:
        >>> FindymailProvider.endpoint, FindymailProvider.rate_limit.max_in_flight
        ('search/name', 300)
    """

    name: ClassVar[str] = "findymail"
    api_name: ClassVar[str] = "findymail"
    endpoint: ClassVar[str] = "search/name"
    default_base_url: ClassVar[str] = "https://app.findymail.com/api"
    env_var: ClassVar[str | None] = "FINDYMAIL_API_KEY"
    auth_header: ClassVar[str] = "Authorization"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = NAME_AT_COMPANY
    returns: ClassVar[frozenset[str]] = frozenset({"email", "full_name", "company_domain"})
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: "Bills per successful match only": 1 credit per found email, none otherwise.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.05 per found email, a rough figure not checked against
    #: Findymail's price page. Override per run.
    price_per_credit: ClassVar[float] = 0.05
    #: 300 simultaneous requests (docs); no published per-second rate, 20/s assumed.
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=20.0, max_in_flight=300)
    listing_order: ClassVar[int] = 64

    def _headers(self, *, json_body: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self._key()}"}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def lookup_key(self, record: Record) -> str:
        # the body is the name and the domain (or company): no LinkedIn
        return person_key(record, linkedin=False)

    def legacy_lookup_key(self, record: Record) -> str | None:
        return person_key(record)

    def _body(self, record: Record) -> dict[str, Any]:
        first, last = record_names(record)
        name = f"{first} {last}".strip() if first and last else text(record.get("full_name"))
        return {"name": name, "domain": record_domain(record) or text(record.get("company_name"))}

    async def _lookup(self, record: Record) -> Finding:
        reply = await self._send("POST", "search/name", json_body=self._body(record))
        if reply.status == 404:
            return self._finding(reply, "miss")
        body = reply.body
        message = body.get("error") if isinstance(body, Mapping) else None
        if reply.status == 423 or (isinstance(message, str) and quota_exhausted(message)):
            error = OutOfCredits(
                f"{self.name}: HTTP {reply.status} "
                + ("subscription paused" if reply.status == 423 else str(message)),
                provider=self.name,
                http_status=reply.status,
            )
            error.body = body
            raise error
        self._check(reply)
        if isinstance(message, str) and message.strip():
            raise BadRequest(
                f"{self.name}: {message}", provider=self.name, http_status=reply.status
            )
        contact = as_mapping(body.get("contact"))
        email = first_text(contact.get("email"), body.get("email"))
        fields = {
            "full_name": first_text(contact.get("name")),
            "company_domain": normalize_domain(contact.get("domain")) or None,
        }
        if not email or "@" not in email:
            return self._finding(reply, "miss", fields=fields)
        fields["email"] = email.lower()
        return self._finding(
            reply, "hit", fields=fields, email_status="valid", provider_status=None, credits=1.0
        )


__all__ = ["FindymailProvider"]
