"""Normalization rules, one test each, plus hypothesis properties: idempotence, domain
extraction from any URL form, and agreement of every vectorized fast path with the library
that is the source of truth."""

from __future__ import annotations

import phonenumbers
import polars as pl
import pytest
from _lists_helpers import canonical_frame, canonical_row
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gtmkit.lists import distinct
from gtmkit.lists.domains import registered_domain
from gtmkit.lists.normalize import DERIVED_FIELDS, normalize_records
from gtmkit.lists.phones import (
    _trunk_zero_regions,
    country_code,
    international_e164,
    national_e164,
    phone_to_e164,
)
from gtmkit.lists.text import clean_expr, clean_values
from gtmkit.schema import CANONICAL_FIELDS

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def norm(default_country: str | None = None, **values: str | None) -> dict[str, object]:
    frame = canonical_frame([canonical_row(**values)])
    return normalize_records(frame, default_country=default_country).row(0, named=True)


# ----------------------------------------------------------------------------- text


def test_whitespace_trimmed_collapsed_and_invisible_removed() -> None:
    row = norm(title="  Head \t of\u00a0 Growth\u200b ", company_name="\nAcme   Inc ")
    assert (row["title"], row["company_name"]) == ("Head of Growth", "Acme Inc")


def test_blank_becomes_null() -> None:
    assert norm(title="   ", email="")["title"] is None
    assert norm(email="  ")["email"] is None


def test_unicode_nfc() -> None:
    decomposed = "Jose\u0301 Mu\u0308ller"
    row = norm(full_name=decomposed)
    assert row["full_name"] == "José Müller"
    assert row["first_name"] == "José"


@pytest.mark.parametrize("name", ["McDonald", "van der Berg", "José", "O'Neil", "DeVito", "ñ"])
def test_names_kept_intact(name: str) -> None:
    assert norm(first_name=name, last_name=name)["last_name"] == name


def test_clean_values_matches_full_clean() -> None:
    values = pl.Series(["a  b", " x", "plain", "é", "\t", None, "ok ok"])
    expected = pl.select(clean_expr(pl.lit(values))).to_series()
    assert clean_values(values).to_list() == expected.to_list()


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Jan van der Berg", "Jan", "van der Berg"),
        ("Berg, Jan van der", "Jan van der", "Berg"),
        ("Dr. Ann O'Neil", "Ann", "O'Neil"),
        ("Madonna", "Madonna", None),
    ],
)
def test_full_name_split_when_first_last_missing(full: str, first: str, last: str | None) -> None:
    row = norm(full_name=full)
    assert (row["first_name"], row["last_name"], row["full_name"]) == (first, last, full)


def test_full_name_does_not_override_given_parts() -> None:
    row = norm(full_name="Ann Lee", first_name="Annie")
    assert (row["first_name"], row["last_name"]) == ("Annie", "Lee")


def test_full_name_built_from_parts() -> None:
    assert norm(first_name="Ann", last_name="Lee")["full_name"] == "Ann Lee"


# ----------------------------------------------------------------------------- email


def test_email_lowercased_and_stripped() -> None:
    row = norm(email="  Mailto:ANN.Lee@Acme.COM ")
    assert (row["email"], row["email_valid"]) == ("ann.lee@acme.com", True)
    assert norm(email="<Bob@Beta.io>")["email"] == "bob@beta.io"


@pytest.mark.parametrize(
    "address", ["ann@", "@acme.com", "ann@@acme.com", "a..b@acme.com", "a@acme", "a@x.local"]
)
def test_invalid_email_flagged_but_kept(address: str) -> None:
    row = norm(email=address)
    assert row["email_valid"] is False
    assert row["email"] == address


def test_international_email_checked_by_library() -> None:
    row = norm(email="José@Bücher.de")
    assert row["email_valid"] is True
    assert row["email"] == "josé@bücher.de"
    assert row["company_domain"] == "xn--bcher-kva.de"


