"""Lookup-key normalization: the same person asked the same way gets the same key."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.providers import PROVIDERS, provider_class
from gtmkit.providers.normalize import (
    normalize_domain,
    normalize_email,
    normalize_linkedin,
    normalize_name,
    person_key,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Acme.com", "acme.com"),
        ("https://www.acme.com/about?x=1", "acme.com"),
        ("  WWW.ACME.COM.  ", "acme.com"),
        ("jane@Acme.com", "acme.com"),
        ("acme.com:8080", "acme.com"),
        ("münchen.de", "xn--mnchen-3ya.de"),
        ("", ""),
        (None, ""),
    ],
)
def test_domains(raw, expected) -> None:
    assert normalize_domain(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://www.linkedin.com/in/Tim-Zheng-677ba010/", "linkedin.com/in/tim-zheng-677ba010"),
        ("linkedin.com/in/seanthorne", "linkedin.com/in/seanthorne"),
        ("http://fr.linkedin.com/in/jean-dupont?trk=abc", "linkedin.com/in/jean-dupont"),
        (
            "https://www.linkedin.com/in/jos%C3%A9-garc%C3%ADa/detail/",
            "linkedin.com/in/josé-garcía",
        ),
        ("https://www.linkedin.com/company/apolloio", "linkedin.com/company/apolloio"),
    ],
)
def test_linkedin(raw, expected) -> None:
    assert normalize_linkedin(raw) == expected


def test_emails_and_names() -> None:
    assert normalize_email("  Jane.Doe@ACME.com ") == "jane.doe@acme.com"
    assert normalize_email("mailto:a@b.co") == "a@b.co"
    assert normalize_email("not an email") == ""
    assert normalize_name("  ÉMILE\t Zola ") == "émile zola"
    # NFC: a decomposed "é" and a composed one are the same name
    assert normalize_name("Jose\u0301") == normalize_name("José")


def _messy(value: str, draw_case: bool, pad: str) -> str:
    return pad + (value.upper() if draw_case else value) + pad


@settings(max_examples=50, deadline=None)
@given(
    first=st.text(alphabet="abcdéfghijklmnopqrstuvwxyzß", min_size=1, max_size=10),
    last=st.text(alphabet="abcdefghijklmnopqrstuvwxyzø", min_size=1, max_size=10),
    domain=st.from_regex(r"[a-z]{2,10}\.(com|io|fr)", fullmatch=True),
    upper=st.booleans(),
    pad=st.sampled_from(["", " ", "  \t"]),
)
def test_property_case_and_whitespace_do_not_change_keys(first, last, domain, upper, pad) -> None:
    clean = {"first_name": first, "last_name": last, "company_domain": domain}
    messy = {
        "first_name": _messy(first, upper, pad),
        "last_name": _messy(last, upper, pad),
        "website": f"https://www.{domain.upper() if upper else domain}/",
    }
    assert person_key(clean) == person_key(messy)
    for name in PROVIDERS:
        cls = provider_class(name)
        if cls.kind == "finder":
            adapter = cls(None, api_key="k")
            assert adapter.lookup_key(clean) == adapter.lookup_key(messy), name


@settings(max_examples=80, deadline=None)
@given(value=st.one_of(st.text(max_size=30), st.integers(), st.none()))
def test_memoized_normalizers_answer_the_same_cold_and_warm(value) -> None:
    from gtmkit.providers import normalize

    for fn, memo in (
        (normalize_domain, normalize._domain_of),
        (normalize_linkedin, normalize._linkedin_of),
        (normalize_name, normalize._name_of),
    ):
        memo.cache_clear()
        try:
            cold = fn(value)
        except ValueError:  # urlsplit refuses some inputs: the same every time, not cached
            try:
                fn(value)
            except ValueError:
                continue
            raise AssertionError("an input refused once was accepted the second time") from None
        assert fn(value) == cold
        assert fn(str(value) if value is not None else None) == cold


def test_normalizer_memos_are_bounded() -> None:
    from gtmkit.providers import normalize

    for memo in (normalize._domain_of, normalize._linkedin_of, normalize._name_of):
        assert memo.cache_info().maxsize is not None
