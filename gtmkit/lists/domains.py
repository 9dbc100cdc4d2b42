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
    return map_distinct(hosts, registered_domain, return_dtype=pl.String)


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
