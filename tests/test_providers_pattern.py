"""The free local pattern step: learning a domain's email pattern and proposing candidates."""

from __future__ import annotations

import httpx
import polars as pl
import pytest
from _providers_helpers import HUNTER_FINDER_HIT, reply, run
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gtmkit.providers import Finding, connect
from gtmkit.providers.pattern import (
    PATTERNS,
    PatternProvider,
    ascii_name,
    matching_patterns,
    render,
)

ACME = "acme.io"


def _ask(provider: PatternProvider, first: str, last: str, domain: str = ACME) -> Finding:
    return run(provider.lookup({"first_name": first, "last_name": last, "company_domain": domain}))


@pytest.mark.parametrize(
    ("pattern", "email"),
    [
        ("{first}.{last}", "ada.lovelace@acme.io"),
        ("{f}{last}", "alovelace@acme.io"),
        ("{first}", "ada@acme.io"),
        ("{first}{last}", "adalovelace@acme.io"),
        ("{first}_{last}", "ada_lovelace@acme.io"),
        ("{f}.{last}", "a.lovelace@acme.io"),
        ("{first}{l}", "adal@acme.io"),
        ("{last}", "lovelace@acme.io"),
        ("{last}.{first}", "lovelace.ada@acme.io"),
        ("{last}{f}", "lovelacea@acme.io"),
    ],
)
def test_learns_each_pattern_from_one_example(pattern: str, email: str) -> None:
    provider = PatternProvider()
    assert provider.observe([("Ada", "Lovelace", email)]) == 1
    learned, confidence = provider.pattern_for(ACME)
    assert learned == pattern
    assert confidence == pytest.approx(0.5)  # one observation: share 1 * n/(n+1)
    finding = _ask(provider, "Grace", "Hopper")
    assert finding.outcome == "hit"
    assert finding.email == render(pattern, "grace", "hopper") + "@acme.io"
    assert finding.email_status == "risky"  # unverified: meant for the verifier
    assert finding.provider_status == f"pattern:{pattern}"
    assert finding.credits == 0.0


def test_unicode_names_are_folded_like_mailboxes() -> None:
    provider = PatternProvider()
    provider.observe([{"first_name": "Zoë", "last_name": "Brontë", "email": "zoe.bronte@acme.io"}])
    assert _ask(provider, "Søren", "Kierkegaard").email == "soren.kierkegaard@acme.io"
    assert _ask(provider, "José", "de la Cruz").email == "jose.delacruz@acme.io"
    assert ascii_name("Łukasz Żółć") == "lukaszzolc"


def test_multi_word_last_names_match_any_spelling() -> None:
    assert "{first}.{last}" in matching_patterns("José", "de la Cruz", "jose.delacruz")
    assert "{first}.{last}" in matching_patterns("José", "de la Cruz", "jose.cruz")
    assert "{first}-{last}" in matching_patterns("Anne", "Smith-Jones", "anne-smithjones")


def test_majority_wins_and_confidence_reflects_disagreement() -> None:
    provider = PatternProvider()
    provider.observe(
        [
            ("Ada", "Lovelace", "ada.lovelace@acme.io"),
            ("Grace", "Hopper", "grace.hopper@acme.io"),
            ("Alan", "Turing", "aturing@acme.io"),
            ("Edsger", "Dijkstra", "random-alias@acme.io"),  # matches nothing, still counted
        ]
    )
    pattern, confidence = provider.pattern_for("ACME.io")
    assert pattern == "{first}.{last}"
    assert confidence == pytest.approx((2 / 4) * 4 / 5)


def test_unseen_domain_is_a_miss_by_default_and_a_low_confidence_guess_on_request() -> None:
    provider = PatternProvider()
    provider.observe([("Ada", "Lovelace", "alovelace@acme.io"), ("Bo", "Li", "bli@other.io")])
    assert _ask(provider, "Grace", "Hopper", "unseen.io").outcome == "miss"
    guesser = PatternProvider(unseen="guess")
    guesser.observe([("Ada", "Lovelace", "alovelace@acme.io"), ("Bo", "Li", "bli@other.io")])
    guess = _ask(guesser, "Grace", "Hopper", "unseen.io")
    assert guess.email == "ghopper@unseen.io"  # the most common learned pattern
    assert guess.confidence == pytest.approx(0.15)
    fresh = PatternProvider(unseen="guess")
    assert _ask(fresh, "Grace", "Hopper", "unseen.io").email == "grace.hopper@unseen.io"
    with pytest.raises(ValueError, match="unseen"):
        PatternProvider(unseen="sometimes")  # type: ignore[arg-type]


