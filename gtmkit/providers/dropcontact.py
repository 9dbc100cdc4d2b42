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
   ``<address>@<domain>`` — the address half ``nominative`` / ``non_confirm`` (catch-all) /
   ``generic`` / ``random`` / ``invalid``, the domain half ``pro`` / ``perso`` / ``invalid``
   (developer.dropcontact.io "local_qualification@domain_qualification";
   support.dropcontact.com/article/225). Both halves are read
   (:func:`~gtmkit.providers.status.dropcontact_status`): ``nominative@pro`` → valid,
   ``catch-all@pro`` → catch_all, and ``nominative@invalid`` → **invalid** (the domain is
   fake), never valid.
   Miss: a record without ``email``.
   ``Finding.raw`` keeps both answers: ``{"submit": ..., "result": ...}``.

Polls are free, submits are billed, so a submitted lookup is never submitted again while its
result can still be fetched: a poll that fails (5xx, 429, a reset, a timeout, an unreadable
body) is retried inside the poll loop, within the same ``max_polls`` / ``max_wait_s`` budget;
and the adapter remembers the request id of every submitted, unresolved lookup by its lookup
key, so when the engine retries a lookup that gave up, the retry polls that request instead of
paying for a new one. (Remembered in this adapter instance only: a new process submits again.)