def test_missing_email_has_null_flags() -> None:
    row = norm(first_name="Ann")
    assert (row["email_valid"], row["email_is_personal"]) == (None, None)


@pytest.mark.parametrize("domain", ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com"])
def test_personal_mail_flagged_and_never_a_company_domain(domain: str) -> None:
    row = norm(email=f"ann@{domain}")
    assert row["email_is_personal"] is True
    assert row["company_domain"] is None


def test_work_mail_gives_company_domain() -> None:
    row = norm(email="ann@eu.mail.acme.co.uk")
    assert (row["email_is_personal"], row["company_domain"]) == (False, "acme.co.uk")


# ----------------------------------------------------------------------------- domains


@pytest.mark.parametrize(
    "website",
    [
        "acme.com",
        "www.acme.com",
        "WWW.ACME.COM",
        "https://acme.com",
        "http://www.acme.com/",
        "https://www.acme.com:8443/about?utm=1#team",
        "//acme.com/x",
        "https://user:pw@shop.acme.com/cart",
        "acme.com.",
    ],
)
def test_company_domain_from_website_forms(website: str) -> None:
    assert norm(website=website)["company_domain"] == "acme.com"


def test_domain_is_public_suffix_aware() -> None:
    assert norm(website="https://blog.acme.co.uk/x")["company_domain"] == "acme.co.uk"
    assert norm(website="acme.com.au")["company_domain"] == "acme.com.au"
    # a private suffix keeps the tenant as the company
    assert norm(website="acme.myshopify.com")["company_domain"] == "acme.myshopify.com"


def test_domain_idna() -> None:
    assert norm(website="https://www.Bücher.de/")["company_domain"] == "xn--bcher-kva.de"


@pytest.mark.parametrize("junk", ["n/a", "localhost", "10.0.0.1", "http://", "-"])
def test_no_domain_from_junk(junk: str) -> None:
    assert norm(website=junk)["company_domain"] is None


def test_domain_priority_given_then_website_then_email() -> None:
    row = norm(company_domain="https://Acme.io/", website="acme.com", email="a@acme.net")
    assert row["company_domain"] == "acme.io"
    assert norm(website="acme.com", email="a@acme.net")["company_domain"] == "acme.com"


def test_registered_domain_examples() -> None:
    assert registered_domain("a.b.c.example.org") == "example.org"
    assert registered_domain("com") is None


# ----------------------------------------------------------------------------- linkedin


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/in/ann-lee",
        "http://linkedin.com/in/Ann-Lee/",
        "linkedin.com/in/ann-lee?trk=public_profile",
        "https://de.linkedin.com/in/ann-lee/",
        "www.linkedin.com/in/ann-lee/details/experience/",
        "https://m.linkedin.com/in/ANN-LEE#about",
    ],
)
def test_linkedin_canonical(url: str) -> None:
    assert norm(linkedin_url=url)["linkedin_url"] == "https://www.linkedin.com/in/ann-lee"


def test_linkedin_non_profile_left_as_given() -> None:
    url = "https://www.linkedin.com/company/acme"
    assert norm(linkedin_url=url)["linkedin_url"] == url


# ----------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("phone", "country", "default", "expected"),
    [
        ("(415) 555-0132", "United States", None, "+14155550132"),
        ("415.555.0132", None, "US", "+14155550132"),
        ("+1 415 555 0132", None, None, "+14155550132"),
        ("020 7946 0958", "UK", None, "+442079460958"),
        ("+44 (0)20 7946 0958", None, None, "+442079460958"),
        ("030 1234567", "Germany", None, "+49301234567"),
        ("0612345678", "FR", None, "+33612345678"),
        ("0612345678", None, None, "0612345678"),  # no country: cannot be placed, kept
        ("12", "US", None, "12"),  # impossible number, kept as given
    ],
)
def test_phone_e164(phone: str, country: str | None, default: str | None, expected: str) -> None:
    assert norm(default, phone=phone, country=country)["phone"] == expected


