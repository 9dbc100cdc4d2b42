"""Simulated Dropcontact API (``https://api.dropcontact.com/v1``) — asynchronous.

``POST /enrich/all`` (≤ 250 records, ``X-Access-Token`` header) answers
``{"credits_left", "request_id", "error": false, "success": true}``; ``GET
/enrich/all/{request_id}`` answers 200 ``{"success": false, "reason": "Request not ready yet, try
again in 30 seconds"}`` until the batch's simulated processing time has passed (and at least
``dropcontact_ready_polls`` polls were refused), then ``{"success": true, "data": [...]}`` with
``email: [{"email", "qualification"}]`` on found records (qualification ``<address>@<domain>``:
a given address on a domain with no mail server comes back ``nominative@invalid``).
Billing ("pay on success"): one credit per record is taken at submit and given back, when the
batch completes, for every record that came back without an email (records submitted *with* an
email are charged regardless). A batch the credits cannot cover is refused whole with 403.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from gtmkit.sandbox.http.api import ProviderAPI, attr
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import Exchange, Reply, build_query, clean, dumps, json_reply

MAX_RECORDS = 250
MAX_RECORD_BYTES = 15_000
NOT_READY = "Request not ready yet, try again in 30 seconds"
SUBMIT_LATENCY_S = 0.3
POLL_LATENCY_S = 0.1
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_FRENCH = {"nominative@pro": "nominatif@pro"}


@dataclass
class _Job:
    key_id: str
    results: list[dict[str, Any]]
    ready_at: float
    refund: float  # credits given back once the batch completes (its records without email)
    call: int | None = None  # the submit's metered call, which the refund lowers
    polls: int = 0
    refunded: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def _request_id(digest: bytes) -> str:
    """15 lower-case letters, like Dropcontact's request ids."""
    number = int.from_bytes(digest, "big")
    letters = []
    for _ in range(15):
        number, index = divmod(number, 26)
        letters.append(_LETTERS[index])
    return "".join(letters)


def _failure(status: int, reason: str) -> Reply:
    return json_reply(status, {"error": True, "reason": reason, "success": False})


