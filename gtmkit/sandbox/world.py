"""The simulated world: companies and the people who work there, with queryable ground truth.

Everything is generated from one integer seed with a private ``random.Random``, so the same seed
gives the same world on every run and machine. Companies carry a domain (some ccTLD, a few
internationalized), a heavy-tailed headcount, an industry, a region, an email pattern and a
catch-all flag; people carry a diverse (often non-ASCII) name, a title, seniority and department,
a current work email built from their company's pattern, a phone, a LinkedIn URL, and — for the
share who changed jobs recently — the previous company and the old, now stale, address.

Example:
    >>> from gtmkit.sandbox.world import World
    >>> world = World.generate(seed=1, companies=40)
    >>> row = world.people.row(0, named=True)
    >>> world.match({"email": row["email"]}) == row["person_id"]
    True
    >>> world.match({"first_name": row["first_name"], "last_name": row["last_name"],
    ...              "company_domain": row["company_domain"]}) == row["person_id"]
    True
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import math
import random
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import polars as pl

from gtmkit.sandbox import names as pools
from gtmkit.sandbox.errors import SandboxError
from gtmkit.sandbox.phones import add_true_phones

#: The world's "today": fixed so that start dates (and so samples) never depend on the clock.
REFERENCE_DATE = dt.date(2026, 10, 1)

#: Headcount bands, in the order they are charted (Apollo/LinkedIn style).
EMPLOYEE_BANDS: tuple[tuple[int, int, str], ...] = (
    (1, 10, "1-10"),
    (11, 50, "11-50"),
    (51, 200, "51-200"),
    (201, 500, "201-500"),
    (501, 1000, "501-1000"),
    (1001, 5000, "1001-5000"),
    (5001, 10000, "5001-10000"),
    (10001, 10**9, "10001+"),
)
BAND_ORDER: tuple[str, ...] = tuple(label for _, _, label in EMPLOYEE_BANDS)
#: Email local-part patterns, most common first.
EMAIL_PATTERNS_ORDER: tuple[str, ...] = tuple(pools.EMAIL_PATTERNS)

#: Departments whose people count as technical (PDL's home turf).
TECHNICAL_DEPARTMENTS: frozenset[str] = frozenset(
    name for name, (technical, _) in pools.DEPARTMENTS.items() if technical
)

#: National significant-number length per country (phones are stored in E.164).
_PHONE_DIGITS: dict[str, int] = {
    "US": 10, "CA": 10, "GB": 10, "DE": 11, "FR": 9, "NL": 9, "ES": 9, "IT": 10, "SE": 9,
    "PL": 9, "IE": 9, "BR": 11, "MX": 10, "IN": 10, "SG": 8, "AU": 9,
}  # fmt: skip
#: International calling code per country (``+1``, ``+44``...).
CALLING_CODES: dict[str, str] = {country: spec[3] for country, spec in pools.COUNTRIES.items()}
#: Countries whose national phone format starts with a trunk "0" (leading zero in spreadsheets).
TRUNK_ZERO_COUNTRIES: frozenset[str] = frozenset(
    {"GB", "DE", "FR", "NL", "IT", "SE", "IE", "BR", "AU"}
)
_POSTAL_DIGITS: dict[str, int] = {"US": 5, "DE": 5, "FR": 5, "ES": 5, "IT": 5, "MX": 5, "IN": 6}

_FOLD_MAP = str.maketrans(
    {"ß": "ss", "ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ł": "l",
     "Ł": "l", "đ": "d", "Đ": "d", "ı": "i", "þ": "th", "ð": "d"}
)  # fmt: skip
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NON_LOCAL = re.compile(r"[^a-z0-9-]+")


# --------------------------------------------------------------------------- normalizers
@functools.lru_cache(maxsize=65536)
def ascii_fold(text: str) -> str:
    """Lowercase ASCII transliteration: accents stripped, ``ß``→``ss``, ``ł``→``l``.

    >>> ascii_fold("Nguyễn Đặng"), ascii_fold("Groß"), ascii_fold("Łukasz")
    ('nguyen dang', 'gross', 'lukasz')
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_MAP))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


@functools.lru_cache(maxsize=131072)
def name_key(*parts: str | None) -> str:
    """Match key for a person's name: folded letters and digits only, parts concatenated.

    ``("José", "García")``, ``("jose", "garcia")`` and ``("José García",)`` share one key, as do
    ``"O'Neil"`` / ``"ONeil"`` and ``"van der Berg"`` / ``"Van Der Berg"``.

    >>> name_key("José", "García") == name_key("JOSE GARCIA") == name_key("  josé  garcía ")
    True
    """
    return _NON_ALNUM.sub("", ascii_fold(" ".join(p for p in parts if p)))


