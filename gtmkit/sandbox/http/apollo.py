"""Simulated Apollo.io API (``https://api.apollo.io/api/v1``).

Served: ``POST /people/match`` (params as JSON body or query string), ``GET
/organizations/enrich``, ``POST /mixed_people/api_search`` (0 credits, obfuscated last names,
``has_email`` flags; with ``master_keys`` set, a 403 ``API_INACCESSIBLE`` for other keys). Auth:
``x-api-key`` header (or OAuth ``Authorization: Bearer``). A miss is
200 with ``"person": null``; a bad key is 401 with Apollo's text/plain sentence; throttling is 429
with a JSON ``message`` and ``retry-after``. Billing: 1 credit for a matched person, 1 per
organization found, 0 for search; Apollo does not report credits per response.

Phone reveal (``reveal_phone_number`` with a ``webhook_url``, else a 400): the answer comes at
once without numbers; the numbers are POSTed to the webhook later (``phone_delay_s``, default
a lognormal around :data:`PHONE_DELIVERY_MEDIAN_S` × the latency scale) and billed then, 8
credits when a mobile is among them (OAS "Endpoint essentials"). The delivery goes to the
handler registered in-process under that URL (``gtmkit.providers.apollo_phone.LOCAL_WEBHOOKS``),
else by HTTP to a loopback URL (a running ``gtmkit serve-webhooks``), else nowhere (counted in
``undeliverable``). ``phone_drop_rate``: the share of reveals never delivered (for timeouts).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from typing import Any, ClassVar

from gtmkit.sandbox.http.api import (
    SIMULATED_TODAY,
    ProviderAPI,
    as_int,
    attr,
    retry_after,
    split_name,
    text_reply,
)
from gtmkit.sandbox.http.ratelimit import RateInfo
from gtmkit.sandbox.http.wire import (
    Exchange,
    Reply,
    build_query,
    json_reply,
    stable_id,
    unit_float,
)

UNAUTHORIZED_TEXT = (
    "Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate."
)
SEARCH_LATENCY_S = 0.4
ORG_LATENCY_S = 0.3
UPGRADE_URL = "https://app.apollo.io/#/settings/plans/upgrade"
#: Simulated seconds before a phone reveal is delivered (median; "asynchronously", minutes at
#: most in practice: an assumption, Apollo publishes no figure).
PHONE_DELIVERY_MEDIAN_S = 20.0
#: Apollo's ``type_cd`` for each simulated phone type.
APOLLO_TYPE_CD = {"mobile": "mobile", "direct": "work_direct", "office": "work_hq"}
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


def apollo_id(*parts: object) -> str:
    """A 24-hex-digit id like Apollo's Mongo ObjectIds."""
    return stable_id("apollo", *parts)


_ID_BYTES = 9  # room for person ids up to 9 bytes ("p000123") inside a 24-hex-digit id


def person_apollo_id(person_id: Any) -> str:
    """Apollo's id for a person: 24 hex digits that carry the world's person id, so that a
    ``people/match`` by ``id`` (Apollo's search-then-enrich flow) finds the person again."""
    raw = str(person_id).encode("utf-8")
    if len(raw) > _ID_BYTES:
        return apollo_id("person", person_id)
    tail = raw.rjust(_ID_BYTES, b"\0").hex()
    return stable_id("apollo-person", person_id)[: 24 - len(tail)] + tail


def person_id_from_apollo_id(value: Any) -> str | None:
    """Inverse of :func:`person_apollo_id` (``None`` for ids it did not make)."""
    text = str(value or "").strip().lower()
    if len(text) != 24:
        return None
    try:
        person_id = bytes.fromhex(text[-2 * _ID_BYTES :]).lstrip(b"\0").decode("utf-8")
    except ValueError:
        return None
    return person_id if person_id and person_apollo_id(person_id) == text else None


def obfuscate(last_name: str | None) -> str | None:
    """``Huynh`` → ``Hu***h`` (Apollo's People API Search hides last names this way)."""
    if not last_name:
        return None
    if len(last_name) <= 3:
        return f"{last_name[0]}***"
    return f"{last_name[:2]}***{last_name[-1]}"


