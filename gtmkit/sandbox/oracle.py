"""Who each simulated provider finds, and what it says about them.

:class:`ProviderOracle` implements :class:`gtmkit.sandbox.contract.Oracle` over a
:class:`~gtmkit.sandbox.world.World`. The HTTP layer asks it *what* to answer and renders the
provider's real wire format around it.

How the answers are drawn (calibrated on ``../shared/field-notes.md`` §4):

* **Coverage by segment.** Each provider has a base hit rate plus "home turf" adjustments:
  Hunter is strong on small companies, Apollo on mid-market business titles and collapses under
  50 employees, People Data Labs on technical titles, Prospeo on senior people, Dropcontact in
  Europe. Marginal hit rates land in 40–68 %.
* **Correlated coverage.** Every person has a latent ``findability`` (their digital footprint).
  Provider ``p`` finds person ``i`` when ``√ρ·z_i + √(1−ρ)·ε_ip < Φ⁻¹(p_i)``: each marginal stays
  exactly ``p_i``, but providers tend to find the same people, so a waterfall gains less than
  the independent model ``1 − Π(1 − p)`` predicts (the documented 85 % vs 91 %).
* **Wrong answers.** A hit can be *stale* (a recent job changer's old address), the *wrong
  person* (a colleague's or namesake's record) or a *bad guess* (right person, address built
  with the wrong pattern): 5–15 % of hits for these providers.
* **Statuses in each provider's own vocabulary** (:data:`EMAIL_STATUS_VOCAB`) that depend on
  the truth: a deliverable address on a normal domain is mostly "verified", a catch-all domain
  gives catch-all/accept-all/unverified statuses, a dead address is rarely called verified.
* **Latency**: lognormal per provider, medians from ~0.35 s (database) to ~3 s (live search).

Every random choice comes from ``blake2b(seed | provider | person | purpose)``, never from global
state or call order, so the same query always gets the same answer.

Example:
    >>> from gtmkit.sandbox.world import World
    >>> from gtmkit.sandbox.oracle import ProviderOracle
    >>> world = World.generate(seed=1, companies=60)
    >>> oracle = ProviderOracle(world)
    >>> person = world.people.row(0, named=True)
    >>> by_email = oracle.person("hunter", {"email": person["email"]})
    >>> by_name = oracle.person("hunter", {"first_name": person["first_name"],
    ...     "last_name": person["last_name"], "company_domain": person["company_domain"]})
    >>> by_email == by_name
    True
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Any, Literal

from gtmkit.sandbox import names as pools
from gtmkit.sandbox import twins as _twins
from gtmkit.sandbox.contract import (
    CONFIDENCE_SCALE,
    EMAIL_STATUS_VOCAB,
    SIMULATED_PROVIDERS,
    PersonAnswer,
    Query,
    VerifyAnswer,
)
from gtmkit.sandbox.errors import SandboxError
from gtmkit.sandbox.phones import phones_for
from gtmkit.sandbox.world import (
    CALLING_CODES,
    EMAIL_PATTERNS_ORDER,
    World,
    email_local,
    normalize_email,
)

AnswerKind = Literal["correct", "stale", "wrong_person", "bad_guess"]


_NORMAL = NormalDist()


@dataclass(frozen=True, slots=True)
class ProviderProfile:
    """How one simulated provider covers the world and how it errs.

    Hit probability for a person = ``base_hit`` + the adjustments for their segment, clamped to
    [0.03, 0.97]; the draw itself is correlated across providers through findability.
    """

    name: str
    base_hit: float
    band_delta: Mapping[str, float] = field(default_factory=dict)
    technical_delta: float = 0.0
    business_delta: float = 0.0
    region_delta: Mapping[str, float] = field(default_factory=dict)
    seniority_delta: Mapping[str, float] = field(default_factory=dict)
    #: Extra points for business titles at 51-1000 employee companies (Apollo's home turf).
    mid_market_business_delta: float = 0.0
    #: P(the record is a recent job changer's old employer | found a job changer).
    stale_share: float = 0.35
    #: P(a colleague's or namesake's record | found).
    wrong_person_share: float = 0.03
    #: P(right person, address guessed with the wrong pattern | found).
    bad_guess_share: float = 0.03
    #: P(a deliverable address on a normal domain is reported as verified).
    verified_share: float = 0.88
    #: P(a dead address is nonetheless reported as verified) — the source of verified bounces.
    false_verified_share: float = 0.08
    #: P(a catch-all address is reported with the provider's best "verified" word).
    catch_all_verified_share: float = 0.0
    #: P(the provider drops a dead address on a normal domain instead of returning it).
    drops_dead_share: float = 0.0
    phone_share: float = 0.3
    latency_median_s: float = 0.5
    latency_sigma: float = 0.45
    company_coverage: float = 0.95


#: The five simulated providers. Figures: field-notes §4.1 (per-persona fill rates, vendor
#: self-comparison) and §4.5 (suggested calibration).
PROVIDER_PROFILES: Mapping[str, ProviderProfile] = {
    "apollo": ProviderProfile(
        name="apollo",
        base_hit=0.60,
        # The seed's documented failure mode: coverage collapses under 50 employees.
        band_delta={
            "1-10": -0.30,
            "11-50": -0.22,
            "201-500": 0.04,
            "501-1000": 0.05,
            "1001-5000": 0.05,
            "5001-10000": 0.03,
            "10001+": 0.02,
        },
        technical_delta=-0.06,
        business_delta=0.02,
        mid_market_business_delta=0.06,
        region_delta={
            "North America": 0.05,
            "Europe": -0.04,
            "Latin America": -0.06,
            "APAC": -0.05,
        },
        stale_share=0.45,
        wrong_person_share=0.03,
        bad_guess_share=0.035,
        verified_share=0.8,
        false_verified_share=0.05,
        catch_all_verified_share=0.15,
        phone_share=0.35,
        latency_median_s=0.5,
    ),
    "hunter": ProviderProfile(
        name="hunter",
        base_hit=0.50,
        band_delta={
            "1-10": 0.12,
            "11-50": 0.09,
            "51-200": 0.03,
            "201-500": -0.03,
            "501-1000": -0.05,
            "1001-5000": -0.08,
            "5001-10000": -0.10,
            "10001+": -0.10,
        },
        technical_delta=0.02,
        region_delta={"North America": 0.03, "APAC": -0.04, "Latin America": -0.04},
        stale_share=0.0,  # domain-scoped: stale only when asked at the old employer's domain
        wrong_person_share=0.02,
        bad_guess_share=0.06,
        verified_share=0.85,
        false_verified_share=0.07,
        phone_share=0.08,
        latency_median_s=1.6,
        latency_sigma=0.5,
        company_coverage=0.9,
    ),
    "pdl": ProviderProfile(
        name="pdl",
        base_hit=0.52,
        band_delta={
            "1-10": -0.10,
            "11-50": -0.04,
            "1001-5000": 0.04,
            "5001-10000": 0.06,
            "10001+": 0.06,
        },
        technical_delta=0.13,
        business_delta=-0.04,
        seniority_delta={"c_suite": 0.03, "vp": 0.03},
        region_delta={"North America": 0.03, "Latin America": -0.03},
        stale_share=0.40,
        wrong_person_share=0.04,
        bad_guess_share=0.03,
        verified_share=0.0,
        phone_share=0.45,
        latency_median_s=0.35,
        latency_sigma=0.4,
        company_coverage=0.96,
    ),
    "prospeo": ProviderProfile(
        name="prospeo",
        base_hit=0.52,
        seniority_delta={
            "founder": 0.06,
            "c_suite": 0.06,
            "vp": 0.06,
            "director": 0.05,
            "head": 0.05,
            "entry": -0.05,
        },
        region_delta={"Europe": 0.03, "APAC": -0.03},
        stale_share=0.30,
        wrong_person_share=0.03,
        bad_guess_share=0.03,
        verified_share=0.85,
        false_verified_share=0.06,
        catch_all_verified_share=0.15,
        phone_share=0.3,
        latency_median_s=1.2,
        latency_sigma=0.45,
        company_coverage=0.93,
    ),
    "dropcontact": ProviderProfile(
        name="dropcontact",
        base_hit=0.45,
        band_delta={"1-10": 0.04, "11-50": 0.02},
        region_delta={
            "Europe": 0.17,
            "North America": -0.04,
            "APAC": -0.08,
            "Latin America": -0.06,
        },
        stale_share=0.25,
        wrong_person_share=0.025,
        bad_guess_share=0.06,
        verified_share=1.0,
        false_verified_share=1.0,
        drops_dead_share=0.85,  # it verifies before answering: most dead guesses never come back
        phone_share=0.4,
        latency_median_s=3.0,
        latency_sigma=0.5,
        company_coverage=0.9,
    ),
}

PROVIDER_PROFILES = {**PROVIDER_PROFILES, **_twins.profiles(ProviderProfile)}

#: Correlation of the latent findability across providers (see module docstring).
DEFAULT_RHO = 0.3
#: Hunter-style email verifier: median latency (live SMTP check).
VERIFIER_LATENCY_MEDIAN_S = 2.2


def _uniforms(*parts: object) -> tuple[float, ...]:
    """Eight stable uniforms in [0, 1) from a hash of ``parts`` (no global random state)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=64).digest()
    return tuple(n * _TWO_TO_MINUS_64 for n in _EIGHT_U64.unpack(digest))


