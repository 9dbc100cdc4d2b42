"""Simulated HubSpot CRM v3: contacts and companies, search, batch create/update/upsert,
v4 default associations, a private-app bearer token, per-record errors and the limits.

Shapes follow HubSpot's documentation:

* search ``POST /crm/v3/objects/{type}/search`` (``filterGroups`` with ``IN``/``EQ`` filters,
  ``properties``, ``limit`` ≤ 100 — 200 answers ``paging.next.after``):
  https://developers.hubspot.com/docs/api-reference/latest/crm/objects/contacts/guide
* batches ``/batch/create``, ``/batch/update``, ``/batch/upsert`` (``idProperty``), at most
  100 inputs; the answer is ``{status, results[], requestedAt, startedAt, completedAt, links}``
  and, when some inputs failed, 207 with ``numErrors`` and ``errors[]`` (``status``,
  ``category``, ``message``, ``errors[]``, ``context``, ``links``) whose
  ``context.objectWriteTraceId`` names the failed inputs; each result carries its input's
  ``objectWriteTraceId`` (upserts: ``new``). HubSpot does not promise the results in input
  order, so the twin answers them reversed: a client has to match them by trace id.
  https://developers.hubspot.com/docs/api-reference/legacy/crm/objects/contacts/batch/upsert-contacts
  and https://developers.hubspot.com/docs/api-reference/error-handling (207 multi-status)
* properties ``GET /crm/v3/properties/{type}`` (``results[].name``).
* associations v4 ``POST /crm/v4/associations/contacts/companies/batch/associate/default``.
* limits: a rolling 10-second burst window (100 requests for a private app on Starter/Free)
  and a daily limit; a 429 body names ``policyName`` (``TEN_SECONDLY_ROLLING`` or ``DAILY``),
  and every answer carries ``X-HubSpot-RateLimit-*`` headers. The search endpoints have a
  tighter limit of their own, a few requests a second per token (4 in HubSpot's changelog,
  5 today): past it a 429 with ``policyName`` ``SECONDLY``
  (https://developers.hubspot.com/changelog/crm-search-api-rate-limit-increase,
  https://github.com/PipedreamHQ/pipedream/pull/18215).
  https://developers.hubspot.com/changelog/2018-11-06-rate-limit-information-headers-will-be-included-in-http-responses
  and https://developers.hubspot.com/apps/api_guidelines.

Errors: no token → 401 ``INVALID_AUTHENTICATION``; an unknown property or a bad email →
``VALIDATION_ERROR`` for that record; an email another contact has → ``CONFLICT``
("Contact already exists. Existing ID: N").

Options (``CrmApp(limits={"hubspot": {...}})``): ``burst`` (requests per 10 s, default 100),
``daily`` (default 250,000), ``search_per_second`` (default 5).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> api = CrmTransport().app.apis["hubspot"]
    >>> api.add("contacts", {"email": "ada@x.io"}), "gtm_email_status" in CONTACT_PROPERTIES
    ('1', True)
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from gtmkit.sandbox.crm.app import CrmAPI, Window
from gtmkit.sandbox.http.wire import Exchange, Reply, json_reply, stable_id

__all__ = ["COMPANY_PROPERTIES", "CONTACT_PROPERTIES", "HubSpotAPI"]

#: default contact properties, plus the custom ones a gtmkit portal gets (``gtm_*``)
CONTACT_PROPERTIES = (
    "email",
    "firstname",
    "lastname",
    "jobtitle",
    "company",
    "website",
    "phone",
    "country",
    "hs_linkedin_url",
    "lifecyclestage",
    "gtm_email_status",
    "gtm_email_source",
    "gtm_enrichment_cost_usd",
    "createdate",
    "lastmodifieddate",
)
COMPANY_PROPERTIES = ("name", "domain", "website", "country", "createdate")
_READ_ONLY = {"createdate", "lastmodifieddate"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_INPUTS = 100
_NOW = "2026-06-01T00:00:00.000Z"


class HubSpotAPI(CrmAPI):
    """The HubSpot twin; its records are in ``objects["contacts"]`` / ``objects["companies"]``."""

    name = "hubspot"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "/crm/v4/associations/contacts/companies/batch/associate/default"): "associate",
    }
    prefix_routes: ClassVar[dict[tuple[str, str], str]] = {
        ("GET", "/crm/v3/properties/"): "properties",
        ("POST", "/crm/v3/objects/"): "objects_post",
    }

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.objects: dict[str, dict[str, dict[str, Any]]] = {"contacts": {}, "companies": {}}
        self.associations: set[tuple[str, str]] = set()
        self.burst = Window(self.clock, int(self.option("burst", 100)), 10.0)
        self.daily = Window(self.clock, int(self.option("daily", 250_000)), 86_400.0)
        self.searches = Window(self.clock, int(self.option("search_per_second", 5)), 1.0)

    # -- seeding (tests and notebooks put a CRM's existing records here) -------------------
    def add(self, object_type: str, properties: dict[str, Any]) -> str:
        """Store a record as if it had been made in HubSpot; returns its id."""
        record_id = self.new_id()
        self.objects[object_type][record_id] = {
            **{k: None if v is None else str(v) for k, v in properties.items()},
            "createdate": _NOW,
        }
        return record_id

    # -- envelope ----------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return json_reply(
            status,
            {
                "status": "error",
                "message": message,
                "category": code,
                "correlationId": stable_id("hs", ex.fingerprint().hex(), size=8),
            },
        )

    def unauthorized(self, ex: Exchange) -> Reply:
        return self.error(
            ex,
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication",
        )

    def admit(self, ex: Exchange) -> Reply | None:
        if not self.daily.admit():
            policy, message = "DAILY", "You have reached your daily limit."
        elif not self.burst.admit():
            policy, message = (
                "TEN_SECONDLY_ROLLING",
                "You have reached your ten_secondly_rolling limit.",
            )
        elif ex.path.endswith("/search") and not self.searches.admit():
            policy, message = "SECONDLY", "You have reached your secondly limit."
        else:
            return None
        body = {
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": stable_id("hs429", self.clock.now(), size=8),
            "policyName": policy,
            "groupName": "publicapi:private-app:gtmkit-sandbox",
        }
        return json_reply(429, body, self.limit_headers(ex))

    def limit_headers(self, ex: Exchange) -> list[tuple[str, str]]:
        return [
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
            ("x-hubspot-ratelimit-max", str(self.burst.limit)),
            ("x-hubspot-ratelimit-remaining", str(self.burst.remaining())),
            ("x-hubspot-ratelimit-daily", str(self.daily.limit)),
            ("x-hubspot-ratelimit-daily-remaining", str(self.daily.remaining())),
        ]

    # -- handlers ----------------------------------------------------------------------------
    def _schema(self, object_type: str) -> tuple[str, ...] | None:
        return {"contacts": CONTACT_PROPERTIES, "companies": COMPANY_PROPERTIES}.get(object_type)

    def properties(self, ex: Exchange) -> Reply:
        object_type = ex.path.rstrip("/").rsplit("/", 1)[-1]
        names = self._schema(object_type)
        if names is None:
            return self.error(
                ex, 400, "VALIDATION_ERROR", f"Unable to infer object type from: {object_type}"
            )
        results = [
            {
                "name": n,
                "label": n.replace("_", " ").title(),
                "type": "string",
                "fieldType": "text",
                "modificationMetadata": {"readOnlyValue": n in _READ_ONLY},
            }
            for n in names
        ]
        return json_reply(200, {"results": results})

    def objects_post(self, ex: Exchange) -> Reply:
        parts = ex.path.strip("/").split("/")  # crm v3 objects <type> <op...>
        if len(parts) < 5 or parts[3] not in self.objects:
            return self.error(ex, 404, "OBJECT_NOT_FOUND", "Not Found")
        object_type, op = parts[3], "/".join(parts[4:])
        body = self.body(ex)
        if not isinstance(body, dict):
            return self.error(ex, 400, "VALIDATION_ERROR", "Invalid input JSON on line 1")
        if op == "search":
            return self._search(ex, object_type, body)
        if op == "batch/read":
            return self._batch_read(ex, object_type, body)
        if op not in ("batch/create", "batch/update", "batch/upsert"):
            return self.error(ex, 404, "OBJECT_NOT_FOUND", "Not Found")
        inputs = self._inputs(ex, body)
        if not isinstance(inputs, list):
            return inputs
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            done = self._write_one(object_type, op.split("/")[1], item)
            trace = item.get("objectWriteTraceId") if isinstance(item, dict) else None
            if isinstance(done, dict):
                results.append({**done, "objectWriteTraceId": trace} if trace else done)
                continue
            category, message = done
            context = {"objectWriteTraceId": [trace]} if trace else {"ids": [str(item.get("id"))]}
            errors.append(
                {
                    "status": "error",
                    "category": category,
                    "message": message,
                    "errors": [{"message": message, "code": category}],
                    "context": context,
                    "links": {},
                }
            )
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results[::-1],  # no order is promised: clients match by trace id
            "requestedAt": _NOW,
            "startedAt": _NOW,
            "completedAt": _NOW,
            "links": {},
        }
        if errors:
            answer["errors"] = errors
            answer["numErrors"] = len(errors)
            return json_reply(207, answer)
        return json_reply(201 if op == "batch/create" else 200, answer)

    def _invalid(self, object_type: str, props: Any) -> tuple[str, str] | None:
        if not isinstance(props, dict):
            return "VALIDATION_ERROR", "properties must be an object"
        known = self._schema(object_type) or ()
        for name, value in props.items():
            if name not in known:
                return "VALIDATION_ERROR", (
                    f'Property values were not valid: [{{"isValid":false,"message":"Property '
                    f'\\"{name}\\" does not exist","error":"PROPERTY_DOESNT_EXIST",'
                    f'"name":"{name}"}}]'
                )
            if name in _READ_ONLY:
                return "VALIDATION_ERROR", f"Property {name} is read-only"
            if name == "email" and value not in (None, "") and not _EMAIL.match(str(value)):
                return "VALIDATION_ERROR", (
                    f'Property values were not valid: [{{"isValid":false,"message":"Email '
                    f'address {value} is invalid","error":"INVALID_EMAIL","name":"email"}}]'
                )
        return None

    def _by_email(self, email: str) -> str | None:
        for rid, props in self.objects["contacts"].items():
            if (props.get("email") or "").lower() == email.lower():
                return rid
        return None

    def _write_one(self, object_type: str, op: str, item: Any) -> dict[str, Any] | tuple[str, str]:
        if not isinstance(item, dict):
            return "VALIDATION_ERROR", "each input must be an object"
        props = item.get("properties", {})
        bad = self._invalid(object_type, props)
        if bad:
            return bad
        store = self.objects[object_type]
        clean = {k: None if v is None else str(v) for k, v in props.items()}
        is_new = False
        if op == "create":
            email = clean.get("email")
            if object_type == "contacts" and email and self._by_email(email):
                return "CONFLICT", f"Contact already exists. Existing ID: {self._by_email(email)}"
            record_id, is_new = self.new_id(), True
            store[record_id] = {"createdate": _NOW}
        elif op == "update":
            record_id = str(item.get("id"))
            if record_id not in store:
                return "OBJECT_NOT_FOUND", f"Object with id {record_id} not found"
        else:  # upsert by idProperty
            id_prop, id_value = item.get("idProperty"), item.get("id")
            if id_prop != "email" or object_type != "contacts" or not id_value:
                return "VALIDATION_ERROR", "idProperty must be a unique property (email) with an id"
            if not _EMAIL.match(str(id_value)):
                return "VALIDATION_ERROR", f"Email address {id_value} is invalid"
            found = self._by_email(str(id_value))
            if found is None:
                record_id, is_new = self.new_id(), True
                store[record_id] = {"createdate": _NOW, "email": str(id_value)}
            else:
                record_id = found
        store[record_id].update(clean)
        store[record_id]["lastmodifieddate"] = _NOW
        out = {
            "id": record_id,
            "properties": dict(store[record_id]),
            "createdAt": _NOW,
            "updatedAt": _NOW,
            "archived": False,
        }
        if op == "upsert":
            out["new"] = is_new
        return out

    def _inputs(self, ex: Exchange, body: dict[str, Any]) -> list[Any] | Reply:
        """A batch call's ``inputs``, or HubSpot's 400 for an empty or oversize batch."""
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return self.error(ex, 400, "VALIDATION_ERROR", "inputs must be a non-empty list")
        if len(inputs) > _MAX_INPUTS:
            return self.error(
                ex, 400, "VALIDATION_ERROR", f"Batch input must not exceed {_MAX_INPUTS} inputs"
            )
        return inputs

    def _batch_read(self, ex: Exchange, object_type: str, body: dict[str, Any]) -> Reply:
        """``batch/read`` by record id: the asked ``properties`` of each record found; ids not
        found are a 207 with one ``OBJECT_NOT_FOUND`` error naming them."""
        inputs = self._inputs(ex, body)
        if not isinstance(inputs, list):
            return inputs
        wanted = [str(p) for p in body.get("properties") or []]
        store = self.objects[object_type]
        results: list[dict[str, Any]] = []
        missing: list[str] = []
        for item in inputs:
            record_id = str(item.get("id")) if isinstance(item, dict) else ""
            record = store.get(record_id)
            if record is None:
                missing.append(record_id)
                continue
            props = {k: record.get(k) for k in wanted} if wanted else dict(record)
            props["hs_object_id"] = record_id
            results.append({"id": record_id, "properties": props, "archived": False,
                            "createdAt": _NOW, "updatedAt": _NOW})  # fmt: skip
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results, "requestedAt": _NOW,
                                  "startedAt": _NOW, "completedAt": _NOW}  # fmt: skip
        if not missing:
            return json_reply(200, answer)
        message = "Could not get some CONTACT objects, they may be deleted or not exist."
        answer["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                             "message": message, "context": {"ids": missing}}]  # fmt: skip
        answer["numErrors"] = 1
        return json_reply(207, answer)

    def _search(self, ex: Exchange, object_type: str, body: dict[str, Any]) -> Reply:
        limit = body.get("limit", 10)
        if not isinstance(limit, int) or not 0 < limit <= 100:
            return self.error(ex, 400, "VALIDATION_ERROR", "limit must be between 1 and 100")
        groups = body.get("filterGroups") or []
        store = self.objects[object_type]

        def hit(props: dict[str, Any]) -> bool:
            if not groups:
                return True
            for group in groups:  # groups are ORed, filters within a group ANDed
                if all(_filter_ok(props, f) for f in group.get("filters", [])):
                    return True
            return False

        matches = [rid for rid in store if hit(store[rid])]
        start = int(body.get("after") or 0)
        page = matches[start : start + limit]
        wanted = body.get("properties") or ["email", "firstname", "lastname"]
        results = [
            {
                "id": rid,
                "properties": {p: store[rid].get(p) for p in wanted},
                "createdAt": _NOW,
                "updatedAt": _NOW,
                "archived": False,
            }
            for rid in page
        ]
        answer: dict[str, Any] = {"total": len(matches), "results": results}
        if start + limit < len(matches):
            answer["paging"] = {"next": {"after": str(start + limit)}}
        return json_reply(200, answer)

    def associate(self, ex: Exchange) -> Reply:
        body = self.body(ex)
        inputs = body.get("inputs") if isinstance(body, dict) else None
        if not isinstance(inputs, list):
            return self.error(ex, 400, "VALIDATION_ERROR", "inputs must be a list")
        results, errors = [], []
        for item in inputs:
            src = str(item.get("from", {}).get("id"))
            dst = str(item.get("to", {}).get("id"))
            if src not in self.objects["contacts"] or dst not in self.objects["companies"]:
                errors.append(
                    {
                        "status": "error",
                        "category": "VALIDATION_ERROR",
                        "message": f"No contact {src} or company {dst}",
                        "context": {"fromObjectId": [src]},
                    }
                )
                continue
            self.associations.add((src, dst))
            results.append(
                {
                    "fromObjectTypeId": "0-1",
                    "fromObjectId": int(src),
                    "toObjectTypeId": "0-2",
                    "toObjectId": int(dst),
                    "labels": [],
                }
            )
        answer: dict[str, Any] = {"status": "COMPLETE", "results": results}
        if errors:
            answer.update(errors=errors, numErrors=len(errors))
        return json_reply(207 if errors else 200, answer)


def _filter_ok(props: dict[str, Any], spec: dict[str, Any]) -> bool:
    value = props.get(spec.get("propertyName", ""))
    op = spec.get("operator", "EQ")
    text = "" if value is None else str(value).lower()
    if op == "EQ":
        return text == str(spec.get("value", "")).lower()
    if op == "IN":
        return text in {str(v).lower() for v in spec.get("values", [])}
    if op == "HAS_PROPERTY":
        return bool(text)
    if op == "CONTAINS_TOKEN":
        return str(spec.get("value", "")).lower().strip("*") in text
    return False
