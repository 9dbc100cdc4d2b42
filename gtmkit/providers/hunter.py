"""Hunter.io adapters: Email Finder (+ Domain Search) and Email Verifier.

Real API: ``https://api.hunter.io/v2``, key in the ``X-API-KEY`` header (Hunter also accepts
``api_key`` in the query string; we never use it, so URLs never carry the key).

* ``GET /email-finder`` (``domain`` or ``company``; ``first_name`` + ``last_name`` or
  ``full_name``; or ``linkedin_handle``). Hit: ``data.email`` present; a miss is HTTP 200 with
  ``data.email: null`` (a 404 ``errors`` body is also read as a miss). Status:
  ``data.verification.status`` (``valid`` / ``accept_all`` / ``unknown``), confidence
  ``data.score / 100``. Charged only when an email is found.
* ``GET /domain-search`` — people at a domain, optionally filtered by job titles; Hunter counts
  1 credit per 10 emails returned, and nothing for an empty answer.
* ``GET /email-verifier?email=`` — verdict ``valid`` / ``invalid`` / ``accept_all`` /
  ``webmail`` / ``disposable`` / ``unknown``; charged only for valid, invalid or accept_all.
  202 means "still verifying, ask again" (polled a bounded number of times, counted once);
  222 means the SMTP check failed and should be retried later (a retryable ``ProviderDown``).

Throttle and quota — Hunter's own sources disagree, and the adapter reads the answer itself:

* Hunter's API reference (hunter.io/api-documentation/v2, "Response codes"): **403** "You have
  reached the rate limit" and **429** "You have reached your usage limit. Upgrade your plan".
  Third-party mirrors of it agree (apis.io's Hunter rate-limit profile, re-read against the
  reference on 2026-08-13: "403 indicates the per-second/per-minute rate limit was hit ... 429
  indicates the monthly usage / credit allotment is exhausted"). Requests are counted monthly
  and reset at the account's renewal (help.hunter.io "What is a request and how it is
  counted"; hunter.io/help "Requests & Usage"), so no retry within a run can undo a 429 quota.
* Hunter's own MCP server (hunter-io/chatgpt-mcp, ``src/helpers.ts`` ``mapHunterError``)
  reads **429** as ``rate_limited`` with ``Retry-After``, **402** as ``quota_exceeded`` ("Please
  log in to Hunter to upgrade your plan or purchase additional credits"), and 403 as
  unauthorized.

So (``gtmkit.providers.errors.error_for_response``): 402, and a 429 whose body speaks of a usage
limit or quota, or that carries neither ``Retry-After`` nor throttle wording, are
``OutOfCredits`` — the engine's breaker stops Hunter for the run, no retry; a 429 with
``Retry-After`` or throttle wording ("too many requests") is ``RateLimited`` and retried after
the pause; a 403 is ``RateLimited`` unless it speaks of the key (then ``AuthError``). The
simulated Hunter serves either reading (``throttle_status``, ``quota_status``).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from gtmkit.providers._http import (
    HttpProvider,
    Reply,
    SearchResults,
    as_confidence,
    as_mapping,
    first_text,
)
from gtmkit.providers.base import NAME_AT_COMPANY, Finding, RateLimit, Record
from gtmkit.providers.errors import (
    BadRequest,
    MalformedResponse,
    ProviderDown,
    ProviderUsageError,
)
from gtmkit.providers.normalize import (
    normalize_domain,
    normalize_email,
    normalize_linkedin,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import common_status, found_status


class _HunterBase(HttpProvider):
    default_base_url: ClassVar[str] = "https://api.hunter.io/v2"
    env_var: ClassVar[str | None] = "HUNTER_API_KEY"
    auth_header: ClassVar[str] = "X-API-KEY"
    api_name: ClassVar[str] = "hunter"


class HunterProvider(_HunterBase):
    """Hunter Email Finder, plus Domain Search as :meth:`search`.

    Example:
        >>> HunterProvider.billing, HunterProvider.rate_limit.per_second
        ('per_hit', 15.0)
    """

    name: ClassVar[str] = "hunter"
    endpoint: ClassVar[str] = "email-finder"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (*NAME_AT_COMPANY, ("linkedin_url",))
    returns: ClassVar[frozenset[str]] = frozenset(
        {
            "email",
            "first_name",
            "last_name",
            "title",
            "linkedin_url",
            "phone",
            "company_name",
            "company_domain",
        }
    )
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: "Uses Hunter credits, charged only when an email is found" (Hunter's own MCP server,
    #: ../shared/providers.md §2): 1 per found email, 0 otherwise. Hunter reports no per-call
    #: credit figure (usage is on the free ``GET /account``), so the rule is the signal.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.10 per found email (practitioner estimate for Hunter on paid
    #: plans, ../shared/field-notes.md). Override per run.
    price_per_credit: ClassVar[float] = 0.10
    #: Email Finder / Domain Search: 15 requests/s (and 500/min).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=15.0, max_in_flight=15)
    listing_order: ClassVar[int] = 20
    #: Hunter's ``max_duration`` (3–20 s): how long it may spend verifying before answering.
    max_duration_s: ClassVar[int | None] = None

    def lookup_key(self, record: Record) -> str:
        params = self._finder_params(record)
        # the handle goes out only when name + domain are not enough (see _finder_params)
        key = person_key(record, linkedin="linkedin_handle" in params)
        return f"{key};max_duration={params['max_duration']}" if "max_duration" in params else key

    def legacy_lookup_key(self, record: Record) -> str | None:
        return person_key(record)

    def _finder_params(self, record: Record) -> dict[str, Any]:
        params: dict[str, Any] = {}
        domain = record_domain(record)
        if domain:
            params["domain"] = domain
        elif text(record.get("company_name")):
            params["company"] = text(record.get("company_name"))
        first, last = record_names(record)
        if first and last:
            params["first_name"], params["last_name"] = first, last
        elif text(record.get("full_name")):
            params["full_name"] = text(record.get("full_name"))
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin.startswith("linkedin.com/in/") and not (domain and first and last):
            params["linkedin_handle"] = linkedin.rsplit("/", 1)[1]
        if self.max_duration_s:
            params["max_duration"] = self.max_duration_s
        return params

    async def _lookup(self, record: Record) -> Finding:
        reply = await self._send("GET", "email-finder", params=self._finder_params(record))
        if reply.status == 404 and isinstance(reply.body, Mapping) and "errors" in reply.body:
            return self._finding(reply, "miss")  # tolerated defensively (providers.md §2)
        self._check(reply)
        data = reply.body.get("data")
        if not isinstance(data, Mapping):
            return self._finding(reply, "miss")
        fields = {
            "first_name": first_text(data.get("first_name")),
            "last_name": first_text(data.get("last_name")),
            "title": first_text(data.get("position")),
            "linkedin_url": first_text(data.get("linkedin_url")),
            "phone": first_text(data.get("phone_number")),
            "company_name": first_text(data.get("company")),
            "company_domain": normalize_domain(data.get("domain")) or None,
        }
        email = first_text(data.get("email"))
        verification = as_mapping(data.get("verification"))
        status_word = first_text(verification.get("status"))
        if not email:
            return self._finding(reply, "miss", fields=fields, provider_status=status_word)
        fields["email"] = email.lower()
        status = found_status(self.name, status_word)
        if status_word is None and data.get("accept_all") is True:
            status = "catch_all"  # unverified, but the domain accepts everything
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=status,
            provider_status=status_word,
            confidence=as_confidence(data.get("score"), scale=100.0),
            credits=1.0,
        )

    async def search(
        self,
        company_domain: str | None = None,
        *,
        company_name: str | None = None,
        titles: Sequence[str] = (),
        limit: int = 10,
    ) -> SearchResults:
        """People at a company from Hunter Domain Search (``GET /domain-search``).

        Hunter bills 1 credit per 10 emails returned (nothing for an empty answer); the cost is
        on ``results.credits``. Raises a typed ``ProviderError`` on an error answer.

        Returns:
            one dict per email: ``email``, ``first_name``, ``last_name``, ``title``,
            ``seniority``, ``department``, ``linkedin_url``, ``confidence`` (0..1),
            ``email_status`` (common scale), ``provider_status``, ``company_domain``.
            ``results.pattern`` holds Hunter's guess of the domain pattern (e.g. ``{first}``).
        """
        domain = normalize_domain(company_domain)
        if not domain and not text(company_name):
            raise ProviderUsageError(
                "hunter search needs a company domain or name (company_domain= or company_name=)"
            )
        params: dict[str, Any] = {
            "domain": domain or None,
            "company": None if domain else text(company_name),
            "limit": max(1, min(int(limit), 100)),
            "type": "personal",
        }
        if titles:
            params["job_titles"] = ",".join(t for t in titles if t)
        reply = await self._send("GET", "domain-search", params=params)
        self._check(reply)
        data = reply.body.get("data") or {}
        emails = data.get("emails") or []
        accept_all = data.get("accept_all") is True
        results = SearchResults()
        for entry in emails:
            if not isinstance(entry, Mapping):
                continue
            verification = entry.get("verification") or {}
            word = first_text(
                verification.get("status") if isinstance(verification, Mapping) else None
            )
            status = found_status(self.name, word)
            if word is None and (accept_all or entry.get("accept_all") is True):
                status = "catch_all"
            results.append(
                {
                    "email": (first_text(entry.get("value")) or "").lower() or None,
                    "first_name": first_text(entry.get("first_name")),
                    "last_name": first_text(entry.get("last_name")),
                    "title": first_text(entry.get("position")),
                    "seniority": first_text(entry.get("seniority")),
                    "department": first_text(entry.get("department")),
                    "linkedin_url": first_text(entry.get("linkedin")),
                    "confidence": as_confidence(entry.get("confidence"), scale=100.0),
                    "email_status": status,
                    "provider_status": word,
                    "company_domain": normalize_domain(data.get("domain")) or domain or None,
                }
            )
        results.credits = float(math.ceil(len(results) / 10)) if results else 0.0
        meta = reply.body.get("meta") or {}
        results.total = meta.get("results") if isinstance(meta.get("results"), int) else None
        results.raw = reply.body
        results.http_status = reply.status
        results.throttle = reply.throttle
        results.pattern = first_text(data.get("pattern"))
        return results


class HunterVerifier(_HunterBase):
    """Hunter Email Verifier: the waterfall's validation step for an email already in hand.

    Outcome: ``hit`` when Hunter gave a billable verdict (valid / invalid / accept_all) —
    ``email_status`` then says which; ``miss`` when it could not conclude (``unknown``) or the
    address is ``webmail`` / ``disposable`` (not billed). ``fields["email"]`` is always the
    address that was checked; read ``email_status`` before using it.

    Example:
        >>> HunterVerifier.kind, HunterVerifier.needs
        ('verifier', (('email',),))
    """

    name: ClassVar[str] = "hunter_verifier"
    kind = "verifier"
    endpoint: ClassVar[str] = "email-verifier"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (("email",),)
    returns: ClassVar[frozenset[str]] = frozenset({"email"})
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: "charged only for valid, invalid, or accept_all results", and a 202 polled again
    #: "counts once" (Hunter's docs and MCP server, ../shared/providers.md §2): at most 1.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.05 per verification, a rough figure (half the finder's), not
    #: checked against the current price page. Override per run.
    price_per_credit: ClassVar[float] = 0.05
    #: Email Verifier: 10 requests/s (and 300/min).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=10.0, max_in_flight=10)
    listing_order: ClassVar[int] = 25
    #: Billable verdicts (Hunter: "charged only for valid, invalid, or accept_all results").
    billed_statuses: ClassVar[frozenset[str]] = frozenset({"valid", "invalid", "accept_all"})

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        live: bool = False,
        pending_retries: int = 3,
        pending_wait_s: float = 2.0,
    ) -> None:
        super().__init__(client, api_key=api_key, base_url=base_url, live=live)
        #: how many times a 202 "still verifying" answer is asked again, and how long apart
        self.pending_retries = pending_retries
        self.pending_wait_s = pending_wait_s

    def lookup_key(self, record: Record) -> str:
        return "email=" + normalize_email(record.get("email"))

    async def _lookup(self, record: Record) -> Finding:
        email = normalize_email(record.get("email"))
        if not email:
            error = BadRequest(
                f"{self.name}: field 'email' is not an email address; fix that value in the list",
                provider=self.name,
            )
            error.field = "email"
            raise error
        total_latency = 0.0
        reply: Reply | None = None
        for attempt in range(self.pending_retries + 1):
            reply = await self._send("GET", "email-verifier", params={"email": email})
            total_latency += reply.latency_s
            if reply.status != 202:
                break
            if attempt < self.pending_retries and self.pending_wait_s > 0:
                await asyncio.sleep(self.pending_wait_s)
                total_latency += self.pending_wait_s
        assert reply is not None
        if reply.status == 202:
            raise _pending_error(self, reply, "verification still running after retries")
        if reply.status == 222:
            raise _pending_error(self, reply, "SMTP check failed (222); retry later")
        self._check(reply)
        data = reply.body.get("data")
        if not isinstance(data, Mapping):
            raise MalformedResponse(
                f"{self.name}: email-verifier answer without data",
                provider=self.name,
                http_status=reply.status,
            )
        word = first_text(data.get("status"), data.get("result"))
        status = common_status(self.name, word)
        billed = word in self.billed_statuses
        return self._finding(
            reply,
            "hit" if billed else "miss",
            fields={"email": (first_text(data.get("email")) or email).lower()},
            email_status=status,
            provider_status=word,
            confidence=as_confidence(data.get("score"), scale=100.0),
            credits=1.0 if billed else 0.0,
            latency_s=total_latency,
        )


def _pending_error(provider: HunterVerifier, reply: Reply, why: str) -> ProviderDown:
    error = ProviderDown(
        f"{provider.name}: HTTP {reply.status} {why}",
        provider=provider.name,
        http_status=reply.status,
    )
    error.body = reply.body
    error.throttle = reply.throttle
    return error


__all__ = ["HunterProvider", "HunterVerifier"]