_EIGHT_U64 = struct.Struct(">8Q")
_TWO_TO_MINUS_64 = 2.0**-64


@functools.lru_cache(maxsize=4096)
def _threshold(p: float) -> float:
    """Φ⁻¹(p), cached: hit probabilities take few distinct values (one per segment)."""
    return _NORMAL.inv_cdf(p)


def _probit(u: float) -> float:
    return _NORMAL.inv_cdf(min(max(u, 1e-12), 1.0 - 1e-12))


def _lognormal(median: float, sigma: float, u: float) -> float:
    return round(median * math.exp(sigma * _probit(u)), 4)


class ProviderOracle:
    """Answers person, company, search and verify lookups for the simulated providers.

    Args:
        world: The world to answer from.
        rho: Correlation of coverage across providers through each person's findability
            (0 = independent providers, 1 = all providers find exactly the same people).
        profiles: Override or extend :data:`PROVIDER_PROFILES` (by provider name).

    Answers are memoized; everything is a pure function of (world seed, provider, person or
    query), so two oracles over the same world agree answer for answer.
    """

    def __init__(
        self,
        world: World,
        *,
        rho: float = DEFAULT_RHO,
        profiles: Mapping[str, ProviderProfile] | None = None,
    ) -> None:
        if not 0.0 <= rho <= 1.0:
            raise SandboxError(f"rho must lie in [0, 1], got {rho}")
        self.world = world
        self.rho = rho
        self.profiles: dict[str, ProviderProfile] = {**PROVIDER_PROFILES, **(profiles or {})}
        self._shared = math.sqrt(rho)
        self._own = math.sqrt(1.0 - rho)
        self._answers: dict[tuple[str, int, bool], PersonAnswer] = {}
        self._misses: dict[tuple[str, str], PersonAnswer] = {}
        self._verdicts: dict[str, VerifyAnswer] = {}

    def __repr__(self) -> str:
        return f"ProviderOracle({self.world!r}, rho={self.rho})"

    @property
    def providers(self) -> tuple[str, ...]:
        """Provider names this oracle answers for."""
        return tuple(self.profiles)

    # ------------------------------------------------------------------ person lookups
    def person(self, provider: str, query: Query) -> PersonAnswer:
        """Answer a person lookup (Apollo people/match, Hunter email-finder, PDL
        person/enrich, Prospeo enrich-person, one Dropcontact record).

        The provider must be able to identify someone from the query: an email, a LinkedIn
        URL, or a name plus a company (domain, website or name). Anything less is a miss.
        """
        profile = self._profile(provider)
        index = self.world._match_index(query)
        if index is None:
            return self._miss(provider, profile, query)
        row = self.world._row(index)
        # Hunter searches the domain it was given: asked at a job changer's old employer, it
        # answers with the address it knew there.
        at_old_domain = bool(
            provider == "hunter"
            and row["changed_job"]
            and not query.get("email")
            and not query.get("linkedin_url")
            and self._asked_domain(query) == row["prev_company_domain"]
        )
        key = (provider, index, at_old_domain)
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = self._draw(profile, index, at_old_domain)
        return answer

    def hit_probability(self, provider: str, person_id: str) -> float:
        """The marginal probability that ``provider`` finds this person (its segment's rate)."""
        profile = self._profile(provider)
        return self._hit_probability(profile, self.world.person(person_id))

    def kind(self, provider: str, query: Query) -> AnswerKind | None:
        """Why an answer is right or wrong (``correct``/``stale``/``wrong_person``/``bad_guess``),
        None for a miss. For tests and benchmarks; the HTTP layer never shows it."""
        answer = self.person(provider, query)
        if not answer.found:
            return None
        if not answer.correct_person:
            return "wrong_person"
        if answer.email_current:
            return "correct"
        index = self.world._match_index(query)
        row = self.world._row(index) if index is not None else None
        return "stale" if row is not None and answer.email == row["prev_email"] else "bad_guess"

    # ------------------------------------------------------------------ verifier
    def verify(self, email: str) -> VerifyAnswer:
        """Answer Hunter's email verifier for one address, from the truth.

        ``valid`` for a live mailbox on a normal domain (a few ``unknown``), ``accept_all``
        on a catch-all domain, ``invalid`` for a dead or made-up mailbox most of the time,
        ``webmail`` / ``disposable`` for consumer and throwaway domains.
        """
        normalized = normalize_email(email) or email.strip().lower()
        verdict = self._verdicts.get(normalized)
        if verdict is None:
            verdict = self._verdicts[normalized] = self._verify(normalized)
        return verdict

    # ------------------------------------------------------------------ companies
    def company(self, provider: str, query: Query) -> Mapping[str, Any] | None:
        """Company attributes by ``company_domain`` / ``website`` / ``company_name`` (None =
        not found): name, domain, employee_count, industry, region, country, funding_stage,
        linkedin_url, founded_year, catch_all, email_pattern, plus company_id, legal_name,
        employee_band, postal_code, phone and ``latency_s`` (how long the lookup takes)."""
        profile = self._profile(provider)
        company = self.world.resolve_company(query)
        if company is None:
            return None
        u = _uniforms(self.world.seed, provider, company["company_id"], "company")
        coverage = profile.company_coverage - (0.15 if company["employee_count"] <= 10 else 0.0)
        if u[0] >= coverage:
            return None
        fields = (
            "company_id", "name", "legal_name", "domain", "employee_count", "employee_band",
            "industry", "region", "country", "postal_code", "funding_stage", "linkedin_url",
            "founded_year", "catch_all", "email_pattern", "phone",
        )  # fmt: skip
        found = {name: company[name] for name in fields}
        found["latency_s"] = _lognormal(profile.latency_median_s, profile.latency_sigma, u[1])
        return found

    def search_people(
        self,
        provider: str,
        *,
        company: Query,
        titles: tuple[str, ...] = (),
        limit: int = 10,
        offset: int = 0,
    ) -> list[Mapping[str, Any]]:
        """People at a company that the provider knows, most senior first, optionally
        filtered by title keywords (any keyword, case-insensitive substring of the title).

        Each item: person_id, first_name, last_name, full_name, title, seniority, department,
        linkedin_url, has_email, and — when the provider has an address for them — email,
        email_status and confidence (the same as its person lookup would give).
        """
        self._profile(provider)
        if limit < 0 or offset < 0:
            raise SandboxError("limit and offset must be non-negative")
        found = self.world.resolve_company(company)
        if found is None:
            return []
        keywords = tuple(t.casefold().strip() for t in titles if t and t.strip())
        items: list[Mapping[str, Any]] = []
        skipped = 0
        for person_id in self.world.staff(found["company_id"]):
            row = self.world.person(person_id)
            if keywords and not any(k in row["title"].casefold() for k in keywords):
                continue
            answer = self.person(provider, {"person_id": person_id})
            # Databases list more people than they hold addresses for.
            listed = (
                answer.found or _uniforms(self.world.seed, provider, person_id, "listed")[0] < 0.5
            )
            if not listed:
                continue
            if skipped < offset:
                skipped += 1
                continue
            item: dict[str, Any] = {
                "person_id": person_id,
                "first_name": row["first_name"],
                "last_name": row["last_name"],
                "full_name": row["full_name"],
                "title": row["title"],
                "seniority": row["seniority"],
                "department": row["department"],
                "linkedin_url": row["linkedin_url"],
                "has_email": answer.found,
            }
            if answer.found:
                item |= {
                    "email": answer.email,
                    "email_status": answer.email_status,
                    "confidence": answer.confidence,
                }
            items.append(item)
            if len(items) >= limit:
                break
        return items

    # ------------------------------------------------------------------ internals
    def _profile(self, provider: str) -> ProviderProfile:
        try:
            return self.profiles[provider]
        except KeyError:
            known = ", ".join(self.profiles)
            raise SandboxError(f"unknown provider {provider!r}; simulated: {known}") from None

    def _asked_domain(self, query: Query) -> str | None:
        company = self.world.resolve_company(query)
        return company["domain"] if company else None

    @staticmethod
    def _hit_probability(profile: ProviderProfile, row: Mapping[str, Any]) -> float:
        p = profile.base_hit
        p += profile.band_delta.get(row["employee_band"], 0.0)
        p += profile.technical_delta if row["technical"] else profile.business_delta
        p += profile.region_delta.get(row["region"], 0.0)
        p += profile.seniority_delta.get(row["seniority"], 0.0)
        if not row["technical"] and 51 <= row["employee_count"] <= 1000:
            p += profile.mid_market_business_delta
        return round(min(0.97, max(0.03, p)), 4)

    def _miss(self, provider: str, profile: ProviderProfile, query: Query) -> PersonAnswer:
        fingerprint = "&".join(f"{k}={query[k]}" for k in sorted(query) if query[k])
        key = (provider, fingerprint)
        answer = self._misses.get(key)
        if answer is None:
            u = _uniforms(self.world.seed, provider, fingerprint, "miss")
            latency = _lognormal(profile.latency_median_s, profile.latency_sigma, u[0])
            answer = PersonAnswer(found=False, latency_s=latency)
            if len(self._misses) < 200_000:  # unbounded junk queries must not grow memory
                self._misses[key] = answer
        return answer

    def _draw(self, profile: ProviderProfile, index: int, at_old_domain: bool) -> PersonAnswer:
        world = self.world
        row = world._row(index)
        u = _uniforms(world.seed, profile.name, row["person_id"], "person")
        latency = _lognormal(profile.latency_median_s, profile.latency_sigma, u[7])
        threshold = _threshold(self._hit_probability(profile, row))
        latent = self._shared * row["findability"] + self._own * _probit(u[0])
        if latent >= threshold:
            return PersonAnswer(found=False, latency_s=latency)

        kind: AnswerKind = "correct"
        if row["changed_job"] and (at_old_domain or u[1] < profile.stale_share):
            kind = "stale"
        elif u[2] < profile.wrong_person_share:
            kind = "wrong_person"
        elif u[2] < profile.wrong_person_share + profile.bad_guess_share:
            kind = "bad_guess"

        subject, email = row, row["email"]
        company = world._company_rows[world._company_by_id[row["company_id"]]]
        if kind == "stale":
            email = row["prev_email"]
            company = world._company_rows[world._company_by_id[row["prev_company_id"]]]
        elif kind == "wrong_person":
            colleague = self._colleague(index, u[3])
            if colleague is None:
                kind = "bad_guess"
            else:
                subject = colleague
                email = colleague["email"]
        if kind == "bad_guess":
            email = self._bad_guess(row, company, u[3])

        deliverable = kind in {"correct", "wrong_person"}
        catch_all = bool(company["catch_all"])
        if not deliverable and not catch_all and u[4] < profile.drops_dead_share:
            return PersonAnswer(found=False, latency_s=latency)
        status, confidence = self._status(profile, kind, deliverable, catch_all, u[5], u[6])
        # The low bits of a 64-bit draw are independent of its high bits: a spare uniform.
        u_phone = (u[3] * 1024.0) % 1.0
        attributes = {
            "first_name": subject["first_name"],
            "last_name": subject["last_name"],
            "full_name": subject["full_name"],
            "title": row["prev_title"] if kind == "stale" else subject["title"],
            "seniority": subject["seniority"],
            "department": subject["department"],
            "linkedin_url": subject["linkedin_url"],
            "phone": subject["phone"] if u_phone < profile.phone_share else None,
            "company_name": company["name"],
            "company_domain": company["domain"],
            "employee_count": company["employee_count"],
            "industry": company["industry"],
            "country": company["country"],
        }
        return PersonAnswer(
            found=True,
            latency_s=latency,
            person_id=subject["person_id"],
            email=email,
            email_status=status,
            confidence=confidence,
            catch_all=catch_all,
            correct_person=kind != "wrong_person",
            email_current=deliverable,
            attributes=attributes,
            phones=phones_for(
                profile.name,
                seed=world.seed,
                asked=row,
                subject=subject,
                company=company,
                true_office=world._company_rows[world._company_by_id[row["company_id"]]]["phone"],
                stale=kind == "stale",
                calling_codes=CALLING_CODES,
            ),
        )

    def _colleague(self, index: int, u: float) -> dict[str, Any] | None:
        row = self.world._row(index)
        staff = [pid for pid in self.world.staff(row["company_id"]) if pid != row["person_id"]]
        if not staff:
            return None
        # Prefer a namesake (same first or last name) — the classic mix-up — else anyone.
        namesakes = [
            pid
            for pid in staff
            if (other := self.world.person(pid))["last_name"] == row["last_name"]
            or other["first_name"] == row["first_name"]
        ]
        pool = namesakes or staff
        return self.world.person(pool[int(u * len(pool))])

    def _bad_guess(self, row: Mapping[str, Any], company: Mapping[str, Any], u: float) -> str:
        patterns = [p for p in EMAIL_PATTERNS_ORDER if p != company["email_pattern"]]
        start = int(u * len(patterns))
        for step in range(len(patterns)):
            local = email_local(
                patterns[(start + step) % len(patterns)], row["first_name"], row["last_name"]
            )
            candidate = f"{local}@{company['domain']}"
            if candidate not in self.world._by_email:
                return candidate
        fallback = email_local("first.last", row["first_name"], row["last_name"])
        return f"{fallback}.x@{company['domain']}"

    @staticmethod
    def _status(
        profile: ProviderProfile,
        kind: AnswerKind,
        deliverable: bool,
        catch_all: bool,
        u: float,
        u_conf: float,
    ) -> tuple[str | None, float | None]:
        name = profile.name
        if catch_all:
            verified = u < profile.catch_all_verified_share
        elif deliverable:
            verified = u < profile.verified_share
        else:
            verified = u < profile.false_verified_share
        if name in _twins.STATUS:  # zoominfo, lusha, findymail, leadmagic (twins.py)
            return _twins.STATUS[name](verified, catch_all, deliverable, u_conf)
        if name == "apollo":
            low, high = (0.75, 0.98) if deliverable else (0.45, 0.8)
            return ("verified" if verified else "guessed"), round(low + (high - low) * u_conf, 2)
        if name == "hunter":  # rendered as Hunter's 0-100 score
            if catch_all:
                return "accept_all", (55 + int(30 * u_conf)) / 100
            if verified:
                return "valid", (88 + int(12 * u_conf)) / 100
            return "unknown", (40 + int(35 * u_conf)) / 100
        if name == "pdl":  # rendered as PDL's 1-10 likelihood (a match score)
            right_person = kind != "wrong_person"
            return None, ((6 if right_person else 3) + int(5 * u_conf)) / 10
        if name == "prospeo":
            return ("VERIFIED" if verified else "UNVERIFIED"), None
        if name == "dropcontact":
            return ("catch-all@pro" if catch_all else "nominative@pro"), None
        # A custom profile with an unknown name: speak the common scale.
        return ("valid" if verified else ("catch_all" if catch_all else "risky")), None

    def _verify(self, email: str) -> VerifyAnswer:
        world = self.world
        u = _uniforms(world.seed, "verifier", email, "verify")
        latency = _lognormal(VERIFIER_LATENCY_MEDIAN_S, 0.5, u[7])
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            return VerifyAnswer("invalid", 0, False, False, False, latency, deliverable=False)
        domain = email.rsplit("@", 1)[1]
        if domain in pools.DISPOSABLE_DOMAINS:
            return VerifyAnswer("disposable", 20, False, True, False, latency, deliverable=True)
        if domain in pools.WEBMAIL_DOMAINS:
            known = email in world._by_email
            return VerifyAnswer(
                "webmail", 50 + int(40 * u[1]), False, known, True, latency,
                deliverable=True if known else None,
            )  # fmt: skip
        company = world.company(domain)
        index = world._by_email.get(email)
        deliverable = index is not None and world._row(index)["email"] == email
        if company is None:
            # No such mail domain in the world: mostly no MX record at all.
            if u[0] < 0.9:
                return VerifyAnswer("invalid", int(10 * u[1]), False, False, False, latency, False)
            return VerifyAnswer("unknown", 30 + int(20 * u[1]), False, False, False, latency, False)
        if company["catch_all"]:
            return VerifyAnswer(
                "accept_all", 60 + int(25 * u[1]), True, True, False, latency, deliverable
            )
        if deliverable:
            if u[0] < 0.94:
                return VerifyAnswer("valid", 90 + int(10 * u[1]), False, True, False, latency, True)
            return VerifyAnswer("unknown", 40 + int(30 * u[1]), False, False, False, latency, True)
        if u[0] < 0.88:
            return VerifyAnswer("invalid", int(20 * u[1]), False, True, False, latency, False)
        return VerifyAnswer("unknown", 30 + int(30 * u[1]), False, False, False, latency, False)


