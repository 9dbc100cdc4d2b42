"""Salesforce Leads or Contacts through the REST API: a small httpx client.

* Auth: an OAuth access token as a bearer token (``SALESFORCE_ACCESS_TOKEN``) against the org's
  instance URL (``SALESFORCE_INSTANCE_URL``, e.g. ``https://acme.my.salesforce.com``). Access
  tokens expire with the org's session timeout; with a connected app's
  ``SALESFORCE_CLIENT_ID``, ``SALESFORCE_CLIENT_SECRET`` and ``SALESFORCE_REFRESH_TOKEN`` an
  expired one (401 ``INVALID_SESSION_ID``) is renewed once through the refresh-token flow
  (``POST /services/oauth2/token``, on the org's domain) and the call is sent again; those
  three alone (no access token) are enough to start. A rotated refresh token in the answer
  replaces the old one. Getting the first refresh token (the web-server flow, in a browser)
  is left to the org's own tooling.
* Reads: ``GET /services/data/vXX.X/sobjects/{Lead|Contact}/describe`` (the fields the mapping
  is checked against) and SOQL ``SELECT ... WHERE Email IN (...)`` queries (quotes escaped).
* Writes: sObject Collections with ``allOrNone=false`` — 200 records a call, one result per
  record in input order, so a validation error or a ``DUPLICATES_DETECTED`` from the org's
  duplicate rules fails that record only (its reason names the record the rule matched, from
  the error's ``duplicateResult``):
  ``POST /composite/sobjects`` (create), ``PATCH /composite/sobjects`` (update by id), or, with
  ``external_id_field=``, ``PATCH /composite/sobjects/{SObject}/{field}`` (upsert: a retried
  call cannot create twice).
* Above ``bulk_threshold`` records one Bulk API 2.0 ingest job takes them all: create the job,
  ``PUT`` the CSV, ``PATCH`` ``UploadComplete``, poll until ``JobComplete``, then read
  ``successfulResults`` and ``failedResults`` (``sf__Error`` per record).
* Limits: every answer's ``Sforce-Limit-Info: api-usage=N/M`` is read; above ``pace_above`` of
  the allocation calls are spaced out, and the write stops (records kept for retry) before the
  last ``reserve`` share of the org's 24-hour allocation, which other integrations need too.
  ``403 REQUEST_LIMIT_EXCEEDED`` stops it as well.

Docs: https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/intro_understanding_refresh_token_oauth.htm,
https://developer.salesforce.com/docs/platform/api/guide/sforce-api-objects-duplicateresult.html,
https://developer.salesforce.com/docs/platform/api-asynch/guide/bulk-api-2-0-ingest.html,
https://developer.salesforce.com/docs/platform/api-asynch/guide/close-job.html.

Example:
    >>> from gtmkit.sandbox.crm import CrmTransport
    >>> sf = Salesforce(transport=CrmTransport(), object_type="Contact")
    >>> sf.base, sf.default_fields["country"]
    ('https://gtmkit-sandbox.my.salesforce.com/services/data/v60.0', 'MailingCountry')
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import httpx

from gtmkit.sync.dedupe import Existing, linkedin_handle
from gtmkit.sync.destinations.base import Destination, Item, Outcome, Session
from gtmkit.sync.errors import DestinationError, MappingError

__all__ = ["Salesforce"]

SANDBOX_INSTANCE = "https://gtmkit-sandbox.my.salesforce.com"
#: the connected app's refresh-token credentials: form field → environment variable
OAUTH_ENV = {
    "client_id": "SALESFORCE_CLIENT_ID",
    "client_secret": "SALESFORCE_CLIENT_SECRET",
    "refresh_token": "SALESFORCE_REFRESH_TOKEN",
}
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")

_LEAD_FIELDS = {
    "email": "Email",
    "first_name": "FirstName",
    "last_name": "LastName",
    "company_name": "Company",
    "title": "Title",
    "phone": "Phone",
    "company_domain": "Website",
    "country": "Country",
    "linkedin_url": "LinkedIn_URL__c",
    "email_status": "Email_Status__c",
    "email_source": "Email_Source__c",
}
_CONTACT_FIELDS = {
    "email": "Email",
    "first_name": "FirstName",
    "last_name": "LastName",
    "title": "Title",
    "phone": "Phone",
    "country": "MailingCountry",
    "linkedin_url": "LinkedIn_URL__c",
    "email_status": "Email_Status__c",
    "email_source": "Email_Source__c",
}


class Salesforce(Destination):
    """Salesforce Leads (default) or Contacts.

    Args:
        object_type: ``"Lead"`` or ``"Contact"``.
        instance_url: the org's URL (default ``SALESFORCE_INSTANCE_URL``; the twin's host
            offline).
        api_version: REST API version (``"v60.0"``).
        external_id_field: an external-id field to upsert by (its value: the sync's record
            key); ``None`` creates with ``POST``.
        bulk_threshold: above this many records of one action, a Bulk API 2.0 job.
        poll_s: seconds between polls of a bulk job.
        pace_above / reserve: share of the API allocation above which calls are spaced, and
            the share left untouched.
    """

    name = "salesforce"
    token_env = "SALESFORCE_ACCESS_TOKEN"
    batch_size = 200
    default_fields: ClassVar[dict[str, str]] = _LEAD_FIELDS

    def __init__(
        self,
        *,
        object_type: Literal["Lead", "Contact"] = "Lead",
        instance_url: str | None = None,
        api_version: str = "v60.0",
        external_id_field: str | None = None,
        bulk_threshold: int = 2_000,
        poll_s: float = 2.0,
        pace_above: float = 0.8,
        reserve: float = 0.05,
        **options: Any,
    ) -> None:
        if object_type not in ("Lead", "Contact"):
            raise MappingError(f"object_type must be 'Lead' or 'Contact', got {object_type!r}")
        self._oauth = {name: os.environ.get(var, "").strip() for name, var in OAUTH_ENV.items()}
        super().__init__(**options)
        self.object_type = object_type
        if object_type == "Contact":
            self.default_fields = _CONTACT_FIELDS  # type: ignore[misc]
        # a twin serves its own host: an org's URL in the environment is for live syncs
        live_url = os.environ.get("SALESFORCE_INSTANCE_URL") if self.mode == "live" else None
        url = instance_url or live_url or (SANDBOX_INSTANCE if self.mode == "sandbox" else None)
        if not url:
            raise MappingError(
                "salesforce: set SALESFORCE_INSTANCE_URL (your org's https://….my.salesforce.com)"
            )
        self.instance = url.rstrip("/")
        self.base = f"{self.instance}/services/data/{api_version}"
        self.external_id_field = external_id_field
        self.bulk_threshold = bulk_threshold
        self.poll_s = poll_s
        self.pace_above = pace_above
        self.reserve = reserve
        self.usage: tuple[int, int] | None = None

    # -- credentials -------------------------------------------------------------------------
    _secret_state = ("_oauth",)

    def can_refresh(self) -> bool:
        return all(self._oauth.values())

    def secrets(self) -> list[str]:
        return [*super().secrets(), *(v for v in self._oauth.values() if v)]

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        if not self.can_refresh():
            return False
        form = {"grant_type": "refresh_token", **self._oauth}
        try:
            resp = await client.post(f"{self.instance}/services/oauth2/token", data=form)
        except httpx.TransportError as exc:
            raise DestinationError(
                f"salesforce: {type(exc).__name__} renewing the access token",
                destination=self.name,
                kind="transport",
                retryable=True,
            ) from None
        body = resp.json() if resp.content else {}
        if resp.status_code != 200 or not body.get("access_token"):
            raise DestinationError(
                f"salesforce refused the refresh token ({resp.status_code} "
                f"{self.redact(str(body.get('error', '')))}): get a new one and set "
                f"{', '.join(OAUTH_ENV.values())} in the environment",
                destination=self.name,
                kind="auth",
                http_status=resp.status_code,
            )
        self._use_token(str(body["access_token"]))
        if body.get("refresh_token"):  # rotation: the old one no longer works
            self._oauth["refresh_token"] = str(body["refresh_token"])
        return True

    # -- pacing ------------------------------------------------------------------------------
    def observe(self, response: httpx.Response) -> None:
        m = _USAGE.search(response.headers.get("sforce-limit-info", ""))
        if m:
            self.usage = (int(m.group(1)), int(m.group(2)))

    def wait_before_next(self) -> float:
        if self.usage is None:
            return 0.0
        used, limit = self.usage
        if limit and used >= limit * (1.0 - self.reserve):
            raise DestinationError(
                f"salesforce API usage is {used}/{limit}: stopping before the last "
                f"{self.reserve:.0%} of the org's 24-hour allocation; the records not written "
                "are kept for retry",
                destination=self.name,
                kind="daily_limit",
            )
        return 0.5 if limit and used >= limit * self.pace_above else 0.0

    def is_throttle(self, response: httpx.Response) -> bool:
        return response.status_code == 403 and "REQUEST_LIMIT_EXCEEDED" in response.text

    def retry_delay(self, response: httpx.Response) -> float | None:
        if "REQUEST_LIMIT_EXCEEDED" in response.text:
            return None  # the 24-hour allocation does not come back within a sync
        return super().retry_delay(response)

    # -- reads -------------------------------------------------------------------------------
    async def schema(self, session: Session) -> set[str]:
        resp = await session.request("GET", f"{self.base}/sobjects/{self.object_type}/describe")
        if resp.status_code >= 400:
            raise DestinationError(
                f"salesforce describe {self.object_type}: {self.error_text(resp)}",
                destination=self.name,
                kind="bad_request",
                http_status=resp.status_code,
            )
        fields = {f["name"] for f in resp.json().get("fields", []) if f.get("updateable")}
        if self.external_id_field and self.external_id_field not in fields:
            raise MappingError(
                f"salesforce {self.object_type} has no field {self.external_id_field!r} to "
                "upsert by: create it as an External ID field, or pass external_id_field=None"
            )
        return fields

    async def find(
        self, session: Session, values: Mapping[str, list[str]], properties: list[str]
    ) -> list[Existing]:
        wanted = sorted({"Id", *properties})
        out: list[Existing] = []
        for field, vals in values.items():
            # a LinkedIn URL is stored in many spellings (www., trailing /, http): an exact IN
            # would miss them, so those are found by handle; the matcher re-checks each key
            handles = [linkedin_handle(v) for v in vals]
            by_handle = all(handles)
            for start in range(0, len(vals), 100):
                if by_handle:
                    where = " OR ".join(
                        f"{field} LIKE '%/in/{_like_literal(str(h))}%'"
                        for h in handles[start : start + 100]
                    )
                    where = f"({where})"
                else:
                    quoted = ", ".join(_soql_quote(v) for v in vals[start : start + 100])
                    where = f"{field} IN ({quoted})"
                soql = f"SELECT {', '.join(wanted)} FROM {self.object_type} WHERE {where}"
                url: str | None = f"{self.base}/query"
                params: dict[str, str] | None = {"q": soql}
                while url:
                    resp = await session.request("GET", url, params=params)
                    if resp.status_code >= 400:
                        raise DestinationError(
                            f"salesforce query: {self.error_text(resp)}",
                            destination=self.name,
                            kind="bad_request",
                            http_status=resp.status_code,
                        )
                    page = resp.json()
                    for rec in page.get("records", []):
                        props = {k: v for k, v in rec.items() if k not in ("attributes", "Id")}
                        out.append(Existing(str(rec["Id"]), props))
                    nxt = page.get("nextRecordsUrl")
                    url = f"{self.base.split('/services/')[0]}{nxt}" if nxt else None
                    params = None
        return out

    # -- writes ------------------------------------------------------------------------------
    def _record(self, item: Item, *, with_id: bool) -> dict[str, Any]:
        rec: dict[str, Any] = {"attributes": {"type": self.object_type}, **item.properties}
        if with_id:
            rec["id"] = item.dest_id
        if self.external_id_field:
            rec[self.external_id_field] = item.record_key
        return rec

    async def _collection(
        self,
        session: Session,
        method: str,
        url: str,
        items: list[Item],
        records: list[dict[str, Any]],
    ) -> list[Outcome]:
        resp = await session.request(method, url, json={"allOrNone": False, "records": records})
        body = resp.json() if resp.content else None
        if resp.status_code >= 400 or not isinstance(body, list) or len(body) != len(items):
            reason = self.error_text(resp)
            return [Outcome(i.record_key, False, kind="rejected", reason=reason) for i in items]
        outcomes = []
        for item, answer in zip(items, body, strict=True):
            if answer.get("success"):
                created = answer.get("created", method == "POST")
                outcomes.append(
                    Outcome(item.record_key, True, dest_id=str(answer["id"]), created=created)
                )
            else:
                errs = answer.get("errors") or [{}]
                reason = "; ".join(_error_text(e) for e in errs)
                kind = (
                    "duplicate"
                    if any(e.get("statusCode") == "DUPLICATES_DETECTED" for e in errs)
                    else "rejected"
                )
                outcomes.append(Outcome(item.record_key, False, kind=kind, reason=reason))
        return outcomes

    async def create(self, session: Session, items: list[Item]) -> list[Outcome]:
        if self.external_id_field:
            url = f"{self.base}/composite/sobjects/{self.object_type}/{self.external_id_field}"
            records = [self._record(i, with_id=False) for i in items]
            return await self._collection(session, "PATCH", url, items, records)
        records = [self._record(i, with_id=False) for i in items]
        return await self._collection(
            session, "POST", f"{self.base}/composite/sobjects", items, records
        )

    async def update(self, session: Session, items: list[Item]) -> list[Outcome]:
        records = [self._record(i, with_id=True) for i in items]
        return await self._collection(
            session, "PATCH", f"{self.base}/composite/sobjects", items, records
        )

    # -- Bulk API 2.0 ------------------------------------------------------------------------
    def use_bulk(self, count: int) -> bool:
        return count > self.bulk_threshold

    async def bulk(self, session: Session, action: str, items: list[Item]) -> list[Outcome]:
        op = "update" if action == "update" else ("upsert" if self.external_id_field else "insert")
        job: dict[str, Any] = {
            "object": self.object_type,
            "operation": op,
            "contentType": "CSV",
            "lineEnding": "LF",
        }
        if op == "upsert":
            job["externalIdFieldName"] = self.external_id_field
        rows = []
        for item in items:
            rec = {
                k: v
                for k, v in self._record(item, with_id=op == "update").items()
                if k != "attributes"
            }
            if op == "update":
                rec["Id"] = rec.pop("id")
            rows.append(rec)
        columns = sorted({c for r in rows for c in r})
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(columns)
        for r in rows:
            writer.writerow(["" if r.get(c) is None else _text(r[c]) for c in columns])
        created = (await session.request("POST", f"{self.base}/jobs/ingest", json=job)).json()
        job_url = f"{self.base}/jobs/ingest/{created['id']}"
        await session.request(
            "PUT", f"{job_url}/batches", content=buf.getvalue().encode(), content_type="text/csv"
        )
        await session.request("PATCH", job_url, json={"state": "UploadComplete"})
        while True:
            state = (await session.request("GET", job_url)).json().get("state")
            if state in ("JobComplete", "Failed", "Aborted"):
                break
            await session._wait(self.poll_s)
        if state != "JobComplete":
            reason = f"bulk job {created['id']} ended {state}"
            return [Outcome(i.record_key, False, kind="bulk_failed", reason=reason) for i in items]
        ok = _csv_rows((await session.request("GET", f"{job_url}/successfulResults")).text)
        bad = _csv_rows((await session.request("GET", f"{job_url}/failedResults")).text)
        index = {_row_key(r, columns): n for n, r in enumerate(rows)}
        outcomes: list[Outcome | None] = [None] * len(items)
        for rec in ok:
            n = index.get(_row_key(rec, columns))
            if n is not None:
                outcomes[n] = Outcome(
                    items[n].record_key,
                    True,
                    dest_id=rec.get("sf__Id"),
                    created=rec.get("sf__Created") == "true",
                )
        for rec in bad:
            n = index.get(_row_key(rec, columns))
            if n is not None:
                outcomes[n] = Outcome(
                    items[n].record_key,
                    False,
                    kind="rejected",
                    reason=str(rec.get("sf__Error", "")).rstrip(":"),
                )
        return [
            o
            or Outcome(
                items[n].record_key,
                False,
                kind="unanswered",
                reason="not in the bulk job's results",
            )
            for n, o in enumerate(outcomes)
        ]


def _error_text(error: Mapping[str, Any]) -> str:
    """One record's error; a duplicate rule's says which records it matched."""
    text = f"{error.get('statusCode', 'ERROR')}: {error.get('message', '')}"
    dup = error.get("duplicateResult") or {}
    ids = [
        str((m.get("record") or {}).get("Id"))
        for result in dup.get("matchResults") or []
        for m in result.get("matchRecords") or []
    ]
    if ids:
        text += f" (rule {dup.get('duplicateRule')}: matches {', '.join(ids)})"
    return text


def _soql_quote(value: str) -> str:
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _like_literal(value: str) -> str:
    """Text matched literally inside a quoted SOQL ``LIKE`` pattern (``%`` and ``_`` are
    wildcards there, escaped as ``\\%`` and ``\\_``)."""
    quoted = _soql_quote(value)[1:-1]
    return quoted.replace("%", "\\%").replace("_", "\\_")


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _row_key(row: Mapping[str, Any], columns: list[str]) -> tuple[str, ...]:
    return tuple("" if row.get(c) is None else _text(row[c]) for c in columns)