@functools.lru_cache(maxsize=131072)
def company_key(name: str | None) -> str:
    """Match key for a company name, ignoring case, accents, punctuation and legal suffixes.

    >>> company_key("Acme, Inc.") == company_key("ACME") == company_key("acme incorporated")
    True
    """
    if not name:
        return ""
    tokens = _NON_ALNUM.sub(" ", ascii_fold(name)).split()
    kept = [t for t in tokens if t not in pools.LEGAL_TOKENS]
    return "".join(kept or tokens)


@functools.lru_cache(maxsize=131072)
def normalize_domain(value: str | None) -> str | None:
    """Bare lowercase host from a domain, URL or email; punycode labels decoded to Unicode.

    >>> normalize_domain(" https://WWW.Acme.com/about "), normalize_domain("xn--mller-kva.de")
    ('acme.com', 'müller.de')
    """
    if not value:
        return None
    text = value.strip().lower()
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    text = re.sub(r"^[a-z][a-z0-9+.-]*://", "", text)
    text = text.split("/", 1)[0].split("?", 1)[0].split(":", 1)[0].strip(".")
    if text.startswith("www."):
        text = text[4:]
    if "xn--" in text:
        with contextlib.suppress(UnicodeError, ValueError):
            text = text.encode("ascii").decode("idna")
    return text or None


@functools.lru_cache(maxsize=131072)
def normalize_email(value: str | None) -> str | None:
    """Trimmed, lowercased address with its domain normalized (punycode → Unicode)."""
    if not value or "@" not in value:
        return None
    local, _, domain = value.strip().lower().rpartition("@")
    host = normalize_domain(domain)
    return f"{local}@{host}" if local and host else None


@functools.lru_cache(maxsize=131072)
def linkedin_key(url: str | None) -> str | None:
    """The ``/in/<handle>`` part of a LinkedIn profile URL, lowercased (or a bare handle).

    >>> linkedin_key("https://www.linkedin.com/in/Jose-Garcia-1a2b3c/?trk=x")
    'jose-garcia-1a2b3c'
    """
    if not url:
        return None
    text = url.strip().lower()
    match = re.search(r"linkedin\.com/in/([^/?#\s]+)", text)
    if match:
        return match.group(1)
    if "/" not in text and "." not in text and text:
        return text
    return None


def employee_band(count: int) -> str:
    """Headcount band label for an employee count (``"11-50"``, ``"10001+"``...)."""
    for low, high, label in EMPLOYEE_BANDS:
        if low <= count <= high:
            return label
    return EMPLOYEE_BANDS[-1][2]


@functools.lru_cache(maxsize=65536)
def email_local(pattern: str, first: str, last: str) -> str:
    """Local part of an address for ``pattern`` (``first.last``, ``flast``, ...).

    >>> email_local("flast", "José", "van der Berg"), email_local("first.last", "Seán", "O'Neil")
    ('jvanderberg', 'sean.oneil')
    """
    f = _NON_LOCAL.sub("", ascii_fold(first.replace(" ", ""))) or "x"
    f = f.strip("-") or "x"
    lst = _NON_LOCAL.sub("", ascii_fold(last.replace(" ", ""))).strip("-") or "x"
    return _LOCAL_FORMS[pattern].format(f=f, l=lst, fi=f[0], li=lst[0])


_LOCAL_FORMS: dict[str, str] = {
    "first.last": "{f}.{l}",
    "flast": "{fi}{l}",
    "first": "{f}",
    "firstlast": "{f}{l}",
    "f.last": "{fi}.{l}",
    "first_last": "{f}_{l}",
    "last": "{l}",
    "firstl": "{f}{li}",
    "last.first": "{l}.{f}",
    "first.l": "{f}.{li}",
    "lastf": "{l}{fi}",
}


