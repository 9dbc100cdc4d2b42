"""Adapters against the simulated world: in process (SandboxTransport) and over loopback.

The adapters are the same classes that talk to the real providers; only the transport or the
base URL differs. Every credit the simulation charges must show up in the findings.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from _providers_helpers import run

from gtmkit.providers import connect
from gtmkit.sandbox import SandboxTransport, default_world, serve_in_thread
from gtmkit.sandbox.contract import EMAIL_STATUS_VOCAB

FINDERS = ("apollo", "hunter", "pdl", "prospeo", "dropcontact")
EXPECTED_COMMON = {
    "apollo": {"valid", "risky"},
    "hunter": {"valid", "catch_all", "unknown", "risky"},
    "pdl": {"risky"},
    "prospeo": {"valid", "risky"},
    "dropcontact": {"valid", "catch_all"},
}


@pytest.fixture(scope="module")
def people() -> list[dict]:
    world = default_world()
    return world.people.head(120).to_dicts()


def _record(person: dict) -> dict:
    return {
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        "company_domain": person["company_domain"],
        "company_name": person["company_name"],
    }


async def _lookup_all(conn, name: str, records: list[dict]):
    return await asyncio.gather(*(conn[name].lookup(r) for r in records))


def test_every_finder_hits_and_misses_real_sandbox_people(people) -> None:
    records = [_record(p) for p in people]

    async def main():
        transport = SandboxTransport()
        async with connect(FINDERS, mode="sandbox", sandbox_transport=transport) as conn:
            assert all(conn.mode_of(n) == "sandbox" for n in FINDERS)
            results = {n: await _lookup_all(conn, n, records) for n in FINDERS}
        return results, transport.app.ledger.totals()

    results, charged = run(main())
    for name, findings in results.items():
        outcomes = Counter(f.outcome for f in findings)
        assert outcomes["error"] == 0, (name, [f.error for f in findings if f.error][:3])
        assert 0 < outcomes["hit"] < len(findings), (name, outcomes)
        hits = [(f, p) for f, p in zip(findings, people, strict=True) if f.outcome == "hit"]
        # right person and current email for most hits (wrong-person/stale rates are small)
        correct = sum(f.email == p["email"] for f, p in hits)
        assert correct / len(hits) >= 0.7, (name, correct, len(hits))
        assert {f.email_status for f, _ in hits} <= EXPECTED_COMMON[name]
        if EMAIL_STATUS_VOCAB[name]:
            assert {f.provider_status for f, _ in hits} <= set(EMAIL_STATUS_VOCAB[name])
        assert all(f.http_status == 200 for f, _ in hits)
        assert all("sandbox-placeholder-key" not in repr(f.raw) for f in findings)
        # every credit the simulation charged is in the findings, and no more
        assert sum(f.credits for f in findings) == pytest.approx(charged.get(name, 0.0)), name


def test_verifier_and_pattern_on_sandbox_people(people) -> None:
    async def main():
        async with connect(["hunter_verifier", "pattern"], mode="sandbox") as conn:
            verdicts = await _lookup_all(
                conn, "hunter_verifier", [{"email": p["email"]} for p in people[:40]]
            )
            pattern = conn["pattern"]
            # learn each domain from one colleague, then propose for the others
            by_domain: dict[str, list[dict]] = {}
            for p in default_world().people.head(3000).to_dicts():
                by_domain.setdefault(p["company_domain"], []).append(p)
            teach, ask = [], []
            for colleagues in by_domain.values():
                if len(colleagues) >= 2:
                    teach.append(colleagues[0])
                    ask.append(colleagues[1])
            pattern.observe(teach)
            proposals = await _lookup_all(conn, "pattern", [_record(p) for p in ask])
        return verdicts, proposals, ask

    verdicts, proposals, ask = run(main())
    assert {v.outcome for v in verdicts} <= {"hit", "miss"}
    assert sum(v.outcome == "hit" for v in verdicts) >= 30
    assert {v.email_status for v in verdicts if v.outcome == "hit"} <= {
        "valid",
        "catch_all",
        "invalid",
    }
    hits = [(f, p) for f, p in zip(proposals, ask, strict=True) if f.outcome == "hit"]
    assert len(hits) >= 0.8 * len(ask)
    right = sum(f.email == p["email"] for f, p in hits)
    # one colleague is usually enough to learn the pattern (ambiguity, renamed people and
    # stale emails account for the rest)
    assert right / len(hits) >= 0.6, (right, len(hits))
    assert all(f.credits == 0.0 and f.email_status == "risky" for f, _ in hits)


def test_search_and_company_enrichment_in_the_sandbox(people) -> None:
    domain = people[0]["company_domain"]

    async def main():
        async with connect(["apollo", "hunter", "pdl"], mode="sandbox") as conn:
            apollo_people = await conn["apollo"].search(domain, limit=5)
            hunter_people = await conn["hunter"].search(domain, limit=5)
            pdl_company = await conn["pdl"].enrich_company(domain)
        return apollo_people, hunter_people, pdl_company

    apollo_people, hunter_people, pdl_company = run(main())
    assert apollo_people.credits == 0.0
    assert all(p["company_domain"] == domain for p in apollo_people)
    assert all(p["email"].endswith("@" + domain) for p in hunter_people)
    assert pdl_company.outcome in ("hit", "miss")
    if pdl_company.outcome == "hit":
        assert pdl_company.fields["company_domain"] == domain


def test_loopback_server_gives_the_same_answers_as_in_process(people) -> None:
    records = [_record(p) for p in people[:25]]

    async def ask(**kwargs):
        async with connect(FINDERS, mode="sandbox", **kwargs) as conn:
            return {n: await _lookup_all(conn, n, records) for n in FINDERS}

    in_process = run(ask())
    with serve_in_thread(port=0) as server:
        assert set(server.base_urls) >= set(FINDERS)
        over_network = run(ask(base_urls=server.base_urls))
    for name in FINDERS:
        a = [(f.outcome, f.email, f.email_status, f.credits) for f in in_process[name]]
        b = [(f.outcome, f.email, f.email_status, f.credits) for f in over_network[name]]
        assert a == b, name
