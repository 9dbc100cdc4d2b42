"""Simulated Salesloft API v2: people and cadence memberships, a bearer token, validation
errors and the team's cost-per-minute limit.

Shapes follow Salesloft's documentation
(https://developers.salesloft.com/docs/api/cadence-memberships-index/, cadence memberships
create: https://developers.salesloft.com/docs/api/cadence-memberships-create/, rate limits:
https://developers.salesloft.com/docs/platform/api-basics/rate-limits/):

* ``GET /v2/people?email_addresses[]=a&email_addresses[]=b&per_page=100`` →
  ``{"data": [...], "metadata": {"paging": {...}}}``; ``POST /v2/people``, ``PUT /v2/people/{id}``
  (flat JSON: ``email_address``, ``first_name``, ``last_name``, ``title``,
  ``person_company_name``, ``person_company_website``, ``linkedin_url``...); validation 422
  ``{"errors": {"email_address": ["has already been taken"]}}``;
* ``GET /v2/cadence_memberships?person_id=N&currently_on_cadence=true`` and
  ``POST /v2/cadence_memberships?person_id=N&cadence_id=C``;
* 600 cost per minute per team (each call here costs 1), ``x-ratelimit-remaining-minute`` and
  ``x-ratelimit-endpoint-cost`` headers, 429 past it — with no ``Retry-After`` (none is
  documented: a client has to wait for the minute itself); a bad token 401.

Options: ``per_minute`` (default 600).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> api = CrmTransport().app.apis["salesloft"]
    >>> pid = api.add({"email_address": "ada@x.io"})
    >>> api.add_membership(pid, cadence_id=9) > pid
    True
"""

from __future__ import annotations

from typing import Any, ClassVar

from gtmkit.sandbox.crm.app import CrmAPI, Window
from gtmkit.sandbox.http.wire import Exchange, Reply, json_reply
from gtmkit.sync.destinations.salesloft import PERSON_FIELDS as DOCUMENTED_FIELDS

__all__ = ["PERSON_FIELDS", "SalesloftAPI"]

PERSON_FIELDS = tuple(sorted(DOCUMENTED_FIELDS))