# --------------------------------------------------------------------------- the world
class World:
    """A generated population of companies and people with ground truth behind every record.

    Build one with :meth:`World.generate` (or :func:`default_world` for the cached world that
    ``data/samples`` and the sandbox server use). ``companies`` and ``people`` are polars frames;
    the lookup methods (:meth:`match`, :meth:`person`, :meth:`company`, :meth:`truth`) answer
    "who is this, really?" so accuracy can be measured and not only hit rate.
    """

    def __init__(
        self,
        *,
        seed: int,
        companies: pl.DataFrame,
        people: pl.DataFrame,
        company_rows: list[dict[str, Any]] | None = None,
        people_rows: list[dict[str, Any]] | None = None,
    ) -> None:
        """Wrap generated frames (``company_rows`` / ``people_rows``: the same data as row
        dicts, if already at hand, to skip a conversion)."""
        self.seed = seed
        self.companies = companies
        self.people = people
        self._people_rows: list[dict[str, Any]] = people_rows or people.to_dicts()
        self._company_rows: list[dict[str, Any]] = company_rows or companies.to_dicts()
        self._person_index: dict[str, int] = {
            r["person_id"]: i for i, r in enumerate(self._people_rows)
        }
        self._company_by_domain: dict[str, int] = {
            r["domain"]: i for i, r in enumerate(self._company_rows)
        }
        self._company_by_id: dict[str, int] = {
            r["company_id"]: i for i, r in enumerate(self._company_rows)
        }
        self._company_by_key: dict[str, int] = {}
        for i, r in enumerate(self._company_rows):
            for alias in (r["name"], r["legal_name"], *r["aliases"]):
                self._company_by_key.setdefault(company_key(alias), i)
        self._by_email: dict[str, int] = {}
        self._by_linkedin: dict[str, int] = {}
        self._by_name_domain: dict[tuple[str, str], int] = {}
        self._staff: dict[str, list[int]] = {}
        for i, r in enumerate(self._people_rows):
            self._by_email.setdefault(r["email"], i)
            self._by_linkedin.setdefault(linkedin_key(r["linkedin_url"]) or "", i)
            key = name_key(r["first_name"], r["last_name"])
            self._by_name_domain.setdefault((key, r["company_domain"]), i)
            self._staff.setdefault(r["company_id"], []).append(i)
        # Old addresses and old employers resolve too (a lead list is often out of date), but a
        # current record always wins over a stale one.
        for i, r in enumerate(self._people_rows):
            if r["prev_email"]:
                self._by_email.setdefault(r["prev_email"], i)
                key = name_key(r["first_name"], r["last_name"])
                self._by_name_domain.setdefault((key, r["prev_company_domain"]), i)
            if r["personal_email"]:
                self._by_email.setdefault(r["personal_email"], i)
        rank = pools.SENIORITY_RANK
        for members in self._staff.values():
            members.sort(key=lambda i: (rank[self._people_rows[i]["seniority"]], i))

    def __repr__(self) -> str:
        return (
            f"World(seed={self.seed}, companies={self.companies.height}, "
            f"people={self.people.height})"
        )

    # ------------------------------------------------------------------ generation
    @classmethod
    def generate(
        cls,
        *,
        seed: int = 7,
        companies: int = 3000,
        job_change_share: float = 0.12,
        catch_all_share: float = 0.42,
        idn_share: float = 0.015,
    ) -> World:
        """Generate a world deterministically from ``seed``.

        Args:
            seed: Any integer; the same seed always gives the same world.
            companies: Number of companies. People per company grow with headcount (about 9 on
                average, so 3,000 companies hold about 27,000 people).
            job_change_share: Share of people who changed jobs in the last ~9 months (their
                previous company and old address are kept; the old address is stale).
            catch_all_share: Probability that a company's mail domain accepts every address.
            idn_share: Share of companies with an internationalized (non-ASCII) domain.

        Returns:
            The world, with ``companies`` and ``people`` polars frames.

        Example:
            >>> World.generate(seed=3, companies=30).companies.height
            30
        """
        if companies < 1:
            raise SandboxError(f"companies must be at least 1, got {companies}")
        for label, share in (
            ("job_change_share", job_change_share),
            ("catch_all_share", catch_all_share),
            ("idn_share", idn_share),
        ):
            if not 0.0 <= share <= 1.0:
                raise SandboxError(f"{label} must lie in [0, 1], got {share}")
        rng = random.Random(f"gtmkit-world-{seed}")
        company_rows = _generate_companies(rng, companies, catch_all_share, idn_share)
        people_rows = _generate_people(rng, company_rows, job_change_share)
        add_true_phones(seed, people_rows, CALLING_CODES)  # hashed: no draw of rng changes
        return cls(
            seed=seed,
            companies=pl.DataFrame(company_rows, schema=_COMPANY_SCHEMA),
            people=pl.DataFrame(people_rows, schema=_PEOPLE_SCHEMA),
            company_rows=company_rows,
            people_rows=people_rows,
        )

    # ------------------------------------------------------------------ ground truth
    def person(self, person_id: str) -> dict[str, Any]:
        """Everything the world knows about one person (a copy; raises ``KeyError`` if unknown)."""
        return dict(self._people_rows[self._person_index[person_id]])

    def company(self, domain: str) -> dict[str, Any] | None:
        """The company behind a domain, website URL or email address (None if unknown)."""
        host = normalize_domain(domain)
        index = self._company_by_domain.get(host) if host else None
        return None if index is None else dict(self._company_rows[index])

    def company_by_id(self, company_id: str) -> dict[str, Any] | None:
        """The company with this ``company_id`` (None if unknown)."""
        index = self._company_by_id.get(company_id)
        return None if index is None else dict(self._company_rows[index])

    def resolve_company(self, query: Mapping[str, Any]) -> dict[str, Any] | None:
        """Company from ``company_domain``, ``website`` or a work ``email``, else its name."""
        index = self._company_index(query)
        return None if index is None else dict(self._company_rows[index])

    def staff(self, company_id: str) -> list[str]:
        """Person ids currently at a company, most senior first."""
        return [self._people_rows[i]["person_id"] for i in self._staff.get(company_id, [])]

    def match(self, query: Mapping[str, Any]) -> str | None:
        """Resolve a canonical record to the person it describes, or None.

        Tries, in order: ``person_id``; ``email`` (current, old or personal address);
        ``linkedin_url``; then a name (``first_name`` + ``last_name`` or ``full_name``) at a
        company given by ``company_domain``, ``website``, the email's domain or
        ``company_name`` (messy variants such as "ACME, Inc." resolve). A name at a person's
        *previous* company resolves to them too. Matching ignores case, accents, whitespace and
        punctuation.

        Example:
            >>> world = World.generate(seed=1, companies=40)
            >>> world.match({"full_name": "Nobody Atall", "company_domain": "nowhere.example"})
        """
        index = self._match_index(query)
        return None if index is None else self._people_rows[index]["person_id"]

    def truth(self, records: pl.DataFrame) -> pl.DataFrame:
        """Ground truth for each row of a canonical records frame.

        Args:
            records: Canonical columns (any of ``first_name``, ``last_name``, ``full_name``,
                ``email``, ``company_name``, ``company_domain``, ``website``,
                ``linkedin_url``) and optionally ``row_id`` (positions are used if absent).

        Returns:
            One row per input row: ``row_id``, ``person_id`` (null when the row matches nobody),
            ``true_email`` (the current work address), ``company_domain``, ``employee_count``,
            ``employee_band``, ``industry``, ``region``, ``country``, ``seniority``,
            ``department``, ``technical``, ``catch_all``, ``changed_job``, and the person's
            true numbers in E.164: ``true_mobile``, ``true_direct`` (null when they have no
            direct line) and ``true_office`` (their company's switchboard).
        """
        rows = records.to_dicts()
        out: list[dict[str, Any]] = []
        for position, row in enumerate(rows):
            query = {k: str(v) for k, v in row.items() if v is not None and str(v).strip()}
            index = self._match_index(query)
            row_id = row.get("row_id", position)
            if index is None:
                out.append({"row_id": row_id})
                continue
            p = self._people_rows[index]
            company = self._company_rows[self._company_by_id[p["company_id"]]]
            out.append(
                {
                    "row_id": row_id,
                    "person_id": p["person_id"],
                    "true_email": p["email"],
                    **{col: p[col] for col in _TRUTH_SEGMENTS},
                    "true_mobile": p.get("mobile_phone"),
                    "true_direct": p.get("direct_phone"),
                    "true_office": company["phone"],
                }
            )
        schema = {"row_id": pl.Int64, "person_id": pl.String, "true_email": pl.String}
        schema |= {col: _PEOPLE_SCHEMA[col] for col in _TRUTH_SEGMENTS}
        schema |= {"true_mobile": pl.String, "true_direct": pl.String, "true_office": pl.String}
        return pl.DataFrame(out, schema=schema)

    def sample_records(self, n: int, *, seed: int = 0) -> pl.DataFrame:
        """A clean canonical records frame of ``n`` distinct people (current employer).

        Columns: ``row_id``, ``first_name``, ``last_name``, ``full_name``, ``company_name``,
        ``company_domain``, ``title``, ``linkedin_url``, ``country``, plus ``person_id`` so
        results can be joined back to the truth. For messy files use ``write_samples``.

        Example:
            >>> world = World.generate(seed=1, companies=40)
            >>> world.sample_records(5, seed=1).columns[:3]
            ['row_id', 'first_name', 'last_name']
        """
        if not 0 <= n <= self.people.height:
            raise SandboxError(f"n must lie in [0, {self.people.height}], got {n}")
        picked = random.Random(f"gtmkit-records-{self.seed}-{seed}").sample(
            range(self.people.height), n
        )
        columns = (
            "first_name", "last_name", "full_name", "company_name", "company_domain", "title",
            "linkedin_url", "country", "person_id",
        )  # fmt: skip
        return (
            pl.DataFrame(
                [{col: self._people_rows[i][col] for col in columns} for i in picked],
                schema={col: pl.String for col in columns},
            )
            .with_row_index("row_id")
            .with_columns(pl.col("row_id").cast(pl.Int64))
        )

    # ------------------------------------------------------------------ internals
    def _row(self, index: int) -> dict[str, Any]:
        return self._people_rows[index]

    def _company_index(self, query: Mapping[str, Any]) -> int | None:
        for field in ("company_domain", "website"):
            host = normalize_domain(query.get(field))
            if host and host in self._company_by_domain:
                return self._company_by_domain[host]
        email = normalize_email(query.get("email"))
        if email:
            host = email.rsplit("@", 1)[1]
            if host in self._company_by_domain:
                return self._company_by_domain[host]
        key = company_key(query.get("company_name"))
        return self._company_by_key.get(key) if key else None

    def _match_index(self, query: Mapping[str, Any]) -> int | None:
        pid = query.get("person_id")
        if pid and pid in self._person_index:
            return self._person_index[pid]
        email = normalize_email(query.get("email"))
        if email and email in self._by_email:
            return self._by_email[email]
        handle = linkedin_key(query.get("linkedin_url"))
        if handle and handle in self._by_linkedin:
            return self._by_linkedin[handle]
        first, last = query.get("first_name"), query.get("last_name")
        key = name_key(first, last) if first and last else name_key(query.get("full_name"))
        if not key:
            return None
        hosts: list[str] = []
        for field in ("company_domain", "website"):
            host = normalize_domain(query.get(field))
            if host:
                hosts.append(host)
        if email:
            hosts.append(email.rsplit("@", 1)[1])
        for host in hosts:
            index = self._by_name_domain.get((key, host))
            if index is not None:
                return index
        company_index = self._company_by_key.get(company_key(query.get("company_name")))
        if company_index is not None:
            domain = self._company_rows[company_index]["domain"]
            return self._by_name_domain.get((key, domain))
        return None


