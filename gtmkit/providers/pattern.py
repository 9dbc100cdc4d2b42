"""The free local ``pattern`` step: infer each domain's email pattern, propose a candidate.

It learns from (first name, last name, email) triples already known — in the uploaded list or
from earlier providers' results — which pattern a domain uses (``{first}.{last}``,
``{f}{last}``, ``{first}``...), then proposes ``pattern(name)@domain`` for a record at that
domain. No HTTP, no key, 0 credits.

A proposal is **unverified**: ``email_status`` is ``risky`` and ``provider_status`` names the
pattern (``pattern:{first}.{last}``). Follow it with the ``hunter_verifier`` step.

Unseen domains: by default a domain with no observation is a **miss** (a blind guess at the
most common pattern is right for only about a third of domains, so it would cost a
verification for little). Pass ``unseen="guess"`` to propose the most common pattern learned
so far (``{first}.{last}`` before any learning) with confidence 0.15 instead.

Confidence: the share of the domain's observations consistent with the chosen pattern, shrunk
toward 0 for little evidence: ``share * n / (n + 1)`` (1 observation → 0.5, 3 agreeing → 0.75).

Example:
    >>> import asyncio
    >>> p = PatternProvider()
    >>> p.observe([{"first_name": "Ada", "last_name": "Lovelace", "email": "ada.lovelace@acme.io"}])
    1
    >>> f = asyncio.run(p.lookup({"first_name": "Zoë", "last_name": "Brontë",
    ...                           "company_domain": "acme.io"}))
    >>> f.outcome, f.email, f.email_status, f.credits
    ('hit', 'zoe.bronte@acme.io', 'risky', 0.0)
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Literal

import httpx

from gtmkit.providers.base import Finding, Provider, RateLimit, Record
from gtmkit.providers.errors import ProviderUsageError
from gtmkit.providers.normalize import (
    normalize_email,
    person_key,
    record_domain,
    record_names,
    split_full_name,
    text,
)

#: Patterns in Hunter's notation, most common first (breaks ties between equally likely ones).
PATTERNS: tuple[str, ...] = (
    "{first}.{last}",
    "{f}{last}",
    "{first}",
    "{first}{last}",
    "{first}_{last}",
    "{f}.{last}",
    "{first}{l}",
    "{first}-{last}",
    "{last}",
    "{last}.{first}",
    "{last}{f}",
    "{last}{first}",
    "{first}.{l}",
    "{last}_{first}",
    "{f}{l}",
)

#: Free-mail domains say nothing about a company's pattern.
WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
    }
)

#: Letters that Unicode decomposition does not reduce to ASCII.
_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ß": "ss",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
    }
)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def ascii_name(value: str) -> str:
    """A name as an email local part would spell it: ASCII, lowercase, no spaces or marks.

    Example:
        >>> ascii_name("Søren Ø. Kierkegaard-Łukasz"), ascii_name("D'Angelo")
        ('sorenokierkegaardlukasz', 'dangelo')
    """
    folded = unicodedata.normalize("NFKD", value.translate(_TRANSLIT))
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    return _NOT_ALNUM.sub("", folded.lower())


def _variants(name: str) -> list[str]:
    """Spellings of a (possibly multi-word) name: joined, first word, last word."""
    words = [ascii_name(w) for w in re.split(r"[\s\-]+", name.strip()) if ascii_name(w)]
    out: list[str] = []
    for candidate in ("".join(words), words[0] if words else "", words[-1] if words else ""):
        if candidate and candidate not in out:
            out.append(candidate)
    return out


def render(pattern: str, first: str, last: str) -> str:
    """The local part a pattern gives for a name (``""`` if a needed name is missing)."""
    f, l_ = ascii_name(first), ascii_name(last)
    if ("{first}" in pattern or "{f}" in pattern) and not f:
        return ""
    if ("{last}" in pattern or "{l}" in pattern) and not l_:
        return ""
    return (
        pattern.replace("{first}", f)
        .replace("{last}", l_)
        .replace("{f}", f[:1])
        .replace("{l}", l_[:1])
    )


def matching_patterns(first: str, last: str, local_part: str) -> list[str]:
    """Every known pattern that spells ``local_part`` from the name (any name variant)."""
    local = local_part.lower()
    found: list[str] = []
    for pattern in PATTERNS:
        for f in _variants(first) or [""]:
            for l_ in _variants(last) or [""]:
                if render(pattern, f, l_) == local and pattern not in found:
                    found.append(pattern)
    return found


class PatternProvider(Provider):
    """Local email-pattern inference (see the module docstring).

    Args:
        unseen: ``"miss"`` (default) or ``"guess"`` for domains never observed.
    """

    name: ClassVar[str] = "pattern"
    kind = "local"
    endpoint: ClassVar[str] = "pattern"
    default_base_url: ClassVar[str] = "local://pattern"
    env_var: ClassVar[str | None] = None
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (
        ("first_name", "last_name", "company_domain"),
        ("first_name", "last_name", "website"),
        ("full_name", "company_domain"),
        ("full_name", "website"),
    )
    returns: ClassVar[frozenset[str]] = frozenset({"email"})
    billing = "per_call"
    credits_per_lookup: ClassVar[float] = 0.0
    max_credits: ClassVar[float] = 0.0
    price_per_credit: ClassVar[float] = 0.0
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=100_000.0, max_in_flight=1024)
    listing_order: ClassVar[int] = 90
    guess_confidence: ClassVar[float] = 0.15

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        live: bool = False,
        unseen: Literal["miss", "guess"] = "miss",
    ) -> None:
        super().__init__(client, api_key=api_key, base_url=base_url, live=live)
        if unseen not in ("miss", "guess"):
            raise ProviderUsageError(f"unseen must be 'miss' or 'guess', not {unseen!r}")
        self.unseen = unseen
        self._weights: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self._observations: dict[str, int] = defaultdict(int)

    # -- learning ------------------------------------------------------------------------
    def observe(self, items: Iterable[Any]) -> int:
        """Learn from known emails; returns how many taught a pattern.

        Args:
            items: mappings with ``email`` and ``first_name`` + ``last_name`` (or
                ``full_name``), ``(first, last, email)`` tuples, a polars DataFrame with those
                columns, or hit :class:`Finding` objects whose fields carry them.
        """
        if hasattr(items, "iter_rows"):  # a polars DataFrame
            items = items.iter_rows(named=True)
        learned = 0
        for item in items:
            if isinstance(item, Finding):
                item = item.fields
            if isinstance(item, Mapping):
                first, last = text(item.get("first_name")), text(item.get("last_name"))
                if not (first and last):
                    first, last = split_full_name(item.get("full_name"))
                email = normalize_email(item.get("email"))
            else:
                first, last, email = (text(v) for v in item)
                email = normalize_email(email)
            learned += self._observe_one(first, last, email)
        return learned

    def _observe_one(self, first: str, last: str, email: str) -> int:
        if not email or not first:
            return 0
        local, _, domain = email.rpartition("@")
        domain = record_domain({"company_domain": domain})
        if not local or not domain or domain in WEBMAIL_DOMAINS:
            return 0
        matches = matching_patterns(first, last, local)
        self._observations[domain] += 1
        for pattern in matches:
            self._weights[domain][pattern] += 1.0 / len(matches)
        return 1 if matches else 0

    def learn_from_hit(self, record: Record, finding: Finding) -> int:
        """Learn from another finder's hit: its email with the person's names (the names the
        provider returned, else the record's). Invalid emails teach nothing."""
        if finding.provider == self.name or finding.email_status == "invalid" or not finding.email:
            return 0
        fields = finding.fields
        first, last = text(fields.get("first_name")), text(fields.get("last_name"))
        if not (first and last):
            first, last = record_names(record)
        return self._observe_one(first, last, normalize_email(finding.email))

    def observe_pattern(self, domain: str, pattern: str, *, weight: float = 3.0) -> None:
        """Teach a domain's pattern directly (e.g. Hunter Domain Search's ``pattern``)."""
        if pattern not in PATTERNS:
            raise ProviderUsageError(f"unknown pattern {pattern!r}; known: {', '.join(PATTERNS)}")
        domain = record_domain({"company_domain": domain})
        self._weights[domain][pattern] += weight
        self._observations[domain] += max(1, round(weight))

    def pattern_for(self, domain: str) -> tuple[str, float] | None:
        """The domain's most likely pattern and its confidence, or ``None`` if never seen."""
        domain = record_domain({"company_domain": domain})
        weights = self._weights.get(domain)
        n = self._observations.get(domain, 0)
        if not weights or n == 0:
            return None
        best = max(weights.items(), key=lambda item: (item[1], -PATTERNS.index(item[0])))
        share = min(1.0, best[1] / n)
        return best[0], share * n / (n + 1)

    def knows(self, record: Record) -> bool:
        """Whether a guess for this record now rests on something learned (its domain was
        seen): a row that missed here earlier can ask again, for free, before paying."""
        domain = record_domain(record)
        return bool(domain) and self.pattern_for(domain) is not None

    def _global_pattern(self) -> str:
        totals: dict[str, float] = defaultdict(float)
        for weights in self._weights.values():
            best = max(weights.items(), key=lambda item: (item[1], -PATTERNS.index(item[0])))
            totals[best[0]] += 1
        if not totals:
            return PATTERNS[0]
        return max(totals.items(), key=lambda item: (item[1], -PATTERNS.index(item[0])))[0]

    # -- the lookup ----------------------------------------------------------------------
    def lookup_key(self, record: Record) -> str:
        # The answer depends on what was learned about the domain: fold that state into the
        # key so a cached answer is reused only while the evidence is unchanged.
        # (A guess is built from the name and the domain only: no LinkedIn. A local step has
        # no cache, so there is no legacy key to read.)
        domain = record_domain(record)
        weights = sorted((self._weights.get(domain) or {}).items())
        state = hashlib.sha1(repr(weights).encode(), usedforsecurity=False).hexdigest()[:10]
        return f"{person_key(record, linkedin=False)};patterns={state};unseen={self.unseen}"

    async def _lookup(self, record: Record) -> Finding:
        domain = record_domain(record)
        first, last = record_names(record)
        learned = self.pattern_for(domain) if domain else None
        if learned is None:
            if self.unseen == "miss" or not domain:
                return Finding(provider=self.name, endpoint=self.endpoint, outcome="miss")
            learned = (self._global_pattern(), self.guess_confidence)
        pattern, confidence = learned
        local = render(pattern, first, last)
        if not local:
            return Finding(provider=self.name, endpoint=self.endpoint, outcome="miss")
        return Finding(
            provider=self.name,
            endpoint=self.endpoint,
            outcome="hit",
            fields={"email": f"{local}@{domain}"},
            email_status="risky",
            provider_status=f"pattern:{pattern}",
            confidence=round(confidence, 4),
            credits=0.0,
            raw={"domain": domain, "pattern": pattern, "observations": self._observations[domain]},
        )


__all__ = ["PATTERNS", "PatternProvider", "ascii_name", "matching_patterns", "render"]
