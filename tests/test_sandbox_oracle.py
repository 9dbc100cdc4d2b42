"""The provider oracle: calibration bands, determinism, vocabularies, verifier, search.

The calibration assertions run on a seeded 900-company world (about 8,400 people): the world
and the oracle are deterministic, so these are exact checks of the simulation's behaviour, not
flaky statistics.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from functools import cache
from typing import Any, get_type_hints

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.sandbox import SIMULATED_PROVIDERS, PersonAnswer, ProviderOracle, World
from gtmkit.sandbox.contract import (
    EMAIL_STATUS_VOCAB,
    Oracle,
    Query,
    VerifyAnswer,
    protocol_methods,
    signature_mismatches,
    value_mismatches,
)
from gtmkit.sandbox.oracle import PROVIDER_PROFILES, VERIFIED_WORD, calibration_report
from gtmkit.sandbox.twins import NO_STATUS_WORD

#: Providers whose answers carry no email-status word (PDL's likelihood, ZoomInfo's score...).
NO_WORD = {"pdl", *NO_STATUS_WORD}


@cache
def world() -> World:
    return World.generate(seed=11, companies=900)


@cache
def oracle() -> ProviderOracle:
    return ProviderOracle(world())


@cache
def report() -> dict[str, Any]:
    return calibration_report(oracle(), sample_size=5000, seed=0)


def by_name(row: dict[str, Any]) -> dict[str, str]:
    return {
        "first_name": row["first_name"],
        "last_name": row["last_name"],
        "company_domain": row["company_domain"],
    }


def sample_rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """People whose name + company points at them alone (no namesake colleague)."""
    rows = world().people.sample(n, seed=seed).to_dicts()
    return [r for r in rows if world().match(by_name(r)) == r["person_id"]]


# ------------------------------------------------------------------ calibration
def test_each_provider_finds_40_to_68_percent() -> None:
    hit_rate = report()["hit_rate"]
    assert set(hit_rate) == set(SIMULATED_PROVIDERS)
    for provider, rate in hit_rate.items():
        assert 0.40 <= rate <= 0.68, (provider, rate)


def test_three_provider_waterfall_is_correlated_not_independent() -> None:
    waterfall = report()["waterfall"]
    assert 0.80 <= waterfall["coverage"] <= 0.90
    assert waterfall["gap_points"] >= 3.0
    hit = report()["hit_rate"]
    independent = 1 - math.prod(1 - hit[p] for p in waterfall["providers"])
    assert waterfall["independent_prediction"] == pytest.approx(independent, abs=1e-3)
    # Diminishing returns: each extra provider adds less than the one before.
    depth = report()["coverage_by_depth"]["coverage"]
    gains = [b - a for a, b in itertools.pairwise(depth)]
    assert all(g > 0 for g in gains)
    assert gains == sorted(gains, reverse=True)
    assert gains[-1] < 0.04


def test_independent_providers_would_reach_the_naive_prediction() -> None:
    """With the shared findability switched off (rho=0) the gap disappears: the correlation
    comes from the latent factor, not from an accident of the sample."""
    independent = calibration_report(ProviderOracle(world(), rho=0.0), sample_size=5000)
    assert abs(independent["waterfall"]["gap_points"]) < 2.0
    assert independent["waterfall"]["gap_points"] < report()["waterfall"]["gap_points"] - 3.0


def test_wrong_person_or_stale_rate_is_5_to_15_percent() -> None:
    for provider, rate in report()["wrong_rate"].items():
        assert 0.05 <= rate <= 0.15, (provider, rate)
    parts = report()["wrong_rate_parts"]
    assert parts["apollo"]["stale"] > 0.02  # job changers' old addresses come back
    assert all(p["wrong_person"] > 0 for p in parts.values())


def test_apollo_collapses_under_50_employees() -> None:
    r = report()
    assert r["apollo_hit_over_200"] - r["apollo_hit_under_50"] >= 0.20
    assert r["apollo_gap_points"] >= 20.0


def test_home_turf_segments() -> None:
    rows = world().people.to_dicts()
    o = oracle()

    def rate(provider: str, keep: Any) -> float:
        chosen = [r for r in rows if keep(r)][:1500]
        return sum(o.person(provider, by_name(r)).found for r in chosen) / len(chosen)

    small = lambda r: r["employee_count"] <= 50  # noqa: E731
    large = lambda r: r["employee_count"] > 1000  # noqa: E731
    assert rate("hunter", small) > rate("hunter", large) + 0.10
    assert rate("hunter", small) > rate("apollo", small) + 0.15
    technical = lambda r: r["technical"]  # noqa: E731
    business = lambda r: not r["technical"]  # noqa: E731
    assert rate("pdl", technical) > rate("pdl", business) + 0.10
    mid_business = lambda r: 51 <= r["employee_count"] <= 1000 and not r["technical"]  # noqa: E731
    mid_technical = lambda r: 51 <= r["employee_count"] <= 1000 and r["technical"]  # noqa: E731
    assert rate("apollo", mid_business) > rate("apollo", mid_technical) + 0.08
    assert rate("apollo", mid_business) > rate("hunter", mid_business) + 0.05
    europe = lambda r: r["region"] == "Europe"  # noqa: E731
    america = lambda r: r["region"] == "North America"  # noqa: E731
    assert rate("dropcontact", europe) > rate("dropcontact", america) + 0.12


def test_catch_all_share_of_domains() -> None:
    assert 0.30 <= report()["catch_all_domain_share"] <= 0.55


def test_verified_statuses_rarely_bounce() -> None:
    for provider, bounce in report()["verified_bounce"].items():
        if provider in NO_WORD:
            assert bounce is None  # PDL and ZoomInfo have no email status
        else:
            assert bounce is not None and bounce < 0.04, (provider, bounce)


def test_latency_is_lognormal_per_provider_from_database_to_live() -> None:
    medians = report()["latency_median_s"]
    for provider, median in medians.items():
        expected = PROVIDER_PROFILES[provider].latency_median_s
        assert median == pytest.approx(expected, rel=0.1), provider
    assert min(medians.values()) <= 0.6 and max(medians.values()) >= 2.5
    latencies = [oracle().person("apollo", by_name(r)).latency_s for r in sample_rows(400)]
    assert min(latencies) > 0
    assert max(latencies) > 2 * sorted(latencies)[200]  # a long right tail


# ------------------------------------------------------------------ determinism and lookups
def test_oracle_signatures_match_the_contract_protocol() -> None:
    """Every method of ``Oracle`` exists on ``ProviderOracle`` with the protocol's parameters,
    defaults and type hints (checked by inspection, not assumed from an annotation)."""
    assert protocol_methods(Oracle) == ["person", "verify", "company", "search_people"]
    assert signature_mismatches(ProviderOracle, Oracle) == []
    assert signature_mismatches(oracle(), Oracle) == []


def _contract_answers() -> list[tuple[str, Any]]:
    """Real answers of every protocol method: hits and misses, every provider."""
    o, w = oracle(), world()
    rows = sample_rows(40, seed=9)
    answers: list[tuple[str, Any]] = []
    for provider in SIMULATED_PROVIDERS:
        for row in rows:
            answers.append(("person", o.person(provider, by_name(row))))
        answers.append(("person", o.person(provider, {"email": "ghost@nowhere.example"})))
        for company in w.companies.head(15).to_dicts():
            answers.append(("company", o.company(provider, {"company_domain": company["domain"]})))
            answers.append(
                (
                    "search_people",
                    o.search_people(
                        provider, company={"company_domain": company["domain"]}, limit=5
                    ),
                )
            )
        answers.append(("company", o.company(provider, {"company_domain": "nowhere.example"})))
    for row in rows:
        answers.append(("verify", o.verify(row["email"])))
        answers.append(("verify", o.verify(row["personal_email"])))
    answers.append(("verify", o.verify("not-an-email")))
    return answers


def test_oracle_answers_have_the_contract_types() -> None:
    """Each real answer matches its method's declared return type, dataclass fields included."""
    answers = _contract_answers()
    returns = {
        name: get_type_hints(getattr(Oracle, name))["return"] for name in protocol_methods(Oracle)
    }
    seen: dict[str, set[str]] = {}
    for method, answer in answers:
        assert value_mismatches(answer, returns[method], where=method) == []
        seen.setdefault(method, set()).add(type(answer).__name__)
    # hits and misses both came back: None companies, empty and full searches, found and not
    assert seen["company"] == {"dict", "NoneType"}
    assert any(isinstance(a, PersonAnswer) and a.found for m, a in answers if m == "person")
    assert any(isinstance(a, PersonAnswer) and not a.found for m, a in answers if m == "person")
    assert any(a for m, a in answers if m == "search_people")


