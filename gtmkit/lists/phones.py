"""Countries (name or code to ISO alpha-2) and phone numbers to E.164.

NANP numbers (+1), numbers already written in clean international form and national numbers
with a plain trunk ``0`` are decided by vectorized checks (the latter two driven by
phonenumbers' own metadata); every other number goes
through ``phonenumbers`` (the source of truth) once per distinct (number, country) pair.
"""

from __future__ import annotations

import functools
import re

import polars as pl

from gtmkit.lists.distinct import map_distinct
from gtmkit.lists.text import clean_values

_NANP_REGIONS = (
    "US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY",
    "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI",
)  # fmt: skip


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


def phone_to_e164(key: str) -> str | None:
    """E.164 for ``"<number>|<ISO region or empty>"``, or ``None`` if it cannot be placed.

    Example:
        >>> phone_to_e164("020 7946 0958|GB"), phone_to_e164("0612345678|")
        ('+442079460958', None)
    """
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


@functools.cache
def _calling_codes() -> dict[str, tuple[tuple[int, ...], str | None]]:
    """``{calling code: (possible national lengths, national-prefix pattern)}`` from the
    phonenumbers metadata of the code's main region (what ``is_possible_number`` uses)."""
    import phonenumbers

    table: dict[str, tuple[tuple[int, ...], str | None]] = {}
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        region = phonenumbers.region_code_for_country_code(code)
        metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(code, region)
        if metadata is None or metadata.general_desc is None:
            continue
        lengths = tuple(metadata.general_desc.possible_length or ())
        if not lengths or lengths[0] == -1:
            continue
        local = tuple(metadata.general_desc.possible_length_local_only or ())
        table[str(code)] = (tuple(sorted({*lengths, *local})), metadata.national_prefix_for_parsing)
    return table


def international_e164(phones: pl.Series) -> pl.Series:
    """E.164 for numbers already written ``+<calling code> <national number>`` that
    ``phonenumbers`` would keep digit for digit; null where the library has to judge.

    The library's own metadata decides: the calling code is one it knows (codes are
    prefix-free, read 1 to 3 digits like the library does), the national number's length is
    one it calls possible for that code, and no national prefix could be stripped from it
    (its national-prefix pattern does not match the start). Anything else -- a ``(0)``, a
    trunk prefix, an unknown code, an odd length -- is left to the library. Tests check
    the results against ``phonenumbers`` itself.

    Example:
        >>> international_e164(pl.Series(["+44 20 7946 0958", "+44 (0)20 7946 0958"])).to_list()
        ['+442079460958', None]
    """
    table = _calling_codes()
    known = list(table)
    digits = phones.str.replace_all(r"[ ().\-/]", "").str.extract(r"^\+([0-9]{3,17})$", 1)
    d = pl.col("d")
    frame = pl.DataFrame({"d": digits}).with_columns(
        pl.when(d.str.slice(0, 1).is_in(known))
        .then(d.str.slice(0, 1))
        .when(d.str.slice(0, 2).is_in(known))
        .then(d.str.slice(0, 2))
        .when(d.str.slice(0, 3).is_in(known))
        .then(d.str.slice(0, 3))
        .alias("cc")
    )
    frame = frame.with_columns(d.str.slice(pl.col("cc").str.len_chars()).alias("nsn"))
    result = pl.repeat(None, phones.len(), dtype=pl.String, eager=True).alias("e164")
    nsn = pl.col("nsn")
    for code in frame.get_column("cc").drop_nulls().unique().to_list():
        lengths, prefix = table[code]
        keep = (pl.col("cc") == code) & nsn.str.len_chars().is_in(list(lengths))
        if prefix:
            keep = keep & ~nsn.str.contains(f"^(?:{prefix})")
        result = _place(frame, keep, code, result)
    return result


def _place(frame: pl.DataFrame, keep: pl.Expr, code: str, result: pl.Series) -> pl.Series:
    """``result`` with ``+<code><nsn>`` written on the rows of ``frame`` that ``keep`` picks."""
    try:
        rows = frame.select(keep.fill_null(False)).to_series().arg_true()
    except pl.exceptions.PolarsError:  # a pattern the vectorized engine cannot compile
        return result
    if not rows.len():
        return result
    values = pl.lit("+" + code) + frame.get_column("nsn").gather(rows)
    return result.scatter(rows, pl.select(values).to_series())


@functools.cache
def _trunk_zero_regions() -> dict[str, tuple[str, tuple[int, ...], str, str]]:
    """``{region: (calling code, possible lengths, national pattern, international prefix)}``
    for the regions whose only national prefix is a plain ``0`` (no transform rule): there a
    number written ``0<national number>`` loses its ``0`` when ``phonenumbers`` parses it."""
    import phonenumbers

    table: dict[str, tuple[str, tuple[int, ...], str, str]] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.general_desc is None:
            continue
        if metadata.national_prefix_for_parsing != "0" or metadata.national_prefix_transform_rule:
            continue
        lengths = tuple(metadata.general_desc.possible_length or ())
        pattern = metadata.general_desc.national_number_pattern
        if not lengths or lengths[0] == -1 or not pattern or not metadata.international_prefix:
            continue
        code = str(metadata.country_code)
        table[region] = (code, lengths, pattern, metadata.international_prefix)
    return table


