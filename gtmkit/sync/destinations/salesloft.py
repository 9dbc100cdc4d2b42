"""Salesloft people (+ cadence memberships) through the API v2: a small httpx client.

* Auth: an API key (or OAuth token) as a bearer token (``SALESLOFT_API_KEY``).
* Reads: ``GET /v2/people?email_addresses[]=…`` (100 a page), then each found person's
  ``GET /v2/cadence_memberships?person_id=…``: a person ``currently_on_cadence`` is refused at
  plan time, and every cadence a person was ever on is remembered (a re-sync never adds them
  again to one they finished or were removed from).
* Writes: ``POST /v2/people`` / ``PUT /v2/people/{id}`` one person a call, then
  ``POST /v2/cadence_memberships?person_id=…&cadence_id=…``. Validation errors (422) name the
  field (``{"errors": {"email_address": ["has already been taken"]}}``).
* Limits: a team-wide budget of 600 cost a minute (most calls cost 1), shared with every
  other integration of the team; ``x-ratelimit-remaining-minute`` 0 waits a minute. A 429
  carries no documented ``Retry-After``, so it waits a minute too (or the header, if sent)
  and retries.
* The schema: the documented person fields (``PERSON_FIELDS``); Salesloft's ``custom_fields``
  are not mapped by this client.

Docs: https://developers.salesloft.com/docs/api/cadence-memberships-index/,
https://developers.salesloft.com/docs/api/cadence-memberships-create/,
https://developers.salesloft.com/docs/api/people-index/,
https://developers.salesloft.com/docs/platform/api-basics/rate-limits/ (the cost budget, its two
headers ``x-ratelimit-endpoint-cost`` and ``x-ratelimit-remaining-minute``).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> Salesloft(transport=CrmTransport(), sequence_id=9).sequence_word
    'cadence'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from gtmkit.sync.dedupe import Existing
from gtmkit.sync.destinations.base import Item, Session
from gtmkit.sync.destinations.sequencer import Sequencer

__all__ = ["PERSON_FIELDS", "Salesloft"]

BASE_URL = "https://api.salesloft.com/v2"
PERSON_FIELDS = frozenset(
    {
        "email_address",
        "first_name",
        "last_name",
        "title",
        "phone",
        "linkedin_url",
        "person_company_name",
        "person_company_website",
        "country",
        "city",
    }
)


class Salesloft(Sequencer):
    """Salesloft people; with ``sequence_id`` (the cadence id), added to that cadence."""

    name = "salesloft"
    token_env = "SALESLOFT_API_KEY"
    sequence_word = "cadence"
    default_fields: ClassVar[dict[str, str]] = {
        "email": "email_address",
        "first_name": "first_name",
        "last_name": "last_name",
        "title": "title",
        "phone": "phone",
        "linkedin_url": "linkedin_url",
        "company_name": "person_company_name",
        "company_domain": "person_company_website",
        "country": "country",
    }

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.object_type = "people"
        self._pause_s = 0.0

    def observe(self, response: httpx.Response) -> None:
        if (
            response.headers.get("x-ratelimit-remaining-minute") == "0"
            and response.status_code != 429
        ):
            self._pause_s = 60.0

    def wait_before_next(self) -> float:
        pause, self._pause_s = self._pause_s, 0.0
        return pause

    def retry_delay(self, response: httpx.Response) -> float | None:
        if "retry-after" in response.headers:
            return super().retry_delay(response)
        return 60.0  # the budget is per minute: a minute later it has refilled

    async def schema(self, session: Session) -> set[str]:
        return set(PERSON_FIELDS)

    async def find(
        self, session: Session, values: Mapping[str, list[str]], properties: list[str]
    ) -> list[Existing]:
        emails = values.get("email_address", [])
        found: list[Existing] = []
        for start in range(0, len(emails), 100):
            params = [("email_addresses[]", e) for e in emails[start : start + 100]]
            params.append(("per_page", "100"))
            resp = await session.request("GET", f"{BASE_URL}/people", params=params)
            for person in resp.json().get("data", []):
                props = {k: v for k, v in person.items() if k != "id"}
                found.append(Existing(str(person["id"]), props))
        for rec in found:
            params2 = {"person_id": rec.id, "per_page": "100"}
            resp = await session.request("GET", f"{BASE_URL}/cadence_memberships", params=params2)
            for m in resp.json().get("data", []):
                cadence = str((m.get("cadence") or {}).get("id"))
                rec.sequences.add(cadence)
                if m.get("currently_on_cadence"):
                    rec.active_sequence = cadence
        return found

    def person_request(
        self, item: Item, fields: dict[str, Any], *, creating: bool
    ) -> tuple[str, str, Any, str | None]:
        if creating:
            return "POST", f"{BASE_URL}/people", fields, None
        return "PUT", f"{BASE_URL}/people/{item.dest_id}", fields, None

    async def enroll(self, session: Session, person_id: str) -> str | None:
        params = {"person_id": person_id, "cadence_id": str(self.sequence_id)}
        resp = await session.request("POST", f"{BASE_URL}/cadence_memberships", params=params)
        return None if resp.status_code < 400 else self.error_text(resp)