_TRUTH_SEGMENTS: tuple[str, ...] = (
    "company_domain",
    "employee_count",
    "employee_band",
    "industry",
    "region",
    "country",
    "seniority",
    "department",
    "technical",
    "catch_all",
    "changed_job",
)


@functools.cache
def default_world() -> World:
    """The world ``data/samples``, the demo and the sandbox server use (seed 7, 3,000 companies).

    Cached in process: the first call generates it (about a second), later calls are free.
    """
    return World.generate(seed=7, companies=3000)


# --------------------------------------------------------------------------- generators
_COMPANY_SCHEMA: dict[str, Any] = {
    "company_id": pl.String,
    "name": pl.String,
    "legal_name": pl.String,
    "aliases": pl.List(pl.String),
    "domain": pl.String,
    "idn": pl.Boolean,
    "employee_count": pl.Int64,
    "employee_band": pl.String,
    "industry": pl.String,
    "technical_industry": pl.Boolean,
    "region": pl.String,
    "country": pl.String,
    "postal_code": pl.String,
    "funding_stage": pl.String,
    "founded_year": pl.Int64,
    "email_pattern": pl.String,
    "catch_all": pl.Boolean,
    "linkedin_url": pl.String,
    "phone": pl.String,
}

_PEOPLE_SCHEMA: dict[str, Any] = {
    "person_id": pl.String,
    "first_name": pl.String,
    "last_name": pl.String,
    "full_name": pl.String,
    "title": pl.String,
    "seniority": pl.String,
    "department": pl.String,
    "technical": pl.Boolean,
    "email": pl.String,
    "personal_email": pl.String,
    "phone": pl.String,
    "mobile_phone": pl.String,
    "direct_phone": pl.String,
    "linkedin_url": pl.String,
    "start_date": pl.Date,
    "company_id": pl.String,
    "company_name": pl.String,
    "company_domain": pl.String,
    "employee_count": pl.Int64,
    "employee_band": pl.String,
    "industry": pl.String,
    "region": pl.String,
    "country": pl.String,
    "catch_all": pl.Boolean,
    "changed_job": pl.Boolean,
    "prev_company_id": pl.String,
    "prev_company_name": pl.String,
    "prev_company_domain": pl.String,
    "prev_title": pl.String,
    "prev_email": pl.String,
    "findability": pl.Float64,
}


