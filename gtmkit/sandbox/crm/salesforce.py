"""Simulated Salesforce REST API for Leads and Contacts: describe, SOQL queries, sObject
Collections (create, update, upsert by external id, ``allOrNone``), Bulk API 2.0 ingest jobs,
an OAuth bearer token and the org's API-request allocation.

Shapes follow Salesforce's documentation:

* sObject Collections: ``POST``/``PATCH /services/data/vXX.X/composite/sobjects`` and
  ``PATCH .../composite/sobjects/{SObject}/{ExternalIdField}`` (upsert), at most 200 records,
  answers a list of ``{id, success, errors[{statusCode, message, fields}]}`` in input order
  (``created`` on upserts):
  https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html
* Bulk API 2.0 ingest: create job, ``PUT .../batches`` CSV, ``PATCH`` ``UploadComplete``,
  poll until ``JobComplete``, then ``successfulResults`` (``sf__Id``, ``sf__Created``) and
  ``failedResults`` (``sf__Id``, ``sf__Error``):
  https://developer.salesforce.com/docs/platform/api-asynch/guide/bulk-api-2-0-ingest.html and
  https://developer.salesforce.com/docs/platform/api-asynch/guide/close-job.html
* ``Sforce-Limit-Info: api-usage=N/M`` on every answer; past the allocation 403
  ``REQUEST_LIMIT_EXCEEDED``; a bad or expired token 401 ``INVALID_SESSION_ID``:
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm
* the OAuth refresh-token flow on the org's domain: ``POST /services/oauth2/token``
  (form-encoded ``grant_type=refresh_token``, ``client_id``, ``client_secret``,
  ``refresh_token``) → ``{"access_token", "instance_url", "token_type": "Bearer", ...}``, or
  400 ``{"error": "invalid_grant", "error_description": ...}``; it does not count against the
  API allocation:
  https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_refresh_token_oauth.htm
* the order of the Bulk API 2.0 result rows "is not guaranteed to match the ordering of
  records in the original job data" (the twin answers them reversed):
  https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/get_job_successful_results.htm

Per-record errors: ``REQUIRED_FIELD_MISSING`` (Lead: ``LastName``, ``Company``; Contact:
``LastName``), ``INVALID_EMAIL_ADDRESS``, ``DUPLICATES_DETECTED`` (the org's duplicate rule:
an active record with the same email, or a Lead with the same name at the same company) with
its ``duplicateResult`` — ``duplicateRule``, ``allowSave``, ``matchResults[].matchRecords[]``
with the matching record's ``Id``
(https://developer.salesforce.com/docs/platform/api/guide/sforce-api-objects-duplicateresult.html,
https://developer.salesforce.com/docs/platform/api/guide/sforce-api-objects-matchresult.html) —
and ``INVALID_FIELD`` for an unknown field.

Options (``CrmApp(limits={"salesforce": {...}})``): ``api_allocation`` (default 15,000),
``bulk_polls`` (polls answered ``InProgress`` before ``JobComplete``, default 1), ``tokens``
(the access tokens still valid; default: any), ``refresh_tokens`` (refresh token → client id
the OAuth endpoint accepts; each grant adds a new access token to ``tokens``).

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> api = CrmTransport().app.apis["salesforce"]
    >>> api.write_one("Lead", "create", {"LastName": "Lovelace"})["errors"][0]["statusCode"]
    'REQUIRED_FIELD_MISSING'
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from gtmkit.sandbox.crm.app import CrmAPI
from gtmkit.sandbox.http.wire import Exchange, Reply, json_reply, stable_id

__all__ = ["FIELDS", "SalesforceAPI"]

#: the OAuth token endpoint, on the org's own domain
TOKEN_PATH = "/services/oauth2/token"

FIELDS: dict[str, tuple[str, ...]] = {
    "Lead": (
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "Company",
        "Title",
        "Phone",
        "Website",
        "Country",
        "LinkedIn_URL__c",
        "Email_Status__c",
        "Email_Source__c",
        "Gtmkit_Key__c",
        "Status",
        "CreatedDate",
    ),
    "Contact": (
        "Id",
        "FirstName",
        "LastName",
        "Email",
        "Title",
        "Phone",
        "AccountId",
        "MailingCountry",
        "LinkedIn_URL__c",
        "Email_Status__c",
        "Email_Source__c",
        "Gtmkit_Key__c",
        "CreatedDate",
    ),
}
_REQUIRED = {"Lead": ("LastName", "Company"), "Contact": ("LastName",)}
_PREFIX = {"Lead": "00Q", "Contact": "003"}
_EXTERNAL_IDS = {"Gtmkit_Key__c"}
_READ_ONLY = {"Id", "CreatedDate"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SOQL = re.compile(
    r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<obj>\w+)"
    r"(?:\s+WHERE\s+(?:(?P<field>\w+)\s+IN\s+\((?P<values>.*)\)|\((?P<likes>.*)\)))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_LIKE = re.compile(r"(\w+)\s+LIKE\s+'((?:[^'\\]|\\.)*)'", re.IGNORECASE)
_VERSION = re.compile(r"^/services/data/v\d+\.\d+(?P<rest>/.*)?$")


class SalesforceAPI(CrmAPI):
    """The Salesforce twin; records by object in ``records["Lead"]`` / ``records["Contact"]``."""

    name = "salesforce"
    routes: ClassVar[dict[tuple[str, str], str]] = {("POST", TOKEN_PATH): "oauth_token"}
    public_paths: ClassVar[frozenset[str]] = frozenset({TOKEN_PATH})
    prefix_routes: ClassVar[dict[tuple[str, str], str]] = {
        (m, "/services/data/"): "dispatch" for m in ("GET", "POST", "PATCH", "PUT")
    }

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.records: dict[str, dict[str, dict[str, Any]]] = {"Lead": {}, "Contact": {}}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.used = 0
        self.allocation = int(self.option("api_allocation", 15_000))
        self.bulk_polls = int(self.option("bulk_polls", 1))
        self.grants = 0

    def add(self, sobject: str, fields: dict[str, Any]) -> str:
        """Store a record as if it had been made in the org; returns its id."""
        record_id = f"{_PREFIX[sobject]}{self.new_id(15)}"
        self.records[sobject][record_id] = {**fields, "Id": record_id}
        return record_id

    # -- envelope ----------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return json_reply(status, [{"message": message, "errorCode": code}])

    def unauthorized(self, ex: Exchange) -> Reply:
        return self.error(ex, 401, "INVALID_SESSION_ID", "Session expired or invalid")

    def oauth_token(self, ex: Exchange) -> Reply:
        """The refresh-token grant: a new access token, valid from now on."""
        form = dict(parse_qsl(ex.body.decode("utf-8", "replace")))
        known: dict[str, str] = dict(self.option("refresh_tokens", {}))
        refresh = form.get("refresh_token", "")
        if (
            form.get("grant_type") != "refresh_token"
            or refresh not in known
            or known[refresh] != form.get("client_id")
            or not form.get("client_secret")
        ):
            return json_reply(
                400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
            )
        self.grants += 1
        token = f"00Dsandbox!{stable_id('sf-token', refresh, self.grants, size=24)}"
        allowed = self.option("tokens", None)
        if allowed is not None:  # tokens are checked: the new one is valid from now on
            allowed.add(token)
        return json_reply(
            200,
            {
                "access_token": token,
                "instance_url": "https://gtmkit-sandbox.my.salesforce.com",
                "id": "https://login.salesforce.com/id/00Dsandbox/005sandbox",
                "token_type": "Bearer",
                "issued_at": str(int(self.clock.now() * 1000)),
                "signature": stable_id("sf-sig", token, size=16),
            },
        )

    def admit(self, ex: Exchange) -> Reply | None:
        if ex.path == TOKEN_PATH:
            return None  # OAuth calls do not count against the API allocation
        if self.used >= self.allocation:
            return json_reply(
                403,
                [
                    {
                        "message": "TotalRequests Limit exceeded.",
                        "errorCode": "REQUEST_LIMIT_EXCEEDED",
                    }
                ],
                self.limit_headers(ex),
            )
        self.used += 1
        return None

    def limit_headers(self, ex: Exchange) -> list[tuple[str, str]]:
        if ex.path == TOKEN_PATH:
            return []
        return [("sforce-limit-info", f"api-usage={self.used}/{self.allocation}")]

    # -- routing below /services/data/vXX.X ----------------------------------------------------
    def dispatch(self, ex: Exchange) -> Reply:
        m = _VERSION.match(ex.path)
        if not m:
            return self.error(ex, 404, "NOT_FOUND", "The requested resource does not exist")
        rest = (m.group("rest") or "/").rstrip("/")
        parts = rest.strip("/").split("/")
        if (
            ex.method == "GET"
            and len(parts) == 3
            and parts[0] == "sobjects"
            and parts[2] == "describe"
        ):
            return self._describe(ex, parts[1])
        if ex.method == "GET" and parts == ["query"]:
            return self._query(ex)
        if parts[:2] == ["composite", "sobjects"]:
            if ex.method == "POST" and len(parts) == 2:
                return self._collection(ex, "create", None, None)
            if ex.method == "PATCH" and len(parts) == 2:
                return self._collection(ex, "update", None, None)
            if ex.method == "PATCH" and len(parts) == 4:
                return self._collection(ex, "upsert", parts[2], parts[3])
        if parts[:2] == ["jobs", "ingest"]:
            return self._bulk(ex, parts[2:])
        return self.error(ex, 404, "NOT_FOUND", "The requested resource does not exist")

    def _describe(self, ex: Exchange, sobject: str) -> Reply:
        if sobject not in FIELDS:
            return self.error(
                ex, 404, "NOT_FOUND", f"The requested resource does not exist: {sobject}"
            )
        fields = [
            {
                "name": f,
                "type": "email" if f == "Email" else ("id" if f == "Id" else "string"),
                "createable": f not in _READ_ONLY,
                "updateable": f not in _READ_ONLY,
                "externalId": f in _EXTERNAL_IDS,
                "nillable": f not in _REQUIRED[sobject],
            }
            for f in FIELDS[sobject]
        ]
        return json_reply(200, {"name": sobject, "fields": fields})

    def _query(self, ex: Exchange) -> Reply:
        m = _SOQL.match(ex.query.get("q", ""))
        if not m or m.group("obj") not in FIELDS:
            return self.error(ex, 400, "MALFORMED_QUERY", "unexpected token in the query")
        sobject = m.group("obj")
        wanted = [f.strip() for f in m.group("fields").split(",")]
        unknown = [f for f in wanted if f not in FIELDS[sobject]]
        if unknown:
            return self.error(
                ex, 400, "INVALID_FIELD", f"No such column '{unknown[0]}' on entity '{sobject}'"
            )
        rows = list(self.records[sobject].values())
        if m.group("field"):
            values = {
                v.replace("\\'", "'").lower()
                for v in re.findall(r"'((?:[^'\\]|\\.)*)'", m.group("values"))
            }
            rows = [r for r in rows if str(r.get(m.group("field")) or "").lower() in values]
        elif m.group("likes"):  # (F LIKE '%x%' OR F LIKE '%y%'): case-insensitive, as SOQL
            likes = [(f, _like_pattern(v)) for f, v in _LIKE.findall(m.group("likes"))]
            rows = [r for r in rows if any(p.fullmatch(str(r.get(f) or "")) for f, p in likes)]
        records = [
            {
                "attributes": {
                    "type": sobject,
                    "url": f"/services/data/v60.0/sobjects/{sobject}/{r['Id']}",
                },
                **{f: r.get(f) for f in wanted},
            }
            for r in rows
        ]
        return json_reply(200, {"totalSize": len(records), "done": True, "records": records})

    # -- writes ------------------------------------------------------------------------------
    def _check(self, sobject: str, fields: dict[str, Any], creating: bool) -> dict[str, Any] | None:
        for name in fields:
            if name not in FIELDS[sobject] or (name in _READ_ONLY and name != "Id"):
                return {
                    "statusCode": "INVALID_FIELD",
                    "message": f"No such column '{name}' on sobject of type {sobject}",
                    "fields": [name],
                }
        if creating:
            missing = [f for f in _REQUIRED[sobject] if not fields.get(f)]
            if missing:
                return {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": f"Required fields are missing: [{', '.join(missing)}]",
                    "fields": missing,
                }
        email = fields.get("Email")
        if email and not _EMAIL.match(str(email)):
            return {
                "statusCode": "INVALID_EMAIL_ADDRESS",
                "message": f"Email: invalid email address: {email}",
                "fields": ["Email"],
            }
        return None

    def _duplicate(
        self, sobject: str, fields: dict[str, Any], own_id: str | None
    ) -> dict[str, Any] | None:
        """The org's standard duplicate rules: the same email, or (Leads) the same first and
        last name at the same company."""

        def low(rec: dict[str, Any], name: str) -> str:
            return str(rec.get(name) or "").strip().lower()

        email = low(fields, "Email")
        person = tuple(low(fields, f) for f in ("FirstName", "LastName", "Company"))
        for rid, rec in self.records[sobject].items():
            if rid == own_id:
                continue
            same_email = bool(email) and low(rec, "Email") == email
            same_person = (
                sobject == "Lead"
                and all(person)
                and person == tuple(low(rec, f) for f in ("FirstName", "LastName", "Company"))
            )
            if same_email or same_person:
                return _duplicate_error(sobject, rid)
        return None

    def write_one(
        self, sobject: str, op: str, fields: dict[str, Any], ext: str | None = None
    ) -> dict[str, Any]:
        """One record's create/update/upsert; the collection's answer item for it."""
        fields = {k: v for k, v in fields.items() if k != "attributes"}
        own_id = str(fields.pop("Id", None) or fields.pop("id", None) or "") or None
        if op == "upsert":
            key = fields.get(ext or "")
            if not key:
                return {
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "MISSING_ARGUMENT",
                            "message": f"{ext} not specified",
                            "fields": [ext],
                        }
                    ],
                }
            own_id = next(
                (rid for rid, r in self.records[sobject].items() if r.get(ext or "") == key), None
            )
        creating = own_id is None
        if op == "update" and (own_id is None or own_id not in self.records[sobject]):
            return {
                "success": False,
                "errors": [
                    {
                        "statusCode": "ENTITY_IS_DELETED" if own_id else "MISSING_ARGUMENT",
                        "message": "entity is deleted"
                        if own_id
                        else "Id not specified in an update call",
                        "fields": [],
                    }
                ],
            }
        problem = self._check(sobject, fields, creating) or self._duplicate(sobject, fields, own_id)
        if problem:
            return {"id": own_id, "success": False, "errors": [problem]}
        if creating:
            own_id = self.add(sobject, fields)
        else:
            assert own_id is not None
            self.records[sobject][own_id].update(fields)
        out: dict[str, Any] = {"id": own_id, "success": True, "errors": []}
        if op == "upsert":
            out["created"] = creating
        return out

    def _collection(self, ex: Exchange, op: str, sobject: str | None, ext: str | None) -> Reply:
        body = self.body(ex)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            return self.error(ex, 400, "JSON_PARSER_ERROR", "records: expected an array")
        if len(records) > 200:
            return self.error(
                ex,
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        answers = []
        for rec in records:
            kind = (rec.get("attributes") or {}).get("type") if isinstance(rec, dict) else None
            target = sobject or kind
            if target not in FIELDS or (sobject and kind and kind != sobject):
                answers.append(
                    {
                        "success": False,
                        "errors": [
                            {
                                "statusCode": "INVALID_TYPE",
                                "message": (
                                    "sObject type is required and must be the same as in the URI"
                                ),
                                "fields": [],
                            }
                        ],
                    }
                )
                continue
            answers.append(self.write_one(target, op, rec, ext))
        if body.get("allOrNone") and any(not a["success"] for a in answers):
            answers = [
                a
                if not a["success"]
                else {
                    "id": None,
                    "success": False,
                    "errors": [
                        {
                            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "message": (
                                "Record rolled back because not all records were valid and "
                                "the request was using AllOrNone header"
                            ),
                            "fields": [],
                        }
                    ],
                }
                for a in answers
            ]
        return json_reply(200, answers)

    # -- Bulk API 2.0 ----------------------------------------------------------------------------
    def _bulk(self, ex: Exchange, parts: list[str]) -> Reply:
        if not parts and ex.method == "POST":
            body = self.body(ex) or {}
            if body.get("object") not in FIELDS or body.get("operation") not in (
                "insert",
                "update",
                "upsert",
            ):
                return self.error(
                    ex, 400, "INVALIDJOB", "InvalidJob : object and operation are required"
                )
            if body.get("operation") == "upsert" and not body.get("externalIdFieldName"):
                return self.error(
                    ex, 400, "INVALIDJOB", "InvalidJob : External ID was blank for upsert"
                )
            job_id = f"750{self.new_id(15)}"
            self.jobs[job_id] = {
                "id": job_id,
                "object": body["object"],
                "operation": body["operation"],
                "externalIdFieldName": body.get("externalIdFieldName"),
                "state": "Open",
                "contentType": "CSV",
                "lineEnding": body.get("lineEnding", "LF"),
                "apiVersion": 60.0,
                "_csv": b"",
                "_polls": 0,
                "_ok": [],
                "_bad": [],
                "numberRecordsProcessed": 0,
                "numberRecordsFailed": 0,
            }
            return json_reply(200, _public(self.jobs[job_id]))
        job = self.jobs.get(parts[0]) if parts else None
        if job is None:
            return self.error(ex, 404, "NOT_FOUND", "The requested resource does not exist")
        if parts[1:] == ["batches"] and ex.method == "PUT":
            if job["state"] != "Open":
                return self.error(
                    ex, 409, "INVALIDJOBSTATE", f"Job is not open for uploads: {job['state']}"
                )
            job["_csv"] += ex.body
            return Reply(201, b"")
        if not parts[1:] and ex.method == "PATCH":
            state = (self.body(ex) or {}).get("state")
            if state == "UploadComplete" and job["state"] == "Open":
                job["state"] = "UploadComplete"
                self._process(job)
            elif state == "Aborted":
                job["state"] = "Aborted"
            else:
                return self.error(ex, 400, "INVALIDJOBSTATE", f"Cannot change job state to {state}")
            return json_reply(200, _public(job))
        if not parts[1:] and ex.method == "GET":
            if job["state"] == "UploadComplete":
                job["_polls"] += 1
                job["state"] = "InProgress" if job["_polls"] <= self.bulk_polls else "JobComplete"
            elif job["state"] == "InProgress":
                job["_polls"] += 1
                if job["_polls"] > self.bulk_polls:
                    job["state"] = "JobComplete"
            return json_reply(200, _public(job))
        if parts[1:] in (["successfulResults"], ["failedResults"]) and ex.method == "GET":
            if job["state"] != "JobComplete":
                return self.error(ex, 400, "INVALIDJOBSTATE", "Job is not complete")
            ok = parts[1] == "successfulResults"
            rows = job["_ok"] if ok else job["_bad"]
            head = ["sf__Id", "sf__Created"] if ok else ["sf__Id", "sf__Error"]
            out = io.StringIO()
            writer = csv.writer(out, lineterminator="\n")
            fields = job.get("_fields", [])
            writer.writerow(head + fields)
            for first, second, rec in reversed(rows):  # no order is promised
                writer.writerow([first, second] + [rec.get(f, "") for f in fields])
            return Reply(200, out.getvalue().encode(), content_type="text/csv")
        return self.error(ex, 404, "NOT_FOUND", "The requested resource does not exist")

    def _process(self, job: dict[str, Any]) -> None:
        reader = csv.DictReader(io.StringIO(job["_csv"].decode("utf-8")))
        job["_fields"] = list(reader.fieldnames or [])
        op = job["operation"]
        for rec in reader:
            fields = {k: v for k, v in rec.items() if v != ""}
            answer = self.write_one(
                job["object"], {"insert": "create"}.get(op, op), fields, job["externalIdFieldName"]
            )
            if answer["success"]:
                created = answer.get("created", op == "insert")
                job["_ok"].append((answer["id"], "true" if created else "false", rec))
            else:
                err = answer["errors"][0]
                fields_note = ":".join(err.get("fields") or [])
                job["_bad"].append(("", f"{err['statusCode']}:{err['message']}:{fields_note}", rec))
        job["numberRecordsProcessed"] = len(job["_ok"]) + len(job["_bad"])
        job["numberRecordsFailed"] = len(job["_bad"])


def _like_pattern(value: str) -> re.Pattern[str]:
    """A SOQL ``LIKE`` pattern as a regex: ``%`` any run, ``_`` one character, ``\\`` escapes."""
    out, chars = [], iter(value)
    for c in chars:
        if c == "\\":
            out.append(re.escape(next(chars, "")))
        else:
            out.append({"%": ".*", "_": "."}.get(c, re.escape(c)))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _public(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if not k.startswith("_")}


def _duplicate_error(sobject: str, match_id: str) -> dict[str, Any]:
    """The error a blocking duplicate rule gives, naming the record it matched."""
    message = "Use one of these records?"
    match = {
        "entityType": sobject,
        "errors": [],
        "matchEngine": "FuzzyMatchEngine",
        "matchRecords": [
            {
                "additionalInformation": [],
                "fieldDiffs": [],
                "matchConfidence": 100.0,
                "record": {
                    "attributes": {
                        "type": sobject,
                        "url": f"/services/data/v60.0/sobjects/{sobject}/{match_id}",
                    },
                    "Id": match_id,
                },
            }
        ],
        "rule": f"Standard_{sobject}_Match_Rule_v1_0",
        "size": 1,
        "success": True,
    }
    return {
        "statusCode": "DUPLICATES_DETECTED",
        "message": message,
        "fields": [],
        "duplicateResult": {
            "allowSave": False,
            "duplicateRule": f"Standard_{sobject}_Duplicate_Rule",
            "duplicateRuleEntityType": sobject,
            "errorMessage": message,
            "matchResults": [match],
        },
    }