def test_phone_that_does_not_read_back_as_itself_is_left_as_given() -> None:
    # phonenumbers turns this into +440000000000, which itself parses to +44000000000
    assert norm(phone="+44 (0)00 00000000")["phone"] == "+44 (0)00 00000000"


def test_country_codes() -> None:
    assert [country_code(v) for v in ("us", "USA", "Deutschland", "uk", "GBR", "Narnia")] == [
        "US",
        "US",
        "DE",
        "GB",
        "GB",
        None,
    ]
    assert norm(country=" united  kingdom ")["country_code"] == "GB"


# ----------------------------------------------------------------------------- properties

_words = st.text(alphabet=st.sampled_from("abcXYZé \t\u0301\u00a0'-.,"), max_size=12)
_emails = st.one_of(
    st.emails(),
    st.builds(lambda a, b: f" {a}@{b} ", _words, st.sampled_from(["Acme.com", "gmail.com", ""])),
    _words,
)
_urls = st.builds(
    lambda scheme, www, host, port, path: f"{scheme}{www}{host}{port}{path}",
    st.sampled_from(["", "http://", "https://", "HTTPS://", "//"]),
    st.sampled_from(["", "www.", "WWW.", "www2."]),
    st.sampled_from(["acme.com", "shop.acme.co.uk", "bücher.de", "acme.io", "x"]),
    st.sampled_from(["", ":80", ":8443"]),
    st.sampled_from(["", "/", "/about?x=1", "#top", "/a/b/"]),
)
_phones = st.one_of(
    # NANP shapes: (415) 555-0132, +1 415.555.0132, 4155550132 ...
    st.builds(
        lambda plus, area, mid, end, sep: f"{plus}{area}{sep}{mid}{sep}{end:04d}",
        st.sampled_from(["", "1", "+1 ", "+1", "1-"]),
        st.integers(100, 999).map(str) | st.integers(200, 999).map(lambda a: f"({a})"),
        st.integers(100, 999),
        st.integers(0, 9999),
        st.sampled_from(["", " ", "-", "."]),
    ),
    # UK shapes, national and international
    st.builds(
        lambda prefix, a, b: f"{prefix}{a:02d} {b:08d}",
        st.sampled_from(["+44 ", "0", "+44 (0)", "0044 "]),
        st.integers(0, 99),
        st.integers(0, 10**8 - 1),
    ),
    # other digits, including non-ASCII ones the library understands
    st.lists(st.sampled_from("0123456789٠١٢٣+ -()"), max_size=14).map("".join),
    _words,
)
_rows = st.builds(
    canonical_row,
    first_name=st.one_of(st.none(), _words),
    last_name=st.one_of(st.none(), _words),
    full_name=st.one_of(st.none(), _words, st.just("Berg, Jan van der")),
    email=st.one_of(st.none(), _emails),
    company_name=st.one_of(st.none(), _words),
    company_domain=st.one_of(st.none(), _urls),
    website=st.one_of(st.none(), _urls),
    linkedin_url=st.one_of(
        st.none(), _words, st.builds(lambda s: f"LinkedIn.com/in/{s}/", st.text("aZ-9", min_size=1))
    ),
    title=st.one_of(st.none(), _words),
    phone=st.one_of(st.none(), _phones),
    country=st.one_of(st.none(), st.sampled_from(["US", "uk", "Germany", "France", "zz"])),
)


@FAST
@given(st.lists(_rows, min_size=1, max_size=8))
def test_normalizing_twice_changes_nothing(rows: list[dict[str, str | None]]) -> None:
    once = normalize_records(canonical_frame(rows), default_country="US")
    twice = normalize_records(once.select(CANONICAL_FIELDS), default_country="US")
    columns = [*CANONICAL_FIELDS, *DERIVED_FIELDS]
    assert once.select(columns).to_dicts() == twice.select(columns).to_dicts()


