"""HubSpot CRM v3 contacts (and their companies): a small httpx client.

* Auth: a private-app access token as a bearer token (``HUBSPOT_ACCESS_TOKEN``).
* Reads: ``GET /crm/v3/properties/contacts`` (the schema the mapping is checked against) and
  ``POST /crm/v3/objects/contacts/search`` with ``IN`` filters, 100 values and 100 results a
  page.
* Writes: creates with an email go through ``/batch/upsert`` with ``idProperty=email`` (a
  retried batch whose first answer was lost cannot make a duplicate); creates without one
  through ``/batch/create``; updates through ``/batch/update`` by id. Every input carries an
  ``objectWriteTraceId`` (its position in the batch), so a 207 multi-status answer names each
  failed record and each result is matched to its input whatever order the results come in.
* Companies: after the contacts are written, each is associated with the company of its
  domain (searched by ``domain``, created if missing) through the v4 default association
  ``POST /crm/v4/associations/contacts/companies/batch/associate/default``.
* Limits: the ``X-HubSpot-RateLimit-Remaining`` of the rolling window paces the next call;
  a 429 whose ``policyName`` is a burst policy waits and retries (``SECONDLY``, the search
  endpoints' own limit of a few calls a second: one second), ``DAILY`` stops the write (the
  records left are kept for retry).

Docs: https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide,
https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts,
https://developers.hubspot.com/docs/api-reference/2026-03/crm/objects/contacts/batch/update-contacts.md,
https://developers.hubspot.com/apps/api_guidelines,
https://developers.hubspot.com/docs/api-reference/error-handling.

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> HubSpot(transport=CrmTransport()).default_fields["first_name"]
    'firstname'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from gtmkit.sync.dedupe import Existing, domain_of
from gtmkit.sync.destinations.base import Destination, Item, Outcome, Session
from gtmkit.sync.errors import DestinationError
from gtmkit.sync.merge import is_empty

__all__ = ["HubSpot"]

BASE_URL = "https://api.hubapi.com"


class HubSpot(Destination):
    """HubSpot contacts.

    Args:
        associate_companies: associate each written contact with its domain's company
            (created when missing).
        **options: see :class:`~gtmkit.sync.destinations.base.Destination`.
    """

    name = "hubspot"
    token_env = "HUBSPOT_ACCESS_TOKEN"
    batch_size = 100
    default_fields: ClassVar[dict[str, str]] = {
        "email": "email",
        "first_name": "firstname",
        "last_name": "lastname",
        "title": "jobtitle",
        "company_name": "company",
        "company_domain": "website",
        "phone": "phone",
        "country": "country",
        "linkedin_url": "hs_linkedin_url",
        "email_status": "gtm_email_status",
        "email_source": "gtm_email_source",
    }

    def __init__(self, *, associate_companies: bool = True, **options: Any) -> None:
        super().__init__(**options)
        self.object_type = "contacts"
        self.associate_companies = associate_companies
        self.associations_made = 0
        self._pause_s = 0.0
        self._properties: list[str] = []

    # -- pacing ------------------------------------------------------------------------------
    def observe(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-hubspot-ratelimit-remaining")
        interval = response.headers.get("x-hubspot-ratelimit-interval-milliseconds")
        if remaining is not None and remaining.strip() == "0" and response.status_code != 429:
            # the window is spent: the next call would be refused, so wait it out first
            self._pause_s = float(interval or 10_000) / 1000.0

    def wait_before_next(self) -> float:
        pause, self._pause_s = self._pause_s, 0.0
        return pause

    def retry_delay(self, response: httpx.Response) -> float | None:
        try:
            policy = str(response.json().get("policyName", ""))
        except (ValueError, AttributeError):
            policy = ""
        if policy.upper() == "DAILY":
            return None
        if policy.upper() == "SECONDLY":
            return 1.0
        if "retry-after" in response.headers:
            return super().retry_delay(response)
        interval = response.headers.get("x-hubspot-ratelimit-interval-milliseconds")
        return float(interval or 1_000) / 1000.0

    # -- reads -------------------------------------------------------------------------------
    async def schema(self, session: Session) -> set[str]:
        resp = await session.request("GET", f"{BASE_URL}/crm/v3/properties/contacts")
        self._properties = [p["name"] for p in resp.json().get("results", [])]
        return set(self._properties)

    async def _search(
        self, session: Session, object_type: str, prop: str, values: list[str], wanted: list[str]
    ) -> list[Existing]:
        found: list[Existing] = []
        for start in range(0, len(values), 100):
            chunk = values[start : start + 100]
            after: str | None = None
            while True:
                body: dict[str, Any] = {
                    "filterGroups": [
                        {"filters": [{"propertyName": prop, "operator": "IN", "values": chunk}]}
                    ],
                    "properties": wanted,
                    "limit": 100,
                }
                if after:
                    body["after"] = after
                url = f"{BASE_URL}/crm/v3/objects/{object_type}/search"
                page = (await session.request("POST", url, json=body)).json()
                found += [
                    Existing(str(r["id"]), dict(r.get("properties") or {}))
                    for r in page.get("results", [])
                ]
                after = (page.get("paging") or {}).get("next", {}).get("after")
                if not after:
                    break
        return found

    async def find(
        self, session: Session, values: Mapping[str, list[str]], properties: list[str]
    ) -> list[Existing]:
        wanted = sorted({*properties, "email"})
        out: list[Existing] = []
        for prop, vals in values.items():
            out += await self._search(session, "contacts", prop, vals, wanted)
        return out

    async def read(
        self, session: Session, ids: list[str], properties: list[str]
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Contacts by record id (``batch/read``, 100 a call): ``({id: properties}, ids that
        HubSpot no longer has)`` — deleted or merged away since the event was sent."""
        found: dict[str, dict[str, Any]] = {}
        missing: list[str] = []
        url = f"{BASE_URL}/crm/v3/objects/contacts/batch/read"
        for start in range(0, len(ids), self.batch_size):
            chunk = ids[start : start + self.batch_size]
            body = {"inputs": [{"id": i} for i in chunk], "properties": properties}
            resp = await session.request("POST", url, json=body)
            page = resp.json() if resp.content else {}
            if resp.status_code >= 400:  # a refused call: nothing in it can be read as a miss
                raise DestinationError(
                    f"hubspot: contacts batch/read answered {resp.status_code}: "
                    f"{self.error_text(resp)}",
                    destination=self.name,
                    kind="rejected",
                    http_status=resp.status_code,
                )
            for r in page.get("results", []):
                found[str(r["id"])] = dict(r.get("properties") or {})
            for error in page.get("errors", []):
                if error.get("category") == "OBJECT_NOT_FOUND":
                    missing += [str(i) for i in (error.get("context") or {}).get("ids", [])]
        return found, missing

    # -- writes ------------------------------------------------------------------------------
    async def _batch(
        self, session: Session, op: str, items: list[Item], inputs: list[dict[str, Any]]
    ) -> list[Outcome]:
        url = f"{BASE_URL}/crm/v3/objects/contacts/batch/{op}"
        resp = await session.request("POST", url, json={"inputs": inputs})
        body = resp.json() if resp.content else {}
        if resp.status_code >= 400 and not body.get("results"):
            reason = self.error_text(resp)
            return [Outcome(i.record_key, False, kind="rejected", reason=reason) for i in items]
        failed: dict[str, str] = {}
        for err in body.get("errors", []):
            ctx = err.get("context") or {}
            for trace in ctx.get("objectWriteTraceId", []) or ctx.get("ids", []):
                failed[str(trace)] = f"{err.get('category', 'ERROR')}: {err.get('message', '')}"
        # results come in no promised order: each is matched by its input's trace id (the
        # input's position), else by id (updates) or email (upserts)
        results = body.get("results", [])
        by_trace = {str(r["objectWriteTraceId"]): r for r in results if r.get("objectWriteTraceId")}
        by_id = {str(r.get("id")): r for r in results}
        by_email = {str((r.get("properties") or {}).get("email") or "").lower(): r for r in results}
        outcomes = []
        for n, item in enumerate(items):
            names = (str(n), str(item.properties.get("email") or ""), str(item.dest_id or ""))
            failure = next((failed[k] for k in names if k in failed), None)
            if failure is not None:
                outcomes.append(Outcome(item.record_key, False, kind="rejected", reason=failure))
                continue
            result = by_trace.get(str(n))
            if result is None and op == "update":
                result = by_id.get(item.dest_id or "")
            if result is None and op == "upsert":
                result = by_email.get(str(item.properties.get("email") or "").lower())
            if result is None:
                outcomes.append(
                    Outcome(
                        item.record_key,
                        False,
                        kind="unanswered",
                        reason="HubSpot's answer did not include this record",
                    )
                )
                continue
            created = op == "create" or bool(result.get("new"))
            outcomes.append(
                Outcome(item.record_key, True, dest_id=str(result["id"]), created=created)
            )
        return outcomes

    async def create(self, session: Session, items: list[Item]) -> list[Outcome]:
        with_email = [i for i in items if not is_empty(i.properties.get("email"))]
        without = [i for i in items if is_empty(i.properties.get("email"))]
        got: dict[str, Outcome] = {}
        if with_email:
            inputs = [
                {
                    "idProperty": "email",
                    "id": str(i.properties["email"]),
                    "properties": _text(i.properties),
                    "objectWriteTraceId": str(n),
                }
                for n, i in enumerate(with_email)
            ]
            for o in await self._batch(session, "upsert", with_email, inputs):
                got[o.record_key] = o
        if without:
            inputs = [
                {"properties": _text(i.properties), "objectWriteTraceId": str(n)}
                for n, i in enumerate(without)
            ]
            for o in await self._batch(session, "create", without, inputs):
                got[o.record_key] = o
        return [got[i.record_key] for i in items]

    async def update(self, session: Session, items: list[Item]) -> list[Outcome]:
        inputs = [
            {"id": i.dest_id, "properties": _text(i.properties), "objectWriteTraceId": str(n)}
            for n, i in enumerate(items)
        ]
        return await self._batch(session, "update", items, inputs)

    async def after_write(self, session: Session, written: list[tuple[Item, Outcome]]) -> None:
        if not self.associate_companies:
            return
        domains: dict[str, str | None] = {}
        for item, _ in written:
            domain = domain_of(item.record.get("company_domain")) or domain_of(
                item.record.get("website")
            )
            if domain:
                domains.setdefault(domain, item.record.get("company_name"))
        if not domains:
            return
        found = await self._search(
            session, "companies", "domain", sorted(domains), ["domain", "name"]
        )
        company_of = {str(c.properties.get("domain") or "").lower(): c.id for c in found}
        missing = [d for d in domains if d not in company_of]
        if missing:
            inputs = [{"properties": {"domain": d, "name": domains[d] or d}} for d in missing]
            url = f"{BASE_URL}/crm/v3/objects/companies/batch/create"
            resp = await session.request("POST", url, json={"inputs": inputs})
            for r in resp.json().get("results", []):
                company_of[str(r["properties"].get("domain")).lower()] = str(r["id"])
        pairs = []
        for item, outcome in written:
            domain = domain_of(item.record.get("company_domain")) or domain_of(
                item.record.get("website")
            )
            if domain and domain in company_of:
                pairs.append({"from": {"id": outcome.dest_id}, "to": {"id": company_of[domain]}})
        if pairs:
            url = f"{BASE_URL}/crm/v4/associations/contacts/companies/batch/associate/default"
            resp = await session.request("POST", url, json={"inputs": pairs})
            self.associations_made += len(resp.json().get("results", []))


def _text(props: Mapping[str, Any]) -> dict[str, str]:
    """HubSpot takes every property value as text."""
    return {k: _fmt(v) for k, v in props.items()}


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
