"""``search``: rank entries for a use case, and for how well a loaded list fits each one.

Two parts add up to ``score``:

* ``text_score`` (0..1): BM25 relevance of the query to the entry's title, use case,
  industry, company stage and category (scaled so the best entry scores 1).
* ``fit_score`` (about -2..+1.5): how the list's profile — company sizes, industries, regions
  in the records — meets what the entry documents. A documented failure mode the list falls
  into counts *against* the entry by the share of rows it affects ("breaks for <50 employee
  companies" on a list of 20-person companies: about -1); a documented use-case size range,
  industry or region counts for or against it by how much of the list is inside it. Each
  finding is explained in ``fit_notes``.

Company size comes from ``employee_count`` / ``employees`` / ``headcount`` or a band column
(``employee_band``, ``company_size``: "11-50", "10001+"); industry from ``industry``; region
from ``region`` or the country (``country_code`` / ``country``).

Example:
    >>> import polars as pl
    >>> leads = pl.DataFrame({"employee_band": ["11-50"] * 8 + ["51-200"] * 2})
    >>> ranked = search(query="decision makers at SaaS companies", records=leads)
    >>> row = ranked.filter(pl.col("name") == "enterprise-contact-enrichment").row(0, named=True)
    >>> row["fit_score"] < 0, row["fit_notes"][0][:30]
    (True, '80% of the list is under 50 em')
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.errors import ArgumentError
from gtmkit.patterns.index import STALE_AFTER_DAYS, index

_TOKEN = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "at",
        "for",
        "from",
        "in",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "by",
        "is",
        "are",
        "be",
        "as",
        "when",
        "this",
        "that",
        "into",
        "per",
        "all",
        "any",
        "who",
        "what",
    ]
)
#: Words that mean the same thing to a GTM engineer (both sides of a match are mapped).
_SYNONYMS = {
    "saas": "software",
    "smb": "small",
    "smbs": "small",
    "startup": "small",
    "startups": "small",
    "emails": "email",
    "decision": "decisionmaker",
    "makers": "decisionmaker",
    "maker": "decisionmaker",
    "enrichments": "enrich",
    "enrichment": "enrich",
    "enriching": "enrich",
    "webhooks": "webhook",
    "companies": "company",
}
_SIZE_COLUMNS = ("employee_count", "employees", "headcount", "employee_band", "company_size")
_INDUSTRY_COLUMNS = ("industry", "company_industry")
_NUM = r"(\d[\d,]*)"
_UNIT = r"\s*[- ]?\s*(?:employees?|people|staff|person|headcount)"
_BELOW = re.compile(r"(?:<|under|below|fewer than|less than|smaller than)\s*" + _NUM + _UNIT)
_ABOVE = re.compile(r"(?:>|over|above|more than|larger than)\s*" + _NUM + _UNIT)
_RANGE = re.compile(_NUM + r"\s*[-–]\s*" + _NUM + _UNIT)
_PLUS = re.compile(_NUM + r"\s*\+" + _UNIT)
_BAND = re.compile(r"(\d[\d,]*)\s*[-–]\s*(\d[\d,]*)|(\d[\d,]*)\s*\+|^(\d[\d,.]*)$")

_REGION_WORDS = {
    "north america": "North America",
    "us": "North America",
    "usa": "North America",
    "united states": "North America",
    "canada": "North America",
    "eu": "Europe",
    "europe": "Europe",
    "european": "Europe",
    "emea": "Europe",
    "uk": "Europe",
    "dach": "Europe",
    "apac": "APAC",
    "asia": "APAC",
    "latam": "LATAM",
    "latin america": "LATAM",
}
_COUNTRY_REGION = {
    **dict.fromkeys(["US", "CA"], "North America"),
    **dict.fromkeys(
        [
            "GB",
            "UK",
            "IE",
            "FR",
            "DE",
            "ES",
            "IT",
            "NL",
            "BE",
            "LU",
            "PT",
            "CH",
            "AT",
            "SE",
            "NO",
            "DK",
            "FI",
            "PL",
            "CZ",
            "GR",
            "RO",
            "HU",
        ],
        "Europe",
    ),
    **dict.fromkeys(
        ["IN", "SG", "AU", "NZ", "JP", "CN", "HK", "KR", "TW", "MY", "ID", "PH", "TH", "VN"], "APAC"
    ),
    **dict.fromkeys(["BR", "MX", "AR", "CL", "CO", "PE"], "LATAM"),
}
_REGION_ALIASES = {"na": "North America", "eu": "Europe", "emea": "Europe", "apac": "APAC"}


def tokens(text: str | None) -> list[str]:
    """Lowercase word tokens, stopwords out, a few GTM synonyms folded together."""
    out = []
    for word in _TOKEN.findall((text or "").lower()):
        if word in _STOP:
            continue
        word = _SYNONYMS.get(word, word)
        if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
            word = word[:-1]
        out.append(word)
    return out


# -- the list's profile -------------------------------------------------------------------------
def _size(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    match = _BAND.search(str(value).strip())
    if not match:
        return None
    lo, hi, plus, plain = match.groups()
    if lo and hi:
        return (float(lo.replace(",", "")) + float(hi.replace(",", ""))) / 2.0
    return float((plus or plain).replace(",", ""))


@dataclass(frozen=True)
class ListProfile:
    """What a list looks like: company sizes (sorted), and how many rows per industry and
    region (when the list says)."""

    rows: int
    sizes: tuple[float, ...] = ()
    industries: Mapping[str, int] = field(default_factory=dict)
    regions: Mapping[str, int] = field(default_factory=dict)
    columns: dict[str, str] = field(default_factory=dict)

    def share_sized(self, low: float, high: float) -> float:
        """Share of rows with a known size whose size is within ``[low, high]``."""
        if not self.sizes:
            return 0.0
        inside = bisect.bisect_right(self.sizes, high) - bisect.bisect_left(self.sizes, low)
        return inside / len(self.sizes)

    def share_below(self, limit: float) -> float:
        return bisect.bisect_left(self.sizes, limit) / len(self.sizes) if self.sizes else 0.0

    def share_above(self, limit: float) -> float:
        if not self.sizes:
            return 0.0
        return (len(self.sizes) - bisect.bisect_right(self.sizes, limit)) / len(self.sizes)


def profile(records: Any) -> ListProfile:
    """The profile of a ``LoadedList`` or records frame (see the module docstring)."""
    frame = getattr(records, "records", records)
    if not isinstance(frame, pl.DataFrame):
        raise ArgumentError("records must be a polars frame or a loaded list")
    used: dict[str, str] = {}
    sizes: list[float] = []
    col = next((c for c in _SIZE_COLUMNS if c in frame.columns), None)
    if col:
        used["size"] = col
        counts = frame[col].value_counts().iter_rows()
        sizes = [s for value, n in counts if (s := _size(value)) is not None for _ in range(n)]
    industries: Counter[str] = Counter()
    col = next((c for c in _INDUSTRY_COLUMNS if c in frame.columns), None)
    if col:
        used["industry"] = col
        industries.update({str(v): n for v, n in frame[col].value_counts().iter_rows() if v})
    regions: Counter[str] = Counter()
    if "region" in frame.columns:
        used["region"] = "region"
        for value, n in frame["region"].value_counts().iter_rows():
            if value:
                regions[_REGION_ALIASES.get(str(value).lower(), str(value))] += n
    else:
        col = next((c for c in ("country_code", "country") if c in frame.columns), None)
        if col:
            used["region"] = col
            for value, n in frame[col].value_counts().iter_rows():
                code = str(value or "").strip().upper()
                if code in _COUNTRY_REGION:
                    regions[_COUNTRY_REGION[code]] += n
    return ListProfile(frame.height, tuple(sorted(sizes)), dict(industries), dict(regions), used)


# -- what an entry documents ---------------------------------------------------------------------
def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _size_range(use_case: str, stage: str = "") -> tuple[float, float] | None:
    """A documented company-size range: explicit employee counts in the use case or stage,
    else the stage's words (SMB, mid-market, enterprise)."""
    low = f"{use_case} {stage}".lower()
    if m := _RANGE.search(low):
        return _num(m.group(1)), _num(m.group(2))
    if m := _PLUS.search(low):
        return _num(m.group(1)), math.inf
    if m := _BELOW.search(low):
        return 0.0, _num(m.group(1))
    if m := _ABOVE.search(low):
        return _num(m.group(1)), math.inf
    stage = stage.lower()
    if _SMALL_WORDS.search(stage):
        return 1.0, 200.0
    if "mid-market" in stage or "mid market" in stage:
        return 200.0, 1000.0
    if "enterprise" in stage:
        return 1000.0, math.inf
    return None


