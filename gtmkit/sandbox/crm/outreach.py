"""Simulated Outreach API v2 (JSON:API): prospects and sequence states, an OAuth bearer token,
validation errors and the hourly rate limit.

Shapes follow Outreach's documentation (https://developers.outreach.io/api/reference/tag/prospect/,
sequence states: https://developers.outreach.io/data-sharing/data-dictionary-v1/sequence-states/):

* ``GET /api/v2/prospects?filter[emails]=a,b`` → ``{"data": [{"type": "prospect", "id": 1,
  "attributes": {"emails": [...], "firstName": ...}}], "meta": {"count": N}, "links":
  {"first": ..., "next": ...}}``: ``page[size]`` (default 50, at most 1,000) a page, the next
  page's full URL in ``links.next`` (absent on the last page);
* ``POST /api/v2/prospects`` and ``PATCH /api/v2/prospects/{id}`` with
  ``{"data": {"type": "prospect", "attributes": {...}}}`` (``application/vnd.api+json``);
* ``GET /api/v2/sequenceStates?filter[prospect][id]=N,M`` (``attributes.state``: ``active``,
  ``pending``, ``paused``, ``finished``...), ``POST /api/v2/sequenceStates`` with the prospect,
  sequence and mailbox relationships;
* errors ``{"errors": [{"id": "validationError", "title": ..., "detail": ...}]}`` (422), a bad
  token 401 ``unauthorized``; 10,000 requests an hour per user, ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` and 429 ``rateLimitExceeded``.

Options: ``hourly`` (default 10,000).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> api = CrmTransport().app.apis["outreach"]
    >>> pid = api.add({"emails": ["ada@x.io"]})
    >>> api.add_state(pid, sequence_id=7) > pid
    True
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote

from gtmkit.sandbox.crm.app import CrmAPI, Window
from gtmkit.sandbox.http.wire import Exchange, Reply, json_reply
from gtmkit.sync.destinations.outreach import PROSPECT_ATTRIBUTES

__all__ = ["ATTRIBUTES", "OutreachAPI"]

ATTRIBUTES = tuple(sorted(PROSPECT_ATTRIBUTES))
_ACTIVE = {"active", "pending", "paused"}
JSONAPI = "application/vnd.api+json"


class OutreachAPI(CrmAPI):
    """The Outreach twin: ``prospects`` id → attributes; ``sequence_states`` id → state."""

    name = "outreach"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("GET", "/prospects"): "list_prospects",
        ("POST", "/prospects"): "create_prospect",
        ("GET", "/sequenceStates"): "list_states",
        ("POST", "/sequenceStates"): "create_state",
    }
    prefix_routes: ClassVar[dict[tuple[str, str], str]] = {
        ("PATCH", "/prospects/"): "update_prospect",
    }

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.prospects: dict[int, dict[str, Any]] = {}
        self.sequence_states: dict[int, dict[str, Any]] = {}
        self.hourly = Window(self.clock, int(self.option("hourly", 10_000)), 3600.0)

    def add(self, attributes: dict[str, Any]) -> int:
        """Store a prospect as if made in Outreach; returns its id."""
        pid = int(self.new_id())
        self.prospects[pid] = dict(attributes)
        return pid

    def add_state(self, prospect_id: int, sequence_id: int, state: str = "active") -> int:
        sid = int(self.new_id())
        self.sequence_states[sid] = {
            "prospect": prospect_id,
            "sequence": sequence_id,
            "state": state,
        }
        return sid

    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return json_reply(status, {"errors": [{"id": code, "title": message, "detail": message}]})

    def unauthorized(self, ex: Exchange) -> Reply:
        return self.error(ex, 401, "unauthorized", "The access token is invalid or has expired")

    def admit(self, ex: Exchange) -> Reply | None:
        if self.hourly.admit():
            return None
        reply = self.error(
            ex,
            429,
            "rateLimitExceeded",
            f"You have exceeded your permitted rate limit of {self.hourly.limit}",
        )
        reply.headers.extend(self.limit_headers(ex))
        return reply

    def limit_headers(self, ex: Exchange) -> list[tuple[str, str]]:
        return [
            ("x-ratelimit-limit", str(self.hourly.limit)),
            ("x-ratelimit-remaining", str(self.hourly.remaining())),
            ("x-ratelimit-reset", str(int(self.clock.now() + self.hourly.reset_in()))),
        ]

    def _doc(self, pid: int) -> dict[str, Any]:
        return {"type": "prospect", "id": pid, "attributes": dict(self.prospects[pid])}

    def _reply(self, status: int, obj: Any) -> Reply:
        reply = json_reply(status, obj)
        reply.content_type = JSONAPI
        return reply

    def list_prospects(self, ex: Exchange) -> Reply:
        found = list(self.prospects)
        for name, value in ex.query.items():
            if not name.startswith("filter[") or "][" in name:
                continue
            attr = name[len("filter[") : -1]
            wanted = {v.strip().lower() for v in value.split(",") if v.strip()}

            def has(pid: int, attr: str = attr, wanted: set[str] = wanted) -> bool:
                got = self.prospects[pid].get(attr)
                values = got if isinstance(got, list) else [got]
                return any(str(v or "").lower() in wanted for v in values)

            found = [pid for pid in found if has(pid)]
        return self._page(ex, "/prospects", [self._doc(p) for p in found])

    def _page(self, ex: Exchange, path: str, docs: list[dict[str, Any]]) -> Reply:
        """One page of a list answer, with ``links.next`` while there are more."""
        try:
            size = int(ex.query.get("page[size]", 50))
            offset = int(ex.query.get("page[offset]", 0))
        except ValueError:
            return self.error(ex, 400, "badRequest", "page[size] must be a number")
        if not 0 < size <= 1000:
            return self.error(ex, 400, "badRequest", "page[size] must be between 1 and 1000")
        shown = docs[offset : offset + size]
        base = f"https://api.outreach.io/api/v2{path}?"
        others = "&".join(
            f"{quote(k)}={quote(v)}" for k, v in ex.query.items() if not k.startswith("page[")
        )
        links = {"first": f"{base}{others}&page[size]={size}"}
        if offset + size < len(docs):
            links["next"] = f"{base}{others}&page[size]={size}&page[offset]={offset + size}"
        return self._reply(200, {"data": shown, "meta": {"count": len(docs)}, "links": links})

    def _attributes(self, ex: Exchange) -> dict[str, Any] | Reply:
        body = self.body(ex)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict) or data.get("type") != "prospect":
            return self.error(
                ex, 400, "badRequest", "Expected a JSON:API document of type prospect"
            )
        attrs = data.get("attributes") or {}
        unknown = [a for a in attrs if a not in ATTRIBUTES]
        if unknown:
            return self.error(ex, 422, "validationError", f"Unknown attribute: {unknown[0]}")
        emails = attrs.get("emails")
        if emails is not None and not isinstance(emails, list):
            return self.error(ex, 422, "validationError", "Emails must be a list")
        bad = [e for e in emails or [] if "@" not in str(e)]
        if bad:
            return self.error(
                ex, 422, "validationError", f"Emails contains an invalid email address: {bad[0]}"
            )
        return attrs

    def _taken(self, emails: list[str], own: int | None) -> bool:
        low = {e.lower() for e in emails}
        return any(
            pid != own and low & {str(e).lower() for e in p.get("emails") or []}
            for pid, p in self.prospects.items()
        )

    def create_prospect(self, ex: Exchange) -> Reply:
        attrs = self._attributes(ex)
        if isinstance(attrs, Reply):
            return attrs
        if self._taken(attrs.get("emails") or [], None):
            return self.error(ex, 422, "validationError", "Emails has already been taken")
        pid = self.add(attrs)
        return self._reply(201, {"data": self._doc(pid)})

    def update_prospect(self, ex: Exchange) -> Reply:
        try:
            pid = int(ex.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            return self.error(ex, 404, "resourceNotFound", "Prospect not found")
        if pid not in self.prospects:
            return self.error(ex, 404, "resourceNotFound", f"Prospect {pid} not found")
        attrs = self._attributes(ex)
        if isinstance(attrs, Reply):
            return attrs
        if self._taken(attrs.get("emails") or [], pid):
            return self.error(ex, 422, "validationError", "Emails has already been taken")
        self.prospects[pid].update(attrs)
        return self._reply(200, {"data": self._doc(pid)})

    def list_states(self, ex: Exchange) -> Reply:
        raw = ex.query.get("filter[prospect][id]")
        pids = None if raw is None else {p.strip() for p in raw.split(",")}
        states = [
            (sid, s)
            for sid, s in self.sequence_states.items()
            if pids is None or str(s["prospect"]) in pids
        ]
        data = [
            {
                "type": "sequenceState",
                "id": sid,
                "attributes": {"state": s["state"]},
                "relationships": {
                    "prospect": {"data": {"type": "prospect", "id": s["prospect"]}},
                    "sequence": {"data": {"type": "sequence", "id": s["sequence"]}},
                },
            }
            for sid, s in states
        ]
        return self._page(ex, "/sequenceStates", data)

    def create_state(self, ex: Exchange) -> Reply:
        body = self.body(ex)
        rel = ((body or {}).get("data") or {}).get("relationships") or {}
        try:
            pid = int(rel["prospect"]["data"]["id"])
            seq = int(rel["sequence"]["data"]["id"])
            int(rel["mailbox"]["data"]["id"])
        except (KeyError, TypeError, ValueError):
            return self.error(
                ex,
                422,
                "validationError",
                "prospect, sequence and mailbox relationships are required",
            )
        if pid not in self.prospects:
            return self.error(ex, 422, "validationError", f"Prospect {pid} not found")
        if any(
            s["prospect"] == pid and s["state"] in _ACTIVE for s in self.sequence_states.values()
        ):
            return self.error(
                ex, 422, "validationError", "Prospect is already in an active sequence"
            )
        sid = self.add_state(pid, seq)
        return self._reply(
            201, {"data": {"type": "sequenceState", "id": sid, "attributes": {"state": "active"}}}
        )