def test_the_contract_check_catches_a_broken_oracle() -> None:
    """The check is not vacuous: a wrong signature or a wrong answer type is reported."""

    class Broken(ProviderOracle):
        def verify(self, email: str, strict: bool) -> VerifyAnswer:  # type: ignore[override]
            return super().verify(email)

        def search_people(  # type: ignore[override]
            self, provider: str, company: Query, *, limit: int = 50
        ) -> list[Mapping[str, Any]]:
            return []

    problems = signature_mismatches(Broken, Oracle)
    assert "verify: parameter 'strict' is required but not in the protocol" in problems
    assert any(p.startswith("search_people: parameter 'company' is positional") for p in problems)
    assert "search_people: parameter 'limit' defaults to 50, the protocol says 10" in problems
    assert any("'titles' is missing" in p for p in problems)
    good = oracle().person("hunter", by_name(sample_rows(5)[0]))
    bad = dataclasses.replace(good, email=42, latency_s="fast")
    returns = get_type_hints(Oracle.person)["return"]
    assert value_mismatches(bad, returns, where="person") == [
        "person.latency_s: expected float, got str ('fast')",
        "person.email: expected str | None, got int (42)",
    ]
    assert value_mismatches({"name": 1}, get_type_hints(Oracle.company)["return"]) == []
    assert value_mismatches([("a", 1)], get_type_hints(Oracle.search_people)["return"])


