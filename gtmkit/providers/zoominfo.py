"""ZoomInfo GTM API adapter: contact enrich (email finder), 25 records per request.

Real API (facts and where they come from, ``../shared/providers.md`` §4 and its
"Checked against vendor sources (2026-12)" notes):

* Base ``https://api.zoominfo.com/gtm`` (GTM Data API OAS, ``api-evangelist/zoominfo`` @
  5fdc2d5, ``openapi/zoominfo-gtm-data-v1-openapi.json``: servers ``https://api.zoominfo.com/gtm``).
* Auth: OAuth 2.0, ``Authorization: Bearer <access_token>`` (same OAS; docs.zoominfo.com/docs/
  authorization lists authorization code + PKCE, client credentials and refresh). The token
  comes from the **client-credentials** grant: ``POST /gtm/oauth/v1/token`` (the URL on
  ZoomInfo's refresh-token page; an OpenAPI mirror names an Okta URL instead, so
  ``token_url=`` overrides it) with ``grant_type=client_credentials`` and the client id and
  secret in HTTP Basic auth (RFC 6749 §2.3.1), answered ``{"access_token", "token_type",
  "expires_in"}``. The token is fetched once, kept **in memory only** (a
  :class:`~gtmkit.providers.credentials.Secret`, masked like a key) until
  :data:`TOKEN_MARGIN_S` before it expires, and fetched again once on a 401 — a second 401
  is an ``AuthError``. It is never written to disk, a log or a kept body.
* Credentials from the environment only: ``ZOOMINFO_CLIENT_ID`` and ``ZOOMINFO_CLIENT_SECRET``
  (the secret is the adapter's key, read like every other key).
* ``POST /data/v1/contacts/enrich`` with ``Content-Type: application/vnd.api+json`` (JSON:API):
  ``{"data": {"type": "ContactEnrich", "attributes": {"matchPersonInput": [...],
  "outputFields": [...], "requiredFields": [...]}}}``, **at most 25 inputs** (same OAS).
  Inputs (legacy enrich docs, same field names): ``emailAddress``; ``firstName`` + ``lastName``
  + ``companyName``; ``fullName`` + ``companyName``; ``externalURL`` (a LinkedIn profile).
* Answer: ``data`` is one element per input, in input order. A hit carries
  ``meta.matchStatus: "FULL_MATCH"`` (or a contact-only match) and the record's attributes
  (``email``, ``jobTitle``, ``contactAccuracyScore`` 75–99: "likelihood that a contact is
  reachable and still employed" — match confidence, not an email verification, so a returned
  email is ``risky`` with ``confidence = score / 100``). A miss is HTTP 200 with
  ``type: "NoMatch"`` / ``matchStatus: "NO_MATCH"`` (or a ``NON_MATCH_BY_*`` status).
* Billing (OAS description): "Each record returned by this endpoint will charge a credit …
  If we fail to find the record and return 'No match' or if we return an error code a credit
  will not be charged." So 1 credit per record returned, 0 per no-match, 0 on errors.
* Rate limits (docs.zoominfo.com/docs/rate-limits): per second / hour / day by plan (Builder
  5/s, Standard 25/s, Scaling 35/s); ``X-RateLimit-Limit-Second`` /
  ``X-RateLimit-Remaining-Second`` (and ``-Hour`` / ``-Day``) on every answer; a 429 (code
  ``ZI0004``) carries ``Retry-After`` and ``X-RateLimit-Rejected-Bucket``; rejected requests
  use no quota.

**Batching without changing one-row-one-result.** ``batch_size = 25`` tells the engine to
group this provider's lookups (its ``Batch`` layer) and call :meth:`lookup_batch` with up to 25
records: one request, one finding per record, each row with its own reservation and ledger
rows. The layer sends a batch when it is full, when no other row could join it, or after
about one recent request's time, so requests (which the plan counts) go as full as the rows
allow. Called directly (outside the engine), concurrent :meth:`lookup` calls are coalesced the
same way for at most ``batch_window_s`` (default 5 ms). The budget still holds: the engine
reserves ``max_credits`` = 1 for every row it sends, and one request bills at most one
credit per record in it — the sum of the reservations of the rows it carries. A batch whose
answer is lost (a read timeout) reports ``charge_known=False`` on each of its rows, so each
stays held at its 1 credit.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import dataclasses
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from gtmkit.providers._http import HttpProvider, Reply, as_confidence, as_mapping, first_text
from gtmkit.providers.base import (
    Finding,
    MissingCredentials,
    RateLimit,
    Record,
    Throttle,
    logger,
)
from gtmkit.providers.credentials import Secret, clean_key
from gtmkit.providers.errors import (
    AuthError,
    BadRequest,
    MalformedResponse,
    ProviderUsageError,
    error_for_exception,
)
from gtmkit.providers.inputs import fields_sent, input_problem
from gtmkit.providers.normalize import (
    best_phone,
    normalize_domain,
    normalize_email,
    normalize_linkedin,
    normalize_name,
    record_names,
    text,
)

#: A token is refreshed this many seconds before ZoomInfo says it expires.
TOKEN_MARGIN_S = 60.0
#: Most inputs one contact-enrich request may carry (GTM Data API OAS).
MAX_BATCH = 25
#: The fields asked for (``outputFields``).
OUTPUT_FIELDS: tuple[str, ...] = (
    "id",
    "firstName",
    "lastName",
    "email",
    "jobTitle",
    "managementLevel",
    "jobFunction",
    "phone",
    "mobilePhone",
    "contactAccuracyScore",
    "externalUrls",
    "company",
)
#: ``matchStatus`` values under which ZoomInfo returns (and bills) a record.
RETURNED_STATUSES = frozenset(
    {"FULL_MATCH", "CONTACT_ONLY_MATCH", "CONTACT_MATCH_ONLY", "COMPANY_ONLY_MATCH"}
)
_CLIENT_ID_ENV = "ZOOMINFO_CLIENT_ID"
_SANDBOX_CLIENT_ID = "sandbox-client"


class ZoomInfoProvider(HttpProvider):
    """ZoomInfo GTM contact enrich, batched 25 records per request.

    Args:
        client_id: the OAuth client id (else ``ZOOMINFO_CLIENT_ID``); the client secret is
            the adapter's key (``api_key=`` or ``ZOOMINFO_CLIENT_SECRET``).
        token_url: where client-credentials tokens come from (default
            ``<base_url>/oauth/v1/token``).
        batch_size: inputs per request (1..25).
        batch_window_s: how long a lookup waits for others to share its request.

    Example:
        >>> ZoomInfoProvider.max_credits, ZoomInfoProvider.batch_size
        (1.0, 25)
    """

    name: ClassVar[str] = "zoominfo"
    api_name: ClassVar[str] = "zoominfo"
    endpoint: ClassVar[str] = "contacts/enrich"
    default_base_url: ClassVar[str] = "https://api.zoominfo.com/gtm"
    env_var: ClassVar[str | None] = "ZOOMINFO_CLIENT_SECRET"
    credential_options: ClassVar[Mapping[str, str]] = {"client_id": _CLIENT_ID_ENV}
    auth_header: ClassVar[str] = "Authorization"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("email",),
        ("linkedin_url",),
        ("first_name", "last_name", "company_name"),
        ("full_name", "company_name"),
    )
    returns: ClassVar[frozenset[str]] = frozenset(
        {
            "email",
            "first_name",
            "last_name",
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
        }
    )
    billing = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: One credit per record returned, none for a no-match or an error (OAS). One lookup is one
    #: record of a batch, so the most it can cost is 1 — and a batch bills at most the sum of
    #: its rows' reservations.
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ZoomInfo bulk export at $0.15-0.40 per row (../shared/field-notes.md
    #: §4.4); taken at $0.30 per credit. Contract-priced in practice: override per run.
    price_per_credit: ClassVar[float] = 0.30
    #: Standard plan: 25 requests/s (docs.zoominfo.com/docs/rate-limits).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=25.0, max_in_flight=50)
    listing_order: ClassVar[int] = 60
    #: inputs per request; the engine's batch layer reads it (> 1: call ``lookup_batch``)
    batch_size: int = MAX_BATCH

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        live: bool = False,
        client_id: str | None = None,
        token_url: str | None = None,
        batch_size: int = MAX_BATCH,
        batch_window_s: float = 0.005,
    ) -> None:
        super().__init__(client, api_key=api_key, base_url=base_url, live=live)
        chosen = clean_key(client_id, source="client_id=") if client_id else None
        if chosen is None:
            chosen = clean_key(
                os.environ.get(_CLIENT_ID_ENV), source=f"the {_CLIENT_ID_ENV} environment variable"
            )
        if chosen is None and live:
            raise MissingCredentials(
                f"{self.name}: no OAuth client id. Set the {_CLIENT_ID_ENV} environment variable "
                "(beside ZOOMINFO_CLIENT_SECRET); credentials are never notebook parameters."
            )
        # a Secret: no repr or vars() dump shows it, and the log filter masks it by value
        self._client_id = Secret(chosen)
        self.token_url = token_url or f"{self.base_url}/oauth/v1/token"
        if not 1 <= int(batch_size) <= MAX_BATCH:
            raise ProviderUsageError(
                f"batch_size must be within 1..{MAX_BATCH}, got {batch_size!r}"
            )
        self.batch_size = int(batch_size)
        self.batch_window_s = max(0.0, float(batch_window_s))
        self._token = Secret(None)
        #: the Basic credentials of the token grant (base64 of id:secret, a key in itself)
        self._basic = Secret(None)
        self._token_expires = 0.0
        #: access tokens fetched so far (for tests and audits: how often the grant ran)
        self.tokens_fetched = 0
        self._token_lock: tuple[Any, asyncio.Lock] | None = None
        self._pending: list[tuple[dict[str, Any], asyncio.Future[Any]]] = []
        self._timer: asyncio.TimerHandle | None = None
        #: requests sent to contacts/enrich and the inputs each carried (for tests)
        self.batches_sent: list[int] = []

    @property
    def client_id(self) -> str:
        """The OAuth client id sent in the token grant (the sandbox's own without one)."""
        return self._client_id.reveal() or _SANDBOX_CLIENT_ID

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.update(
            _token=None,
            _basic=None,
            _client_id=None,
            _token_lock=None,
            _pending=[],
            _timer=None,
            _token_expires=0.0,
        )
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._token = Secret(None)
        self._basic = Secret(None)
        self._client_id = Secret(None)  # like the key: given again after unpickling

    # -- secrets -------------------------------------------------------------------------
    def redact(self, text: str) -> str:
        return self._basic.redact(self._token.redact(super().redact(text)))

    def _key_found_in(self, text: str) -> bool:
        return (
            super()._key_found_in(text) or self._token.found_in(text) or self._basic.found_in(text)
        )

    def _headers(self, *, json_body: bool = False) -> dict[str, str]:
        headers = {
            "Accept": "application/vnd.api+json",
            "Authorization": f"Bearer {self._token.reveal() or ''}",
        }
        if json_body:
            headers["Content-Type"] = "application/vnd.api+json"
        return headers

    def _lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._token_lock is None or self._token_lock[0] is not loop:
            self._token_lock = (loop, asyncio.Lock())
        return self._token_lock[1]

    async def _ensure_token(self, *, stale: str | None = None) -> None:
        """Fetch a token unless a fresh one is held (``stale``: the token a 401 refused)."""
        async with self._lock():
            current = self._token.reveal()
            if current and current != stale and time.monotonic() < self._token_expires:
                return
            await self._fetch_token()

    async def _fetch_token(self) -> None:
        if self.client is None:
            await self._send("POST", "data/v1/contacts/enrich")  # raises NotConnected
        assert self.client is not None
        basic = base64.b64encode(f"{self.client_id}:{self._key()}".encode()).decode("ascii")
        self._basic = Secret(basic)  # an echoed Authorization header is masked like the key
        started = time.perf_counter()
        response = await self.client.post(
            self.token_url,
            data={"grant_type": "client_credentials", "scope": "api:data:contact"},
            headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        )
        content = await response.aread()
        text_body = content.decode("utf-8", errors="replace")
        try:
            body = response.json() if text_body.strip() else None
        except ValueError:
            body = None
        reply = Reply(
            status=response.status_code,
            body=self._scrub(body, text_body),
            text=self.redact(text_body[:2000]),
            headers=dict(response.headers.items()),
            latency_s=time.perf_counter() - started,
            throttle=None,
        )
        token = first_text(as_mapping(reply.body).get("access_token"))
        if reply.status == 200 and token is None:
            raise MalformedResponse(
                f"{self.name}: token answer without access_token", provider=self.name
            )
        if reply.status != 200:
            self._check(reply)
            raise AuthError(
                f"{self.name}: HTTP {reply.status} from the token endpoint",
                provider=self.name,
                http_status=reply.status,
            )
        try:
            lifetime = float(as_mapping(reply.body).get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600.0
        self._token = Secret(token)
        self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_MARGIN_S)
        self.tokens_fetched += 1

    # -- lookups -------------------------------------------------------------------------
    def lookup_key(self, record: Record) -> str:
        parts: list[str] = []
        email = normalize_email(record.get("email"))
        if email:
            parts.append("email=" + email)
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin:
            parts.append("li=" + linkedin)
        first, last = record_names(record)
        if first or last:
            parts.append("name=" + normalize_name(first) + "|" + normalize_name(last))
        if text(record.get("company_name")):
            parts.append("company=" + normalize_name(record.get("company_name")))
        return ";".join(parts)

    @staticmethod
    def match_input(record: Record) -> dict[str, Any]:
        """One ``matchPersonInput`` entry for a record."""
        item: dict[str, Any] = {}
        email = normalize_email(record.get("email"))
        if email:
            item["emailAddress"] = email
        first, last = record_names(record)
        company = text(record.get("company_name"))
        if first and last:
            item["firstName"], item["lastName"] = first, last
        elif text(record.get("full_name")):
            item["fullName"] = text(record.get("full_name"))
        if company:
            item["companyName"] = company
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin:
            item["externalURL"] = "https://www." + linkedin
        return item

    async def _lookup(self, record: Record) -> Finding:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((self.match_input(record), future))
        if len(self._pending) >= self.batch_size:
            self._flush()
        elif self._timer is None:
            self._timer = loop.call_later(self.batch_window_s, self._flush)
        result = await future
        assert isinstance(result, Finding)
        return result

    async def lookup_batch(self, records: Sequence[Record]) -> list[Finding]:
        """The engine's batch hook (``batch_size`` > 1): one request per 25 records, one finding
        per record, in order. Never raises for provider, transport or input failures: a record
        that cannot be sent gets its own ``BadRequest``; a failed request fails each of its rows.
        """
        results: list[Finding | None] = [None] * len(records)
        sendable: list[int] = []
        for index, record in enumerate(records):
            refused = self._refusal(record)
            if refused is not None:
                results[index] = refused
            else:
                sendable.append(index)
        for start in range(0, len(sendable), self.batch_size):
            chunk = sendable[start : start + self.batch_size]
            began = time.perf_counter()
            try:
                findings = await self._enrich([self.match_input(records[i]) for i in chunk])
            except Exception as exc:
                error = error_for_exception(self.name, exc, redact=self.redact)
                if error is None:
                    raise
                findings = [self._failed(copy.copy(error), began) for _ in chunk]
            for index, finding in zip(chunk, findings, strict=True):
                results[index] = finding
                if finding.outcome == "hit":
                    for observer in self._hit_observers:
                        try:
                            observer(records[index], finding)
                        except Exception:  # a learning side-channel must never break a lookup
                            logger.exception("%s: hit observer failed", self.name)
        return [f for f in results if f is not None]

    def _refusal(self, record: Record) -> Finding | None:
        """The error finding of a record that must not be sent (as ``lookup`` refuses it)."""
        if not self.can_lookup(record):
            wanted = " or ".join("+".join(group) for group in self.needs)
            return self._failed(
                BadRequest(
                    f"{self.name}: record lacks the inputs for a lookup (needs {wanted})",
                    provider=self.name,
                ),
                time.perf_counter(),
            )
        problem = input_problem(record, fields_sent(self.needs))
        if problem is None:
            return None
        field, reason = problem
        error = BadRequest(
            f"{self.name}: field {field!r} {reason}; fix that value in the list",
            provider=self.name,
        )
        error.field = field
        return self._failed(error, time.perf_counter())

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._pending:
            batch = [(i, f) for i, f in self._pending[: self.batch_size] if not f.done()]
            del self._pending[: self.batch_size]
            if batch:
                asyncio.get_running_loop().create_task(self._send_batch(batch))
            if len(self._pending) < self.batch_size:
                break
        if self._pending and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.batch_window_s, self._flush)

    async def _send_batch(self, batch: list[tuple[dict[str, Any], asyncio.Future[Any]]]) -> None:
        try:
            findings = await self._enrich([item for item, _ in batch])
        except BaseException as exc:  # handed to every row of the batch, typed by lookup()
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), finding in zip(batch, findings, strict=True):
            if not future.done():
                future.set_result(finding)

    async def _enrich(self, inputs: list[dict[str, Any]]) -> list[Finding]:
        body = {
            "data": {
                "type": "ContactEnrich",
                "attributes": {
                    "matchPersonInput": inputs,
                    "outputFields": list(OUTPUT_FIELDS),
                    "requiredFields": ["email"],
                },
            }
        }
        await self._ensure_token()
        self.batches_sent.append(len(inputs))
        reply = await self._send("POST", "data/v1/contacts/enrich", json_body=body)
        if reply.status == 401:  # the token expired or was revoked: refresh exactly once
            refused = self._token.reveal()
            await self._ensure_token(stale=refused)
            reply = await self._send("POST", "data/v1/contacts/enrich", json_body=body)
        reply = dataclasses.replace(reply, throttle=zoominfo_throttle(reply.headers))
        self._check(reply)
        data = reply.body.get("data")
        if isinstance(data, Mapping):
            data = [data]
        if not isinstance(data, list) or len(data) != len(inputs):
            raise MalformedResponse(
                f"{self.name}: contacts/enrich answered "
                f"{len(data) if isinstance(data, list) else 0} results for {len(inputs)} inputs",
                provider=self.name,
                http_status=reply.status,
            )
        return [self._item_finding(reply, item) for item in data]

    def _item_finding(self, reply: Reply, item: Any) -> Finding:
        item = as_mapping(item)
        meta = as_mapping(item.get("meta"))
        status = first_text(meta.get("matchStatus"))
        returned = item.get("type") != "NoMatch" and status in RETURNED_STATUSES
        if not returned:
            return self._finding(reply, "miss", raw=item, credits=0.0)
        attributes = as_mapping(item.get("attributes"))
        company = as_mapping(attributes.get("company"))
        levels = attributes.get("managementLevel")
        functions = attributes.get("jobFunction")
        industries = company.get("primaryIndustry")
        urls = attributes.get("externalUrls")
        linkedin = None
        if isinstance(urls, list):
            for entry in urls:
                url = first_text(as_mapping(entry).get("url"))
                if url and "linkedin.com" in url:
                    linkedin = url
                    break
        fields: dict[str, Any] = {
            "first_name": first_text(attributes.get("firstName")),
            "last_name": first_text(attributes.get("lastName")),
            "title": first_text(attributes.get("jobTitle")),
            "seniority": levels[0] if isinstance(levels, list) and levels else None,
            "department": first_text(as_mapping(functions[0]).get("name"))
            if isinstance(functions, list) and functions
            else None,
            "linkedin_url": linkedin,
            # phone is the direct dial, mobilePhone the mobile (outputFields)
            **best_phone(
                [(attributes.get("mobilePhone"), "mobile"), (attributes.get("phone"), "direct")]
            ),
            "company_name": first_text(company.get("name")),
            "company_domain": normalize_domain(company.get("website")) or None,
            "employee_count": company.get("employeeCount")
            if isinstance(company.get("employeeCount"), int)
            else None,
            "industry": industries[0] if isinstance(industries, list) and industries else None,
        }
        email = first_text(attributes.get("email"))
        confidence = as_confidence(attributes.get("contactAccuracyScore"), scale=100.0)
        if not email or "@" not in email:
            return self._finding(
                reply,
                self._phone_outcome(fields),
                fields=fields,
                confidence=confidence,
                raw=item,
                credits=1.0,
            )
        fields["email"] = email.lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status="risky",  # an accuracy score, not a mailbox verification
            confidence=confidence,
            raw=item,
            credits=1.0,
        )


