"""Helpers for the sandbox HTTP tests: a tiny deterministic oracle and request shortcuts.

``TinyOracle`` implements ``gtmkit.sandbox.contract.Oracle`` over three hand-written people so
the tests can assert exact bodies without depending on the generated world's draws.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from gtmkit.sandbox.contract import PersonAnswer, Query, VerifyAnswer
from gtmkit.sandbox.http.transport import SandboxTransport

KEY = "sk-test-0123456789-secret"

STATUS = {
    "apollo": "verified",
    "hunter": "valid",
    "pdl": None,
    "prospeo": "VERIFIED",
    "dropcontact": "nominative@pro",
}

ADA = {
    "person_id": "p-ada",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "full_name": "Ada Lovelace",
    "title": "Head of Engineering",
    "seniority": "head",
    "department": "engineering",
    "linkedin_url": "https://www.linkedin.com/in/ada-lovelace",
    "phone": "+441234567890",
    "company_name": "Analytical Engines",
    "company_domain": "engines.example",
    "employee_count": 120,
    "industry": "Computer Software",
    "country": "GB",
    "email": "ada.lovelace@engines.example",
}
CHARLES = {
    **ADA,
    "person_id": "p-charles",
    "first_name": "Charles",
    "last_name": "Babbage",
    "full_name": "Charles Babbage",
    "title": "Founder",
    "seniority": "founder",
    "department": "executive",
    "linkedin_url": "https://www.linkedin.com/in/charles-babbage",
    "phone": None,
    "email": "charles@engines.example",
}
# Known to the providers but without an email (a "found, no email" answer).
MARY = {
    **ADA,
    "person_id": "p-mary",
    "first_name": "Mary",
    "last_name": "Somerville",
    "full_name": "Mary Somerville",
    "title": "Analyst",
    "seniority": "entry",
    "department": "finance",
    "linkedin_url": "https://www.linkedin.com/in/mary-somerville",
    "email": None,
}
PEOPLE = (ADA, CHARLES, MARY)
COMPANY = {
    "name": "Analytical Engines",
    "domain": "engines.example",
    "employee_count": 120,
    "industry": "Computer Software",
    "region": "Europe",
    "country": "GB",
    "funding_stage": "Series A",
    "linkedin_url": "https://www.linkedin.com/company/analytical-engines",
    "founded_year": 1834,
    "catch_all": False,
    "email_pattern": "first.last",
}
ATTRIBUTES = (
    "first_name",
    "last_name",
    "full_name",
    "title",
    "seniority",
    "department",
    "linkedin_url",
    "phone",
    "company_name",
    "company_domain",
    "employee_count",
    "industry",
    "country",
)


class TinyOracle:
    """A deterministic ``contract.Oracle`` over :data:`PEOPLE` at ``engines.example``.

    Person lookups match by email, LinkedIn URL, or first+last / full name with the company's
    domain or name. Verification status is read from the local part: ``invalid.*``,
    ``accept_all.*``, ``webmail.*``, ``disposable.*``, ``unknown.*``, anything else ``valid``.
    """

    def __init__(self) -> None:
        self.person_calls = 0

    def _match(self, query: Query) -> dict[str, Any] | None:
        for person in PEOPLE:
            if query.get("person_id"):
                if query["person_id"] == person["person_id"]:
                    return person
                continue
            if query.get("email") and query["email"] == person["email"]:
                return person
            if query.get("linkedin_url") and query["linkedin_url"] == person["linkedin_url"]:
                return person
            names = (query.get("first_name"), query.get("last_name")) == (
                person["first_name"],
                person["last_name"],
            ) or query.get("full_name") == person["full_name"]
            at_company = (
                query.get("company_domain") == COMPANY["domain"]
                or query.get("company_name") == COMPANY["name"]
            )
            if names and at_company:
                return person
        return None

    def person(self, provider: str, query: Query) -> PersonAnswer:
        self.person_calls += 1
        person = self._match(query)
        if person is None:
            return PersonAnswer(found=False, latency_s=0.2)
        email = person["email"]
        return PersonAnswer(
            found=True,
            latency_s=0.5,
            person_id=person["person_id"],
            email=email,
            email_status=STATUS[provider] if email else None,
            confidence=0.9 if email else None,
            catch_all=False,
            correct_person=True,
            email_current=True,
            attributes={name: person[name] for name in ATTRIBUTES},
        )

    def verify(self, email: str) -> VerifyAnswer:
        local = email.split("@", 1)[0]
        status = next(
            (
                s
                for s in ("invalid", "accept_all", "webmail", "disposable", "unknown")
                if local.startswith(s)
            ),
            "valid",
        )
        return VerifyAnswer(
            status=status,
            score={"valid": 97, "invalid": 3, "accept_all": 70}.get(status, 50),
            accept_all=status == "accept_all",
            smtp_check=status in ("valid", "accept_all"),
            webmail=status == "webmail",
            latency_s=0.8,
            deliverable=status == "valid",
        )

    def company(self, provider: str, query: Query) -> Mapping[str, Any] | None:
        if (
            query.get("company_domain") == COMPANY["domain"]
            or query.get("company_name") == COMPANY["name"]
        ):
            return dict(COMPANY)
        return None

    def search_people(
        self, provider: str, *, company: Query, titles: tuple[str, ...] = (), limit: int = 10
    ) -> list[Mapping[str, Any]]:
        if self.company(provider, company) is None:
            return []
        out = []
        for person in PEOPLE:
            if titles and not any(t.lower() in person["title"].lower() for t in titles):
                continue
            item = {
                k: person[k]
                for k in (
                    "person_id",
                    "first_name",
                    "last_name",
                    "title",
                    "seniority",
                    "department",
                    "linkedin_url",
                )
            }
            item["has_email"] = person["email"] is not None
            if person["email"]:
                item["email"] = person["email"]
                item["confidence"] = 0.9
            out.append(item)
        return out[:limit]


def transport(**options: Any) -> SandboxTransport:
    """A transport over a fresh :class:`TinyOracle` (latency off, 202s off unless asked)."""
    options.setdefault("verifier_pending_rate", 0.0)
    return SandboxTransport(oracle=TinyOracle(), **options)


def request(t: httpx.AsyncBaseTransport, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request through ``t`` (sync wrapper; the body is read)."""

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=t) as client:
            response = await client.request(method, url, **kwargs)
            await response.aread()
            return response

    return asyncio.run(go())


def requests(
    t: httpx.AsyncBaseTransport, calls: list[tuple[str, str, dict[str, Any]]]
) -> list[httpx.Response]:
    """Several requests in order, through one client."""

    async def go() -> list[httpx.Response]:
        out = []
        async with httpx.AsyncClient(transport=t) as client:
            for method, url, kwargs in calls:
                out.append(await client.request(method, url, **kwargs))
        return out

    return asyncio.run(go())


APOLLO = "https://api.apollo.io/api/v1"
HUNTER = "https://api.hunter.io/v2"
PDL = "https://api.peopledatalabs.com/v5"
PROSPEO = "https://api.prospeo.io"
DROPCONTACT = "https://api.dropcontact.com/v1"

ADA_APOLLO = {"first_name": "Ada", "last_name": "Lovelace", "domain": "engines.example"}
ADA_HUNTER = {"first_name": "Ada", "last_name": "Lovelace", "domain": "engines.example"}
ADA_PDL = {"first_name": "Ada", "last_name": "Lovelace", "company": "engines.example"}
ADA_PROSPEO = {
    "data": {"first_name": "Ada", "last_name": "Lovelace", "company_website": "engines.example"}
}
NOBODY = {"first_name": "No", "last_name": "Body", "domain": "engines.example"}