def test_same_query_same_answer_regardless_of_order_or_instance() -> None:
    rows = sample_rows(300, seed=4)
    first = ProviderOracle(world())
    second = ProviderOracle(world())
    forward = [first.person(p, by_name(r)) for r in rows for p in SIMULATED_PROVIDERS]
    backward = [
        second.person(p, by_name(r)) for r in reversed(rows) for p in reversed(SIMULATED_PROVIDERS)
    ]
    assert forward == list(reversed(backward))
    assert forward == [first.person(p, by_name(r)) for r in rows for p in SIMULATED_PROVIDERS]


def test_a_different_world_seed_gives_different_answers() -> None:
    other = ProviderOracle(World.generate(seed=12, companies=900))
    rows = sample_rows(200)
    ours = [oracle().person("apollo", by_name(r)).found for r in rows]
    theirs = [other.person("apollo", {"person_id": r["person_id"]}).found for r in rows]
    assert ours != theirs


def test_email_linkedin_and_name_lookups_resolve_the_same_person() -> None:
    o = oracle()
    for row in sample_rows(200, seed=5):
        queries = [
            by_name(row),
            {"email": row["email"]},
            {"linkedin_url": row["linkedin_url"]},
            {"full_name": row["full_name"].upper(), "company_name": row["company_name"]},
        ]
        for provider in SIMULATED_PROVIDERS:
            answers = [o.person(provider, q) for q in queries]
            assert all(a == answers[0] for a in answers), (provider, row["person_id"])


def test_insufficient_or_unknown_queries_are_misses() -> None:
    o = oracle()
    row = world().people.row(0, named=True)
    for provider in SIMULATED_PROVIDERS:
        for query in (
            {"first_name": row["first_name"], "last_name": row["last_name"]},
            {"company_domain": row["company_domain"]},
            {"email": "ghost@nowhere.example"},
            {},
        ):
            answer = o.person(provider, query)
            assert not answer.found and answer.email is None and answer.latency_s > 0
            assert o.person(provider, query) == answer


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown provider 'clearbit'"):
        oracle().person("clearbit", {"email": "a@b.com"})
    with pytest.raises(ValueError, match="rho"):
        ProviderOracle(world(), rho=2.0)


