"""The seam between the simulated world (who exists, who each provider finds) and the HTTP layer
that serves the providers' real endpoints.

``World`` (``gtmkit/sandbox/world.py``) and the provider oracle (``gtmkit/sandbox/oracle.py``)
decide *what* a provider answers; the HTTP layer (``gtmkit/sandbox/http/``) decides *how*: paths,
auth, JSON bodies, status codes, billing headers, rate-limit answers and injected faults.

Everything here is deterministic: the same world seed and the same query give the same answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

#: Provider names the simulation serves (also the keys of the loopback server's base-URL map).
SIMULATED_PROVIDERS: tuple[str, ...] = ("apollo", "hunter", "pdl", "prospeo", "dropcontact")

#: Real API hosts served by the in-process transport, and the path prefix each API lives under.
#: The loopback server serves the same APIs under ``/<provider><prefix>``.
API_HOSTS: Mapping[str, tuple[str, str]] = {
    "api.apollo.io": ("apollo", "/api/v1"),
    "api.hunter.io": ("hunter", "/v2"),
    "api.peopledatalabs.com": ("pdl", "/v5"),
    "api.prospeo.io": ("prospeo", ""),
    "api.dropcontact.com": ("dropcontact", "/v1"),
}

#: What a provider can be asked with, in canonical field names (all optional; the HTTP layer
#: fills what the request carried, normalized: lowercase emails/domains, trimmed names).
Query = Mapping[str, str]


#: Each provider's own email-status words, as ``PersonAnswer.email_status`` carries them
#: (PDL reports none: its ``likelihood`` is a match score, not a verification).
EMAIL_STATUS_VOCAB: Mapping[str, tuple[str, ...]] = {
    "apollo": ("verified", "guessed"),
    "hunter": ("valid", "accept_all", "unknown"),
    "pdl": (),
    "prospeo": ("VERIFIED", "UNVERIFIED"),
    "dropcontact": ("nominative@pro", "catch-all@pro"),
}

#: ``PersonAnswer.confidence`` is always 0.0-1.0; what each provider shows on the wire.
CONFIDENCE_SCALE: Mapping[str, str] = {
    "apollo": "extrapolated_email_confidence, 0.0-1.0 as is",
    "hunter": "score = round(confidence * 100), 0-100",
    "pdl": "likelihood = round(confidence * 10), 1-10 (match confidence, not email validity)",
    "prospeo": "none (confidence is None)",
    "dropcontact": "none (confidence is None)",
}


@dataclass(frozen=True, slots=True)
class PersonAnswer:
    """What one provider answers to one person query.

    ``found`` false means a miss (the HTTP layer renders the provider's miss body). When found,
    ``person_id`` is the person the provider *believes* it found — it can be the wrong person or
    a stale record; ``correct_person`` / ``email_current`` say so for tests (the HTTP layer never
    exposes them). ``email_status`` is in the provider's own vocabulary (Apollo ``verified`` /
    ``guessed``; Hunter ``valid`` / ``accept_all`` / ``unknown``; Prospeo ``VERIFIED`` /
    ``UNVERIFIED``; Dropcontact ``nominative@pro`` / ``catch-all@pro`` as its docs spell it;
    PDL: none) — see :data:`EMAIL_STATUS_VOCAB`. ``confidence`` is on 0.0-1.0 for every
    provider (see :data:`CONFIDENCE_SCALE` for how each one shows it).
    """

    found: bool
    latency_s: float
    person_id: str | None = None
    email: str | None = None
    email_status: str | None = None
    confidence: float | None = None
    catch_all: bool | None = None
    correct_person: bool | None = None
    email_current: bool | None = None
    #: Person/company attributes the provider returns with a hit, canonical names:
    #: first_name, last_name, full_name, title, seniority, department, linkedin_url, phone,
    #: company_name, company_domain, employee_count, industry, country.
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifyAnswer:
    """Hunter Email Verifier's view of one address (Hunter vocabulary for ``status``:
    ``valid`` / ``invalid`` / ``accept_all`` / ``webmail`` / ``disposable`` / ``unknown``)."""

    status: str
    score: int
    accept_all: bool
    smtp_check: bool
    webmail: bool
    latency_s: float
    deliverable: bool | None = None  # ground truth, for tests only


class Oracle(Protocol):
    """Implemented by ``gtmkit.sandbox.oracle.ProviderOracle(world)``."""

    def person(self, provider: str, query: Query) -> PersonAnswer:
        """Answer a person lookup (Apollo people/match, Hunter email-finder, PDL person/enrich,
        Prospeo enrich-person, one Dropcontact record)."""
        ...

    def verify(self, email: str) -> VerifyAnswer:
        """Answer Hunter's email-verifier for one address."""
        ...

    def company(self, provider: str, query: Query) -> Mapping[str, Any] | None:
        """Company attributes by ``company_domain`` or ``company_name`` (None = not found):
        name, domain, employee_count, industry, region, country, funding_stage, linkedin_url,
        founded_year, catch_all, email_pattern."""
        ...

    def search_people(
        self, provider: str, *, company: Query, titles: tuple[str, ...] = (), limit: int = 10
    ) -> list[Mapping[str, Any]]:
        """People at a company, optionally filtered by title keywords (Apollo api_search,
        Hunter domain-search). Each item: person_id, first_name, last_name, title, seniority,
        department, linkedin_url, and for Hunter the email + confidence it would show."""
        ...


RateLimitStyle = Literal["retry_after_429", "hunter_403", "pdl_headers", "prospeo_429", "plain_429"]