_WORDS = re.compile(r"[a-z]+")
_SMALL_WORDS = re.compile(r"\bsmb\b|small compan|small business")


def _regions_in(text: str) -> set[str]:
    """Regions a text names ("EU", "North America"...), by whole words and word pairs."""
    words = _WORDS.findall(text.lower())
    found = {_REGION_WORDS[w] for w in words if w in _REGION_WORDS}
    found.update(
        _REGION_WORDS[pair]
        for pair in map(" ".join, itertools.pairwise(words))
        if pair in _REGION_WORDS
    )
    return found


def _share_of(counts: Mapping[str, int], test: Any) -> float:
    total = sum(counts.values())
    return sum(n for value, n in counts.items() if test(value)) / total if total else 0.0


@lru_cache(maxsize=4096)
def _token_set(text: str) -> frozenset[str]:
    return frozenset(tokens(text))


def fit(entry: Mapping[str, Any], prof: ListProfile) -> tuple[float, list[str]]:
    """How well a list's profile meets one index row's documented use case and failure modes."""
    score = 0.0
    notes: list[str] = []
    failures = " ".join(entry.get("failure_modes") or []).lower()
    use = str(entry.get("use_case") or "")
    stage = str(entry.get("company_stage") or "")
    if prof.sizes:
        limits = {(below, _num(m.group(1))) for regex, below in ((_BELOW, True), (_ABOVE, False))
                  for m in regex.finditer(failures)}  # fmt: skip
        for below, limit in sorted(limits):
            hit = prof.share_below(limit) if below else prof.share_above(limit)
            if hit > 0:
                score -= hit
                word = "under" if below else "over"
                notes.append(
                    f"{hit:.0%} of the list is {word} {limit:,.0f} employees: a documented "
                    "failure mode"
                )
        span = _size_range(use, stage)
        if span is not None:
            inside = prof.share_sized(*span)
            score += 0.5 * (2 * inside - 1)
            hi = "+" if math.isinf(span[1]) else f"-{span[1]:,.0f}"
            notes.append(
                f"{inside:.0%} of the list is in the documented {span[0]:,.0f}{hi} employees"
            )
    industry = str(entry.get("industry") or "")
    wanted = _token_set(industry) - {"all", "etc", "any"}
    if prof.industries and wanted:
        inside = _share_of(prof.industries, lambda v: bool(wanted & _token_set(v)))
        score += 0.5 * (2 * inside - 1)
        notes.append(f"{inside:.0%} of the list is in the documented industry ({industry})")
    if prof.regions:
        for region in sorted(_regions_in(f"{use} {stage}")):
            inside = _share_of(prof.regions, lambda r, g=region: r == g)
            score += 0.5 * (2 * inside - 1)
            notes.append(f"{inside:.0%} of the list is in {region}, the documented region")
        for region in sorted(_regions_in(failures)):
            hit = _share_of(prof.regions, lambda r, g=region: r == g)
            if hit > 0:
                score -= hit
                notes.append(f"{hit:.0%} of the list is in {region}: a documented failure mode")
    return score, notes