__all__ = [
    "CONFIDENCE_SCALE",
    "DEFAULT_RHO",
    "EMAIL_STATUS_VOCAB",
    "PROVIDER_PROFILES",
    "SIMULATED_PROVIDERS",
    "VERIFIED_WORD",
    "ProviderOracle",
    "ProviderProfile",
    "calibration_report",
]


#: The provider word that means "verified deliverable" (bounce among these should be ~1 %).
VERIFIED_WORD: Mapping[str, str] = {
    "apollo": "verified",
    "hunter": "valid",
    "prospeo": "VERIFIED",
    "dropcontact": "nominative@pro",
    **_twins.VERIFIED_WORD,
}


def calibration_report(
    oracle: ProviderOracle,
    *,
    sample_size: int = 5000,
    seed: int = 0,
    waterfall: tuple[str, ...] = ("apollo", "hunter", "pdl"),
) -> dict[str, Any]:
    """Measure the oracle against the published calibration figures on a sample of people.

    Each sampled person is looked up by first + last name and current company domain (the
    usual waterfall input) at every provider.

    Returns:
        A JSON-ready dict: ``hit_rate``, ``wrong_rate`` (hits that are not the person's current
        address: stale + wrong person + bad guess), its parts, ``verified_bounce`` (share of
        "verified"-worded hits that would bounce), ``bounce_by_status_class`` (verified /
        catch-all / unverified), ``latency_median_s`` per provider; the
        ``waterfall`` coverage against the independent-provider prediction; Apollo's hit rate
        under 50 and above 200 employees; the catch-all share of domains.
    """
    import random

    world = oracle.world
    total = world.people.height
    if sample_size < 1:
        raise SandboxError("sample_size must be at least 1")
    rng = random.Random(f"calibration-{seed}")
    indices = rng.sample(range(total), min(sample_size, total))
    rows = [world._row(i) for i in indices]
    queries = [
        {
            "first_name": r["first_name"],
            "last_name": r["last_name"],
            "company_domain": r["company_domain"],
        }
        for r in rows
    ]
    answers = {p: [oracle.person(p, q) for q in queries] for p in oracle.providers}
    report: dict[str, Any] = {"sample_people": len(rows), "world": repr(world)}
    hit_rate: dict[str, float] = {}
    wrong: dict[str, float] = {}
    parts: dict[str, dict[str, float]] = {}
    bounce: dict[str, float | None] = {}
    latency: dict[str, float] = {}
    by_class: dict[str, dict[str, float | None]] = {}
    for provider, found in answers.items():
        hits = [(a, r) for a, r in zip(found, rows, strict=True) if a.found]
        hit_rate[provider] = round(len(hits) / len(rows), 4)
        n_hits = max(1, len(hits))
        stale = sum(1 for a, r in hits if a.email == r["prev_email"])
        wrong_person = sum(1 for a, _ in hits if not a.correct_person)
        bad = sum(1 for a, r in hits if a.correct_person and not a.email_current) - stale
        wrong[provider] = round((stale + wrong_person + bad) / n_hits, 4)
        parts[provider] = {
            "stale": round(stale / n_hits, 4),
            "wrong_person": round(wrong_person / n_hits, 4),
            "bad_guess": round(bad / n_hits, 4),
        }
        word = VERIFIED_WORD.get(provider)
        verified = [a for a, _ in hits if word and a.email_status == word]
        bounce[provider] = (
            round(sum(1 for a in verified if not a.email_current) / len(verified), 4)
            if verified
            else None
        )
        classes: dict[str, list[bool]] = {"verified": [], "catch_all": [], "unverified": []}
        for a, _ in hits:
            label = (
                "verified"
                if word and a.email_status == word
                else ("catch_all" if a.catch_all else "unverified")
            )
            classes[label].append(not a.email_current)
        by_class[provider] = {
            label: round(sum(dead) / len(dead), 4) if dead else None
            for label, dead in classes.items()
        }
        ordered = sorted(a.latency_s for a in found)
        latency[provider] = round(ordered[len(ordered) // 2], 3)
    report["hit_rate"] = hit_rate
    report["wrong_rate"] = wrong
    report["wrong_rate_parts"] = parts
    report["verified_bounce"] = bounce
    report["bounce_by_status_class"] = by_class
    report["latency_median_s"] = latency

    covered = sum(1 for i in range(len(rows)) if any(answers[p][i].found for p in waterfall)) / len(
        rows
    )
    independent = 1.0 - math.prod(1.0 - hit_rate[p] for p in waterfall)
    report["waterfall"] = {
        "providers": list(waterfall),
        "coverage": round(covered, 4),
        "independent_prediction": round(independent, 4),
        "gap_points": round(100 * (independent - covered), 2),
        "correct_current_email": round(
            sum(
                1
                for i in range(len(rows))
                if (first := next((answers[p][i] for p in waterfall if answers[p][i].found), None))
                and first.correct_person
                and first.email_current
            )
            / len(rows),
            4,
        ),
    }
    depth = []
    for k in range(1, len(oracle.providers) + 1):
        chain = oracle.providers[:k]
        depth.append(
            round(
                sum(1 for i in range(len(rows)) if any(answers[p][i].found for p in chain))
                / len(rows),
                4,
            )
        )
    report["coverage_by_depth"] = {"providers": list(oracle.providers), "coverage": depth}

    under = [
        a.found for a, r in zip(answers["apollo"], rows, strict=True) if r["employee_count"] < 50
    ]
    over = [
        a.found for a, r in zip(answers["apollo"], rows, strict=True) if r["employee_count"] > 200
    ]
    report["apollo_hit_under_50"] = round(sum(under) / max(1, len(under)), 4)
    report["apollo_hit_over_200"] = round(sum(over) / max(1, len(over)), 4)
    report["apollo_gap_points"] = round(
        100 * (report["apollo_hit_over_200"] - report["apollo_hit_under_50"]), 2
    )
    catch_all = world.companies["catch_all"]
    report["catch_all_domain_share"] = round(catch_all.sum() / max(1, catch_all.len()), 4)
    return report
