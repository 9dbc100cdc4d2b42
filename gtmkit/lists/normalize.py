"""Normalize canonical lead fields, vectorized in polars.

Cheap, clear-cut cases are decided with polars expressions over whole columns. The libraries
that are the source of truth for the hard cases (``email-validator`` for address syntax,
``tldextract`` for public suffixes, ``idna`` for international domains, ``phonenumbers`` for
E.164) run once per *distinct* value that the expressions could not settle, never per row.

Normalizing is idempotent: running :func:`normalize_records` on its own output changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from gtmkit.lists.distinct import map_distinct, per_distinct
from gtmkit.lists.domains import (
    SOCIAL_DOMAINS,
    company_domains_of,
    domains_of,
    personal_domains,
    registered_domains,
)
from gtmkit.lists.phones import country_code, phone_values, phones_e164
from gtmkit.lists.text import clean_values
from gtmkit.schema import CANONICAL_FIELDS

#: Columns :func:`normalize_records` adds after the canonical fields.
DERIVED_FIELDS: tuple[str, ...] = ("email_valid", "email_is_personal", "country_code")

_HONORIFIC = r"(?i)^(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam)\.?\s+"

# An address this pattern accepts is one email-validator accepts unchanged (ASCII dot-atom
# local part, LDH labels, alphabetic TLD); tests check the claim against the library.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_FAST_EMAIL = (
    rf"^{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,63}}$"
)
# Special-use names email-validator refuses, plus IDNA-looking labels it must judge itself.
_EMAIL_SLOW_DOMAIN = r"(?:^|[.@])(?:arpa|invalid|local|localhost|onion|test)$|--"

_EMAIL_SHAPE = r"^[^@]+@[^@]*[.\u3002\uff0e\uff61][^@]*$"  # IDNA maps these dots to "."

#: What a canonical LinkedIn person profile URL starts with.
_PROFILE_PREFIX = r"^https://www\.linkedin\.com/(?:in|pub)/"
_LINKEDIN = r"^(?:https?://)?(?:[a-z]{2,3}\.|www\.|m\.)?linkedin\.com/(in|pub)/([^?#\s]*)"


# ----------------------------------------------------------------------------- emails


def _validate_email(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return info.normalized.lower()


def _email_values(raw: pl.Series) -> pl.DataFrame:
    """email, email_valid, and the mail domain + personal flag, per distinct raw email."""
    # Most addresses only need lowercasing; the rest are cleaned first.
    lowered = raw.str.to_lowercase()
    shaped = lowered.str.contains(_FAST_EMAIL)
    rows = (~shaped).fill_null(False).arg_true()
    if rows.len():
        tidy = pl.lit(clean_values(lowered.gather(rows)))  # NFC only where it changes text
        tidy = tidy.str.strip_chars(" <>\"'").str.replace(r"^mailto:", "")
        tidy = tidy.str.strip_chars(" <>\"'")
        fixed = pl.select(pl.when(tidy.str.len_bytes() > 0).then(tidy)).to_series()
        lowered = lowered.scatter(rows, fixed)
        shaped = shaped.scatter(rows, fixed.str.contains(_FAST_EMAIL))
    frame = pl.DataFrame({"email": lowered, "_shaped": shaped})
    col = pl.col("email")
    fast = (
        pl.col("_shaped")
        & (col.str.len_bytes() <= 254)
        & (col.str.find("@", literal=True) <= 64)
        & ~col.str.contains(_EMAIL_SLOW_DOMAIN)
    ).fill_null(False)
    # Shapes email-validator always refuses: no @, nothing before or after it, a second @
    # (quoted local parts are not allowed), or no dot in the domain.
    hopeless = ~col.str.contains(_EMAIL_SHAPE)
    undecided = frame.select(pl.when(~fast & ~hopeless).then(col)).to_series()
    checked = map_distinct(undecided, _validate_email, return_dtype=pl.String, parallel=True)
    frame = frame.with_columns(fast.alias("_fast"), checked.alias("_checked"))
    frame = frame.select(
        pl.when(pl.col("_fast")).then(col).otherwise(pl.coalesce("_checked", col)).alias("email"),
        pl.when(col.is_null())
        .then(None)
        .otherwise(pl.col("_fast") | pl.col("_checked").is_not_null())
        .alias("email_valid"),
    )
    # Valid addresses have exactly one @ (quoted local parts are refused).
    host = frame.select(
        pl.when(pl.col("email_valid")).then(col.str.splitn("@", 2).struct.field("field_1"))
    ).to_series()
    # Mail hosts repeat (a company's people share one), so each is settled once.
    domain = per_distinct(host, lambda hosts: registered_domains(hosts).to_frame()).to_series()
    personal = list(personal_domains())
    return frame.with_columns(
        domain.alias("_mail_domain"),
        pl.when(col.is_null())
        .then(None)
        .otherwise((host.is_in(personal) | domain.is_in(personal)).fill_null(False))
        .alias("_mail_personal"),
    )


# ----------------------------------------------------------------------------- names


def _full_name_values(raw: pl.Series) -> pl.DataFrame:
    """Cleaned full name and its split into first / last (``"Last, First"`` understood)."""
    frame = pl.DataFrame({"full_name": clean_values(raw)})
    full = pl.col("full_name").str.replace(_HONORIFIC, "")
    comma = full.str.contains(",", literal=True)
    first = (
        pl.when(comma)
        .then(full.str.extract(r",\s*(.+)$", 1))
        .otherwise(full.str.extract(r"^(\S+)", 1))
        .str.strip_chars(" ,")
    )
    last = (
        pl.when(comma)
        .then(full.str.extract(r"^([^,]+),", 1))
        .otherwise(full.str.extract(r"^\S+\s+(.+)$", 1))
        .str.strip_chars(" ,")
    )
    return frame.with_columns(
        pl.when(first.str.len_bytes() > 0).then(first).alias("_split_first"),
        pl.when(last.str.len_bytes() > 0).then(last).alias("_split_last"),
    )


# ----------------------------------------------------------------------------- entry point


def _linkedin(values: pl.Series) -> pl.Series:
    """Canonical ``https://www.linkedin.com/in/<slug>`` (lowercase) for profile URLs in any
    form (no scheme, country subdomain, trailing slash, query, /details/...); old ``/pub/``
    URLs keep their path; anything else is returned as given.
    """
    parts = values.str.to_lowercase().str.extract_groups(_LINKEDIN)
    frame = pl.DataFrame(
        {"value": values, "kind": parts.struct.field("1"), "path": parts.struct.field("2")}
    )
    kind, path = pl.col("kind"), pl.col("path").str.strip_chars_end("/")
    slug = path.str.splitn("/", 2).struct.field("field_0")
    return frame.select(
        pl.when((kind == "in") & (slug.str.len_bytes() > 0))
        .then(pl.lit("https://www.linkedin.com/in/") + slug)
        .when((kind == "pub") & (path.str.len_bytes() > 0))
        .then(pl.lit("https://www.linkedin.com/pub/") + path)
        .otherwise(pl.col("value"))
        .alias("linkedin_url")
    ).to_series()


def _text_values(raw: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"value": clean_values(raw)})


def _website_values(raw: pl.Series) -> pl.DataFrame:
    """The website, its company domain, and the person profile it is when it is one.

    A social or aggregator URL (a LinkedIn profile or company page, Sales Navigator's
    ``companyUrl``, a Crunchbase listing) is not the company's website: ``website`` and the
    domain are null, and a LinkedIn person profile is offered as ``linkedin_url``.
    """
    frame = pl.DataFrame({"website": _text_values(raw).to_series()})
    frame = frame.with_columns(domains_of(frame.get_column("website")).alias("_site_domain"))
    social = pl.col("_site_domain").is_in(list(SOCIAL_DOMAINS)).fill_null(False)
    if not frame.select(social.any()).item():
        return frame.with_columns(pl.lit(None, dtype=pl.String).alias("_site_profile"))
    profile = _linkedin(frame.get_column("website"))
    return frame.with_columns(
        pl.when(~social).then(pl.col("website")).alias("website"),
        pl.when(~social).then(pl.col("_site_domain")).alias("_site_domain"),
        pl.when(social & pl.lit(profile).str.contains(_PROFILE_PREFIX))
        .then(pl.lit(profile))
        .alias("_site_profile"),
    )


def _company_domain_values(raw: pl.Series) -> pl.DataFrame:
    cleaned = _text_values(raw).to_series()
    return pl.DataFrame({"_given_domain": company_domains_of(cleaned)})


def _linkedin_values(raw: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"linkedin_url": _linkedin(clean_values(raw))})


def _country_values(raw: pl.Series) -> pl.DataFrame:
    frame = _text_values(raw).rename({"value": "country"})
    codes = map_distinct(frame.get_column("country"), country_code, return_dtype=pl.String)
    return frame.with_columns(codes.alias("country_code"))


def normalize_records(frame: pl.DataFrame, *, default_country: str | None = None) -> pl.DataFrame:
    """Normalize the canonical columns of ``frame`` and add :data:`DERIVED_FIELDS`.

    Each field is normalized over its distinct values, then spread back to the rows.

    Args:
        frame: Has every column in :data:`gtmkit.schema.CANONICAL_FIELDS` (String); other
            columns pass through untouched.
        default_country: ISO alpha-2 code used for phone numbers on rows with no country.

    Returns:
        The frame with normalized canonical columns and ``email_valid`` (null when there is no
        email), ``email_is_personal`` and ``country_code`` (ISO alpha-2) added.

    Example:
        >>> row = {f: None for f in CANONICAL_FIELDS}
        >>> row |= {"full_name": " José  van der Berg ", "email": "JOSE@Gmail.com "}
        >>> out = normalize_records(pl.DataFrame([row], schema={f: pl.String for f in row}))
        >>> out.select("first_name", "last_name", "email", "email_is_personal").row(0)
        ('José', 'van der Berg', 'jose@gmail.com', True)
    """
    # Countries first (cheap): phones are placed by them.
    countries = per_distinct(frame.get_column("country"), _country_values)
    region = default_country.upper() if default_country else None

    def phones(raw: pl.Series) -> pl.DataFrame:
        found = per_distinct(raw, phone_values).with_columns(countries.get_column("country_code"))
        return found.with_columns(phones_e164(found, region).alias("phone")).drop("country_code")

    def distinct(
        transform: Callable[[pl.Series], pl.DataFrame],
    ) -> Callable[[pl.Series], pl.DataFrame]:
        return lambda values: per_distinct(values, transform)

    jobs: list[tuple[str, Callable[[pl.Series], pl.DataFrame]]] = [
        ("email", distinct(_email_values)),
        ("phone", phones),
        ("website", distinct(_website_values)),
        ("linkedin_url", distinct(_linkedin_values)),
        *(
            (name, distinct(_text_values))
            for name in ("first_name", "last_name", "company_name", "title")
        ),
        ("full_name", distinct(_full_name_values)),
        ("company_domain", distinct(_company_domain_values)),
    ]
    # The fields are independent, and polars lets go of the GIL while it computes: each runs
    # in a thread of its own, slowest first, so the string work of one field overlaps
    # another's (most of it is single-threaded per column).
    workers = min(len(jobs), max(2, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {name: pool.submit(job, frame.get_column(name)) for name, job in jobs}
        done = {name: future.result() for name, future in futures.items()}
    done["country"] = countries
    for name in ("first_name", "last_name", "company_name", "title"):
        done[name] = done[name].rename({"value": name})
    order = ("first_name", "last_name", "company_name", "title", "full_name", "email",
             "website", "company_domain", "linkedin_url", "country", "phone")  # fmt: skip
    work = pl.concat([done[name] for name in order], how="horizontal")
    del done  # each field's old column is freed as soon as ``work`` replaces it

    col = pl.col
    # A fallback column that is empty everywhere (no full-name column, no profile in the
    # website column) changes nothing: leaving the field as it is saves a copy of it.
    filled = {name for name in ("_split_first", "_split_last", "_site_profile")
              if work.get_column(name).null_count() < work.height}  # fmt: skip
    updates = [
        pl.coalesce(
            "_given_domain",
            "_site_domain",
            pl.when(~col("_mail_personal")).then(col("_mail_domain")),
        ).alias("company_domain"),
        col("_mail_personal").alias("email_is_personal"),
    ]
    missing = col("first_name").is_null() | col("last_name").is_null()
    for name, split in (("first_name", "_split_first"), ("last_name", "_split_last")):
        if split in filled:
            updates.append(
                pl.when(missing & col(name).is_null())
                .then(col(split))
                .otherwise(col(name))
                .alias(name)
            )
    if "_site_profile" in filled:
        updates.append(pl.coalesce("linkedin_url", "_site_profile").alias("linkedin_url"))
    work = work.with_columns(updates)
    # Built only from both parts: a lone part would be split back into a first name.
    joined = pl.concat_str(["first_name", "last_name"], separator=" ")
    work = work.with_columns(pl.coalesce("full_name", joined).alias("full_name"))
    normalized = work.select(*CANONICAL_FIELDS, *DERIVED_FIELDS)
    return frame.with_columns(normalized)


def canonical_frame(columns: dict[str, pl.Series], height: int) -> pl.DataFrame:
    """A frame holding every canonical field; fields with no source column are null."""
    return pl.DataFrame(
        [
            columns[name].alias(name)
            if name in columns
            else pl.repeat(None, height, dtype=pl.String, eager=True).alias(name)
            for name in CANONICAL_FIELDS
        ]
    )
