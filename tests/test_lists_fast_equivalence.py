"""The vectorized intake normalizers equal a plain per-value reference on hostile values.

The reference below is written the slow, obvious way: one Python call per cell, with the
libraries that are the source of truth (email-validator, tldextract via
``registered_domain``, phonenumbers via ``phone_to_e164``). ``normalize_records`` must give
the same answer for every cell, whether it settles a value by a polars expression, once per
distinct value (categorical codes), or over the filled cells of a mostly distinct column.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from _lists_helpers import canonical_frame, canonical_row
from email_validator import EmailNotValidError, validate_email

from gtmkit.lists.domains import SOCIAL_DOMAINS, personal_domains, registered_domain
from gtmkit.lists.normalize import normalize_records
from gtmkit.lists.phones import _NANP_REGIONS, country_code, phone_to_e164

# ----------------------------------------------------------------------------- reference

_INVISIBLE = "[\u200b\u200c\u200d\u2060\ufeff]"


def ref_clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = re.sub(r"\s+", " ", re.sub(_INVISIBLE, "", value)).strip(" ")
    text = unicodedata.normalize("NFC", text)
    return text or None


def ref_email(value: str | None) -> tuple[str | None, bool | None, bool | None, str | None]:
    """(email, email_valid, email_is_personal, mail domain) of one raw cell."""
    if value is None:
        return None, None, None, None
    tidy = ref_clean(value.lower())
    if tidy is not None:
        tidy = tidy.strip(" <>\"'").removeprefix("mailto:").strip(" <>\"'") or None
    if tidy is None:
        return None, None, None, None
    try:
        address = validate_email(tidy, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return tidy, False, False, None
    host = address.split("@", 1)[1]
    domain = registered_domain(host)
    personal = host in personal_domains() or domain in personal_domains()
    return address, True, personal, domain


def ref_host(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip().lower()
    text = re.sub(r"^[a-z][a-z0-9+.\-]*://", "", text)
    text = re.sub(r"^//", "", text)
    text = re.sub(r"[/?#\\\s].*$", "", text, flags=re.S)
    text = re.sub(r"^.*@", "", text)
    text = re.sub(r":\d*$", "", text).strip(".")
    text = re.sub(r"^www\d*\.", "", text)
    return text or None


def ref_site_domain(value: str | None) -> str | None:
    host = ref_host(ref_clean(value))
    domain = registered_domain(host) if host else None
    return None if domain in SOCIAL_DOMAINS else domain


def ref_phone(value: str | None, region: str | None) -> str | None:
    cleaned = ref_clean(value)
    if cleaned is not None:
        cleaned = cleaned.lstrip("' ") or None
    if cleaned is None:
        return None
    compact = re.sub(r"[ ().\-/]", "", cleaned)
    placeable = compact.startswith(("+", "00")) or region is not None
    if not placeable or not re.search(r"\d", compact):
        return cleaned
    nanp = re.fullmatch(r"(?:\+?1)?([2-9][0-9]{2}[2-9][0-9]{6})", compact)
    if nanp and (compact.startswith("+1") or region in _NANP_REGIONS):
        return "+1" + nanp.group(1)
    return phone_to_e164(f"{cleaned}|{region or ''}") or cleaned


# ----------------------------------------------------------------------------- sample

EMAILS = [
    "Ann.Lee@Acme.com", "  BOB@globex.CO.UK ", "mailto:Zoe@Initech.io", "<eve@shop.acme.de>",
    "'quoted@acme.com'", "josé@bücher.de", "ann@xn--bcher-kva.de", "user@localhost",
    "a@b.test", "x@@acme.com", "@acme.com", "ann@", "no-at-all", "ann@acme", "a" * 70 + "@acme.com",
    "ann@" + "b" * 250 + ".com", "ann@gmail.com", "ANN@GoogleMail.com", "ann@mail.yahoo.com",
    "ann@acme.com\u200b", "ann\u00a0@acme.com", "ann.@acme.com", "an..n@acme.com",
    "ann@acme-.com", "ann@-acme.com", "ann@acme.c", "ann@acme.123", "o'neil@acme.ie",
    "ann+tag@acme.com", "ann@acme.onion", "ann@sub.github.io", "\"ann lee\"@acme.com",
    "ann@acme。com", "", "   ", "ann@ACME.com ", "Zoë@acme.com", "ann@xn--.com", None,
]  # fmt: skip
WEBSITES = [
    "https://www.Acme.com/about?x=1", "acme.co.uk", "HTTP://shop.acme.com:8080/", "www2.acme.io",
    "//acme.de/path", "user@acme.fr", "https://linkedin.com/company/acme",
    "linkedin.com/sales/company/12", "https://www.crunchbase.com/organization/acme",
    "bücher.de", "https://xn--bcher-kva.de", "github.io", "acme.github.io", "192.168.0.1",
    "localhost", "acme", "  acme.com  ", "acme.com.", "acme.com\\evil", "acme .com",
    "https://acme.myshopify.com", "https://www.bbc.co.uk/news", "ftp://files.acme.com",
    "acme.com#top", "ACME.COM", "", None,
]  # fmt: skip
PHONES = [
    ("+1 212.791.6062", None), ("(415) 643-8832", "US"), ("(415) 643-8832", None),
    ("030 3326337", "DE"), ("030 3326337", None), ("030 3326337", "US"),
    ("+44 20 7946 0958", None), ("+44 (0)20 7946 0958", "GB"), ("020 7946 0958", "GB"),
    ("0044 20 7946 0958", "DE"), ("'+1 415-555-0134", None), ("06 12 34 56 78", "FR"),
    ("1-800-FLOWERS", "US"), ("ext. 12", "US"), ("+999 123", None), ("+1 123 456 7890", None),
    ("14156438832", "US"), ("+49 30 1234567", "FR"), ("  +33 6 12 34 56 78 ", None),
    ("phone: n/a", None), ("+81 3-1234-5678", "JP"), ("0612345678", None), ("", "US"),
    (None, "US"), ("+", None), ("00", "GB"),
]  # fmt: skip
COUNTRIES = ["US", "United States", "Deutschland", "uk", "FR", "GBR", "Narnia", None]
TEXTS = [
    "  Head \t of\u00a0 Growth\u200b ", "Jose\u0301", "José", "\ufeffAcme Inc", "O'Neil",
    "Ó Briain", "مريم", "山田 太郎", "👩‍💻 Dev", "=HYPERLINK(\"x\")", "Robert'); DROP TABLE", "",
    " ", None,
]  # fmt: skip


def _rows(count: int) -> list[dict[str, str | None]]:
    rows = []
    for i in range(count):
        phone, country = PHONES[i % len(PHONES)]
        rows.append(
            canonical_row(
                email=EMAILS[i % len(EMAILS)],
                website=WEBSITES[(i * 7) % len(WEBSITES)],
                phone=phone,
                country=country if i % 3 else COUNTRIES[i % len(COUNTRIES)],
                title=TEXTS[i % len(TEXTS)],
                company_name=TEXTS[(i * 5) % len(TEXTS)],
            )
        )
    return rows


def _filler(count: int) -> list[dict[str, str | None]]:
    """Mostly distinct cells, so the normalizers take their every-filled-cell path."""
    return [
        canonical_row(
            email=f"Person.{i}@Company{i % 997}.com" if i % 4 else f" p{i}@gmail.com ",
            website=f"https://www.company{i}.co.uk/" if i % 2 else f"shop{i}.acme.io",
            phone=f"(415) {200 + i % 700:03d}-{i % 10_000:04d}",
            country="US" if i % 5 else "DE",
            title=f"  Title {i}  ",
            company_name=f"Company {i}",
        )
        for i in range(count)
    ]


def _check(rows: list[dict[str, str | None]], default_country: str | None) -> None:
    got = normalize_records(canonical_frame(rows), default_country=default_country)
    for raw, out in zip(rows, got.iter_rows(named=True), strict=True):
        email, valid, personal, mail_domain = ref_email(raw["email"])
        assert (out["email"], out["email_valid"]) == (email, valid), raw["email"]
        assert out["email_is_personal"] == personal, raw["email"]
        website_domain = ref_site_domain(raw["website"])
        expected_domain = website_domain or (None if personal else mail_domain)
        assert out["company_domain"] == expected_domain, (raw["website"], raw["email"])
        code = country_code(ref_clean(raw["country"]) or "") if raw["country"] else None
        assert out["country_code"] == code, raw["country"]
        region = code or default_country
        assert out["phone"] == ref_phone(raw["phone"], region), (raw["phone"], region)
        for name in ("title", "company_name"):
            assert out[name] == ref_clean(raw[name]), raw[name]


@pytest.mark.parametrize("default_country", [None, "GB"])
def test_hostile_sample_matches_per_value_reference(default_country: str | None) -> None:
    _check(_rows(len(EMAILS) * len(PHONES)), default_country)


def test_repeated_sample_matches_reference_through_distinct_codes() -> None:
    # More than 10,000 rows of few distinct values: every field goes through categorical codes.
    _check(_rows(12_000), None)


def test_mostly_distinct_columns_match_reference() -> None:
    # Over 10,000 mostly distinct cells with the hostile ones mixed in: the direct path.
    rows = _filler(11_000)
    rows[::100] = _rows(len(rows[::100]))
    _check(rows, "US")
