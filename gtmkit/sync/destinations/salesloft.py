"""Salesloft people (+ cadence memberships) through the API v2: a small httpx client.

* Auth: an API key (or OAuth token) as a bearer token (``SALESLOFT_API_KEY``).
* Reads: ``GET /v2/people?email_addresses[]=…`` (100 a page), then each found person's
  ``GET /v2/cadence_memberships?person_id=…&currently_on_cadence=true``: a person on a cadence
  is refused at plan time.
* Writes: ``POST /v2/people`` / ``PUT /v2/people/{id}`` one person a call, then
  ``POST /v2/cadence_memberships?person_id=…&cadence_id=…``. Validation errors (422) name the
  field (``{"errors": {"email_address": ["has already been taken"]}}``).
* Limits: a team-wide 600 cost a minute; ``x-ratelimit-remaining-minute`` 0 waits a minute,
  a 429 waits its ``Retry-After`` and retries.
* The schema: the documented person fields (``PERSON_FIELDS``); Salesloft's ``custom_fields``
  are not mapped by this client.

Docs: https://developers.salesloft.com/docs/api/cadence-memberships-index/,
https://developers.salesloft.com/docs/api/cadence-memberships-create/,
https://developers.salesloft.com/docs/platform/api-basics/rate-limits/.

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
            params2 = {"person_id": rec.id, "currently_on_cadence": "true"}
            resp = await session.request("GET", f"{BASE_URL}/cadence_memberships", params=params2)
            for m in resp.json().get("data", []):
                if m.get("currently_on_cadence"):
                    rec.active_sequence = f"cadence {(m.get('cadence') or {}).get('id')}"
        return found

    def person_request(self, item: Item, *, creating: bool) -> tuple[str, str, Any, str | None]:
        if creating:
            return "POST", f"{BASE_URL}/people", dict(item.properties), None
        return "PUT", f"{BASE_URL}/people/{item.dest_id}", dict(item.properties), None

    async def enroll(self, session: Session, person_id: str) -> str | None:
        params = {"person_id": person_id, "cadence_id": str(self.sequence_id)}
        resp = await session.request("POST", f"{BASE_URL}/cadence_memberships", params=params)
        return None if resp.status_code < 400 else self.error_text(resp)
