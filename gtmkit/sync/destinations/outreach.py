"""Outreach prospects (+ sequence states) through the JSON:API v2: a small httpx client.

* Auth: an OAuth access token as a bearer token (``OUTREACH_ACCESS_TOKEN``); bodies are
  ``application/vnd.api+json`` documents (``{"data": {"type": "prospect", "attributes": …}}``).
* Reads: ``GET /api/v2/prospects?filter[emails]=a,b`` (and ``filter[linkedInUrl]``), following
  ``links.next``; then the found prospects' states, many at once:
  ``GET /api/v2/sequenceStates?filter[prospect][id]=1,2,…``. A prospect whose state is
  ``active``, ``pending`` or ``paused`` is refused at plan time; every sequence a prospect was
  ever in is remembered, so a re-sync never adds them to one they finished.
* Writes: ``POST /api/v2/prospects`` / ``PATCH /api/v2/prospects/{id}`` one prospect a call
  (the API has no batch write), then ``POST /api/v2/sequenceStates`` with the prospect,
  sequence and mailbox relationships — all three are required, so a ``sequence_id`` without a
  ``mailbox_id`` is refused when the destination is made, before anything is read or written.
* Limits: 10,000 requests an hour per user; ``X-RateLimit-Remaining`` 0 waits until
  ``X-RateLimit-Reset`` (epoch seconds); a 429 waits for the reset (or ``Retry-After``) and
  retries.
* The schema: Outreach has no describe endpoint for prospects; the documented attributes
  (``PROSPECT_ATTRIBUTES``) are what the mapping is checked against. List attributes
  (``emails``, ``workPhones``, ``mobilePhones``, ``tags``) are compared through one value (the
  email that matched the search, else the first) and written back as the whole list with the
  new value first: an update never drops a prospect's other addresses or numbers.

Docs: https://developers.outreach.io/api/reference/tag/prospect/,
https://developers.outreach.io/api/reference/tag/sequence-state/,
https://developers.outreach.io/data-sharing/data-dictionary-v1/sequence-states/ (states),
https://developers.outreach.io/api/getting-started/ (rate limiting, pagination).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> Outreach(transport=CrmTransport(), sequence_id=7, mailbox_id=1).default_fields["email"]
    'emails'
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from gtmkit.sync.dedupe import Existing
from gtmkit.sync.destinations.base import Item, Session
from gtmkit.sync.destinations.sequencer import Sequencer
from gtmkit.sync.errors import MappingError

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
_FILTER_CHUNK = 20  # values per filter: keeps each URL short
_PAGE_SIZE = "100"


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
        if self.sequence_id is not None and mailbox_id is None:
            raise MappingError(
                "outreach: a sequence is sent from a mailbox — pass mailbox_id= with "
                "sequence_id= (Outreach lists them at GET /api/v2/mailboxes)"
            )
        self.object_type = "prospects"
        self.mailbox_id = mailbox_id
        self._reset_at: float | None = None
        self._lists: dict[str, dict[str, list[Any]]] = {}  # prospect id → its list attributes

    # -- pacing ------------------------------------------------------------------------------
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
        now = clock() if clock is not None else time.time()
        return max(0.0, reset_at - now)

    def retry_delay(self, response: httpx.Response) -> float | None:
        if "retry-after" in response.headers:
            return super().retry_delay(response)
        reset = response.headers.get("x-ratelimit-reset")
        return self._until_reset(float(reset)) if reset else 60.0

    # -- reads -------------------------------------------------------------------------------
    async def schema(self, session: Session) -> set[str]:
        return set(PROSPECT_ATTRIBUTES)

    async def _pages(self, session: Session, path: str, params: dict[str, str]) -> list[Any]:
        """Every document of a list endpoint, following ``links.next``."""
        docs: list[Any] = []
        url: str | None = f"{BASE_URL}{path}"
        query: dict[str, str] | None = {**params, "page[size]": _PAGE_SIZE}
        while url:
            page = (await session.request("GET", url, params=query)).json()
            docs += page.get("data", [])
            url, query = (page.get("links") or {}).get("next"), None
        return docs

    async def find(
        self, session: Session, values: Mapping[str, list[str]], properties: list[str]
    ) -> list[Existing]:
        found: dict[str, Existing] = {}
        for attr, vals in values.items():
            if attr not in ("emails", "linkedInUrl"):
                continue  # Outreach filters these; a name + domain match is not searchable
            for start in range(0, len(vals), _FILTER_CHUNK):
                chunk = vals[start : start + _FILTER_CHUNK]
                params = {f"filter[{attr}]": ",".join(chunk)}
                for doc in await self._pages(session, "/prospects", params):
                    pid = str(doc["id"])
                    attrs = doc.get("attributes") or {}
                    self._lists[pid] = {k: list(attrs.get(k) or []) for k in _LISTS}
                    found.setdefault(pid, Existing(pid, _flat(attrs, matched=chunk)))
        ids = sorted(found, key=int)
        for start in range(0, len(ids), _FILTER_CHUNK):
            params = {"filter[prospect][id]": ",".join(ids[start : start + _FILTER_CHUNK])}
            for state in await self._pages(session, "/sequenceStates", params):
                rel = state.get("relationships") or {}
                prospect = ((rel.get("prospect") or {}).get("data") or {}).get("id")
                sequence = ((rel.get("sequence") or {}).get("data") or {}).get("id")
                rec = found.get(str(prospect))
                if rec is None or sequence is None:
                    continue
                rec.sequences.add(str(sequence))
                if (state.get("attributes") or {}).get("state") in _ACTIVE:
                    rec.active_sequence = str(sequence)
        return list(found.values())

    # -- writes ------------------------------------------------------------------------------
    def person_request(
        self, item: Item, fields: dict[str, Any], *, creating: bool
    ) -> tuple[str, str, Any, str | None]:
        kept = self._lists.get(str(item.dest_id), {}) if not creating else {}
        data: dict[str, Any] = {"type": "prospect", "attributes": _nested(fields, kept)}
        if creating:
            return "POST", f"{BASE_URL}/prospects", {"data": data}, JSONAPI
        data["id"] = int(str(item.dest_id))
        return "PATCH", f"{BASE_URL}/prospects/{item.dest_id}", {"data": data}, JSONAPI

    async def enroll(self, session: Session, person_id: str) -> str | None:
        rel = {
            "prospect": {"data": {"type": "prospect", "id": int(person_id)}},
            "sequence": {"data": {"type": "sequence", "id": int(str(self.sequence_id))}},
            "mailbox": {"data": {"type": "mailbox", "id": int(str(self.mailbox_id))}},
        }
        body = {"data": {"type": "sequenceState", "relationships": rel}}
        resp = await session.request(
            "POST", f"{BASE_URL}/sequenceStates", json=body, content_type=JSONAPI
        )
        return None if resp.status_code < 400 else self.error_text(resp)


def _flat(attrs: Mapping[str, Any], *, matched: list[str]) -> dict[str, Any]:
    """List attributes as one value for the merge policy: the email the search matched (the
    one the incoming record carries), else the first."""
    wanted = {m.lower() for m in matched}
    out = {}
    for k, v in attrs.items():
        if k in _LISTS and isinstance(v, list):
            hit = [x for x in v if str(x).lower() in wanted] if k == "emails" else []
            out[k] = hit[0] if hit else (v[0] if v else None)
        else:
            out[k] = v
    return out


def _nested(props: Mapping[str, Any], kept: Mapping[str, list[Any]]) -> dict[str, Any]:
    """Values as Outreach takes them: list attributes as lists, the new value first and the
    prospect's other values after it."""
    out: dict[str, Any] = {}
    for k, v in props.items():
        if k in _LISTS:
            others = [x for x in kept.get(k, []) if str(x).lower() != str(v).lower()]
            out[k] = [str(v), *others]
        else:
            out[k] = v
    return out
