"""Provider faults through the loopback server: every fault kind the simulation injects at 10%
and at 50%, a 200 carrying HTML or random bytes (billed by the provider, rewritten by a proxy),
always-429 with Retry-After 0, 10^9 and negative, a hanging provider, and a key revoked (401) or
credits gone (402) mid-run.

For each: every row comes back with a status, what the provider billed stays within the budget
across a resume, no paid lookup is paid twice (the simulation's own billing counter), and the
run ends within :data:`RUN_BOUND_S`.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gtmkit.sandbox import FaultConfig, simulate
from gtmkit.sandbox.http.faults import FAULT_KINDS
from tests._attack_helpers import attack_world, billed_total, world_records
from tests.adversarial import _proxy
from tests.adversarial._runs import assert_every_row_accounted, run_loopback

ROWS = 40
STEPS = ("hunter", "apollo", "pdl")
BUDGET = 45.0
#: The stated bound of any run below (client timeout 0.5 s; breaker stall rule 5 s).
RUN_BOUND_S = 30.0
EPS = 1e-9


def _faulted(kind: str, rate: float, seed: int) -> FaultConfig:
    return FaultConfig(rate=rate, kinds=(kind,), seed=seed, hold_s=1.0, slow_s=0.1, timeout_s=0.05)


def _run_twice(sim, base_urls, records, tmp_path: Path, steps=STEPS):
    """The run, then its resume on the same ledger: both bounded, every row accounted."""
    results = []
    for _ in range(2):
        result, elapsed = run_loopback(
            steps, records, sim, base_urls, cap_s=RUN_BOUND_S + 30,
            ledger=tmp_path / "ledger.sqlite", budget_credits=BUDGET,
        )  # fmt: skip
        assert elapsed <= RUN_BOUND_S, f"a run took {elapsed:.1f} s (bound {RUN_BOUND_S:g} s)"
        assert_every_row_accounted(result, records)
        results.append(result)
    billed = billed_total(sim)
    assert billed <= BUDGET + EPS, f"billed {billed:g} credits against {BUDGET:g} ({sim.billed()})"
    return results


@pytest.mark.parametrize("rate", [0.1, 0.5], ids=["10%", "50%"])
@pytest.mark.parametrize("kind", FAULT_KINDS)
def test_every_fault_kind(kind: str, rate: float, tmp_path: Path) -> None:
    sim = simulate(attack_world(), faults=_faulted(kind, rate, seed=len(kind)))
    records = world_records(ROWS, seed=31)
    with sim.serve() as srv:
        _run_twice(sim, srv.base_urls, records, tmp_path)
    assert sim.injected_faults.get(kind, 0) > 0, f"no {kind} fault was injected"
    # a "late" answer is billed and arrives after the client gave up: the client cannot tell
    # it from a timeout, so it may retry it once (held at worst case meanwhile)
    allowed = sim.injected_faults.get("late", 0) if kind == "late" else 0
    assert sim.repeated_lookups() <= allowed, (
        f"{sim.repeated_lookups()} paid lookups paid again under {kind} at {rate:.0%}"
    )


def _origin(base_urls: dict[str, str]) -> str:
    parts = urlsplit(next(iter(base_urls.values())))
    return f"{parts.scheme}://{parts.netloc}"


@pytest.mark.parametrize("rate", [0.1, 0.5], ids=["10%", "50%"])
@pytest.mark.parametrize("body", ["html", "garbage"])
def test_a_billed_200_with_html_or_garbage_is_never_paid_again(
    body: str, rate: float, tmp_path: Path
) -> None:
    sim = simulate(attack_world())
    records = world_records(ROWS, seed=32)
    make = _proxy.html if body == "html" else _proxy.noise
    with (
        sim.serve() as srv,
        _proxy.rewriting_proxy(_origin(srv.base_urls), _proxy.every(rate, make, seed=3)) as px,
    ):
        base_urls = _proxy.proxied_base_urls(srv.base_urls, str(px["base"]))
        first, elapsed = run_loopback(
            STEPS, records, sim, base_urls, cap_s=RUN_BOUND_S + 30,
            ledger=tmp_path / "ledger.sqlite", budget_credits=BUDGET,
        )  # fmt: skip
        assert elapsed <= RUN_BOUND_S
        assert_every_row_accounted(first, records)
        # within a run, an unreadable 2xx answer is never asked again
        assert sim.repeated_lookups() == 0, (
            f"{sim.repeated_lookups()} billed lookups answered with {body} were paid again"
        )
        unreadable = int(px["rewritten"])  # type: ignore[call-overload]
        assert unreadable > 0
        _run_twice(sim, base_urls, records, tmp_path)
    # a resume asks again only the lookups whose answer could not be read (held at worst
    # case, so the budget still holds): at most one repeat per unreadable answer
    assert sim.repeated_lookups() <= unreadable


@pytest.mark.parametrize("retry_after", [0.0, 1e9, -5.0], ids=["0", "1e9", "negative"])
def test_always_429(retry_after: float, tmp_path: Path) -> None:
    faults = FaultConfig(rate=1.0, kinds=("429",), retry_after_s=retry_after)
    sim = simulate(attack_world(), faults=faults)
    records = world_records(ROWS, seed=33)
    with sim.serve() as srv:
        results = _run_twice(sim, srv.base_urls, records, tmp_path, steps=("apollo",))
    assert billed_total(sim) == 0
    out = results[-1].records
    assert "enriched" not in out["status"].to_list()
    for name in ("apollo",):
        assert name in results[0].totals["disabled"], f"{name} was never stopped"


def test_a_hanging_provider_falls_through(tmp_path: Path) -> None:
    faults = FaultConfig(rate=1.0, kinds=("hang",), providers=("hunter",))
    sim = simulate(attack_world(), faults=faults)
    records = world_records(ROWS, seed=34)
    with sim.serve() as srv:
        results = _run_twice(sim, srv.base_urls, records, tmp_path, steps=("hunter", "apollo"))
    assert "hunter" in results[0].totals["disabled"]
    assert sim.requests().get("apollo", 0) >= ROWS // 2  # the rows fell through
    assert sim.repeated_lookups() == 0


@pytest.mark.parametrize("status", [401, 402])
def test_a_key_revoked_or_credits_gone_mid_run(status: int, tmp_path: Path) -> None:
    sim = simulate(attack_world())
    records = world_records(ROWS, seed=35)
    with (
        sim.serve() as srv,
        _proxy.rewriting_proxy(_origin(srv.base_urls), cut_after=(15, status)) as px,
    ):
        base_urls = _proxy.proxied_base_urls(srv.base_urls, str(px["base"]))
        results = _run_twice(sim, base_urls, records, tmp_path)
    disabled = results[0].totals["disabled"]
    assert disabled, f"no provider was stopped after HTTP {status}"
    assert sim.repeated_lookups() == 0
    # an answer of "stop" is never retried: each stopped provider saw one such answer per
    # call in flight, not a retry budget per row
    assert int(px["requests"]) <= 15 + 3 * 16 * 2  # type: ignore[call-overload]


def test_credits_run_out_at_the_provider(tmp_path: Path) -> None:
    """The provider's own allowance ends mid-run: its 402 stops it, rows fall through."""
    sim = simulate(attack_world(), allowance={"hunter": 8})
    records = world_records(ROWS, seed=36)
    with sim.serve() as srv:
        results = _run_twice(sim, srv.base_urls, records, tmp_path)
    assert "hunter" in results[0].totals["disabled"]
    assert sim.billed().get("hunter", 0) <= 8
    assert sim.repeated_lookups() == 0


