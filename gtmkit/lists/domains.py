"""Domains: host of a URL or email, registrable domain (public-suffix aware, IDNA), and
the free/personal mailbox domains that say nothing about an employer."""

from __future__ import annotations

import functools
from importlib import resources
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    import tldextract

from gtmkit.lists.distinct import map_distinct


@functools.cache
def personal_domains() -> frozenset[str]:
    """Free/personal mailbox domains (gmail.com, outlook.com, ...), bundled with gtmkit."""
    text = resources.files("gtmkit.lists").joinpath("personal_domains.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


@functools.cache
def _extractor() -> tldextract.TLDExtract:
    import tldextract

    # suffix_list_urls=() and cache_dir=None: use the snapshot bundled with tldextract and
    # never touch the network or the disk. Private suffixes count, so acme.myshopify.com
    # stays a company of its own rather than collapsing into myshopify.com.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


@functools.lru_cache(maxsize=1 << 18)
def registered_domain(host: str) -> str | None:
    """Registrable domain of a host (public-suffix aware, IDNA-encoded), or ``None``.

    Example:
        >>> registered_domain("shop.acme.co.uk")
        'acme.co.uk'
        >>> registered_domain("bücher.de")
        'xn--bcher-kva.de'
        >>> registered_domain("localhost") is None
        True
    """
    host = host.strip().strip(".").lower()
    if not host or " " in host:
        return None
    if not host.isascii():
        import idna

        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError, ValueError):
            return None
    result = _extractor()(host)
    if not result.suffix or not result.domain or result.ipv4 or result.ipv6:
        return None
    return f"{result.domain}.{result.suffix}"


#: Social networks, link shorteners and company aggregators: a URL on one of these names a
#: profile or a listing, never the company's own site, so it never gives a company domain.
SOCIAL_DOMAINS: frozenset[str] = frozenset(
    {
        "linkedin.com", "lnkd.in", "licdn.com", "facebook.com", "fb.com", "fb.me",
        "instagram.com", "twitter.com", "x.com", "t.co", "youtube.com", "youtu.be",
        "tiktok.com", "pinterest.com", "threads.net", "crunchbase.com", "angel.co",
        "wellfound.com", "glassdoor.com", "indeed.com", "zoominfo.com", "bit.ly",
        "linktr.ee", "about.me", "xing.com", "yelp.com", "trustpilot.com", "g2.com",
        "capterra.com", "owler.com", "dnb.com", "pitchbook.com", "producthunt.com",
    }
)  # fmt: skip


@functools.cache
def _suffixes() -> tuple[list[str], frozenset[str]]:
    """The public-suffix rules tldextract uses (private ones included), as a list for
    polars and a set."""
    rules = _extractor()._get_tld_extractor().tlds_incl_private
    return list(rules), frozenset(rules)


_LABEL = r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$"


def registered_domains(hosts: pl.Series) -> pl.Series:
    """:func:`registered_domain` of each host, the plain cases decided by polars.

    A host ``<label>.<suffix>`` whose suffix is a public-suffix rule, that is not a rule
    itself and has no wildcard rule over its suffix is its own registrable domain (that is
    what tldextract finds for it); every other host goes to :func:`registered_domain` once
    per distinct value. Tests check the two agree.

    Example:
        >>> registered_domains(pl.Series(["acme.co.uk", "shop.acme.com", "github.io"])).to_list()
        ['acme.co.uk', 'acme.com', None]
    """
    listed, _ = _suffixes()
    parts = hosts.str.splitn(".", 2)
    frame = pl.DataFrame(
        {
            "host": hosts,
            "label": parts.struct.field("field_0"),
            "rest": parts.struct.field("field_1"),
        }
    )
    host, rest = pl.col("host"), pl.col("rest")
    plain = (
        pl.col("label").str.contains(_LABEL)
        & rest.str.contains(r"^[a-z0-9.-]+$")  # non-ASCII hosts are IDNA-encoded first
        & rest.is_in(listed)
        & ~host.is_in(listed)
        & ~(pl.lit("*.") + rest).is_in(listed)
    ).fill_null(False)
    fast = frame.select(plain.alias("plain")).to_series()
    slow = frame.select(pl.when(~fast).then(host)).to_series()
    decided = map_distinct(slow, registered_domain, return_dtype=pl.String)
    return frame.select(pl.when(pl.lit(fast)).then(host).otherwise(pl.lit(decided))).to_series()


def host_expr(expr: pl.Expr) -> pl.Expr:
    """The host of a URL, bare domain or email: no scheme, user, path, port or ``www.``.

    Example:
        >>> pl.select(host_expr(pl.lit("HTTPS://www.Acme.com:443/about?x=1")))["literal"][0]
        'acme.com'
    """
    text = expr.str.strip_chars().str.to_lowercase()
    text = text.str.replace(r"^[a-z][a-z0-9+.\-]*://", "").str.replace(r"^//", "")
    text = text.str.replace(r"[/?#\\\s].*$", "")
    text = text.str.replace(r"^.*@", "")
    text = text.str.replace(r":\d*$", "").str.strip_chars(".")
    text = text.str.replace(r"^www\d*\.", "")
    return pl.when(text.str.len_bytes() > 0).then(text)


def domains_of(values: pl.Series) -> pl.Series:
    """Registrable domain of each URL/host/email in ``values`` (distinct values expected)."""
    hosts = pl.select(host_expr(pl.lit(values))).to_series()
    return registered_domains(hosts)


def company_domains_of(values: pl.Series) -> pl.Series:
    """:func:`domains_of`, null where the URL is a social or aggregator page (a LinkedIn
    profile or company page, a Crunchbase listing...): that is never the company's domain.

    Example:
        >>> urls = pl.Series(["https://acme.com/about", "linkedin.com/sales/company/12"])
        >>> company_domains_of(urls).to_list()
        ['acme.com', None]
    """
    domains = domains_of(values)
    return pl.select(
        pl.when(~pl.lit(domains).is_in(list(SOCIAL_DOMAINS))).then(pl.lit(domains))
    ).to_series()
