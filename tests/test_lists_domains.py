"""The vectorized registrable-domain path agrees with tldextract, host for host."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from gtmkit.lists.domains import _suffixes, registered_domain, registered_domains

EDGES = [
    "acme.com", "acme.co.uk", "co.uk", "github.io", "acme.github.io", "x.ck", "www.ck",
    "blogspot.com", "123.com", "a-.com", "-a.com", "shop.acme.com", "localhost", "1.2.3.4",
    "acme.myshopify.com", "xn--bcher-kva.de", "bücher.de", "acme.", ".acme.com", "a..com",
    "acme.com.", "acme.kawasaki.jp", "city.kawasaki.jp", "foo.bar.kawasaki.jp", "acme.run.app",
    "x.appspot.com", "ACME.com", "acme.c", "acme.unknowntld", "a.b.c.d.e.co.uk", "amazonaws.com",
    "acme.amazonaws.com", "", " acme.com", "acme.com ", "0.ákŋoluokta.no", "a.xn--p1ai",
    "пример.рф",
]  # fmt: skip


def test_edge_hosts_agree_with_tldextract() -> None:
    got = registered_domains(pl.Series(EDGES, dtype=pl.String)).to_list()
    assert got == [registered_domain(h) for h in EDGES]


_rules = st.sampled_from(sorted(_suffixes()[1]))
_label = st.from_regex(r"[a-z0-9-]{1,12}", fullmatch=True)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(_label, max_size=2), _rules), min_size=1, max_size=20))
def test_hosts_built_on_real_suffix_rules_agree(parts: list[tuple[list[str], str]]) -> None:
    hosts = [".".join([*labels, rule.lstrip("*!.")]) for labels, rule in parts]
    got = registered_domains(pl.Series(hosts, dtype=pl.String)).to_list()
    assert got == [registered_domain(h) for h in hosts]
