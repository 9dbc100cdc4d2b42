"""A paid lookup is never paid twice (issue 8): every adapter's ``lookup_key`` changes if and
only if the request it sends would change.

The oracle is the wire, not the key code: each adapter's request is recorded on its way to
the in-process sandbox, and the sandbox's own meter (requests received, credits billed,
requests billed again) checks what the engine paid.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
from _attack_helpers import attack_world, run_in_process, waterfall, world_records
from _providers_helpers import make
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtmkit.providers.base import Provider
from gtmkit.providers.connect import SANDBOX_KEY, connect
from gtmkit.providers.declarative import provider_from_spec
from gtmkit.sandbox import Simulation, simulate

ROOT = Path(__file__).resolve().parents[1]
SANDBOX_FINDERS = (
    "hunter", "apollo", "pdl", "prospeo", "dropcontact", "zoominfo", "lusha", "findymail",
    "leadmagic",
)  # fmt: skip
ADAPTERS = (*SANDBOX_FINDERS, "hunter_verifier")
#: The issue's reproduction: two Elizabeth Brooks at atlaspath.com, different LinkedIn URLs.
ROWS_179_188 = (179, 188)

Fingerprint = tuple[str, str, tuple[tuple[str, str], ...], Any]


class Recording(httpx.AsyncBaseTransport):
    """The sandbox's transport, remembering every request sent through it (key left out)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.sent = inner, []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        params = request.url.params.multi_items()
        query = tuple(sorted((k, v) for k, v in params if v != SANDBOX_KEY))
        body: Any = request.content.decode() or None
        if "json" in request.headers.get("content-type", ""):
            body = json.loads(request.content)
        self.sent.append((request.method, request.url.path, query, body))
        return await self.inner.handle_async_request(request)


def _question(sent: list[Fingerprint]) -> Fingerprint | None:
    """The request that asks the question (not a token fetch, not a Dropcontact poll)."""
    asked = [s for s in sent if "oauth" not in s[1]]
    return asked[0] if asked else None


def _base_records() -> list[dict[str, Any]]:
    rows = world_records(240, seed=5)
    picked = [rows.row(i, named=True) for i in (*ROWS_179_188, 3, 40)]
    for i, row in enumerate(picked):  # an email, so email-keyed adapters are exercised too
        row["email"] = f"{row['first_name']}.{row['last_name']}.{i}@{row['company_domain']}".lower()
    return picked


BASES = _base_records()
SIM = simulate(attack_world())


def sandbox_ask(name: str) -> Callable[[Mapping[str, Any]], tuple[str, Fingerprint | None]]:
    """(key, request sent) for one record on a fresh ``name`` adapter over the sandbox."""

    def ask(record: Mapping[str, Any]) -> tuple[str, Fingerprint | None]:
        wire = Recording(SIM.transport)
        adapter = connect([name], mode="sandbox", transport=wire, options=SIM.adapter_options)[name]
        if not adapter.can_lookup(record):
            return adapter.lookup_key(record), None
        asyncio.run(adapter.lookup(dict(record)))
        return adapter.lookup_key(record), _question(wire.sent)

    return ask


def declarative_ask(record: Mapping[str, Any]) -> tuple[str, Fingerprint | None]:
    cls = provider_from_spec(ROOT / "notebooks" / "providers" / "example-finder.toml")
    adapter, recorder = make(cls, lambda request: httpx.Response(404, json={"error": "nf"}))
    if not adapter.can_lookup(record):
        return adapter.lookup_key(record), None
    asyncio.run(adapter.lookup(dict(record)))
    request = recorder.last
    query = tuple(sorted(request.url.params.multi_items()))
    return adapter.lookup_key(record), (request.method, request.url.path, query, None)


ASKERS: dict[str, Callable[[Mapping[str, Any]], tuple[str, Fingerprint | None]]] = {
    **{name: sandbox_ask(name) for name in ADAPTERS},
    "declarative": declarative_ask,
}

#: Replacement values per field. Values of one field differ once normalized (a case-only
#: change is the same question, by design), except the LinkedIn and domain spellings that
#: normalize to the same profile / host, which must keep the key and the request.
ALTERNATIVES: dict[str, list[Any]] = {
    "first_name": [None, "Maria", "Jo"],
    "last_name": [None, "Okafor", "Brooks-Hale"],
    "full_name": [None, "Maria Okafor", "Liz Brooks"],
    "company_name": [None, "Northwind", "Atlaspath Labs"],
    "company_domain": [None, "northwind.io", "https://www.northwind.io/about"],
    "website": [None, "https://globex.example/team"],
    "linkedin_url": [
        None,
        "https://www.linkedin.com/in/someone-else-42",
        "http://uk.linkedin.com/in/Someone-Else-42/?trk=x",
        "https://www.linkedin.com/company/northwind",
    ],
    "email": [None, "maria@northwind.io", "liz.b@globex.example"],
    "title": [None, "VP Sales"],
    "country": [None, "DE"],
    "person_id": [None, "p999999"],
}
mutation = st.dictionaries(
    st.sampled_from(sorted(ALTERNATIVES)),
    st.integers(0, 3),
    min_size=1,
    max_size=4,
)


def _mutate(base: Mapping[str, Any], changes: Mapping[str, int]) -> dict[str, Any]:
    out = dict(base)
    for field, pick in changes.items():
        out[field] = ALTERNATIVES[field][pick % len(ALTERNATIVES[field])]
    return out


