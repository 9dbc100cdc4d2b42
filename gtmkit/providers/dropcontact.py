"""Dropcontact adapter: asynchronous submit-then-poll email finder.

Real API: ``https://api.dropcontact.com/v1``, key in the ``X-Access-Token`` header.

1. ``POST /enrich/all`` with ``{"data": [record], "siren": false, "language": "en"}`` →
   ``{"request_id": "...", "credits_left": N, "error": false, "success": true}``.
2. ``GET /enrich/all/{request_id}`` until ready. **Not ready** is HTTP 200 with
   ``"success": false`` and a reason like ``Request not ready yet, try again in 30 seconds``;
   the adapter waits as the reason says (capped by ``max_poll_wait_s``), at most
   ``max_polls`` times and ``max_wait_s`` in total, then gives up with a retryable
   ``ProviderTimeout``.
3. Result ``data[0]``: ``email: [{"email", "qualification"}]`` where qualification is
   ``<kind>@<pro|perso>`` (``nominative@pro`` → valid, ``catch_all@pro`` → catch_all...).
   Miss: a record without ``email``.
   ``Finding.raw`` keeps both answers: ``{"submit": ..., "result": ...}``.

Billing ("pay on success", ``refund_on_miss``): a credit is taken at submit and given back if
no email is found, so a hit costs 1 and a miss 0. When polling gives up the credit is still
taken as far as we know, so that error finding carries ``credits=1``. Not enough credits for
the batch → 403 (``OutOfCredits``). Rate limit: 60 requests/s → 429.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from gtmkit.providers._http import HttpProvider, Reply, first_text
from gtmkit.providers.base import Finding, RateLimit, Record
from gtmkit.providers.errors import MalformedResponse, ProviderTimeout
from gtmkit.providers.normalize import (
    normalize_domain,
    normalize_linkedin,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import DROPCONTACT_KINDS, common_status

_RETRY_HINT = re.compile(r"(\d+(?:\.\d+)?)\s*s(?:ec|econd)?", re.IGNORECASE)


def _retry_hint(reason: str) -> float | None:
    match = _RETRY_HINT.search(reason or "")
    return float(match.group(1)) if match else None


def _email_rank(qualification: str | None) -> int:
    kind, _, scope = (qualification or "").partition("@")
    status = DROPCONTACT_KINDS.get(kind.strip().lower(), "unknown")
    order = {"valid": 0, "catch_all": 1, "risky": 2, "unknown": 3, "invalid": 4}
    return order[status] * 2 + (0 if scope.strip().lower() == "pro" else 1)


class DropcontactProvider(HttpProvider):
    """Dropcontact ``/enrich/all``, one record per request, polled until ready.

    Args:
        poll_interval_s: wait before the first poll, and between polls when the answer gives
            no hint.
        max_poll_wait_s: cap on any single wait (the "try again in 30 seconds" hint included).
        max_polls: most polls per lookup.
        max_wait_s: most total waiting per lookup.

    Example:
        >>> DropcontactProvider.billing
        'refund_on_miss'
    """

    name: ClassVar[str] = "dropcontact"
    api_name: ClassVar[str] = "dropcontact"
    endpoint: ClassVar[str] = "enrich/all"
    default_base_url: ClassVar[str] = "https://api.dropcontact.com/v1"
    env_var: ClassVar[str | None] = "DROPCONTACT_API_KEY"
    auth_header: ClassVar[str] = "X-Access-Token"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("first_name", "last_name", "company_domain"),
        ("first_name", "last_name", "website"),
        ("first_name", "last_name", "company_name"),
        ("full_name", "company_domain"),
        ("full_name", "website"),
        ("full_name", "company_name"),
        ("first_name", "last_name", "linkedin_url"),
        ("full_name", "linkedin_url"),
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
            "company_name",
            "company_domain",
        }
    )
    billing = "refund_on_miss"
    credits_per_lookup: ClassVar[float] = 1.0
    max_credits: ClassVar[float] = 1.0
    #: Assumed list price: ~$0.08 per credit, a rough figure for small monthly plans, not
    #: checked against the current price page. Override per run.
    price_per_credit: ClassVar[float] = 0.08
    #: "You are limited to 60 requests per second" (submits and polls both count).
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=60.0, max_in_flight=32)
    listing_order: ClassVar[int] = 50

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        live: bool = False,
        poll_interval_s: float = 5.0,
        max_poll_wait_s: float = 30.0,
        max_polls: int = 20,
        max_wait_s: float = 300.0,
    ) -> None:
        super().__init__(client, api_key=api_key, base_url=base_url, live=live)
        self.poll_interval_s = poll_interval_s
        self.max_poll_wait_s = max_poll_wait_s
        self.max_polls = max_polls
        self.max_wait_s = max_wait_s

    def lookup_key(self, record: Record) -> str:
        return person_key(record)

    def _contact(self, record: Record) -> dict[str, Any]:
        contact: dict[str, Any] = {}
        first, last = record_names(record)
        if first and last:
            contact["first_name"], contact["last_name"] = first, last
        elif text(record.get("full_name")):
            contact["full_name"] = text(record.get("full_name"))
        domain = record_domain(record)
        if domain:
            contact["website"] = domain
        if text(record.get("company_name")):
            contact["company"] = text(record.get("company_name"))
        linkedin = normalize_linkedin(record.get("linkedin_url"))
        if linkedin:
            contact["linkedin"] = "https://www." + linkedin
        return contact

    async def _lookup(self, record: Record) -> Finding:
        started = time.perf_counter()
        submit = await self._send(
            "POST",
            "enrich/all",
            json_body={"data": [self._contact(record)], "siren": False, "language": "en"},
        )
        self._check(submit)
        request_id = first_text(submit.body.get("request_id"))
        if not request_id:
            raise MalformedResponse(
                f"{self.name}: submit answer without request_id",
                provider=self.name,
                http_status=submit.status,
            )
        waited = 0.0
        delay = self.poll_interval_s
        for _ in range(max(1, self.max_polls)):
            if delay > 0:
                await asyncio.sleep(delay)
                waited += delay
            reply = await self._send("GET", f"enrich/all/{request_id}")
            self._check(reply)
            if reply.body.get("success") is True and isinstance(reply.body.get("data"), list):
                return self._result(submit, reply, time.perf_counter() - started)
            hint = _retry_hint(str(reply.body.get("reason") or ""))
            delay = min(hint if hint is not None else self.poll_interval_s, self.max_poll_wait_s)
            if waited + delay > self.max_wait_s:
                break
        return self._gave_up(submit, request_id, time.perf_counter() - started)

    def _result(self, submit: Reply, reply: Reply, latency: float) -> Finding:
        data = reply.body["data"]
        contact = data[0] if data and isinstance(data[0], Mapping) else {}
        emails = [
            e for e in (contact.get("email") or []) if isinstance(e, Mapping) and e.get("email")
        ]
        fields = {
            "first_name": first_text(contact.get("first_name")),
            "last_name": first_text(contact.get("last_name")),
            "full_name": first_text(contact.get("full_name")),
            "title": first_text(contact.get("job")),
            "linkedin_url": first_text(contact.get("linkedin")),
            "phone": first_text(contact.get("mobile_phone"), contact.get("phone")),
            "company_name": first_text(contact.get("company")),
            "company_domain": normalize_domain(contact.get("website")) or None,
        }
        # Audit trail: both answers (the submit carries the request_id and credits_left).
        raw = {"submit": submit.body, "result": reply.body}
        if not emails:
            return self._finding(
                reply, "miss", fields=fields, credits=0.0, latency_s=latency, raw=raw
            )
        best = min(emails, key=lambda e: _email_rank(first_text(e.get("qualification"))))
        word = first_text(best.get("qualification"))
        fields["email"] = str(best["email"]).strip().lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=common_status(self.name, word) if word else "risky",
            provider_status=word,
            credits=1.0,
            latency_s=latency,
            raw=raw,
        )

    def _gave_up(self, submit: Reply, request_id: str, latency: float) -> Finding:
        error = ProviderTimeout(
            f"{self.name}: request {request_id} not ready after {self.max_polls} polls / "
            f"{self.max_wait_s:.0f} s",
            provider=self.name,
            http_status=200,
        )
        return Finding(
            provider=self.name,
            endpoint=self.endpoint,
            outcome="error",
            credits=1.0,  # taken at submit; only refunded once a miss is confirmed
            latency_s=latency,
            http_status=200,
            raw={"submit": submit.body, "result": None},
            error=error,
            throttle=submit.throttle,
        )


__all__ = ["DropcontactProvider"]