class DropcontactAPI(ProviderAPI):
    name = "dropcontact"
    routes: ClassVar[dict[tuple[str, str], str]] = {("POST", "/enrich/all"): "submit"}
    prefix_routes: ClassVar[dict[tuple[str, str], str]] = {("GET", "/enrich/all/"): "fetch"}

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._jobs: dict[str, _Job] = {}
        self._submissions: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def api_key(self, ex: Exchange) -> str | None:
        return ex.headers.get("x-access-token", "").strip() or None

    # -- errors -------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        if status in (404, 405, 422, 500):  # FastAPI-style bodies on these statuses
            return json_reply(status, {"detail": message})
        return _failure(status, message)

    def unauthorized(self, ex: Exchange) -> Reply:
        return _failure(401, "Invalid or missing X-Access-Token")

    def out_of_credits(self, ex: Exchange) -> Reply:
        return _failure(403, "You don't have enough credits to process this request")

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        return _failure(429, "Too many requests, you are limited to 60 requests per second")

    def server_error(self, ex: Exchange) -> Reply:
        return json_reply(500, {"detail": "Internal Server Error"})

    def bad_body(self, ex: Exchange) -> Reply:
        return _failure(400, "Missing data in JSON")

    # -- endpoints -------------------------------------------------------------------------
    def submit(self, ex: Exchange) -> Reply:
        body = ex.json()
        if not isinstance(body, dict) or not isinstance(body.get("data"), list) or not body["data"]:
            return _failure(400, "Missing data in JSON")
        records = body["data"]
        if len(records) > MAX_RECORDS:
            return _failure(400, "Too many records, you can only submit up to 250 records")
        for record in records:
            if not isinstance(record, dict):
                return _failure(400, "Missing data in JSON")
            if len(dumps(record)) > MAX_RECORD_BYTES:
                return _failure(
                    400,
                    "Data size is too big, you can only submit up to 15 kB of data in a single "
                    "record",
                )
        key = ex.key_id or ""
        if not self.can_bill(ex, len(records)):
            return self.out_of_credits(ex)
        french = str(body.get("language", "en")).lower() == "fr"
        results, refund, slowest = [], 0, 0.0
        for record in records:
            result, found_email, latency = self._enrich(record, french)
            results.append(result)
            slowest = max(slowest, latency)
            if not found_email and not clean(record.get("email")):
                refund += 1
        fingerprint = ex.fingerprint()
        with self._lock:
            nth = self._submissions.get(fingerprint, 0)
            if not ex.dry:
                self._submissions[fingerprint] = nth + 1
        request_id = _request_id(fingerprint + nth.to_bytes(4, "big"))
        if not ex.dry:
            call = self.ledger.charge(
                self.name, key, self.credits_for(len(records)), request=fingerprint, path=ex.path
            )
            processing = self.app.scaled_delay(slowest, fingerprint)
            self._jobs[request_id] = _Job(
                key_id=key,
                results=results,
                ready_at=self.app.clock() + processing,
                refund=self.credits_for(refund),
                call=call,
            )
        credits_left = int(self.ledger.remaining(self.name, key))
        body_out = {"credits_left": credits_left, "request_id": request_id}
        reply = json_reply(200, {**body_out, "error": False, "success": True})
        reply.delay_s = SUBMIT_LATENCY_S
        return reply

    def _enrich(self, record: dict[str, Any], french: bool) -> tuple[dict[str, Any], bool, float]:
        get = lambda name: clean(record.get(name))  # noqa: E731
        query = build_query(
            first_name=get("first_name"),
            last_name=get("last_name"),
            full_name=get("full_name"),
            email=get("email"),
            company_name=get("company"),
            company_domain=get("website"),
            linkedin_url=get("linkedin"),
        )
        answer = self.oracle.person(self.name, query)
        result: dict[str, Any] = {k: v for k, v in record.items() if v not in (None, "")}
        result.pop("email", None)
        if not answer.found:
            given = get("email")
            if given:  # an email sent for verification comes back qualified
                result["email"] = [
                    {"email": given.lower(), "qualification": self._qualify(given.lower())}
                ]
            return result, False, answer.latency_s
        a = answer.attributes
        domain = attr(a, "company_domain")
        for name, value in (
            ("first_name", attr(a, "first_name")),
            ("last_name", attr(a, "last_name")),
            ("full_name", attr(a, "full_name")),
            ("linkedin", attr(a, "linkedin_url")),
            ("job", attr(a, "title")),
            ("job_level", attr(a, "seniority")),
            ("job_function", attr(a, "department")),
            ("phone", attr(a, "phone")),
            ("company", attr(a, "company_name")),
            ("website", f"https://{domain}" if domain else None),
            ("country", attr(a, "country")),
        ):
            if value not in (None, ""):
                result[name] = value
        if answer.email:
            qualification = answer.email_status or "nominative@pro"
            if french:
                qualification = _FRENCH.get(qualification, qualification)
            result["email"] = [{"email": answer.email, "qualification": qualification}]
        return result, bool(answer.email), answer.latency_s

    def _qualify(self, email: str) -> str:
        """A given address qualified in both halves, ``<address>@<domain>`` (developer.
        dropcontact.io): from the world's verdict, an address on a domain with no mail server
        is ``nominative@invalid`` (the domain is not valid), a dead mailbox ``invalid@pro``."""
        verdict = self.app.oracle.verify(email)
        if verdict.status == "valid":
            return "nominative@pro"
        if verdict.status == "accept_all":
            return "catch-all@pro"
        if verdict.status == "webmail":
            return "nominative@perso"
        if verdict.status == "disposable":
            return "random@perso"
        if verdict.status == "invalid" and not verdict.smtp_check:
            return "nominative@invalid"
        return "invalid@pro"

    def fetch(self, ex: Exchange) -> Reply:
        request_id = ex.path.rstrip("/").rsplit("/", 1)[-1]
        job = self._jobs.get(request_id)
        not_ready = json_reply(200, {"error": False, "reason": NOT_READY, "success": False})
        not_ready.delay_s = POLL_LATENCY_S
        if job is None or job.key_id != ex.key_id:  # unknown ids get the same answer
            return not_ready
        with job.lock:
            if not ex.dry:
                job.polls += 1
            if job.polls <= self.app.dropcontact_ready_polls or self.app.clock() < job.ready_at:
                return not_ready
            if not job.refunded and not ex.dry:
                self.ledger.refund(self.name, job.key_id, job.refund, call=job.call)
                job.refunded = True
        credits_left = int(self.ledger.remaining(self.name, job.key_id))
        reply = json_reply(
            200,
            {"data": job.results, "error": False, "success": True, "credits_left": credits_left},
        )
        reply.delay_s = POLL_LATENCY_S
        return reply