class SalesloftAPI(CrmAPI):
    """The Salesloft twin: ``people`` id → fields; ``memberships`` id → membership."""

    name = "salesloft"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("GET", "/people"): "list_people",
        ("POST", "/people"): "create_person",
        ("GET", "/cadence_memberships"): "list_memberships",
        ("POST", "/cadence_memberships"): "create_membership",
    }
    prefix_routes: ClassVar[dict[tuple[str, str], str]] = {("PUT", "/people/"): "update_person"}

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.people: dict[int, dict[str, Any]] = {}
        self.memberships: dict[int, dict[str, Any]] = {}
        self.minute = Window(self.clock, int(self.option("per_minute", 600)), 60.0)

    def add(self, fields: dict[str, Any]) -> int:
        """Store a person as if made in Salesloft; returns its id."""
        pid = int(self.new_id())
        self.people[pid] = dict(fields)
        return pid

    def add_membership(self, person_id: int, cadence_id: int, on_cadence: bool = True) -> int:
        mid = int(self.new_id())
        self.memberships[mid] = {
            "person": person_id,
            "cadence": cadence_id,
            "currently_on_cadence": on_cadence,
        }
        return mid

    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return json_reply(status, {"error": message})

    def unauthorized(self, ex: Exchange) -> Reply:
        return self.error(ex, 401, "unauthorized", "Invalid Bearer token")

    def admit(self, ex: Exchange) -> Reply | None:
        if self.minute.admit():
            return None
        return json_reply(429, {"error": "Rate limit exceeded"}, self.limit_headers(ex))

    def limit_headers(self, ex: Exchange) -> list[tuple[str, str]]:
        return [
            ("x-ratelimit-remaining-minute", str(self.minute.remaining())),
            ("x-ratelimit-endpoint-cost", "1"),
        ]

    def _doc(self, pid: int) -> dict[str, Any]:
        return {"id": pid, **self.people[pid]}

    def list_people(self, ex: Exchange) -> Reply:
        found = list(self.people)
        emails = {e.lower() for e in ex.query_lists.get("email_addresses[]", [])}
        if emails:
            found = [
                p for p in found if str(self.people[p].get("email_address") or "").lower() in emails
            ]
        per_page = int(ex.query.get("per_page", 25))
        page = int(ex.query.get("page", 1))
        chunk = found[(page - 1) * per_page : page * per_page]
        more = page * per_page < len(found)
        paging = {
            "per_page": per_page,
            "current_page": page,
            "next_page": page + 1 if more else None,
            "prev_page": page - 1 or None,
        }
        return json_reply(
            200, {"data": [self._doc(p) for p in chunk], "metadata": {"paging": paging}}
        )

    def _fields(self, ex: Exchange, own: int | None) -> dict[str, Any] | Reply:
        body = self.body(ex)
        if not isinstance(body, dict):
            return json_reply(422, {"errors": {"base": ["body must be a JSON object"]}})
        unknown = [k for k in body if k not in PERSON_FIELDS]
        if unknown:
            return json_reply(422, {"errors": {unknown[0]: ["is not a valid attribute"]}})
        email = body.get("email_address")
        if email is not None and "@" not in str(email):
            return json_reply(422, {"errors": {"email_address": ["is invalid"]}})
        if email and any(
            pid != own and str(p.get("email_address") or "").lower() == str(email).lower()
            for pid, p in self.people.items()
        ):
            return json_reply(422, {"errors": {"email_address": ["has already been taken"]}})
        return body

    def create_person(self, ex: Exchange) -> Reply:
        fields = self._fields(ex, None)
        if isinstance(fields, Reply):
            return fields
        if not fields.get("email_address") and not (
            fields.get("phone") and fields.get("last_name")
        ):
            return json_reply(422, {"errors": {"email_address": ["can't be blank"]}})
        pid = self.add(fields)
        return json_reply(200, {"data": self._doc(pid)})

    def update_person(self, ex: Exchange) -> Reply:
        try:
            pid = int(ex.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            pid = -1
        if pid not in self.people:
            return self.error(ex, 404, "not_found", "Not Found")
        fields = self._fields(ex, pid)
        if isinstance(fields, Reply):
            return fields
        self.people[pid].update(fields)
        return json_reply(200, {"data": self._doc(pid)})

    def list_memberships(self, ex: Exchange) -> Reply:
        pid = ex.query.get("person_id")
        on = ex.query.get("currently_on_cadence")
        rows = [
            (mid, m)
            for mid, m in self.memberships.items()
            if (pid is None or str(m["person"]) == pid)
            and (on is None or m["currently_on_cadence"] == (on == "true"))
        ]
        data = [
            {
                "id": mid,
                "person": {"id": m["person"]},
                "cadence": {"id": m["cadence"]},
                "currently_on_cadence": m["currently_on_cadence"],
                "current_state": "staged",
            }
            for mid, m in rows
        ]
        return json_reply(200, {"data": data, "metadata": {"paging": {"current_page": 1}}})

    def create_membership(self, ex: Exchange) -> Reply:
        try:
            pid, cid = int(ex.query["person_id"]), int(ex.query["cadence_id"])
        except (KeyError, ValueError):
            return json_reply(422, {"errors": {"base": ["person_id and cadence_id are required"]}})
        if pid not in self.people:
            return self.error(ex, 404, "not_found", "Not Found")
        if any(m["person"] == pid and m["currently_on_cadence"] for m in self.memberships.values()):
            return json_reply(422, {"errors": {"person": ["is already on an active cadence"]}})
        mid = self.add_membership(pid, cid)
        return json_reply(
            200,
            {
                "data": {
                    "id": mid,
                    "person": {"id": pid},
                    "cadence": {"id": cid},
                    "currently_on_cadence": True,
                }
            },
        )
