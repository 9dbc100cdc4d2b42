"""Normalize canonical lead fields, vectorized in polars.

Cheap, clear-cut cases are decided with polars expressions over whole columns. The libraries
that are the source of truth for the hard cases (``email-validator`` for address syntax,
``tldextract`` for public suffixes, ``idna`` for international domains, ``phonenumbers`` for
E.164) run once per *distinct* value that the expressions could not settle, never per row.

Normalizing is idempotent: running :func:`normalize_records` on its own output changes nothing.
"""

from __future__ import annotations

import functools
import os
import re
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

_EMAIL_SHAPE = r"^[^@]+@[^@]*[.\u3002\uff0e\uff61][^@]*$"  # IDNA maps these dots to "."

_NANP_REGIONS = (
    "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY",
    "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI",
)  # fmt: skip

_LINKEDIN = r"^(?:https?://)?(?:[a-z]{2,3}\.|www\.|m\.)?linkedin\.com/(in|pub)/([^?#\s]*)"


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


# Printable ASCII with single inner spaces needs no cleaning; anything else (non-ASCII for
# NFC, control or odd whitespace, edge or double spaces, empty) goes through _clean.
_NEEDS_CLEANING = r"[^\x20-\x7e]|^ | $|  |^$"


def clean_values(values: pl.Series) -> pl.Series:
    """:func:`_clean` applied only where a cheap check says it can change something.

    Example:
        >>> clean_values(pl.Series([" Ann  Lee ", "Bob", "", "Jose\u0301"])).to_list()
        ['Ann Lee', 'Bob', None, 'José']
    """
    rows = values.str.contains(_NEEDS_CLEANING).fill_null(False).arg_true()
    if rows.len() == 0:
        return values
    fixed = pl.select(_clean(pl.lit(values.gather(rows)))).to_series()
    return values.scatter(rows, fixed)