def test_a_run_that_ends_with_unknown_outcomes_is_continued_by_its_rerun(tmp_path: Path) -> None:
    """A run can end every row and still hold paid calls whose answer it could not read (here: a
    third of billed 200s are garbage). Its rerun asks those lookups again, and the provider may
    have billed the first ask, so the rerun continues the run's chain and budget: with a budget
    equal to what the first run committed, the rerun can afford nothing more. A fresh budget on
    the rerun is how 10% garbage under load once billed 47 credits against 45."""
    sim = simulate(attack_world())
    records = world_records(ROWS, seed=36)
    ledger = tmp_path / "ledger.sqlite"
    with (
        sim.serve() as srv,
        _proxy.rewriting_proxy(
            _origin(srv.base_urls), _proxy.every(0.3, _proxy.noise, seed=5)
        ) as px,
    ):
        base_urls = _proxy.proxied_base_urls(srv.base_urls, str(px["base"]))
        first, _ = run_loopback(
            STEPS, records, sim, base_urls, cap_s=RUN_BOUND_S + 30, ledger=ledger
        )
        held = first.totals["credits_held"]
        assert held > 0, "no billed answer was unreadable: the attack did not happen"
        committed = first.totals["credits"] + held
        billed_first = billed_total(sim)
        again, _ = run_loopback(
            STEPS, records, sim, base_urls, cap_s=RUN_BOUND_S + 30, ledger=ledger,
            budget_credits=committed,
        )  # fmt: skip
    assert again.totals["chain_id"] == first.totals["chain_id"]
    assert_every_row_accounted(again, records)
    assert billed_total(sim) == billed_first, (
        f"the rerun billed {billed_total(sim) - billed_first:g} more credits on a budget the "
        f"first run had already committed ({committed:g})"
    )