def test_webmail_and_unusable_inputs_teach_nothing() -> None:
    provider = PatternProvider()
    taught = provider.observe(
        [
            ("Ada", "Lovelace", "ada.lovelace@gmail.com"),
            ("Ada", "Lovelace", ""),
            ("", "Lovelace", "lovelace@acme.io"),
            ("Ada", "Lovelace", "not-an-email"),
        ]
    )
    assert taught == 0
    assert provider.pattern_for("gmail.com") is None
    assert provider.pattern_for(ACME) is None


def test_observe_accepts_frames_findings_and_full_names() -> None:
    provider = PatternProvider()
    frame = pl.DataFrame(
        {"first_name": ["Ada"], "last_name": ["Lovelace"], "email": ["a.lovelace@acme.io"]}
    )
    assert provider.observe(frame) == 1
    finding = Finding(
        provider="hunter",
        endpoint="email-finder",
        outcome="hit",
        fields={"full_name": "Grace Hopper", "email": "g.hopper@acme.io"},
    )
    assert provider.observe([finding]) == 1
    assert provider.pattern_for(ACME)[0] == "{f}.{last}"
    provider.observe_pattern("https://www.other.io", "{first}")
    assert provider.pattern_for("other.io")[0] == "{first}"
    with pytest.raises(ValueError, match="unknown pattern"):
        provider.observe_pattern("other.io", "{nickname}")


def test_lookup_key_changes_when_the_evidence_changes() -> None:
    provider = PatternProvider()
    record = {"first_name": "Grace", "last_name": "Hopper", "company_domain": ACME}
    before = provider.lookup_key(record)
    assert _ask(provider, "Grace", "Hopper").outcome == "miss"
    provider.observe([("Ada", "Lovelace", "ada@acme.io")])
    after = provider.lookup_key(record)
    assert before != after
    assert provider.lookup_key(dict(record, company_domain="ACME.IO")) == after
    assert _ask(provider, "Grace", "Hopper").email == "grace@acme.io"


def test_local_provider_contract() -> None:
    provider = PatternProvider()
    assert (provider.kind, provider.max_credits, provider.billing) == ("local", 0.0, "per_call")
    assert provider.can_lookup({"full_name": "Ada Lovelace", "website": "acme.io"})
    assert not provider.can_lookup({"full_name": "Ada Lovelace"})


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéöñ", min_size=2, max_size=9)


@settings(max_examples=60, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    people=st.lists(st.tuples(names, names), min_size=1, max_size=4),
    target=st.tuples(names, names),
)
def test_property_learned_pattern_reproduces_itself(pattern, people, target) -> None:
    # Names whose every pattern renders differently identify the pattern unambiguously.
    for first, last in [*people, target]:
        renders = {render(p, first, last) for p in PATTERNS}
        assume(len(renders) == len(PATTERNS))
    provider = PatternProvider()
    provider.observe([(f, s, f"{render(pattern, f, s)}@acme.io") for f, s in people])
    assert provider.pattern_for(ACME)[0] == pattern
    finding = _ask(provider, *target)
    assert finding.email == f"{render(pattern, *target)}@acme.io"
    assert 0.0 < finding.confidence < 1.0


def test_connected_finders_teach_the_pattern_step_as_hits_arrive() -> None:
    alexis = {"first_name": "Alexis", "last_name": "Ohanian", "company_domain": "reddit.com"}
    steve = {"first_name": "Steve", "last_name": "Huffman", "company_domain": "reddit.com"}

    async def main(learn: bool):
        transport = httpx.MockTransport(reply(200, HUNTER_FINDER_HIT))
        async with connect(
            ["hunter", "pattern"],
            mode="sandbox",
            transport=transport,
            learn_patterns=learn,
        ) as conn:
            assert (await conn["pattern"].lookup(steve)).outcome == "miss"
            assert (await conn["hunter"].lookup(alexis)).outcome == "hit"
            return await conn["pattern"].lookup(steve)

    taught = run(main(True))
    assert (taught.outcome, taught.email) == ("hit", "steve@reddit.com")  # {first}
    assert run(main(False)).outcome == "miss"


def test_a_failing_observer_never_breaks_a_lookup() -> None:
    provider = PatternProvider()
    provider.observe([("Ada", "Lovelace", "ada@acme.io")])

    def broken(record, finding):
        raise RuntimeError("observer bug")

    provider.add_hit_observer(broken)
    assert _ask(provider, "Grace", "Hopper").email == "grace@acme.io"