def _distinct(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Split ``values`` into (per-row codes, distinct values): ``distinct.gather(codes)`` is
    ``values`` again. A fresh categorical mapping makes this far cheaper than unique + join.
    """
    categories = pl.Categories.random()
    # Keep the categorical series alive until the mapping is read: a mapping nothing uses
    # any more may be freed, and would then read back empty.
    categorical = values.cast(pl.Categorical(categories))
    distinct = categories.to_series().cast(pl.String)
    codes = categorical.to_physical()
    if distinct.len() != categorical.n_unique() - int(categorical.null_count() > 0):
        # Defensive fallback, should the mapping ever not match the series.
        distinct = values.drop_nulls().unique(maintain_order=True)
        codes = values.replace_strict(
            distinct, pl.int_range(distinct.len(), eager=True), default=None, return_dtype=pl.UInt32
        )
    return codes, distinct


def per_distinct(values: pl.Series, transform: Callable[[pl.Series], pl.DataFrame]) -> pl.DataFrame:
    """Run ``transform`` once over the distinct values and spread its columns back to rows.

    Lead lists repeat themselves (companies, titles, countries, first names), so most work
    runs on far fewer values than there are rows. A column that is mostly distinct (emails)
    is transformed directly: finding its distinct values would cost more than it saves.
    """
    if values.len() > 10_000 and values.approx_n_unique() > 0.5 * values.len():
        # Transform only the filled cells; a null cell's outputs are all null.
        rows = values.is_not_null().arg_true()
        if rows.len() == values.len():
            return transform(values)
        filled = transform(values.gather(rows))
        return pl.DataFrame(
            [
                pl.Series(name, [None] * values.len(), dtype=dtype).scatter(rows, filled[name])
                for name, dtype in filled.schema.items()
            ]
        )
    codes, distinct = _distinct(values)
    return transform(distinct).select(pl.all().gather(codes))


def _map_distinct(
    values: pl.Series,
    function: Callable[[str], str | None],
    *,
    return_dtype: pl.DataType,
    parallel: bool = False,
) -> pl.Series:
    """Apply a Python ``function`` once per distinct non-null value and spread the results.

    ``parallel=True`` lets a slow function (tens of microseconds a call) use every core
    once there are at least :data:`PARALLEL_MIN_VALUES` distinct values.
    """
    codes, distinct = _distinct(values)
    items = distinct.to_list()
    results = _apply(function, items) if parallel else _apply_chunk(function, items)
    return pl.Series(values.name, results, dtype=return_dtype).gather(codes)


#: Distinct values from which a slow library call is shared with worker processes.
PARALLEL_MIN_VALUES = 30_000


def _apply_chunk(function: Callable[[str], str | None], chunk: list[str]) -> list[str | None]:
    return [function(value) for value in chunk]


# A worker reads (module, function name, values) pickled on stdin and writes the results.
_WORKER = (
    "import importlib, pickle, sys\n"
    "module, name, values = pickle.load(sys.stdin.buffer)\n"
    "function = getattr(importlib.import_module(module), name)\n"
    "pickle.dump([function(v) for v in values], sys.stdout.buffer, protocol=5)\n"
)


def _apply(function: Callable[[str], str | None], values: list[str]) -> list[str | None]:
    """``[function(v) for v in values]``, shared with worker processes when it pays off.

    The libraries are pure Python and hold the GIL, so threads cannot help. Each worker is a
    plain ``python -c`` child given its share on stdin: unlike ``multiprocessing`` this never
    re-imports the caller's script and is safe beside polars' thread pool. This process works
    on the first share meanwhile. Any worker failure falls back to computing in-process.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min((cpus or 1) - 1, 7)
    if len(values) < PARALLEL_MIN_VALUES or workers < 1:
        return _apply_chunk(function, values)
    import pickle
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    size = -(-len(values) // (workers + 1))
    chunks = [values[i : i + size] for i in range(0, len(values), size)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the folder holding gtmkit/
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)

    def run(chunk: list[str]) -> list[str | None]:
        payload = pickle.dumps((function.__module__, function.__name__, chunk), protocol=5)
        try:
            done = subprocess.run(
                [sys.executable, "-c", _WORKER],
                input=payload,
                capture_output=True,
                env=env,
                check=True,
            )
            results = pickle.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, pickle.UnpicklingError, EOFError):
            return _apply_chunk(function, chunk)
        if not isinstance(results, list) or len(results) != len(chunk):
            return _apply_chunk(function, chunk)
        return results

    with ThreadPoolExecutor(max_workers=len(chunks) - 1) as pool:
        others = pool.map(run, chunks[1:])
        first = _apply_chunk(function, chunks[0])
        return first + [result for part in others for result in part]


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


def _domains(values: pl.Series) -> pl.Series:
    """Registrable domain of each URL/host/email in ``values`` (distinct values expected)."""
    hosts = pl.select(host_expr(pl.lit(values))).to_series()
    return _map_distinct(hosts, registered_domain, return_dtype=pl.String)


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
        tidy = _clean(pl.lit(lowered.gather(rows)))
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
    checked = _map_distinct(undecided, _validate_email, return_dtype=pl.String, parallel=True)
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
    domain = _map_distinct(host, registered_domain, return_dtype=pl.String)
    personal = list(personal_domains())
    return frame.with_columns(
        domain.alias("_mail_domain"),
        pl.when(col.is_null())
        .then(None)
        .otherwise((host.is_in(personal) | domain.is_in(personal)).fill_null(False))
        .alias("_mail_personal"),
    )


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
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    # Some impossible-in-practice inputs ("+44 (0)00 ...") lose a digit on every parse; only
    # a number that reads back as itself is E.164, so normalizing twice changes nothing.
    # Reading back can only differ when the region's national prefix pattern matches the
    # start of the national number (that is when phonenumbers strips one), so only then
    # is the second parse paid for.
    prefix = _national_prefix_pattern(parsed.country_code)
    national = e164[1 + len(str(parsed.country_code)) :]
    if prefix is not None and prefix.match(national):
        again = phonenumbers.parse(e164, None)
        if phonenumbers.format_number(again, phonenumbers.PhoneNumberFormat.E164) != e164:
            return None
    return e164


@functools.cache
def _national_prefix_pattern(country_calling_code: int) -> re.Pattern[str] | None:
    import phonenumbers

    region = phonenumbers.region_code_for_country_code(country_calling_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        country_calling_code, region
    )
    pattern = metadata.national_prefix_for_parsing if metadata is not None else None
    return re.compile(pattern) if pattern else None


def _phone_values(raw: pl.Series) -> pl.DataFrame:
    """Cleaned phone plus what a vectorized check can tell: its NANP number, if it has one."""
    frame = pl.DataFrame({"phone": clean_values(raw)})
    compact = pl.col("phone").str.replace_all(r"[ ().\-/]", "")
    frame = frame.with_columns(compact.alias("_compact"))
    compact = pl.col("_compact")
    return frame.with_columns(
        compact.str.extract(r"^(?:\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})$", 1).alias("_nanp"),
        compact.str.starts_with("+1").alias("_plus1"),
        (compact.str.starts_with("+") | compact.str.starts_with("00")).alias("_international"),
        compact.str.contains(r"\d").alias("_digits"),
    ).drop("_compact")


def _phones(frame: pl.DataFrame, default_country: str | None) -> pl.Series:
    """E.164 where the country is known (or the number says it), else the cleaned value.

    NANP numbers (+1) are decided by a vectorized check; every other number goes through
    ``phonenumbers`` once per distinct (number, country) pair.
    """
    region = pl.coalesce(pl.col("country_code"), pl.lit(default_country, dtype=pl.String))
    fast = (
        pl.col("_nanp").is_not_null()
        & (pl.col("_plus1") | region.is_in(list(_NANP_REGIONS)).fill_null(False))
    ).fill_null(False)
    placeable = pl.col("_international") | region.is_not_null()
    staged = frame.select(
        pl.when(fast).then(pl.lit("+1") + pl.col("_nanp")).alias("fast"),
        (~fast & placeable & pl.col("_digits")).fill_null(False).alias("slow"),
        (pl.col("phone") + pl.lit("|") + region.fill_null("")).alias("key"),
    )
    rows = staged.get_column("slow").arg_true()
    slow = pl.Series("slow", [None] * frame.height, dtype=pl.String)
    if rows.len():
        keys = staged.get_column("key").gather(rows)
        e164 = _map_distinct(keys, _phone_to_e164, return_dtype=pl.String, parallel=True)
        slow = slow.scatter(rows, e164)
    return staged.select(
        pl.coalesce(pl.col("fast"), pl.lit(slow), pl.lit(frame.get_column("phone")))
    ).to_series()


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
    frame = _text_values(raw).rename({"value": "website"})
    return frame.with_columns(_domains(frame.get_column("website")).alias("_site_domain"))


def _company_domain_values(raw: pl.Series) -> pl.DataFrame:
    cleaned = _text_values(raw).to_series()
    return pl.DataFrame({"_given_domain": _domains(cleaned)})


def _linkedin_values(raw: pl.Series) -> pl.DataFrame:
    return pl.DataFrame({"linkedin_url": _linkedin(clean_values(raw))})


def _country_values(raw: pl.Series) -> pl.DataFrame:
    frame = _text_values(raw).rename({"value": "country"})
    codes = _map_distinct(frame.get_column("country"), country_code, return_dtype=pl.String)
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
    column = frame.get_column
    parts = [
        per_distinct(column(name), _text_values).rename({"value": name})
        for name in ("first_name", "last_name", "company_name", "title")
    ]
    parts += [
        per_distinct(column("full_name"), _full_name_values),
        per_distinct(column("email"), _email_values),
        per_distinct(column("website"), _website_values),
        per_distinct(column("company_domain"), _company_domain_values),
        per_distinct(column("linkedin_url"), _linkedin_values),
        per_distinct(column("country"), _country_values),
        per_distinct(column("phone"), _phone_values),
    ]
    work = pl.concat(parts, how="horizontal")
    country = default_country.upper() if default_country else None
    work = work.with_columns(_phones(work, country).alias("phone"))

    col = pl.col
    missing = col("first_name").is_null() | col("last_name").is_null()
    work = work.with_columns(
        pl.when(missing & col("first_name").is_null())
        .then(col("_split_first"))
        .otherwise(col("first_name"))
        .alias("first_name"),
        pl.when(missing & col("last_name").is_null())
        .then(col("_split_last"))
        .otherwise(col("last_name"))
        .alias("last_name"),
        pl.coalesce(
            "_given_domain",
            "_site_domain",
            pl.when(~col("_mail_personal")).then(col("_mail_domain")),
        ).alias("company_domain"),
        col("_mail_personal").alias("email_is_personal"),
    )
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
            else pl.Series(name, [None] * height, dtype=pl.String)
            for name in CANONICAL_FIELDS
        ]
    )


def as_strings(values: Iterable[str | None]) -> pl.Series:
    """A String series (helper for tests and notebooks)."""
    return pl.Series(list(values), dtype=pl.String)
