"""Normalize canonical lead fields, vectorized in polars.

Cheap, clear-cut cases are decided with polars expressions over whole columns. The libraries
that are the source of truth for the hard cases (``email-validator`` for address syntax,
``tldextract`` for public suffixes, ``idna`` for international domains, ``phonenumbers`` for
E.164) run once per *distinct* value that the expressions could not settle, never per row.

Normalizing is idempotent: running :func:`normalize_records` on its own output changes nothing.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from importlib import resources

import polars as pl

from gtmkit.schema import CANONICAL_FIELDS

#: Columns :func:`normalize_records` adds after the canonical fields.
DERIVED_FIELDS: tuple[str, ...] = ("email_valid", "email_is_personal", "country_code")

_TEXT_FIELDS = CANONICAL_FIELDS
_INVISIBLE = r"[\u200b\u200c\u200d\u2060\ufeff]"
_HONORIFIC = r"(?i)^(?:mr|mrs|ms|miss|mx|dr|prof|sir|madam)\.?\s+"

# An address this pattern accepts is one email-validator accepts unchanged (ASCII dot-atom
# local part, LDH labels, alphabetic TLD); tests check the claim against the library.
_ATEXT = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]"
_FAST_EMAIL = (
    rf"^{_ATEXT}+(?:\.{_ATEXT}+)*@(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+[a-z]{{2,63}}$"
)
# Special-use names email-validator refuses, plus IDNA-looking labels it must judge itself.
_EMAIL_SLOW_DOMAIN = r"(?:^|[.@])(?:arpa|invalid|local|localhost|onion|test)$|--"

_NANP_REGIONS = (
    "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY",
    "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI",
)  # fmt: skip

_LINKEDIN = r"(?i)^(?:https?://)?(?:[a-z]{2,3}\.|www\.|m\.)?linkedin\.com/(in|pub)/([^?#\s]+?)/?(?:[?#].*)?$"


@functools.cache
def personal_domains() -> frozenset[str]:
    """Free/personal mailbox domains (gmail.com, outlook.com, ...), bundled with gtmkit."""
    text = resources.files("gtmkit.lists").joinpath("personal_domains.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


# ----------------------------------------------------------------------------- helpers


def _clean(expr: pl.Expr) -> pl.Expr:
    """Trim, collapse inner whitespace, drop invisible characters, NFC; blank becomes null."""
    text = (
        expr.str.replace_all(_INVISIBLE, "")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars(" ")
        .str.normalize("NFC")
    )
    return pl.when(text.str.len_bytes() > 0).then(text)


def _map_distinct(
    values: pl.Series, function: Callable[[str], str | None], *, return_dtype: pl.DataType
) -> pl.Series:
    """Apply ``function`` once per distinct non-null value and spread the results back."""
    distinct = values.drop_nulls().unique()
    if distinct.len() == 0:
        return pl.Series(values.name, [None] * values.len(), dtype=return_dtype)
    results = pl.Series([function(v) for v in distinct.to_list()], dtype=return_dtype)
    return values.replace_strict(distinct, results, default=None, return_dtype=return_dtype)


# ----------------------------------------------------------------------------- domains


@functools.cache
def _extractor() -> object:
    import tldextract

    # suffix_list_urls=() and cache_dir=None: use the snapshot bundled with tldextract and
    # never touch the network or the disk. Private suffixes count, so acme.myshopify.com
    # stays a company of its own rather than collapsing into myshopify.com.
    return tldextract.TLDExtract(
        suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
    )


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
    result = _extractor()(host)  # type: ignore[operator]
    if not result.suffix or not result.domain or result.ipv4 or result.ipv6:
        return None
    return f"{result.domain}.{result.suffix}"


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


def domains_from_hosts(hosts: pl.Series) -> pl.Series:
    """Registrable domain for each host (see :func:`registered_domain`), per distinct host."""
    return _map_distinct(hosts, registered_domain, return_dtype=pl.String)


# ----------------------------------------------------------------------------- emails


def _validate_email(address: str) -> str | None:
    from email_validator import EmailNotValidError, validate_email

    try:
        info = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    return info.normalized.lower()


def _normalize_email(frame: pl.DataFrame) -> pl.DataFrame:
    email = (
        pl.col("email")
        .str.replace(r"(?i)^mailto:", "")
        .str.strip_chars(" <>\"'")
        .str.to_lowercase()
    )
    frame = frame.with_columns(email.alias("email"))
    col = pl.col("email")
    local_len = col.str.extract(r"^(.*)@", 1).str.len_bytes()
    fast = (
        col.str.contains(_FAST_EMAIL)
        & (col.str.len_bytes() <= 254)
        & (local_len <= 64)
        & ~col.str.contains(_EMAIL_SLOW_DOMAIN)
    ).fill_null(False)
    hopeless = ~col.str.contains("@")  # no @ at all: email-validator would refuse it too
    undecided = frame.select(pl.when(~fast & ~hopeless).then(col)).to_series()
    checked = _map_distinct(undecided, _validate_email, return_dtype=pl.String)
    frame = frame.with_columns(fast.alias("_fast"), checked.alias("_checked"))
    return frame.with_columns(
        pl.when(pl.col("_fast")).then(col).otherwise(pl.coalesce("_checked", col)).alias("email"),
        pl.when(col.is_null())
        .then(None)
        .otherwise(pl.col("_fast") | pl.col("_checked").is_not_null())
        .alias("email_valid"),
    ).drop("_fast", "_checked")


# ----------------------------------------------------------------------------- countries

_COUNTRY_NAMES: dict[str, str] = {
    "united states": "US", "united states of america": "US", "usa": "US", "u.s.": "US",
    "u.s.a.": "US", "america": "US", "united kingdom": "GB", "uk": "GB", "u.k.": "GB",
    "great britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "britain": "GB", "germany": "DE", "deutschland": "DE",
    "france": "FR", "spain": "ES", "españa": "ES", "italy": "IT", "italia": "IT",
    "netherlands": "NL", "the netherlands": "NL", "holland": "NL", "nederland": "NL",
    "belgium": "BE", "belgique": "BE", "belgië": "BE", "switzerland": "CH", "schweiz": "CH",
    "suisse": "CH", "austria": "AT", "österreich": "AT", "ireland": "IE", "portugal": "PT",
    "sweden": "SE", "sverige": "SE", "norway": "NO", "norge": "NO", "denmark": "DK",
    "danmark": "DK", "finland": "FI", "suomi": "FI", "poland": "PL", "polska": "PL",
    "czech republic": "CZ", "czechia": "CZ", "greece": "GR", "hungary": "HU",
    "romania": "RO", "bulgaria": "BG", "croatia": "HR", "slovakia": "SK", "slovenia": "SI",
    "estonia": "EE", "latvia": "LV", "lithuania": "LT", "luxembourg": "LU", "iceland": "IS",
    "canada": "CA", "mexico": "MX", "méxico": "MX", "brazil": "BR", "brasil": "BR",
    "argentina": "AR", "chile": "CL", "colombia": "CO", "peru": "PE", "australia": "AU",
    "new zealand": "NZ", "india": "IN", "china": "CN", "japan": "JP", "south korea": "KR",
    "korea": "KR", "singapore": "SG", "hong kong": "HK", "taiwan": "TW", "israel": "IL",
    "united arab emirates": "AE", "uae": "AE", "saudi arabia": "SA", "turkey": "TR",
    "türkiye": "TR", "south africa": "ZA", "nigeria": "NG", "kenya": "KE", "egypt": "EG",
    "russia": "RU", "ukraine": "UA", "indonesia": "ID", "philippines": "PH",
    "vietnam": "VN", "thailand": "TH", "malaysia": "MY", "pakistan": "PK",
}  # fmt: skip
_ALPHA3: dict[str, str] = {
    "USA": "US", "GBR": "GB", "DEU": "DE", "FRA": "FR", "ESP": "ES", "ITA": "IT", "NLD": "NL",
    "BEL": "BE", "CHE": "CH", "AUT": "AT", "IRL": "IE", "PRT": "PT", "SWE": "SE", "NOR": "NO",
    "DNK": "DK", "FIN": "FI", "POL": "PL", "CAN": "CA", "MEX": "MX", "BRA": "BR", "AUS": "AU",
    "NZL": "NZ", "IND": "IN", "CHN": "CN", "JPN": "JP", "KOR": "KR", "SGP": "SG", "ISR": "IL",
    "ARE": "AE", "ZAF": "ZA",
}  # fmt: skip


def country_code(value: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a country name or code, or ``None`` if unknown.

    Example:
        >>> country_code("Deutschland"), country_code("usa"), country_code("fr")
        ('DE', 'US', 'FR')
    """
    import phonenumbers

    text = " ".join(value.split())
    upper = text.upper()
    if len(upper) == 2 and upper.isalpha():
        upper = "GB" if upper == "UK" else upper
        return upper if upper in phonenumbers.SUPPORTED_REGIONS else None
    if upper in _ALPHA3:
        return _ALPHA3[upper]
    return _COUNTRY_NAMES.get(text.casefold())