@functools.lru_cache(maxsize=256)
def _cumulative(items: tuple[tuple[str, float], ...]) -> tuple[tuple[str, ...], list[float]]:
    labels = tuple(label for label, _ in items)
    total, cumulative = 0.0, []
    for _, weight in items:
        total += weight
        cumulative.append(total)
    return labels, cumulative


def _weighted(rng: random.Random, weights: Mapping[str, float]) -> str:
    labels, cumulative = _cumulative(tuple(weights.items()))
    return labels[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


@functools.lru_cache(maxsize=8192)
def _slug(text: str, *, keep_unicode: bool = False) -> str:
    lowered = text.lower() if keep_unicode else ascii_fold(text)
    return re.sub(r"[^\w]+", "-", lowered).strip("-").replace("_", "-")


def _company_name(rng: random.Random, country: str, idn: bool) -> str:
    if idn and country in pools.IDN_NAMES:
        return rng.choice(pools.IDN_NAMES[country])
    head = rng.choice(pools.NAME_HEADS)
    style = rng.random()
    if style < 0.45:
        return head + rng.choice(pools.NAME_TAILS)
    if style < 0.8:
        return f"{head} {rng.choice(pools.NAME_SUFFIX_WORDS)}"
    return f"{head}{rng.choice(pools.NAME_TAILS)} {rng.choice(pools.NAME_SUFFIX_WORDS)}"


def _aliases(rng: random.Random, name: str, legal_name: str, country: str) -> list[str]:
    """The messy ways lead lists spell a company: "Acme, Inc.", "ACME", "acme inc"..."""
    _, alternatives = pools.LEGAL_SUFFIXES[country]
    variants = [
        legal_name,
        name.upper(),
        f"{name} {rng.choice(alternatives)}".replace(" ,", ","),
        name.lower(),
        f"{name}, {pools.LEGAL_SUFFIXES[country][0]}",
    ]
    seen: dict[str, None] = {}
    for v in variants:
        if v != name:
            seen.setdefault(v, None)
    return list(seen)


def _employee_count(rng: random.Random) -> int:
    # Lognormal body plus a thin log-uniform tail of enterprises (5k-100k): most companies
    # are small, a few are huge.
    if rng.random() < 0.006:
        return round(math.exp(rng.uniform(math.log(5_000), math.log(100_000))))
    value = math.exp(rng.gauss(math.log(28), 1.75))
    return max(1, min(100_000, round(value)))


def _phone(rng: random.Random, country: str) -> str:
    digits = _PHONE_DIGITS[country]
    return f"{pools.COUNTRIES[country][3]}{rng.randrange(2 * 10 ** (digits - 1), 10**digits)}"


def _postal_code(rng: random.Random, country: str) -> str:
    if country == "GB":
        return f"{rng.choice(['EC', 'SW', 'N', 'M', 'LS', 'B'])}{rng.randint(1, 20)} {rng.randint(1, 9)}{rng.choice('ABDEFGHJ')}{rng.choice('LNPQRSTU')}"  # noqa: E501
    if country in {"CA"}:
        return f"M{rng.randint(1, 9)}V {rng.randint(1, 9)}A{rng.randint(1, 9)}"
    digits = _POSTAL_DIGITS.get(country, 4)
    # Leading zeros are common (Boston 02110, Dresden 01067): the spreadsheet trap.
    return "".join(str(rng.randint(0, 9)) for _ in range(digits))


def _funding_stage(rng: random.Random, employees: int) -> str:
    if employees <= 10:
        return rng.choices(["bootstrapped", "seed", "series_a"], [0.6, 0.3, 0.1])[0]
    if employees <= 200:
        return rng.choices(
            ["bootstrapped", "seed", "series_a", "series_b", "series_c"],
            [0.3, 0.15, 0.25, 0.2, 0.1],
        )[0]
    if employees <= 5000:
        return rng.choices(
            ["bootstrapped", "series_b", "series_c", "series_d_plus", "private_equity", "public"],
            [0.15, 0.15, 0.2, 0.2, 0.15, 0.15],
        )[0]
    return rng.choices(["private_equity", "public", "series_d_plus"], [0.25, 0.65, 0.1])[0]


def _generate_companies(
    rng: random.Random, count: int, catch_all_share: float, idn_share: float
) -> list[dict[str, Any]]:
    countries = {c: spec[1] for c, spec in pools.COUNTRIES.items()}
    industries = {name: spec[0] for name, spec in pools.INDUSTRIES.items()}
    used_keys: set[str] = set()
    used_domains: set[str] = set()
    rows: list[dict[str, Any]] = []
    for index in range(count):
        country = _weighted(rng, countries)
        region, _, cctld, _ = pools.COUNTRIES[country]
        idn = rng.random() < idn_share and country in pools.IDN_NAMES
        name = _company_name(rng, country, idn)
        attempt = 0
        while company_key(name) in used_keys:
            attempt += 1
            name = _company_name(rng, country, idn and attempt < 3)
            if attempt > 50:  # the pools are exhausted for this many companies: number them
                name = f"{name} {index}"
        idn = idn and not name.isascii()
        used_keys.add(company_key(name))
        industry = _weighted(rng, industries)
        employees = _employee_count(rng)
        suffix = pools.LEGAL_SUFFIXES[country][0]
        legal_name = f"{name}, {suffix}" if suffix == "Inc." else f"{name} {suffix}"
        # Domain: many non-US companies still use .com; software companies like .io/.ai.
        tld_roll = rng.random()
        if industry in {"computer software", "information technology & services"} and (
            tld_roll < 0.2
        ):
            tld = rng.choice(["io", "ai", "dev"])
        elif country == "US" or tld_roll < 0.35:
            tld = "com"
        else:
            tld = cctld
        base = _slug(name, keep_unicode=idn)
        if not idn and rng.random() < 0.6:
            base = base.replace("-", "")
        domain = f"{base}.{tld}"
        for prefix in ("get", "try", "hello", "team", "use", "join"):
            if domain not in used_domains:
                break
            domain = f"{prefix}{base}.{tld}"
        while domain in used_domains:
            domain = f"{base}{rng.randint(2, 999)}.{tld}"
        used_domains.add(domain)
        pattern_weights = dict(pools.EMAIL_PATTERNS)
        if employees <= 10:  # tiny companies often use bare first names
            pattern_weights["first"] *= 3
        rows.append(
            {
                "company_id": f"c{index:05d}",
                "name": name,
                "legal_name": legal_name,
                "aliases": _aliases(rng, name, legal_name, country),
                "domain": domain,
                "idn": idn,
                "employee_count": employees,
                "employee_band": employee_band(employees),
                "industry": industry,
                "technical_industry": pools.INDUSTRIES[industry][1],
                "region": region,
                "country": country,
                "postal_code": _postal_code(rng, country),
                "funding_stage": _funding_stage(rng, employees),
                "founded_year": REFERENCE_DATE.year
                - min(90, int(rng.expovariate(1 / (6 + 4 * math.log10(employees + 1))))),
                "email_pattern": _weighted(rng, pattern_weights),
                "catch_all": rng.random() < catch_all_share,
                "linkedin_url": f"https://www.linkedin.com/company/{_slug(name)}",
                "phone": _phone(rng, country),
            }
        )
    return rows


def _staff_size(employees: int) -> int:
    """How many of a company's employees the world models (grows sub-linearly with headcount)."""
    return max(1, min(employees, round(1.5 + 1.45 * employees**0.42)))


def _person_title(rng: random.Random, department: str, seniority: str) -> str:
    _, stems = pools.DEPARTMENTS[department]
    return rng.choice(stems[seniority])


def _pick_role(rng: random.Random, technical_industry: bool) -> tuple[str, str]:
    tech_share = 0.5 if technical_industry else 0.18
    mix = _TECH_DEPARTMENTS if rng.random() < tech_share else _BUSINESS_DEPARTMENTS
    return _weighted(rng, mix), _weighted(rng, pools.SENIORITY_WEIGHTS)


_TECH_DEPARTMENTS = {"engineering": 0.55, "data": 0.15, "it": 0.12, "product": 0.18}
_BUSINESS_DEPARTMENTS = {
    "sales": 0.3,
    "marketing": 0.2,
    "finance": 0.1,
    "hr": 0.09,
    "operations": 0.15,
    "customer_success": 0.12,
    "legal": 0.04,
}


def _generate_people(
    rng: random.Random, companies: list[dict[str, Any]], job_change_share: float
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    locals_by_domain: dict[str, set[str]] = {}
    used_personal: set[str] = set()
    culture_mixes = pools.CULTURE_MIX
    reference_ordinal = REFERENCE_DATE.toordinal()
    for company in companies:
        used = locals_by_domain.setdefault(company["domain"], set())
        for slot in range(_staff_size(company["employee_count"])):
            culture = _weighted(rng, culture_mixes[company["country"]])
            first = rng.choice(pools.FIRST_NAMES[culture])
            last = rng.choice(pools.LAST_NAMES[culture])
            if slot == 0 and company["employee_count"] <= 50:
                department, seniority = "operations", "founder"
                title = rng.choice(["Founder & CEO", "Co-Founder", "Owner", "Managing Director"])
            else:
                department, seniority = _pick_role(rng, company["technical_industry"])
                title = _person_title(rng, department, seniority)
            local = email_local(company["email_pattern"], first, last)
            candidate, n = local, 1
            while candidate in used:  # two people, one address: the second gets a number
                n += 1
                candidate = f"{local}{n}"
            used.add(candidate)
            handle = f"{_slug(first)}-{_slug(last)}-{rng.getrandbits(24):06x}"
            personal_sep = rng.choice([".", "", "_"])
            roll = rng.random()
            personal_num = (
                ""
                if roll < 0.5
                else str(rng.randint(1, 99) if roll < 0.75 else rng.randint(1960, 2002))
            )
            personal_local = email_local("first.last", first, last).replace(".", personal_sep)
            personal = f"{personal_local}{personal_num}@{rng.choice(pools.WEBMAIL_DOMAINS)}"
            while personal in used_personal:  # webmail addresses are unique too
                personal = personal.replace("@", f"{rng.randint(0, 9)}@")
            used_personal.add(personal)
            years_in_role = rng.expovariate(1 / 3.2)
            rows.append(
                {
                    "person_id": f"p{len(rows):06d}",
                    "first_name": first,
                    "last_name": last,
                    "full_name": f"{first} {last}",
                    "title": title,
                    "seniority": seniority,
                    "department": department,
                    "technical": department in TECHNICAL_DEPARTMENTS,
                    "email": f"{candidate}@{company['domain']}",
                    "personal_email": personal,
                    "phone": _phone(rng, company["country"]),
                    "linkedin_url": f"https://www.linkedin.com/in/{handle}",
                    "start_date": dt.date.fromordinal(
                        reference_ordinal - 30 - min(int(years_in_role * 365), 15000)
                    ),
                    "company_id": company["company_id"],
                    "company_name": company["name"],
                    "company_domain": company["domain"],
                    "employee_count": company["employee_count"],
                    "employee_band": company["employee_band"],
                    "industry": company["industry"],
                    "region": company["region"],
                    "country": company["country"],
                    "catch_all": company["catch_all"],
                    "changed_job": False,
                    "prev_company_id": None,
                    "prev_company_name": None,
                    "prev_company_domain": None,
                    "prev_title": None,
                    "prev_email": None,
                    "findability": rng.gauss(0.0, 1.0),
                }
            )
    # Second pass, once every current address is taken: recent job changers get the employer
    # they left and the address they had there, which no longer delivers.
    if len(companies) > 1:
        for row in rows:
            if rng.random() >= job_change_share:
                continue
            previous = companies[rng.randrange(len(companies))]
            if previous["company_id"] == row["company_id"]:
                continue
            used = locals_by_domain.setdefault(previous["domain"], set())
            local = email_local(previous["email_pattern"], row["first_name"], row["last_name"])
            candidate, n = local, 1
            while candidate in used:
                n += 1
                candidate = f"{local}{n}"
            used.add(candidate)
            row["changed_job"] = True
            row["prev_company_id"] = previous["company_id"]
            row["prev_company_name"] = previous["name"]
            row["prev_company_domain"] = previous["domain"]
            row["prev_title"] = row["title"]
            row["prev_email"] = f"{candidate}@{previous['domain']}"
            row["start_date"] = dt.date.fromordinal(reference_ordinal - rng.randint(20, 270))
    return rows