def _words(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [w.strip() for w in str(value).replace("\n", ",").split(",") if w.strip()]


class ApolloAPI(ProviderAPI):
    name = "apollo"
    routes: ClassVar[dict[tuple[str, str], str]] = {
        ("POST", "/people/match"): "people_match",
        ("GET", "/organizations/enrich"): "organization_enrich",
        ("POST", "/mixed_people/api_search"): "people_search",
    }

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        #: keys that are master keys; ``None`` = every key is. People API Search "requires a
        #: master API key" (docs.apollo.io/reference/people-api-search): any other key gets a
        #: 403 about that endpoint's scope, and its people/match still works.
        self.master_keys: frozenset[str] | None = None
        #: seconds before a phone delivery (``None``: simulated, scaled like the latency)
        self.phone_delay_s: float | None = None
        #: share of phone reveals never delivered
        self.phone_drop_rate = 0.0
        #: phone deliveries made, by how they went (in_process, http, dropped, undeliverable)
        self.phone_deliveries: Counter[str] = Counter()
        self._timers: list[threading.Timer] = []

    def api_key(self, ex: Exchange) -> str | None:
        return ex.headers.get("x-api-key", "").strip() or self._bearer(ex)

    # -- errors -------------------------------------------------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        return json_reply(status, {"error": message, "error_code": code.upper()})

    def unauthorized(self, ex: Exchange) -> Reply:
        return text_reply(401, UNAUTHORIZED_TEXT)

    def out_of_credits(self, ex: Exchange) -> Reply:
        # Not documented by Apollo; answered like a 402 with a credits message.
        message = f"You have insufficient credits. Please upgrade your plan from {UPGRADE_URL}."
        return json_reply(402, {"error": message, "error_code": "INSUFFICIENT_CREDITS"})

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        route = "api/v1" + ex.path.rstrip("/")
        message = (
            f"The maximum number of api calls allowed for {route} is {info.minute_limit} times "
            f"per minute. Please upgrade your plan from {UPGRADE_URL}."
        )
        headers = [*retry_after(info), *self.rate_headers(info)]
        return json_reply(429, {"message": message}, headers)

    def rate_headers(self, info: RateInfo) -> list[tuple[str, str]]:
        minute = info.minute_limit
        hourly, daily = minute * 60, minute * 60 * 24
        return [
            ("x-rate-limit-minute", str(minute)),
            ("x-minute-usage", str(info.minute_used)),
            ("x-minute-requests-left", str(max(0, minute - info.minute_used))),
            ("x-rate-limit-hourly", str(hourly)),
            ("x-hourly-usage", str(info.hour_used)),
            ("x-hourly-requests-left", str(max(0, hourly - info.hour_used))),
            ("x-rate-limit-24-hour", str(daily)),
            ("x-24-hour-usage", str(info.day_used)),
            ("x-24-hour-requests-left", str(max(0, daily - info.day_used))),
        ]

    # -- endpoints -------------------------------------------------------------------------
    def people_match(self, ex: Exchange) -> Reply:
        p = self.params(ex)
        if p.get("reveal_phone_number") in (True, "true") and not p.get("webhook_url"):
            return json_reply(
                400,
                {
                    "error": "Please add a valid 'webhook_url' parameter when using "
                    "'reveal_phone_number'"
                },
            )
        query = build_query(
            first_name=p.get("first_name"),
            last_name=p.get("last_name"),
            full_name=p.get("name"),
            email=p.get("email"),
            company_name=p.get("organization_name"),
            company_domain=p.get("domain"),
            linkedin_url=p.get("linkedin_url"),
        )
        if p.get("id"):  # an id from People API Search: the person it names, nothing else
            person_id = person_id_from_apollo_id(p["id"])
            query = {"person_id": person_id} if person_id else {}
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        answer = self.oracle.person(self.name, query)
        if not answer.found:
            reply = json_reply(200, {"person": None})
        else:
            self.bill(ex)
            reply = json_reply(200, {"person": self._person(answer)})
            if p.get("reveal_phone_number") in (True, "true") and not ex.dry:
                self._schedule_phones(ex, str(p["webhook_url"]), answer)
        reply.delay_s = answer.latency_s
        return reply

    # -- the asynchronous phone reveal ----------------------------------------------------
    def _schedule_phones(self, ex: Exchange, url: str, answer: Any) -> None:
        apollo_person = person_apollo_id(answer.person_id)
        if unit_float(self.app.seed, "apollo-phone-drop", apollo_person) < self.phone_drop_rate:
            self.phone_deliveries["dropped"] += 1
            return
        delay = self.phone_delay_s
        if delay is None:
            delay = self.app.scaled_delay(
                PHONE_DELIVERY_MEDIAN_S, b"apollo-phone" + apollo_person.encode()
            )
        numbers = [
            {
                "raw_number": phone.number,
                "sanitized_number": phone.number,
                "type_cd": APOLLO_TYPE_CD[phone.type],
                "status_cd": "valid_number",
            }
            for phone in answer.phones
        ]
        mobile = any(n["type_cd"] == "mobile" for n in numbers)
        body = {
            "status": "success",
            "credits_consumed": 8 if mobile else 0,
            "people": [{"id": apollo_person, "status": "success", "phone_numbers": numbers}],
        }
        key_id, fingerprint = ex.key_id or "", ex.fingerprint() + b"#phone-reveal"
        timer = threading.Timer(
            max(0.0, delay), self._deliver, (url, body, key_id, fingerprint, mobile)
        )
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _deliver(
        self, url: str, body: dict[str, Any], key_id: str, fingerprint: bytes, mobile: bool
    ) -> None:
        """Bill the reveal and POST it to the webhook (in a timer thread, like Apollo's own
        delivery: later, and beside whatever the client is doing)."""
        if mobile:  # "plus 8 credits if a mobile phone is returned"
            self.app.ledger.charge(
                self.name, key_id, 8 * self.credits_for(1), request=fingerprint,
                path="/people/match (phone reveal)",
            )  # fmt: skip
        data = json.dumps(body).encode()
        headers = {"content-type": "application/json", "user-agent": "Apollo-Webhooks (sandbox)"}
        from gtmkit.providers.apollo_phone import LOCAL_WEBHOOKS

        handler = LOCAL_WEBHOOKS.get(url)
        if handler is not None:
            status, _ = asyncio.run(handler(data, headers))
            self.phone_deliveries["in_process" if status == 200 else f"refused_{status}"] += 1
            return
        import httpx

        target = httpx.URL(url)
        if target.host not in {h.strip("[]") for h in _LOOPBACK_HOSTS}:
            self.phone_deliveries["undeliverable"] += 1  # the sandbox reaches no real host
            return
        try:
            httpx.post(target, content=data, headers=headers, timeout=10.0)
            self.phone_deliveries["http"] += 1
        except httpx.HTTPError:
            self.phone_deliveries["http_failed"] += 1

    def wait_for_deliveries(self, timeout_s: float = 10.0) -> None:
        """Block until every scheduled phone delivery has run (tests, benchmarks)."""
        for timer in list(self._timers):
            timer.join(timeout_s)

    def _person(self, answer: Any) -> dict[str, Any]:
        a = answer.attributes
        first, last, full = split_name(
            attr(a, "first_name"), attr(a, "last_name"), attr(a, "full_name")
        )
        org = self._organization(
            {
                "name": attr(a, "company_name"),
                "domain": attr(a, "company_domain"),
                "employee_count": attr(a, "employee_count"),
                "industry": attr(a, "industry"),
                "country": attr(a, "country"),
            }
        )
        title = attr(a, "title")
        status = answer.email_status or ("unavailable" if not answer.email else "guessed")
        confidence = answer.confidence
        department = attr(a, "department")
        return {
            "id": person_apollo_id(answer.person_id),
            "first_name": first,
            "last_name": last,
            "name": full,
            "linkedin_url": attr(a, "linkedin_url"),
            "title": title,
            "email_status": status,
            "photo_url": None,
            "twitter_url": None,
            "github_url": None,
            "facebook_url": None,
            "extrapolated_email_confidence": confidence,
            "headline": f"{title} at {org['name']}" if title and org["name"] else title,
            "email": answer.email,
            "organization_id": org["id"],
            "employment_history": [
                {
                    "_id": apollo_id("job", answer.person_id),
                    "created_at": None,
                    "current": True,
                    "degree": None,
                    "description": None,
                    "emails": None,
                    "end_date": None,
                    "grade_level": None,
                    "kind": None,
                    "major": None,
                    "organization_id": org["id"],
                    "organization_name": org["name"],
                    "raw_address": None,
                    "start_date": attr(a, "start_date"),
                    "title": title,
                    "updated_at": None,
                    "id": apollo_id("job", answer.person_id),
                    "key": apollo_id("job", answer.person_id),
                }
            ],
            "state": None,
            "city": None,
            "country": attr(a, "country"),
            "revealed_for_current_team": True,
            "organization": org,
            "is_likely_to_engage": False,
            "show_intent": False,
            "departments": [department] if department else [],
            "subdepartments": [],
            "functions": [],
            "seniority": attr(a, "seniority"),
            "phone_numbers": [],
        }

    @staticmethod
    def _organization(c: Any) -> dict[str, Any]:
        domain = attr(c, "domain") or attr(c, "company_domain")
        name = attr(c, "name") or attr(c, "company_name")
        industry = attr(c, "industry")
        industry = str(industry).lower() if industry else None
        return {
            "id": apollo_id("org", domain or name),
            "name": name,
            "website_url": f"http://www.{domain}" if domain else None,
            "blog_url": None,
            "angellist_url": None,
            "linkedin_url": attr(c, "linkedin_url"),
            "twitter_url": None,
            "facebook_url": None,
            "primary_phone": {},
            "languages": [],
            "alexa_ranking": None,
            "phone": None,
            "linkedin_uid": None,
            "founded_year": as_int(attr(c, "founded_year")),
            "publicly_traded_symbol": None,
            "publicly_traded_exchange": None,
            "logo_url": None,
            "crunchbase_url": None,
            "primary_domain": domain,
            "industry": industry,
            "estimated_num_employees": as_int(attr(c, "employee_count")),
            "industries": [industry] if industry else [],
            "secondary_industries": [],
            "snippets_loaded": True,
            "retail_location_count": 0,
            "raw_address": None,
            "city": None,
            "state": None,
            "country": attr(c, "country"),
            "owned_by_organization_id": None,
            "num_suborganizations": 0,
            "latest_funding_stage": attr(c, "funding_stage"),
        }

    def organization_enrich(self, ex: Exchange) -> Reply:
        p = self.params(ex)
        query = build_query(
            company_domain=p.get("domain") or p.get("website"),
            company_name=p.get("name"),
            linkedin_url=None,
        )
        if p.get("linkedin_url") and not query:
            query["company_linkedin_url"] = str(p["linkedin_url"]).strip()
        if not query:
            reply = json_reply(422, {"error": "Required parameter 'domain' missing"})
            reply.delay_s = ORG_LATENCY_S
            return reply
        if not self.can_bill(ex):
            return self.out_of_credits(ex)
        company = self.oracle.company(self.name, query)
        if company is None:
            reply = json_reply(200, {})
        else:
            self.bill(ex)
            reply = json_reply(200, {"organization": self._organization(company)})
        reply.delay_s = float((company or {}).get("latency_s") or ORG_LATENCY_S)
        return reply

    def people_search(self, ex: Exchange) -> Reply:
        if self.master_keys is not None and (self.api_key(ex) or "") not in self.master_keys:
            return self.error(
                ex,
                403,
                "API_INACCESSIBLE",
                "This API key is not authorized to access api/v1/mixed_people/api_search. This "
                "endpoint requires a master API key. Request an API key from your administrator "
                "that includes this endpoint in its configured scope.",
            )
        p = self.params(ex)
        domains = _words(p.get("q_organization_domains_list")) or _words(
            p.get("q_organization_domains")
        )
        titles = tuple(_words(p.get("person_titles")))
        page = max(1, as_int(p.get("page")) or 1)
        per_page = min(100, max(1, as_int(p.get("per_page")) or 10))
        found: list[Any] = []
        companies: dict[str, Any] = {}
        for domain in domains:
            query = build_query(company_domain=domain)
            if not query:
                continue
            found.extend(
                self.oracle.search_people(self.name, company=query, titles=titles, limit=500)
            )
            companies[query["company_domain"]] = self.oracle.company(self.name, query)
        start = (page - 1) * per_page
        people = [self._search_item(item, companies) for item in found[start : start + per_page]]
        reply = json_reply(200, {"total_entries": len(found), "people": people})
        reply.delay_s = SEARCH_LATENCY_S
        return reply

    def _search_item(self, item: Any, companies: dict[str, Any]) -> dict[str, Any]:
        domain = item.get("company_domain")
        company = companies.get(domain) if domain else None
        if company is None and len(companies) == 1:
            company = next(iter(companies.values()))
        has_email = item.get("has_email")
        if has_email is None:
            has_email = bool(item.get("email"))
        return {
            "id": person_apollo_id(item.get("person_id")),
            "first_name": item.get("first_name"),
            "last_name_obfuscated": obfuscate(item.get("last_name")),
            "title": item.get("title"),
            "last_refreshed_at": f"{SIMULATED_TODAY}T00:00:00.000+00:00",
            "has_email": bool(has_email),
            "has_city": False,
            "has_state": False,
            "has_country": bool(item.get("country") or (company or {}).get("country")),
            "has_direct_phone": "Yes" if item.get("phone") else "No",
            "organization": {
                "name": (company or {}).get("name") or item.get("company_name"),
                "has_industry": bool((company or {}).get("industry")),
                "has_phone": False,
                "has_city": False,
                "has_state": False,
                "has_country": bool((company or {}).get("country")),
                "has_zip_code": False,
                "has_revenue": False,
                "has_employee_count": (company or {}).get("employee_count") is not None,
            },
        }