Billing ("Pay on Success", developer.dropcontact.com via ``../shared/providers.md`` §8: "a
credit is consumed only if the API returns a verified email address … taken when the request
is sent, then given back automatically if no email is found"), reported so the findings of one
lookup add up to what Dropcontact charged:

* a result in the same call: a hit costs 1, a miss 0 (the credit taken and given back);
* a lookup that gives up (polls exhausted, or an error answer to a poll) reports the credit
  taken at submit: ``credits=1`` with ``charge_known=True`` — it is taken, and stays taken
  unless a later poll finds the miss;
* a later call that resumes that request reports the difference: a hit 0 (already counted), a
  confirmed miss −1 (the refund).

``max_credits`` is 1: one record per request, and no email is ever sent (Dropcontact charges 1
"regardless" to verify a given email). ``credits_left`` (in the submit and result answers) is
the account's balance, moved by every other lookup of the account in flight, so it is kept in
``Finding.raw`` but not read as this call's cost. Not enough credits for the batch → 403
(``OutOfCredits``). Rate limit: 60 requests/s → 429.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from gtmkit.providers._http import HttpProvider, Reply, first_text
from gtmkit.providers.base import Finding, RateLimit, Record
from gtmkit.providers.errors import (
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    error_for_exception,
)
from gtmkit.providers.normalize import (
    normalize_domain,
    normalize_linkedin,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.providers.status import common_status, dropcontact_status

_RETRY_HINT = re.compile(r"(\d+(?:\.\d+)?)\s*s(?:ec|econd)?", re.IGNORECASE)


def _retry_hint(reason: str) -> float | None:
    match = _RETRY_HINT.search(reason or "")
    return float(match.group(1)) if match else None


def _email_rank(qualification: str | None) -> int:
    """Best address first: by the status both halves give, then a company (``@pro``) domain."""
    _, _, scope = (qualification or "").partition("@")
    status = dropcontact_status(qualification or "")
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
        # one lookup is a submit plus polls for up to max_wait_s: not a stall
        self.stall_after_s = max_wait_s + 30.0
        #: submitted lookups whose result is not in yet, by lookup key (a retry polls them)
        self._submitted: dict[str, _Submitted] = {}

    def pending_request_id(self, record: Record) -> str | None:
        """The request id of this record's submitted, unresolved lookup, if any."""
        job = self._submitted.get(self.lookup_key(record))
        return job.request_id if job else None

    def lookup_key(self, record: Record) -> str:
        # the contact sends company next to website
        return person_key(record, company_always=True)

    def legacy_lookup_key(self, record: Record) -> str | None:
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
        key = self.lookup_key(record)
        job = self._submitted.get(key)
        if job is None:  # not submitted yet (or already resolved): this call pays for one
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
            job = self._submitted[key] = _Submitted(request_id, submit)
        # From here the credit is taken: nothing may fail without a finding that reports it.
        return await self._poll(key, job, started)

    async def _poll(self, key: str, job: _Submitted, started: float) -> Finding:
        waited = 0.0
        delay = self.poll_interval_s
        failure: ProviderError | None = None  # the last poll's failure, if it failed
        for _ in range(max(1, self.max_polls)):
            if delay > 0:
                await asyncio.sleep(delay)
                waited += delay
            try:
                reply = await self._send("GET", f"enrich/all/{job.request_id}")
                self._check(reply)
                if reply.body.get("success") is True and isinstance(reply.body.get("data"), list):
                    return self._result(key, job, reply, time.perf_counter() - started)
            except Exception as exc:
                failure = error_for_exception(self.name, exc, redact=self.redact)
                if failure is None:
                    raise  # a bug, not a provider failure
                if not failure.retryable:  # a bad key or no credits: polling cannot help
                    break
                retry_after = getattr(failure, "retry_after", None)
                hint = retry_after if retry_after is not None else self.poll_interval_s
            else:
                failure = None
                said = _retry_hint(str(reply.body.get("reason") or ""))
                hint = said if said is not None else self.poll_interval_s
            delay = min(hint, self.max_poll_wait_s)
            if waited + delay > self.max_wait_s:
                break
        return self._gave_up(job, failure, time.perf_counter() - started)

    def _result(self, key: str, job: _Submitted, reply: Reply, latency: float) -> Finding:
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
        raw = {"submit": job.submit.body, "result": reply.body}
        best = (
            min(emails, key=lambda e: _email_rank(first_text(e.get("qualification"))))
            if emails
            else None
        )
        credits = job.settle(1.0 if best is not None else 0.0)
        if self._submitted.get(key) is job:
            del self._submitted[key]
        if best is None:
            return self._finding(
                reply, "miss", fields=fields, credits=credits, latency_s=latency, raw=raw
            )
        word = first_text(best.get("qualification"))
        fields["email"] = str(best["email"]).strip().lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=common_status(self.name, word) if word else "risky",
            provider_status=word,
            credits=credits,
            latency_s=latency,
            raw=raw,
        )

    def _gave_up(self, job: _Submitted, failure: ProviderError | None, latency: float) -> Finding:
        """The finding of a submitted lookup whose result did not come: it reports the credit
        taken at submit (once per lookup), and the request stays remembered for a retry."""
        if failure is None:
            error: ProviderError = ProviderTimeout(
                f"{self.name}: request {job.request_id} not ready after {self.max_polls} polls / "
                f"{self.max_wait_s:.0f} s; a retry polls it again (no new submit)",
                provider=self.name,
                http_status=200,
            )
        else:
            error = failure
            error.args = (f"{failure} (polling request {job.request_id}; a retry polls it again)",)
        error.charge_known = True  # the credit taken at submit is reported right here
        return Finding(
            provider=self.name,
            endpoint=self.endpoint,
            outcome="error",
            credits=job.settle(1.0),  # taken at submit; only given back once a miss is confirmed
            latency_s=latency,
            http_status=error.http_status,
            raw={"submit": job.submit.body, "result": None},
            error=error,
            throttle=job.submit.throttle,
        )


@dataclass(slots=True)
class _Submitted:
    """A lookup Dropcontact accepted (and billed) whose result is not in yet."""

    request_id: str
    submit: Reply
    #: credits the findings of this lookup have reported so far
    reported: float = 0.0

    def settle(self, charged: float) -> float:
        """Record that the lookup now costs ``charged`` in all; return what is new to report."""
        new = charged - self.reported
        self.reported = charged
        return new


__all__ = ["DropcontactProvider"]