# ------------------------------------------------------------------ answers and truth
def test_hits_carry_truth_flags_that_match_the_world() -> None:
    o, w = oracle(), world()
    kinds: dict[str, int] = {}
    for row in sample_rows(1500, seed=6):
        for provider in SIMULATED_PROVIDERS:
            answer = o.person(provider, by_name(row))
            kind = o.kind(provider, by_name(row))
            if not answer.found:
                assert kind is None
                continue
            kinds[kind] = kinds.get(kind, 0) + 1
            assert answer.email and "@" in answer.email
            subject = w.person(answer.person_id)
            assert answer.correct_person == (answer.person_id == row["person_id"])
            assert answer.email_current == (answer.email == subject["email"])
            if kind == "stale":
                assert answer.email == row["prev_email"]
                assert answer.attributes["company_domain"] == row["prev_company_domain"]
            if kind == "correct":
                assert answer.email == row["email"]
                assert answer.attributes["company_domain"] == row["company_domain"]
            domain = answer.email.rsplit("@", 1)[1]
            company = w.company(domain)
            assert company is not None and answer.catch_all == company["catch_all"]
            for key in ("first_name", "last_name", "title", "company_name", "linkedin_url"):
                assert answer.attributes[key]
    assert set(kinds) == {"correct", "stale", "wrong_person", "bad_guess"}


def test_statuses_use_each_providers_vocabulary_and_follow_the_truth() -> None:
    o = oracle()
    seen: dict[str, set[str | None]] = {p: set() for p in SIMULATED_PROVIDERS}
    catch_all_words = {"hunter": "accept_all", "dropcontact": "catch-all@pro"}
    for row in sample_rows(2000, seed=7):
        for provider in SIMULATED_PROVIDERS:
            answer = o.person(provider, by_name(row))
            if not answer.found:
                continue
            seen[provider].add(answer.email_status)
            if provider in catch_all_words:
                assert (answer.email_status == catch_all_words[provider]) == answer.catch_all
            if answer.confidence is not None:
                assert 0.0 <= answer.confidence <= 1.0
    for provider, words in seen.items():
        if provider in NO_WORD:
            assert words == {None}
        else:
            assert words == set(EMAIL_STATUS_VOCAB[provider]), provider
    assert set(VERIFIED_WORD) == set(SIMULATED_PROVIDERS) - NO_WORD


def test_hunter_asked_at_the_old_employer_returns_the_stale_address() -> None:
    o, w = oracle(), world()
    changers = w.people.filter(pl.col("changed_job")).to_dicts()
    stale_hits = 0
    for row in changers[:300]:
        query = {
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "company_domain": row["prev_company_domain"],
        }
        if w.match(query) != row["person_id"]:
            continue
        answer = o.person("hunter", query)
        if answer.found:
            stale_hits += 1
            assert answer.email == row["prev_email"]
            assert answer.correct_person and not answer.email_current
    assert stale_hits > 20


# ------------------------------------------------------------------ verifier
def test_verifier_answers_from_the_truth() -> None:
    o, w = oracle(), world()
    rows = sample_rows(1500, seed=8)
    counts: dict[tuple[str, str], int] = {}
    for row in rows:
        for email, alive in ((row["email"], True), (row["prev_email"], False)):
            if not email:
                continue
            verdict = o.verify(email)
            domain_catch_all = w.company(email)["catch_all"]
            assert verdict.deliverable is alive
            assert verdict.accept_all == domain_catch_all
            assert not verdict.webmail
            key = ("alive" if alive else "dead", verdict.status)
            counts[key] = counts.get(key, 0) + 1
            if domain_catch_all:
                assert verdict.status == "accept_all"
            elif alive:
                assert verdict.status in {"valid", "unknown"}
            else:
                assert verdict.status in {"invalid", "unknown"}
    alive_plain = counts.get(("alive", "valid"), 0) + counts.get(("alive", "unknown"), 0)
    assert counts[("alive", "valid")] / alive_plain > 0.85
    dead_plain = counts.get(("dead", "invalid"), 0) + counts.get(("dead", "unknown"), 0)
    assert counts[("dead", "invalid")] / dead_plain > 0.7
    assert counts.get(("alive", "unknown"), 0) > 0