# ----------------------------------------------------------------------------- phones


def _phone_to_e164(key: str) -> str | None:
    import phonenumbers

    number, _, region = key.partition("|")
    try:
        parsed = phonenumbers.parse(number, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _normalize_phone(frame: pl.DataFrame, default_country: str | None) -> pl.DataFrame:
    region = pl.coalesce(pl.col("country_code"), pl.lit(default_country, dtype=pl.String))
    compact = pl.col("phone").str.replace_all(r"[\s().\-/\u00a0]", "")
    nanp = compact.str.extract(r"^(?:\+?1)?([2-9]\d{2}[2-9]\d{6})$", 1)
    explicit_nanp = compact.str.contains(r"^\+1[2-9]")
    # Without a leading + and without a known country a number cannot be placed: leave it.
    placeable = compact.str.starts_with("+") | compact.str.starts_with("00") | region.is_not_null()
    fast = (nanp.is_not_null() & (explicit_nanp | region.is_in(list(_NANP_REGIONS)))).fill_null(
        False
    )
    staged = frame.select(
        pl.when(fast).then(pl.lit("+1") + nanp).alias("_fast"),
        pl.when(~fast & placeable & compact.str.contains(r"\d"))
        .then(pl.col("phone") + pl.lit("|") + region.fill_null(""))
        .alias("_key"),
    )
    slow = _map_distinct(staged.get_column("_key"), _phone_to_e164, return_dtype=pl.String)
    frame = frame.with_columns(staged.get_column("_fast"), slow.alias("_slow"))
    return frame.with_columns(pl.coalesce("_fast", "_slow", "phone").alias("phone")).drop(
        "_fast", "_slow"
    )


# ----------------------------------------------------------------------------- names


def _split_names(frame: pl.DataFrame) -> pl.DataFrame:
    full = pl.col("full_name").str.replace(_HONORIFIC, "")
    comma = full.str.contains(",")
    # "Berg, Jan van der" style puts the family name first.
    split_first = (
        pl.when(comma)
        .then(full.str.extract(r",\s*(.+)$", 1))
        .otherwise(full.str.extract(r"^(\S+)", 1))
        .str.strip_chars(" ,")
    )
    split_last = (
        pl.when(comma)
        .then(full.str.extract(r"^([^,]+),", 1))
        .otherwise(full.str.extract(r"^\S+\s+(.+)$", 1))
        .str.strip_chars(" ,")
    )
    missing = pl.col("first_name").is_null() | pl.col("last_name").is_null()
    frame = frame.with_columns(
        pl.when(missing & pl.col("first_name").is_null())
        .then(pl.when(split_first.str.len_bytes() > 0).then(split_first))
        .otherwise(pl.col("first_name"))
        .alias("first_name"),
        pl.when(missing & pl.col("last_name").is_null())
        .then(pl.when(split_last.str.len_bytes() > 0).then(split_last))
        .otherwise(pl.col("last_name"))
        .alias("last_name"),
    )
    joined = pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True)
    return frame.with_columns(
        pl.coalesce(pl.col("full_name"), pl.when(joined.str.len_bytes() > 0).then(joined)).alias(
            "full_name"
        )
    )