@FAST
@given(_urls)
def test_domain_extraction_from_any_url_form(url: str) -> None:
    host = url.split("//")[-1].split("/")[0].split("#")[0].split(":")[0].lower()
    bare = host.removeprefix("www.").removeprefix("www2.")
    expected = registered_domain(bare)
    assert norm(website=url)["company_domain"] == expected
    assert norm(company_domain=url)["company_domain"] == expected


@FAST
@given(st.lists(st.one_of(st.emails(), _emails), min_size=1, max_size=20))
def test_email_fast_path_agrees_with_email_validator(addresses: list[str]) -> None:
    out = normalize_records(canonical_frame([canonical_row(email=a) for a in addresses]))
    for email, valid in out.select("email", "email_valid").iter_rows():
        if email is None:
            continue
        try:
            checked = validate_email(email, check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            checked = None
        assert valid == (checked is not None), email
        if checked is not None:
            assert email == checked


@FAST
@given(st.lists(_phones, min_size=1, max_size=20), st.sampled_from(["US", "CA", "GB", None]))
@example(["20020٠0000", "(415) 555-0132"], "US")
def test_phone_fast_path_agrees_with_phonenumbers(phones: list[str], region: str | None) -> None:
    out = normalize_records(
        canonical_frame([canonical_row(phone=p) for p in phones]), default_country=region
    )
    for raw, got in zip(phones, out["phone"].to_list(), strict=True):
        # Excel's leading apostrophe ('+1 415...) is a text marker, not part of the number.
        cleaned = " ".join(raw.split()).lstrip("' ") or None
        if cleaned is None:
            assert got is None
            continue
        try:
            parsed = phonenumbers.parse(cleaned, region)
            ok = phonenumbers.is_possible_number(parsed)
        except phonenumbers.NumberParseException:
            ok = False
        if ok:
            e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            again = phonenumbers.parse(e164, None)
            ok = phonenumbers.format_number(again, phonenumbers.PhoneNumberFormat.E164) == e164
        if ok:
            assert got == e164
        else:
            tidy = clean_values(pl.Series([raw])).str.strip_chars_start("' ").item()
            assert got == (tidy or None)


@FAST
@given(st.lists(st.one_of(st.none(), st.text(max_size=4)), max_size=30))
def test_distinct_round_trip(values: list[str | None]) -> None:
    series = pl.Series(values, dtype=pl.String)
    codes, uniques = distinct.distinct_codes(series)
    assert uniques.gather(codes).to_list() == values
    assert uniques.n_unique() == uniques.len()


def test_parallel_library_calls_match_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [f"+44 20 79{i:02d} {i:04d}|GB" for i in range(59)] + ["nonsense|US"]
    inline = distinct.apply_each(phone_to_e164, keys)
    assert inline[0] == "+442079000000"
    # four CPUs: this process takes the first quarter, three workers the rest
    monkeypatch.setattr(distinct.os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)
    monkeypatch.setattr(distinct, "PARALLEL_MIN_VALUES", 10)
    in_process: list[int] = []
    real_apply_each = distinct.apply_each

    def counting_apply_each(function, chunk):  # type: ignore[no-untyped-def]
        in_process.append(len(chunk))
        return real_apply_each(function, chunk)

    monkeypatch.setattr(distinct, "apply_each", counting_apply_each)
    assert distinct.apply_all(phone_to_e164, keys) == inline
    assert in_process == [15]  # the workers really did the other 45 (no silent fallback)


def test_large_and_small_columns_take_different_paths_to_the_same_result() -> None:
    # Above 10,000 rows a mostly-distinct column is transformed cell by cell (filled cells
    # only); below, once per distinct value. Both must give identical output.
    rows = []
    for i in range(12_000):
        rows.append(
            canonical_row(
                email=None if i % 3 == 0 else f" User{i}@Acme{i % 7}.com ",
                linkedin_url=None if i % 4 == 0 else f"linkedin.com/in/User-{i}/",
                phone=None if i % 5 == 0 else f"(415) 555-{i % 10_000:04d}",
                first_name=f"N{i % 13}",
                last_name="Lee",
                country="US",
            )
        )
    frame = canonical_frame(rows)
    whole = normalize_records(frame)
    pieces = pl.concat(
        [normalize_records(frame.slice(start, 1000)) for start in range(0, 12_000, 1000)]
    )
    assert whole.equals(pieces)
    assert whole["email"][1] == "user1@acme1.com"
    assert whole["email"][0] is None


_calling_code = st.sampled_from(["1", "7", "20", "33", "39", "44", "49", "61", "86", "352", "971"])


@FAST
@given(
    st.lists(
        st.builds(
            lambda code, sep, digits: f"+{code}{sep}{digits}",
            _calling_code | st.integers(1, 999).map(str),
            st.sampled_from(["", " ", " (0)", "-"]),
            st.text("0123456789 ", min_size=1, max_size=14),
        ),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["US", "GB", "DE", ""]),
)
def test_international_fast_path_agrees_with_phonenumbers(numbers: list[str], region: str) -> None:
    decided = international_e164(pl.Series(numbers, dtype=pl.String)).to_list()
    for number, fast in zip(numbers, decided, strict=True):
        if fast is not None:
            assert phone_to_e164(f"{number}|{region}") == fast, number


_trunk_region = st.sampled_from([*sorted(_trunk_zero_regions()), "GB", "IT", "JP", "US"])


@FAST
@given(
    st.lists(
        st.builds(
            lambda lead, sep, digits: f"{lead}{sep}{digits}",
            st.sampled_from(["0", "00", "01", "0161", "0"]),
            st.sampled_from(["", " ", "-", ") ", "."]),
            st.text("0123456789 ", min_size=1, max_size=14),
        ),
        min_size=1,
        max_size=25,
    ),
    _trunk_region,
)
def test_national_trunk_zero_fast_path_agrees_with_phonenumbers(
    numbers: list[str], region: str
) -> None:
    regions = pl.Series([region] * len(numbers), dtype=pl.String)
    decided = national_e164(pl.Series(numbers, dtype=pl.String), regions).to_list()
    for number, fast in zip(numbers, decided, strict=True):
        if fast is not None:
            assert phone_to_e164(f"{number}|{region}") == fast, (number, region)


def test_national_fast_path_places_each_regions_own_example_numbers() -> None:
    """The example numbers phonenumbers ships, written nationally: the fast path settles most
    of them (or it would save nothing) and agrees with the library on every one it settles."""
    numbers, regions = [], []
    for region in sorted(_trunk_zero_regions()):
        for kind in (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                national = phonenumbers.format_number(
                    example, phonenumbers.PhoneNumberFormat.NATIONAL
                )
                numbers.append(national)
                regions.append(region)
    decided = national_e164(pl.Series(numbers), pl.Series(regions)).to_list()
    settled = [(n, r, d) for n, r, d in zip(numbers, regions, decided, strict=True) if d]
    assert len(settled) >= 0.8 * len(numbers)
    for number, region, fast in settled:
        assert phone_to_e164(f"{number}|{region}") == fast, (number, region)


def test_parallel_calls_fall_back_in_process_when_workers_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    keys = [f"+44 20 79{i:02d} {i:04d}|GB" for i in range(40)]
    monkeypatch.setattr(distinct, "PARALLEL_MIN_VALUES", 10)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    assert distinct.apply_all(phone_to_e164, keys) == [phone_to_e164(k) for k in keys]


@FAST
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(max_size=10),
            st.text(
                alphabet=st.sampled_from("ae \t\n\u00a0\u200b\u0301\u0308\u212b\ufeffé"), max_size=8
            ),
        ),
        max_size=30,
    )
)
def test_clean_values_agrees_with_clean_expr(values: list[str | None]) -> None:
    series = pl.Series(values, dtype=pl.String)
    expected = pl.select(clean_expr(pl.lit(series))).to_series().to_list()
    assert clean_values(series).to_list() == expected