def test_verifier_special_addresses() -> None:
    o = oracle()
    row = world().people.row(3, named=True)
    assert o.verify(row["personal_email"]).status == "webmail"
    assert o.verify(row["personal_email"]).webmail
    assert o.verify("x@mailinator.com").status == "disposable"
    assert o.verify("not-an-email").status == "invalid"
    assert o.verify("ghost@no-such-domain.example").deliverable is False
    assert o.verify(row["email"].upper()) == o.verify(row["email"])


@settings(max_examples=40, deadline=None)
@given(local=st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8})?", fullmatch=True))
def test_made_up_addresses_at_real_domains_never_deliver(local: str) -> None:
    w = world()
    company = w.companies.row(7, named=True)
    email = f"{local}@{company['domain']}"
    verdict = oracle().verify(email)
    known = w.match({"email": email})
    if known is None or w.person(known)["email"] != email:
        assert verdict.deliverable is False
        assert verdict.status in (
            {"accept_all"} if company["catch_all"] else {"invalid", "unknown"}
        )


# ------------------------------------------------------------------ companies and search
def test_company_lookup_by_domain_or_messy_name() -> None:
    o, w = oracle(), world()
    found = 0
    for company in w.companies.head(200).to_dicts():
        by_domain = o.company("apollo", {"company_domain": company["domain"]})
        by_name = o.company("apollo", {"company_name": company["aliases"][0]})
        assert by_domain == by_name
        if by_domain is not None:
            found += 1
            assert by_domain["domain"] == company["domain"]
            assert by_domain["employee_count"] == company["employee_count"]
            assert by_domain["latency_s"] > 0
    assert 0.8 * 200 < found < 200
    assert o.company("pdl", {"company_domain": "nowhere.example"}) is None


def test_search_people_lists_known_staff_filtered_by_title() -> None:
    o, w = oracle(), world()
    biggest = w.companies.sort("employee_count", descending=True).row(0, named=True)
    everyone = o.search_people(
        "apollo", company={"company_domain": biggest["domain"]}, limit=10_000
    )
    staff = set(w.staff(biggest["company_id"]))
    assert everyone and {p["person_id"] for p in everyone} <= staff
    assert len(everyone) < len(staff)  # a provider knows part of a company
    ranks = [p["seniority"] for p in everyone]
    assert ranks[0] in {"c_suite", "founder", "vp"}
    sales = o.search_people(
        "apollo", company={"company_domain": biggest["domain"]}, titles=("sales",), limit=5
    )
    assert 0 < len(sales) <= 5
    assert all("sales" in p["title"].lower() for p in sales)
    page_two = o.search_people(
        "apollo", company={"company_domain": biggest["domain"]}, limit=5, offset=5
    )
    assert [p["person_id"] for p in page_two] == [p["person_id"] for p in everyone[5:10]]
    for item in everyone:
        answer = o.person("apollo", {"person_id": item["person_id"]})
        assert item["has_email"] == answer.found
        if answer.found:
            assert item["email"] == answer.email
    assert o.search_people("hunter", company={"company_domain": "nowhere.example"}) == []


def test_answers_do_not_depend_on_the_process_hash_seed() -> None:
    """Randomness comes from blake2b of stable strings, never from ``hash()`` or set order:
    a fresh interpreter with another PYTHONHASHSEED draws the same world and answers."""
    import json
    import os
    import subprocess
    import sys

    script = (
        "import json\n"
        "from gtmkit.sandbox import World, ProviderOracle\n"
        "w = World.generate(seed=4, companies=80)\n"
        "o = ProviderOracle(w)\n"
        "rows = w.people.head(40).to_dicts()\n"
        "print(json.dumps([[o.person(p, {'email': r['email']}).email for p in o.providers]"
        " + [o.verify(r['email']).status] for r in rows]))\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    w = World.generate(seed=4, companies=80)
    o = ProviderOracle(w)
    here = [
        [o.person(p, {"email": r["email"]}).email for p in o.providers]
        + [o.verify(r["email"]).status]
        for r in w.people.head(40).to_dicts()
    ]
    assert json.loads(out) == here