# ----------------------------------------------------------------------------- entry point


def _linkedin(expr: pl.Expr) -> pl.Expr:
    kind = expr.str.extract(_LINKEDIN, 1).str.to_lowercase()
    path = expr.str.extract(_LINKEDIN, 2).str.to_lowercase()
    canonical = pl.lit("https://www.linkedin.com/") + kind + pl.lit("/") + path
    # /in/<slug>/details/... -> /in/<slug>; old /pub/ URLs keep their path.
    slug_only = pl.lit("https://www.linkedin.com/in/") + path.str.extract(r"^([^/]+)", 1)
    return pl.when(kind == "in").then(slug_only).when(kind == "pub").then(canonical).otherwise(expr)


def normalize_records(frame: pl.DataFrame, *, default_country: str | None = None) -> pl.DataFrame:
    """Normalize the canonical columns of ``frame`` and add :data:`DERIVED_FIELDS`.

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
    frame = frame.with_columns(_clean(pl.col(name)).alias(name) for name in _TEXT_FIELDS)
    frame = _split_names(frame)
    frame = _normalize_email(frame)
    frame = frame.with_columns(_linkedin(pl.col("linkedin_url")).alias("linkedin_url"))

    countries = _map_distinct(frame.get_column("country"), country_code, return_dtype=pl.String)
    frame = frame.with_columns(countries.alias("country_code"))
    frame = _normalize_phone(frame, default_country.upper() if default_country else None)

    email_host = pl.col("email").str.extract(r"@(.+)$", 1)
    hosts = frame.select(
        host_expr(pl.col("company_domain")).alias("given"),
        host_expr(pl.col("website")).alias("site"),
        pl.when(pl.col("email_valid")).then(email_host).alias("mail"),
    )
    # One pass through the suffix list for every distinct host, whichever column it came from.
    all_hosts = pl.concat([hosts.get_column(c).alias("h") for c in hosts.columns])
    resolved = domains_from_hosts(all_hosts)
    n = frame.height
    personal = list(personal_domains())
    frame = frame.with_columns(
        resolved.slice(0, n).alias("_given"),
        resolved.slice(n, n).alias("_site"),
        resolved.slice(2 * n, n).alias("_mail"),
        hosts.get_column("mail").alias("_mail_host"),
    )
    is_personal = pl.col("_mail_host").is_in(personal) | pl.col("_mail").is_in(personal)
    return frame.with_columns(
        pl.coalesce("_given", "_site", pl.when(is_personal.not_()).then(pl.col("_mail"))).alias(
            "company_domain"
        ),
        pl.when(pl.col("email").is_null())
        .then(None)
        .otherwise(is_personal.fill_null(False))
        .alias("email_is_personal"),
    ).drop("_given", "_site", "_mail", "_mail_host")


def canonical_frame(columns: dict[str, pl.Series], height: int) -> pl.DataFrame:
    """A frame holding every canonical field; fields with no source column are null."""
    return pl.DataFrame(
        [
            columns[name].alias(name)
            if name in columns
            else pl.Series(name, [None] * height, dtype=pl.String)
            for name in CANONICAL_FIELDS
        ]
    )


def as_strings(values: Iterable[str | None]) -> pl.Series:
    """A String series (helper for tests and notebooks)."""
    return pl.Series(list(values), dtype=pl.String)