_WINDOWS = (("second", 1.0), ("hour", 3600.0), ("day", 86400.0))


def zoominfo_throttle(headers: Mapping[str, str]) -> Throttle | None:
    """ZoomInfo's ``X-RateLimit-{Limit,Remaining}-{Second,Hour,Day}`` headers as a Throttle.

    A remaining value of ``-1`` means the quota service was unavailable (the request was
    allowed) and is ignored.

    Example:
        >>> t = zoominfo_throttle({"X-RateLimit-Limit-Second": "25",
        ...                        "X-RateLimit-Remaining-Second": "24",
        ...                        "X-RateLimit-Remaining-Day": "640000"})
        >>> t.remaining, t.limit_per_second
        (24, 25.0)
    """
    h = {k.lower(): v for k, v in headers.items()}
    left: list[tuple[int, float]] = []
    per_second: float | None = None
    for window, seconds in _WINDOWS:
        remaining = _number(h.get(f"x-ratelimit-remaining-{window}"))
        limit = _number(h.get(f"x-ratelimit-limit-{window}"))
        if remaining is not None and remaining >= 0:
            left.append((int(remaining), seconds))
        if limit is not None and limit > 0 and per_second is None:
            per_second = limit / seconds
    if not left and per_second is None:
        return None
    remaining_min = min(left)[0] if left else None
    return Throttle(remaining=remaining_min, reset_after_s=None, limit_per_second=per_second)


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


__all__ = ["ZoomInfoProvider", "zoominfo_throttle"]
