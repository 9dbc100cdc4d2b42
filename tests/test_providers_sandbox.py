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
from gtmkit.sandbox import SandboxTransport, default_world, serve_in_thread, simulate
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
        async with connect(FINDERS, mode="sandbox", transport=transport) as conn:
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


FAULT_ERRORS = {
    "429": "rate_limited",
    "5xx": "provider_down",
    "timeout": "timeout",
    "reset": "provider_down",
    "malformed": "malformed_response",
    "401": "auth",
    "402": "out_of_credits",
}
VERIFIER = ("hunter_verifier",)


@pytest.mark.parametrize("kind", sorted(FAULT_ERRORS))
def test_injected_faults_become_the_right_typed_errors(people, kind: str) -> None:
    from gtmkit.sandbox import FaultConfig

    record = _record(people[0])
    names = (*FINDERS, *VERIFIER)

    async def main():
        faults = FaultConfig(rate=1.0, kinds=(kind,), timeout_s=0.0)
        async with simulate(faults=faults).connect(names) as conn:
            out = {}
            for name in names:
                asked = {"email": people[0]["email"]} if name in VERIFIER else record
                out[name] = await conn[name].lookup(asked)
            return out

    findings = run(main())
    for name, finding in findings.items():
        assert finding.outcome == "error", (name, kind, finding)
        assert finding.error.kind == FAULT_ERRORS[kind], (name, kind, finding.error)
        assert finding.credits == 0.0  # faulted requests are never billed
        if kind == "429":
            assert finding.error.retryable


def test_dropcontact_polls_through_not_ready_answers_in_the_sandbox(people) -> None:
    records = [_record(p) for p in people[:10]]

    async def main():
        transport = SandboxTransport(dropcontact_ready_polls=3)
        async with connect(["dropcontact"], mode="sandbox", transport=transport) as conn:
            findings = await _lookup_all(conn, "dropcontact", records)
        return findings, transport.app.ledger.totals()

    findings, charged = run(main())
    assert all(f.outcome in ("hit", "miss") for f in findings)
    assert any(f.outcome == "hit" for f in findings)
    assert sum(f.credits for f in findings) == pytest.approx(charged.get("dropcontact", 0.0))


def test_sandbox_credit_allowance_runs_out_as_out_of_credits(people) -> None:
    records = [_record(p) for p in people[:40]]

    async def main():
        transport = SandboxTransport(credits=3)
        async with connect(["hunter", "pdl"], mode="sandbox", transport=transport) as conn:
            out = {}
            for name in ("hunter", "pdl"):
                out[name] = [await conn[name].lookup(r) for r in records]
            return out

    for name, findings in run(main()).items():
        assert sum(f.credits for f in findings) <= 3, name
        errors = [f.error for f in findings if f.outcome == "error"]
        assert errors, name
        assert all(e.kind == "out_of_credits" and e.disables_provider for e in errors), name


def test_sandbox_rate_limits_answer_the_provider_way(people) -> None:
    records = [_record(p) for p in people[:60]]

    async def main():
        transport = SandboxTransport(rate_limits={"apollo": 5, "hunter": 5, "pdl": 5})
        async with connect(
            ["apollo", "hunter", "pdl"], mode="sandbox", transport=transport
        ) as conn:
            return {n: await _lookup_all(conn, n, records) for n in ("apollo", "hunter", "pdl")}

    results = run(main())
    for name, findings in results.items():
        limited = [f for f in findings if f.outcome == "error"]
        assert limited, name
        assert all(f.error.kind == "rate_limited" for f in limited), name
        assert all(f.credits == 0.0 for f in limited)
    assert {f.http_status for f in results["hunter"] if f.outcome == "error"} == {403}
    apollo_waits = [f.error.retry_after for f in results["apollo"] if f.outcome == "error"]
    pdl_waits = [f.error.retry_after for f in results["pdl"] if f.outcome == "error"]
    assert apollo_waits and pdl_waits
    assert all(w is not None and 1 <= w <= 60 for w in apollo_waits)  # Retry-After, whole seconds
    assert all(w is not None and 0 <= w <= 60 for w in pdl_waits)  # to the minute window's reset


def test_the_simulation_answers_a_missing_key_the_way_each_provider_does(people) -> None:
    import httpx

    from gtmkit.providers import provider_class

    record = dict(_record(people[0]), email=people[0]["email"])

    async def main():
        async with httpx.AsyncClient(transport=SandboxTransport()) as client:
            out = {}
            for name in (*FINDERS, "hunter_verifier"):
                adapter = provider_class(name)(client, api_key="")
                out[name] = await adapter.lookup(record)
            return out

    for name, finding in run(main()).items():
        assert finding.outcome == "error", name
        assert finding.error.kind == "auth" and finding.error.disables_provider, name
        assert finding.http_status == 401, name
        assert finding.raw, name  # the answer is kept for audit (Apollo's is plain text)
