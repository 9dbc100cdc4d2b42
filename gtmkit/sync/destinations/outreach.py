"""Outreach prospects (+ sequence states) through the JSON:API v2: a small httpx client.

* Auth: an OAuth access token as a bearer token (``OUTREACH_ACCESS_TOKEN``); bodies are
  ``application/vnd.api+json`` documents (``{"data": {"type": "prospect", "attributes": …}}``).
* Reads: ``GET /api/v2/prospects?filter[emails]=a,b`` (and ``filter[linkedInUrl]``), then the
  found prospects' ``GET /api/v2/sequenceStates?filter[prospect][id]=…``: a prospect whose
  state is ``active``, ``pending`` or ``paused`` is refused at plan time.
* Writes: ``POST /api/v2/prospects`` / ``PATCH /api/v2/prospects/{id}`` one prospect a call
  (the API has no batch write), then ``POST /api/v2/sequenceStates`` with the prospect,
  sequence and mailbox relationships.
* Limits: 10,000 requests an hour per user; ``X-RateLimit-Remaining`` 0 waits until
  ``X-RateLimit-Reset``; a 429 waits for the reset (or ``Retry-After``) and retries.
* The schema: Outreach has no describe endpoint for prospects; the documented attributes
  (``PROSPECT_ATTRIBUTES``) are what the mapping is checked against. List attributes
  (``emails``, ``workPhones``, ``mobilePhones``, ``tags``) are flattened to their first value
  for the merge policy, and sent back as lists.

Docs: https://developers.outreach.io/api/reference/tag/prospect/,
https://developers.outreach.io/data-sharing/data-dictionary-v1/sequence-states/.

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> Outreach(transport=CrmTransport(), sequence_id=7, mailbox_id=1).default_fields["email"]
    'emails'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from gtmkit.sync.dedupe import Existing
from gtmkit.sync.destinations.base import Item, Session
from gtmkit.sync.destinations.sequencer import Sequencer

__all__ = ["PROSPECT_ATTRIBUTES", "Outreach"]

BASE_URL = "https://api.outreach.io/api/v2"
JSONAPI = "application/vnd.api+json"
PROSPECT_ATTRIBUTES = frozenset(
    {
        "emails",
        "firstName",
        "lastName",
        "title",
        "company",
        "websiteUrl1",
        "linkedInUrl",
        "mobilePhones",
        "workPhones",
        "country",
        "custom1",
        "custom2",
        "tags",
    }
)
_LISTS = {"emails", "mobilePhones", "workPhones", "tags"}
_ACTIVE = {"active", "pending", "paused"}


class Outreach(Sequencer):
    """Outreach prospects; with ``sequence_id`` and ``mailbox_id``, added to that sequence."""

    name = "outreach"
    token_env = "OUTREACH_ACCESS_TOKEN"
    default_fields: ClassVar[dict[str, str]] = {
        "email": "emails",
        "first_name": "firstName",
        "last_name": "lastName",
        "title": "title",
        "company_name": "company",
        "company_domain": "websiteUrl1",
        "linkedin_url": "linkedInUrl",
        "phone": "workPhones",
        "country": "country",
        "email_status": "custom1",
        "email_source": "custom2",
    }

    def __init__(self, *, mailbox_id: int | str | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.object_type = "prospects"
        self.mailbox_id = mailbox_id
        self._reset_at: float | None = None

    def observe(self, response: httpx.Response) -> None:
        remaining = response.headers.get("x-ratelimit-remaining")
        reset = response.headers.get("x-ratelimit-reset")
        self._reset_at = None
        if remaining == "0" and reset and response.status_code != 429:
            self._reset_at = float(reset)

    def wait_before_next(self) -> float:
        return self._until_reset(self._reset_at)

    def _until_reset(self, reset_at: float | None) -> float:
        if reset_at is None:
            return 0.0
        clock = getattr(getattr(self.transport, "clock", None), "now", None)
        import time

        now = clock() if clock is not None else time.time()
        return max(0.0, reset_at - now)

    def retry_delay(self, response: httpx.Response) -> float | None:
        if "retry-after" in response.headers:
            return super().retry_delay(response)
        reset = response.headers.get("x-ratelimit-reset")
        return self._until_reset(float(reset)) if reset else 60.0

    async def schema(self, session: Session) -> set[str]:
        return set(PROSPECT_ATTRIBUTES)

    async def find(
        self, session: Session, values: Mapping[str, list[str]], properties: list[str]
    ) -> list[Existing]:
        found: dict[str, Existing] = {}
        for attr, vals in values.items():
            if attr not in ("emails", "linkedInUrl"):
                continue  # Outreach filters these; a name + domain match is not searchable
            for start in range(0, len(vals), 20):
                params = {f"filter[{attr}]": ",".join(vals[start : start + 20])}
                resp = await session.request("GET", f"{BASE_URL}/prospects", params=params)
                for doc in resp.json().get("data", []):
                    found[str(doc["id"])] = Existing(
                        str(doc["id"]), _flat(doc.get("attributes") or {})
                    )
        for rec in found.values():
            params = {"filter[prospect][id]": rec.id}
            resp = await session.request("GET", f"{BASE_URL}/sequenceStates", params=params)
            for state in resp.json().get("data", []):
                if (state.get("attributes") or {}).get("state") in _ACTIVE:
                    seq = ((state.get("relationships") or {}).get("sequence") or {}).get(
                        "data"
                    ) or {}
                    rec.active_sequence = f"sequence {seq.get('id')}"
        return list(found.values())

    def person_request(self, item: Item, *, creating: bool) -> tuple[str, str, Any, str | None]:
        data: dict[str, Any] = {"type": "prospect", "attributes": _nested(item.properties)}
        if creating:
            return "POST", f"{BASE_URL}/prospects", {"data": data}, JSONAPI
        data["id"] = int(str(item.dest_id))
        return "PATCH", f"{BASE_URL}/prospects/{item.dest_id}", {"data": data}, JSONAPI

    async def enroll(self, session: Session, person_id: str) -> str | None:
        if self.mailbox_id is None:
            return "no mailbox_id given (Outreach sends a sequence from a mailbox)"
        rel = {
            "prospect": {"data": {"type": "prospect", "id": int(person_id)}},
            "sequence": {"data": {"type": "sequence", "id": int(self.sequence_id or 0)}},
            "mailbox": {"data": {"type": "mailbox", "id": int(self.mailbox_id)}},
        }
        body = {"data": {"type": "sequenceState", "relationships": rel}}
        resp = await session.request(
            "POST", f"{BASE_URL}/sequenceStates", json=body, content_type=JSONAPI
        )
        return None if resp.status_code < 400 else self.error_text(resp)


def _flat(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in attrs.items():
        out[k] = (v[0] if v else None) if k in _LISTS and isinstance(v, list) else v
    return out


def _nested(props: Mapping[str, Any]) -> dict[str, Any]:
    return {k: [str(v)] if k in _LISTS else v for k, v in props.items()}