@pytest.mark.parametrize("name", sorted(ASKERS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(range(len(BASES))), left=mutation, right=mutation)
def test_the_key_changes_iff_the_request_does(name, base, left, right) -> None:
    ask = ASKERS[name]
    a, b = _mutate(BASES[base], left), _mutate(BASES[base], right)
    key_a, sent_a = ask(a)
    key_b, sent_b = ask(b)
    if sent_a is None or sent_b is None:  # a record this adapter cannot look up sends nothing
        return
    assert (key_a == key_b) == (sent_a == sent_b), (name, key_a, key_b, sent_a, sent_b)


# -- the engine, checked against the sandbox's own meter ----------------------------------------
def _metered(name: str, records: list[dict[str, Any]], **options: Any) -> Simulation:
    sim = simulate(attack_world())
    run_in_process(waterfall([name], verify=None), pl.DataFrame(records), sim, **options)
    return sim


def _unsent_variants(name: str, base: dict[str, Any]) -> list[dict[str, Any]]:
    """Single-field changes to ``base`` the wire shows this adapter does not send."""
    ask = ASKERS[name]
    _, sent = ask(base)
    assert sent is not None
    variants = []
    for field, values in ALTERNATIVES.items():
        for value in values[1:]:
            variant = {**base, field: value}
            if base.get(field) != value and ask(variant)[1] == sent:
                variants.append(variant)
    return variants


@pytest.mark.parametrize("name", SANDBOX_FINDERS)
def test_records_differing_only_in_unsent_fields_are_paid_once(name) -> None:
    base = {k: v for k, v in BASES[0].items() if k != "email"}  # a row with an email is done
    variants = _unsent_variants(name, base)
    # every adapter ignores some field (title, country at least): the check is never empty
    assert len(variants) >= 2
    alone = _metered(name, [{**base, "row_id": 0}])
    assert alone.requests().get(name, 0) >= 1
    for variant in variants:
        both = _metered(name, [{**base, "row_id": 0}, {**variant, "row_id": 1}])
        changed = {k for k in variant if variant[k] != base.get(k)}
        assert both.requests() == alone.requests(), (name, changed)
        assert both.billed() == alone.billed(), (name, changed)
        assert both.repeated_lookups() == 0


@pytest.mark.parametrize("name", SANDBOX_FINDERS)
def test_records_differing_in_a_sent_field_get_two_keys(name) -> None:
    ask = ASKERS[name]
    key, sent = ask(BASES[0])
    changed = 0
    for field, values in ALTERNATIVES.items():
        for value in values[1:]:
            other_key, other_sent = ask({**BASES[0], field: value})
            if other_sent is not None and other_sent != sent:
                assert other_key != key, (name, field, value)
                changed += 1
    assert changed >= 2  # names and the company at least are sent by every finder


def test_issue_8_reproduction_hunter_pays_once_for_rows_179_and_188() -> None:
    rows = world_records(240, seed=5)
    pair = rows.filter(pl.col("row_id").is_in(ROWS_179_188))
    first, second = pair.to_dicts()
    assert (first["first_name"], first["last_name"], first["company_domain"]) == (
        second["first_name"],
        second["last_name"],
        second["company_domain"],
    )
    assert first["linkedin_url"] != second["linkedin_url"]
    alone = _metered("hunter", [first])
    both = _metered("hunter", [first, second])
    # Hunter was asked one question (name + domain; the handle is not sent): it billed one
    # request, once — its credit counter equals the distinct requests sent
    billed = both.billed_requests("hunter")
    assert len(billed) == sum(billed.values()) == 1
    assert both.billed()["hunter"] == 1.0
    assert both.requests()["hunter"] == alone.requests()["hunter"] == 1
    assert both.billed() == alone.billed()
    assert both.repeated_lookups("hunter") == 0


# -- cache compatibility: entries under the old keys are read, never paid again --------------
def _adapter(name: str) -> Provider:
    return connect([name], mode="sandbox", transport=SIM.transport, options=SIM.adapter_options)[
        name
    ]


def _rename_cache(ledger: Path, name: str, renames: Mapping[str, str]) -> None:
    with sqlite3.connect(ledger) as conn:
        for new, old in renames.items():
            conn.execute(
                "UPDATE cache SET lookup_key = ? WHERE provider = ? AND lookup_key = ?",
                (old, name, new),
            )


def _cache_keys(ledger: Path, name: str) -> set[str]:
    with sqlite3.connect(ledger) as conn:
        rows = conn.execute("SELECT lookup_key FROM cache WHERE provider = ?", (name,))
        return {key for (key,) in rows}


@pytest.mark.parametrize("name", ["hunter", "apollo", "dropcontact", "findymail", "lusha"])
def test_a_ledger_cached_under_the_old_keys_is_not_paid_again(name, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    records = world_records(240, seed=5).head(30).to_dicts()
    first = _metered(name, records, ledger=ledger)
    assert first.requests().get(name, 0) > 0
    adapter = _adapter(name)
    renames = {adapter.lookup_key(r): adapter.legacy_lookup_key(r) for r in records}
    renames = {new: old for new, old in renames.items() if old and old != new}
    assert len(renames) >= 10  # most rows carry a field the old key listed and the request not
    # the ledger as an older gtmkit wrote it: each entry under the old key
    _rename_cache(ledger, name, renames)
    before = _cache_keys(ledger, name)
    assert set(renames.values()) <= before
    again = _metered(name, records, ledger=ledger)
    assert again.requests().get(name, 0) == 0
    assert again.billed().get(name, 0.0) == 0.0
    assert _cache_keys(ledger, name) == before  # read only: nothing written under any key
    # control: entries under keys the adapter never had are not answers, and are paid again
    _rename_cache(ledger, name, {old: "gone:" + old for old in before})
    assert _metered(name, records, ledger=ledger).requests().get(name, 0) > 0