# -- ranking ------------------------------------------------------------------------------------
def _documents(entries: pl.DataFrame) -> list[list[str]]:
    docs = []
    for row in entries.iter_rows(named=True):
        words = tokens(row["title"]) * 2 + tokens(row["use_case"]) * 2
        words += tokens(row["industry"]) + tokens(row["company_stage"])
        words += tokens((row["category"] or "").replace("-", " "))
        docs.append(words)
    return docs


def bm25(
    query: Iterable[str], docs: Sequence[Sequence[str]], *, k1: float = 1.2, b: float = 0.75
) -> list[float]:
    """BM25 relevance of a tokenized query to each tokenized document."""
    terms = set(query)
    n = len(docs)
    if not terms or n == 0:
        return [0.0] * n
    avg = sum(len(d) for d in docs) / n or 1.0
    df = Counter(t for d in docs for t in set(d) if t in terms)
    out = []
    for d in docs:
        tf = Counter(t for t in d if t in terms)
        s = 0.0
        for t, f in tf.items():
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            s += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(d) / avg))
        out.append(s)
    return out


def search(
    query: str | None = None,
    records: Any = None,
    *,
    patterns_dir: str | Path = "patterns",
    entries: pl.DataFrame | None = None,
    limit: int | None = None,
    stale_after_days: float = STALE_AFTER_DAYS,
) -> pl.DataFrame:
    """Entries ranked for a use-case text and/or a list (see the module docstring).

    Args:
        query: what the engagement needs ("verified emails for small SaaS companies").
        records: a ``LoadedList`` or records frame whose profile is fitted to each entry.
        patterns_dir: the library folder (ignored when ``entries`` is given).
        entries: an :func:`~gtmkit.patterns.index.index` frame to rank instead of reading.
        limit: keep the best ``limit`` rows.
        stale_after_days: as in ``index``.

    Returns:
        The index columns plus ``text_score``, ``fit_score``, ``score`` and ``fit_notes``,
        best first (ties by name).
    """
    if entries is None:
        entries = index(patterns_dir, stale_after_days=stale_after_days)
    if "error" in entries.columns:
        entries = entries.filter(pl.col("error").is_null())
    text = bm25(tokens(query), _documents(entries)) if query else [0.0] * entries.height
    top = max(text, default=0.0)
    text = [t / top if top > 0 else 0.0 for t in text]
    fits: list[float] = []
    notes: list[list[str]] = []
    if records is not None:
        prof = profile(records)
        for row in entries.iter_rows(named=True):
            s, why = fit(row, prof)
            fits.append(s)
            notes.append(why)
    else:
        fits = [0.0] * entries.height
        notes = [[] for _ in range(entries.height)]
    ranked = entries.with_columns(
        pl.Series("text_score", text, dtype=pl.Float64),
        pl.Series("fit_score", fits, dtype=pl.Float64),
        pl.Series("fit_notes", notes, dtype=pl.List(pl.String)),
    ).with_columns(score=pl.col("text_score") + pl.col("fit_score"))
    ranked = ranked.sort(["score", "name"], descending=[True, False])
    return ranked.head(limit) if limit is not None else ranked


__all__ = ["ListProfile", "bm25", "fit", "profile", "search", "tokens"]
