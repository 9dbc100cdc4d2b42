"""The simulated world: determinism, realism of the population, and ground-truth lookups."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from functools import cache

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.sandbox import World, default_world
from gtmkit.sandbox.world import (
    BAND_ORDER,
    EMAIL_PATTERNS_ORDER,
    ascii_fold,
    company_key,
    email_local,
    employee_band,
    linkedin_key,
    name_key,
    normalize_domain,
)


@cache
def small_world() -> World:
    return World.generate(seed=11, companies=400)


def test_same_seed_gives_the_same_world_and_another_seed_does_not() -> None:
    a = World.generate(seed=5, companies=120)
    b = World.generate(seed=5, companies=120)
    c = World.generate(seed=6, companies=120)
    assert a.companies.equals(b.companies)
    assert a.people.equals(b.people)
    assert not a.people.equals(c.people)


def test_generate_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="companies"):
        World.generate(seed=1, companies=0)
    with pytest.raises(ValueError, match="catch_all_share"):
        World.generate(seed=1, companies=10, catch_all_share=1.5)


def test_default_world_is_cached_and_big_enough_for_the_benchmarks() -> None:
    world = default_world()
    assert default_world() is world
    assert world.seed == 7
    assert world.companies.height == 3000
    assert world.people.height >= 25_000


def test_companies_look_like_a_b2b_market() -> None:
    companies = default_world().companies
    counts = companies["employee_count"]
    assert counts.min() >= 1 and counts.max() <= 100_000
    # Heavy tail: the median company is small, a few are huge.
    assert counts.median() < 60
    assert counts.max() > 10_000
    assert (counts <= 10).sum() > 300
    assert set(companies["employee_band"].unique()) <= set(BAND_ORDER)
    assert 0.30 <= companies["catch_all"].mean() <= 0.55
    assert companies["domain"].n_unique() == companies.height
    assert companies["name"].map_elements(company_key, return_dtype=pl.String).n_unique() == (
        companies.height
    )
    domains = companies["domain"].to_list()
    assert any(d.endswith(".co.uk") for d in domains)
    assert any(d.endswith(".de") for d in domains)
    assert any(d.endswith(".fr") for d in domains)
    idn = companies.filter(pl.col("idn"))
    assert idn.height > 0
    assert all(not d.isascii() for d in idn["domain"])
    assert set(companies["email_pattern"].unique()) <= set(EMAIL_PATTERNS_ORDER)
    assert companies["email_pattern"].n_unique() >= 8
    assert companies["region"].n_unique() >= 4
    for row in companies.head(50).iter_rows(named=True):
        assert row["employee_band"] == employee_band(row["employee_count"])
        assert row["aliases"], row["name"]


def test_people_have_diverse_names_and_consistent_work_emails() -> None:
    world = default_world()
    people = world.people
    assert people["person_id"].n_unique() == people.height
    assert people["email"].n_unique() == people.height
    assert people["linkedin_url"].n_unique() == people.height
    names = set(people["first_name"]) | set(people["last_name"])
    for expected in ("José", "Müller", "Nguyễn", "O'Neil", "van der Berg", "McDonald"):
        assert expected in names
    assert people.filter(~pl.col("full_name").str.contains(r"^[\x00-\x7f]+$")).height > 1000
    assert people["technical"].sum() > 0.15 * people.height
    assert people["seniority"].n_unique() >= 7
    patterns = dict(zip(world.companies["domain"], world.companies["email_pattern"], strict=True))
    for row in people.sample(500, seed=1).iter_rows(named=True):
        local, domain = row["email"].split("@")
        assert domain == row["company_domain"]
        expected = email_local(patterns[domain], row["first_name"], row["last_name"])
        # A second person with the same address at one company gets a number appended.
        assert re.fullmatch(re.escape(expected) + r"\d*", local), (row["email"], expected)
        assert local.isascii()
        assert row["phone"].startswith("+")
        assert row["linkedin_url"].startswith("https://www.linkedin.com/in/")


def test_job_changers_keep_a_stale_address_at_their_previous_employer() -> None:
    people = default_world().people
    changed = people.filter(pl.col("changed_job"))
    share = changed.height / people.height
    assert 0.08 <= share <= 0.16
    assert changed["prev_email"].null_count() == 0
    assert (changed["prev_company_domain"] != changed["company_domain"]).all()
    assert (
        changed["prev_email"].str.split("@").list.last() == changed["prev_company_domain"]
    ).all()
    assert not set(changed["prev_email"]) & set(people["email"])
    recent = (changed["start_date"] > dt.date(2025, 12, 1)).mean()
    assert recent == 1.0
    stayed = people.filter(~pl.col("changed_job"))
    assert stayed["prev_email"].null_count() == stayed.height


def unambiguous(world: World) -> pl.DataFrame:
    """People without a namesake colleague (two Maria Garcías at one company are ambiguous by
    name + company, as in real life)."""
    keyed = world.people.with_columns(
        pl.struct("first_name", "last_name")
        .map_elements(lambda s: name_key(s["first_name"], s["last_name"]), return_dtype=pl.String)
        .alias("_key")
    )
    return keyed.filter(pl.len().over("_key", "company_domain") == 1).drop("_key")


def test_namesakes_exist_and_match_picks_one_of_them() -> None:
    world = small_world()
    clear = unambiguous(world)
    assert 0 < world.people.height - clear.height < 0.05 * world.people.height


def test_match_resolves_every_kind_of_reference_to_the_same_person() -> None:
    world = small_world()
    for row in unambiguous(world).sample(150, seed=3).iter_rows(named=True):
        pid = row["person_id"]
        company = world.company(row["company_domain"])
        assert company is not None
        assert world.match({"email": row["email"]}) == pid
        assert world.match({"email": f"  {row['email'].upper()} "}) == pid
        assert world.match({"linkedin_url": row["linkedin_url"] + "/?trk=x"}) == pid
        assert world.match({"email": row["personal_email"]}) == pid
        by_domain = {
            "first_name": row["first_name"].upper(),
            "last_name": f" {row['last_name']} ",
            "website": f"https://www.{row['company_domain']}/about",
        }
        assert world.match(by_domain) == pid
        by_name = {
            "full_name": unicodedata.normalize("NFD", row["full_name"]),
            "company_name": company["aliases"][0],
        }
        assert world.match(by_name) == pid
        if row["changed_job"]:
            assert world.match({"email": row["prev_email"]}) == pid
            old = {"full_name": row["full_name"], "company_domain": row["prev_company_domain"]}
            assert world.match(old) in {pid, *world.staff(row["prev_company_id"])}


def test_match_needs_a_person_and_a_company() -> None:
    world = small_world()
    row = world.people.row(0, named=True)
    assert world.match({"first_name": row["first_name"], "last_name": row["last_name"]}) is None
    assert world.match({"company_domain": row["company_domain"]}) is None
    assert world.match({"full_name": "Zz Nobody", "company_domain": row["company_domain"]}) is None
    assert world.match({"email": "nobody@nowhere.example"}) is None
    assert world.match({}) is None


def test_idn_domains_match_in_unicode_and_punycode() -> None:
    world = default_world()
    row = world.people.filter(pl.col("company_domain").str.contains(r"[^\x00-\x7f]")).row(
        0, named=True
    )
    puny = row["company_domain"].encode("idna").decode("ascii")
    assert puny.startswith("xn--") or ".xn--" in puny
    query = {"full_name": row["full_name"], "company_domain": puny}
    assert world.match(query) == row["person_id"]
    assert world.company(puny) == world.company(row["company_domain"])


def test_truth_frame_gives_current_email_and_segments_per_row() -> None:
    world = small_world()
    people = world.people.head(6)
    records = pl.DataFrame(
        {
            "row_id": [10, 11, 12, 13, 14, 15, 16],
            "full_name": [*people["full_name"].to_list(), "Ghost Person"],
            "company_domain": [*people["company_domain"].to_list(), "ghost.example"],
        }
    )
    truth = world.truth(records)
    assert truth.height == 7
    assert truth["row_id"].to_list() == [10, 11, 12, 13, 14, 15, 16]
    assert truth["person_id"].to_list()[:6] == people["person_id"].to_list()
    assert truth["true_email"].to_list()[:6] == people["email"].to_list()
    assert truth.row(6, named=True)["person_id"] is None
    for column in ("employee_band", "industry", "region", "seniority", "department", "catch_all"):
        assert column in truth.columns
    assert truth["catch_all"].to_list()[:6] == people["catch_all"].to_list()


def test_person_and_company_lookups() -> None:
    world = small_world()
    row = world.people.row(5, named=True)
    person = world.person(row["person_id"])
    assert person == row
    person["email"] = "changed@example.com"  # a copy: the world is not mutated
    assert world.person(row["person_id"])["email"] == row["email"]
    with pytest.raises(KeyError):
        world.person("p999999999")
    company = world.company("https://www." + row["company_domain"] + "/")
    assert company is not None and company["company_id"] == row["company_id"]
    assert world.company("unknown.example") is None
    assert row["person_id"] in world.staff(row["company_id"])


@settings(max_examples=60, deadline=None)
@given(
    first=st.sampled_from(["José", "Müller", "Nguyễn", "O'Neil", "Łukasz", "Seán", "Åsa"]),
    last=st.sampled_from(["van der Berg", "García", "McDonald", "Groß", "Yılmaz", "Smith-Jones"]),
    upper=st.booleans(),
    decompose=st.booleans(),
    pad=st.text(alphabet=" \t", max_size=3),
)
def test_name_key_ignores_case_accents_spacing_and_unicode_form(
    first: str, last: str, upper: bool, decompose: bool, pad: str
) -> None:
    variant = f"{pad}{first}  {last}{pad}"
    if upper:
        variant = variant.upper()
    if decompose:
        variant = unicodedata.normalize("NFD", variant)
    assert name_key(variant) == name_key(first, last)
    assert name_key(first, last).isascii()
    assert email_local("first.last", first, last).isascii()


@settings(max_examples=60, deadline=None)
@given(
    label=st.from_regex(r"[a-z][a-z0-9-]{0,12}[a-z0-9]", fullmatch=True),
    tld=st.sampled_from(["com", "co.uk", "de", "io"]),
    scheme=st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    www=st.booleans(),
    path=st.sampled_from(["", "/", "/about?x=1", ":443/"]),
)
def test_normalize_domain_strips_url_dressing(
    label: str, tld: str, scheme: str, www: bool, path: str
) -> None:
    host = f"{label}.{tld}"
    dressed = f"{scheme}{'www.' if www else ''}{host}{path}"
    assert normalize_domain(dressed) == host
    assert normalize_domain(f"someone@{host.upper()}") == host


def test_small_helpers() -> None:
    assert ascii_fold("Đặng Groß") == "dang gross"
    assert company_key("Acme, Inc.") == company_key("ACME") == company_key("Acme Incorporated")
    assert company_key("Müller Maschinenbau GmbH") == company_key("muller maschinenbau")
    assert linkedin_key("linkedin.com/in/Ann-Lee/") == "ann-lee"
    assert linkedin_key("https://example.com/ann") is None
    assert employee_band(1) == "1-10" and employee_band(50) == "11-50"
    assert employee_band(100_000) == "10001+"
    assert email_local("flast", "Seán", "O'Neil") == "soneil"
    assert email_local("last.first", "Ann", "van der Berg") == "vanderberg.ann"


def test_sample_records_are_distinct_people_with_truth_attached() -> None:
    world = small_world()
    records = world.sample_records(300, seed=2)
    assert records.height == 300
    assert records["row_id"].to_list() == list(range(300))
    assert records["person_id"].n_unique() == 300
    assert records.equals(world.sample_records(300, seed=2))
    assert not records.equals(world.sample_records(300, seed=3))
    truth = world.truth(records.drop("person_id"))
    clear = set(unambiguous(world)["person_id"])
    agree = [
        t == p for t, p in zip(truth["person_id"], records["person_id"], strict=True) if p in clear
    ]
    assert agree and all(agree)
    with pytest.raises(ValueError, match="n must lie"):
        world.sample_records(10**9)


def test_docstring_examples_run() -> None:
    import doctest

    from gtmkit.sandbox import oracle, samples, world

    for module in (world, oracle, samples):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