def national_e164(phones: pl.Series, regions: pl.Series) -> pl.Series:
    """E.164 for numbers written nationally with a trunk ``0`` (``030 1234567`` in Germany)
    that ``phonenumbers`` would place digit for digit; null where the library has to judge.

    The region's own metadata decides, as the library's parser does: its only national
    prefix is ``0``; the number is not dialled like an international one (its international
    prefix does not match the start); what is left after the ``0`` fully matches the region's
    national number pattern and has a length the region calls possible (so the parser strips
    the ``0``) and that the calling code's main region calls possible too (what
    ``is_possible_number`` checks); and no national prefix could be read off the E.164 again.
    Tests check the results against ``phonenumbers`` itself.

    Example:
        >>> national_e164(pl.Series(["030 1234567", "0030 1234"]), pl.Series(["DE", "DE"]))
        ... # doctest: +NORMALIZE_WHITESPACE
        shape: (2,)
        Series: 'e164' [str]
        [
            "+49301234567"
            null
        ]
    """
    table, codes = _trunk_zero_regions(), _calling_codes()
    compact = phones.str.replace_all(r"[ ().\-/]", "")
    frame = pl.DataFrame({"d": compact, "nsn": compact.str.extract(r"^0([1-9][0-9]+)$", 1)})
    frame = frame.with_columns(regions.alias("region"))
    result = pl.repeat(None, phones.len(), dtype=pl.String, eager=True).alias("e164")
    nsn = pl.col("nsn")
    present = frame.filter(nsn.is_not_null()).get_column("region").drop_nulls().unique()
    for region in present.to_list():
        if region not in table:
            continue
        code, lengths, pattern, international = table[region]
        main_lengths, main_prefix = codes.get(code, ((), None))
        keep = (
            (pl.col("region") == region)
            & nsn.str.len_chars().is_in([n for n in lengths if n in main_lengths])
            & nsn.str.contains(f"^(?:{pattern})$")
            & ~pl.col("d").str.contains(f"^(?:{international})")
        )
        if main_prefix:
            keep = keep & ~nsn.str.contains(f"^(?:{main_prefix})")
        result = _place(frame, keep, code, result)
    return result


def phone_values(raw: pl.Series) -> pl.DataFrame:
    """Cleaned phone plus what a vectorized check can tell: its NANP number, if it has one."""
    # Excel's leading apostrophe ('+1 415...) marks a cell as text; it is not part of it.
    frame = pl.DataFrame({"phone": clean_values(raw).str.strip_chars_start("' ")})
    frame = frame.with_columns(pl.when(pl.col("phone").str.len_bytes() > 0).then(pl.col("phone")))
    compact = pl.col("phone").str.replace_all(r"[ ().\-/]", "")
    frame = frame.with_columns(compact.alias("_compact"))
    compact = pl.col("_compact")
    return frame.with_columns(
        compact.str.extract(r"^(?:\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})$", 1).alias("_nanp"),
        compact.str.starts_with("+1").alias("_plus1"),
        (compact.str.starts_with("+") | compact.str.starts_with("00")).alias("_international"),
        compact.str.contains(r"\d").alias("_digits"),
    ).drop("_compact")


def phones_e164(frame: pl.DataFrame, default_country: str | None) -> pl.Series:
    """E.164 where the country is known (or the number says it), else the cleaned value.

    NANP numbers (+1), numbers already in clean international form and national numbers
    with a plain trunk ``0`` are decided by vectorized checks; every other number goes
    through ``phonenumbers`` once per distinct (number, country) pair.
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
        region.alias("region"),
    )
    rows = staged.get_column("slow").arg_true()
    slow = pl.repeat(None, frame.height, dtype=pl.String, eager=True).alias("slow")
    # Each vectorized check settles what it can; the rows left go to the next, the library last.
    phones, regions = frame.get_column("phone"), staged.get_column("region")
    for national in (False, True):
        if rows.len():
            at_phones = phones.gather(rows)
            written = (
                national_e164(at_phones, regions.gather(rows))
                if national
                else international_e164(at_phones)
            )
            slow = slow.scatter(rows, written)
            rows = rows.filter(written.is_null())
    if rows.len():
        keys = pl.select(
            pl.lit(phones.gather(rows)) + pl.lit("|") + pl.lit(regions.gather(rows)).fill_null("")
        ).to_series()
        e164 = map_distinct(keys, phone_to_e164, return_dtype=pl.String, parallel=True)
        slow = slow.scatter(rows, e164)
    return staged.select(pl.coalesce(pl.col("fast"), pl.lit(slow), pl.lit(phones))).to_series()
