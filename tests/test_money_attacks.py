"""The money attacks of issue 8: each one an ordinary situation in which a careful client must
still keep its promise — a budget is never exceeded, a paid lookup is never paid twice, every
row comes back with its reason — measured by an independent meter (the simulated provider's
own billing counter, ``gtmkit.sandbox.simulate``, or a counting proxy), never by the engine's
own books.

Only the public API and the engine's contract (``gtmkit/waterfall/README.md``) are used.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from gtmkit.errors import GtmkitError
from gtmkit.sandbox import FaultConfig, simulate
from gtmkit.sandbox.simulation import adapter_options
from tests._attack_helpers import (
    FAST_RETRY,
    ROOT,
    ChildRun,
    CountingTransport,
    attack_world,
    billed_total,
    finish,
    kill_when,
    run_bounded,
    run_full_disk_child,
    run_in_process,
    spawn,
    waterfall,
    world_records,
)

# -- 1. a resume keeps the run's budget --------------------------------------------------------

RESUME_BUDGET = 500.0
RESUME_KILLS = 10
#: Credits the provider must bill in a child before it is killed: 10 kills × 25 = 250, well
#: below the budget, so every kill lands mid-run even when the budget carries over resumes and
#: a loaded machine delivers a kill late (each kill lets more credits through than asked).
BILLED_BEFORE_KILL = 25.0


def test_resumes_keep_the_budget_of_the_run(tmp_path: Path) -> None:
    records = world_records(700, seed=11)
    records_path = tmp_path / "records.parquet"
    records.write_parquet(records_path)
    sim = simulate(attack_world())
    ledger = str(tmp_path / "ledger.sqlite")
    kills = 0
    with sim.serve() as srv:
        for trial in range(RESUME_KILLS):
            run = ChildRun(
                ledger=ledger,
                records=str(records_path),
                base_urls=srv.base_urls,
                out=str(tmp_path / f"out{trial}.json"),
                options={"budget_credits": RESUME_BUDGET},
            )
            child = spawn(run.write(tmp_path / f"run{trial}.json"))
            start = billed_total(sim)
            if kill_when(
                child, lambda start=start: billed_total(sim) >= start + BILLED_BEFORE_KILL
            ):
                kills += 1
        last = ChildRun(
            ledger=ledger,
            records=str(records_path),
            base_urls=srv.base_urls,
            out=str(tmp_path / "last.json"),
            options={"budget_credits": RESUME_BUDGET},
        )
        finish(spawn(last.write(tmp_path / "last_run.json")))
    assert kills == RESUME_KILLS  # every kill landed mid-run
    billed = billed_total(sim)
    assert billed <= RESUME_BUDGET, (
        f"the provider billed {billed:g} credits over {kills} kills and resumes of one run "
        f"with a {RESUME_BUDGET:g}-credit budget"
    )


# -- 2. Dropcontact under transient poll faults ------------------------------------------------

POLL_FAULTS = ("5xx", "reset", "malformed", "timeout")


@pytest.mark.parametrize("kind", POLL_FAULTS)
def test_dropcontact_poll_faults_never_pay_a_lookup_twice(kind: str) -> None:
    budget = 30.0
    # half of the polls fail; the submits (which bill) never do
    faults = FaultConfig(
        rate=0.5, kinds=(kind,), providers=("dropcontact",), paths=("/enrich/all/",), seed=4
    )
    sim = simulate(attack_world(), faults=faults)
    result = run_in_process(
        waterfall(["dropcontact"], None), world_records(150), sim, budget_credits=budget
    )
    assert sim.injected_faults.get(kind, 0) > 0
    billed = billed_total(sim)
    assert billed <= budget, f"billed {billed:g} credits against a {budget:g} budget"
    assert sim.repeated_lookups() == 0, "a paid Dropcontact lookup was submitted and paid again"
    assert result.records.height == 150


# -- 3. a billed answer arriving after the client's timeout ------------------------------------


def test_a_late_billed_answer_counts_against_the_budget() -> None:
    budget = 50.0
    sim = simulate(attack_world(), faults=FaultConfig(rate=0.3, kinds=("late",), seed=5))
    run_in_process(
        waterfall(["hunter", "apollo"], None), world_records(200), sim, budget_credits=budget
    )
    assert sim.injected_faults.get("late", 0) > 0
    billed = billed_total(sim)
    assert billed <= budget, f"billed {billed:g} credits against a {budget:g} budget"


# -- 4. a provider charging more than it declares ----------------------------------------------

PDL_CHARGE = 5.0  # what the simulated PDL bills per match; its adapter declares 1
PDL_DECLARED = 1.0
#: At most one call's excess over the budget: the call that revealed the over-charge.
OVERCHARGE_SLACK = PDL_CHARGE - PDL_DECLARED


def test_a_provider_charging_more_than_declared_is_stopped_within_the_budget() -> None:
    budget = 20.0
    # with some latency, calls overlap as they do against the real API
    sim = simulate(attack_world(), charge_credits={"pdl": PDL_CHARGE}, latency_scale=0.05)
    result = run_in_process(
        waterfall(["pdl", "hunter"], None), world_records(150), sim, budget_credits=budget
    )
    billed = billed_total(sim)
    assert billed <= budget + OVERCHARGE_SLACK, (
        f"billed {billed:g} credits ({sim.billed()}) against a {budget:g} budget"
    )
    disabled = result.totals["disabled"]
    assert "pdl" in disabled, f"PDL was not stopped for the run: {disabled}"
    assert "charged" in disabled["pdl"] and "declared" in disabled["pdl"], disabled["pdl"]


# -- 5. NaN, inf and bools are not numbers of credits ------------------------------------------

NAN, INF = math.nan, math.inf
BAD_RUN_OPTIONS = [
    ("budget_credits", NAN),
    ("budget_credits", INF),
    ("budget_credits", True),
    ("budget_usd", NAN),
    ("budget_usd", INF),
    ("budget_usd", True),
    ("per_row_cap_credits", NAN),
    ("per_row_cap_credits", INF),
    ("cache_ttl_days", NAN),
]


@pytest.mark.parametrize(
    "name, value", BAD_RUN_OPTIONS, ids=[f"{n}={v}" for n, v in BAD_RUN_OPTIONS]
)
def test_a_non_finite_or_boolean_option_is_refused_before_any_call(
    name: str, value: object, tmp_path: Path
) -> None:
    sim = simulate(attack_world())
    with pytest.raises(GtmkitError) as raised:
        run_in_process(
            waterfall(["hunter"], None),
            world_records(20),
            sim,
            ledger=tmp_path / "ledger.sqlite",
            **{name: value},
        )
    assert name in str(raised.value)
    assert sim.requests() == {}, "calls were made before the option was refused"
    from gtmkit.waterfall import RunOptionsError  # the contract's error (added by the rebuild)

    assert isinstance(raised.value, RunOptionsError)


@pytest.mark.parametrize("price", [NAN, INF, True], ids=["nan", "inf", "True"])
def test_a_non_finite_or_boolean_price_is_refused_before_any_call(price: object) -> None:
    sim = simulate(attack_world())
    with pytest.raises(GtmkitError) as raised:
        wf = waterfall(["hunter"], None)
        wf = type(wf)(wf.steps, prices={"hunter": price})
        run_in_process(wf, world_records(20), sim)
    assert "hunter" in str(raised.value) and "price" in str(raised.value)
    assert sim.requests() == {}


def test_the_demo_refuses_a_nan_budget(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "gtmkit.demo", "--budget", "nan", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode != 0, "python -m gtmkit.demo --budget nan ran (and spent)"
    assert "budget" in done.stderr.lower()
    assert not (out / "figures.json").exists()
    assert not (out / "waterfall.attempts.csv").exists()  # nothing was looked up


# -- 6. two processes on one ledger pay for a lookup once --------------------------------------

SHARED_ROWS = 300
SHARED_IN_FLIGHT = 4  # max_in_flight of each process, per provider
#: Lookups both processes may pay for: the calls one process can have in flight (four
#: providers × its in-flight cap) — with the lookup claimed in the ledger before its call,
#: the other process waits for the claim's answer instead of paying again.
SHARED_TOLERANCE = SHARED_IN_FLIGHT * 4


def test_two_processes_on_one_ledger_pay_for_a_lookup_once(tmp_path: Path) -> None:
    records = world_records(SHARED_ROWS, seed=21)
    records_path = tmp_path / "records.parquet"
    records.write_parquet(records_path)
    options = {"max_in_flight": SHARED_IN_FLIGHT}
    reference = simulate(attack_world())  # one process alone, on a fresh ledger
    run_in_process(waterfall(), records, reference, ledger=tmp_path / "alone.sqlite", **options)
    alone = billed_total(reference)
    sim = simulate(attack_world(), latency_ms=20)  # some latency: the two runs overlap
    go = tmp_path / "go"
    with sim.serve() as srv:
        children = [
            spawn(
                ChildRun(
                    ledger=str(tmp_path / "shared.sqlite"),
                    records=str(records_path),
                    base_urls=srv.base_urls,
                    out=str(tmp_path / f"out{i}.json"),
                    options=options,
                    go_file=str(go),
                ).write(tmp_path / f"run{i}.json")
            )
            for i in range(2)
        ]
        go.touch()  # both start together
        for child in children:
            finish(child)
    together = billed_total(sim)
    assert together <= alone + SHARED_TOLERANCE, (
        f"two processes billed {together:g} credits for a list one process pays {alone:g} for"
    )
    assert sim.repeated_lookups() <= SHARED_TOLERANCE, (
        f"{sim.repeated_lookups()} lookups paid twice"
    )


# -- 7. one oversize field fails its row, not the run ------------------------------------------

OVERSIZE = "x" * 70_000  # 70 KB: more than any URL can carry


def test_an_oversize_field_fails_only_its_row_with_a_reason(tmp_path: Path) -> None:
    records = world_records(60, seed=7)
    bad_row = int(records["row_id"][17])
    records = records.with_columns(
        pl.when(pl.col("row_id") == bad_row)
        .then(pl.lit(OVERSIZE))
        .otherwise(pl.col("first_name"))
        .alias("first_name")
    )
    sim = simulate(attack_world())
    ledger = tmp_path / "ledger.sqlite"
    wf = waterfall(["hunter", "apollo", "pdl"], None)
    for _ in range(2):  # the run, then a rerun on the same ledger: the same outcome
        result = run_in_process(wf, records, sim, ledger=ledger)
        out = result.records
        assert out.height == records.height
        bad = out.filter(pl.col("row_id") == bad_row)
        assert bad["status"].to_list() == ["failed"]
        reason = bad["status_reason"][0] or ""
        assert "first_name" in reason, f"the reason does not name the input: {reason!r}"
        others = out.filter(pl.col("row_id") != bad_row)
        assert "failed" not in others["status"].to_list()
        assert (others["attempts"] > 0).all(), "rows after the oversize one were not processed"


# -- 8. a row's status follows its email -------------------------------------------------------


def test_no_row_is_failed_when_a_later_step_found_its_email() -> None:
    # the first step fails on every call; the later steps find emails for many of the rows
    sim = simulate(
        attack_world(), faults=FaultConfig(rate=1.0, kinds=("5xx",), providers=("hunter",))
    )
    result = run_in_process(waterfall(["hunter", "apollo", "pdl"], None), world_records(80), sim)
    out = result.records
    with_email = out.filter(pl.col("email").is_not_null())
    assert with_email.height > 20  # the later steps did find emails
    failed_with_email = with_email.filter(pl.col("status") == "failed")
    assert failed_with_email.height == 0, (
        f"{failed_with_email.height} of {with_email.height} rows with an email are 'failed'"
    )
    assert (with_email["status"] == "enriched").all()


# -- 9. a dead provider costs seconds, not hours -----------------------------------------------

DEAD_ROWS = 60
CLIENT_TIMEOUT_S = 1.0
#: The design: a provider that is down, refusing or hanging opens its breaker within seconds
#: (consecutive failures, a failure-rate window, a stall) — a few client timeouts, whatever the
#: list's length. A run then takes that window plus what the healthy steps take.
BREAKER_OPENS_WITHIN_S = 5.0
#: Calls a dead provider may receive before its breaker is open: a few waves of its in-flight
#: cap (16 at most for the simulated providers), never a retry budget per row.
DEAD_PROVIDER_MAX_CALLS = 64
HEALTHY = ("apollo", "pdl")


def _dead_run(dead: str, faults: FaultConfig, **options):
    """The waterfall ``dead`` → ``HEALTHY`` with ``dead`` faulted, and the same list through
    the healthy steps alone (the reference time). Returns (result, sim, elapsed, bound)."""
    records = world_records(DEAD_ROWS, seed=9)
    healthy = [name for name in ("hunter", *HEALTHY) if name != dead][:2]
    reference_sim = simulate(attack_world())
    started = time.perf_counter()
    run_in_process(waterfall(healthy, None), records, reference_sim)
    healthy_s = time.perf_counter() - started
    bound = BREAKER_OPENS_WITHIN_S + 2 * healthy_s + 1.0
    sim = simulate(attack_world(), faults=faults)
    options.setdefault("connect_options", {"timeout": CLIENT_TIMEOUT_S})
    result, elapsed = asyncio.run(
        run_bounded(
            waterfall([dead, *healthy], None), records, sim, cap_s=2 * bound + 10, **options
        )
    )
    return result, sim, elapsed, bound, healthy


DEAD_PROVIDERS = {
    "hanging": ("hunter", FaultConfig(rate=1.0, kinds=("hang",), providers=("hunter",))),
    "429 with Retry-After 0": (
        "apollo",
        FaultConfig(rate=1.0, kinds=("429",), providers=("apollo",), retry_after_s=0),
    ),
    "refusing connections": (
        "hunter",
        FaultConfig(rate=1.0, kinds=("refuse",), providers=("hunter",)),
    ),
}


@pytest.mark.parametrize("how", sorted(DEAD_PROVIDERS))
def test_a_dead_provider_opens_its_breaker_and_rows_fall_through(how: str) -> None:
    dead, faults = DEAD_PROVIDERS[how]
    result, sim, elapsed, bound, healthy = _dead_run(dead, faults)
    assert elapsed <= bound, f"{how}: {DEAD_ROWS} rows took {elapsed:.1f} s (bound {bound:.1f} s)"
    assert dead in result.totals["disabled"], f"{how}: {dead} was not stopped for the run"
    calls = sim.requests().get(dead, 0)
    assert calls <= DEAD_PROVIDER_MAX_CALLS, f"{how}: {dead} received {calls} calls"
    # every row fell through to the next step (distinct people: one request each at least)
    assert sim.requests().get(healthy[0], 0) >= DEAD_ROWS
    assert result.records.height == DEAD_ROWS


def test_429_on_every_first_try_does_not_spiral_the_pace_down() -> None:
    faults = FaultConfig(rate=1.0, kinds=("429",), providers=("apollo",), first_tries=True)
    result, _, elapsed, bound, _ = _dead_run("apollo", faults)
    assert elapsed <= bound, f"{DEAD_ROWS} rows took {elapsed:.1f} s (bound {bound:.1f} s)"
    assert result.records.height == DEAD_ROWS


DEADLINE_S = 3.0
#: How late after ``deadline_s`` a run may end: in-flight calls are abandoned, not awaited.
DEADLINE_GRACE_S = 2.0


def test_deadline_bounds_a_run_and_keeps_every_row() -> None:
    # a hanging first step and the default 30 s client timeout: only the deadline helps
    faults = FaultConfig(rate=1.0, kinds=("hang",), providers=("hunter",))
    sim = simulate(attack_world(), faults=faults)
    records = world_records(DEAD_ROWS, seed=9)
    result, elapsed = asyncio.run(
        run_bounded(
            waterfall(["hunter", "apollo"], None),
            records,
            sim,
            cap_s=60,
            deadline_s=DEADLINE_S,
        )
    )
    assert elapsed <= DEADLINE_S + DEADLINE_GRACE_S, f"the run took {elapsed:.1f} s"
    out = result.records
    assert sorted(out["row_id"].to_list()) == sorted(records["row_id"].to_list())
    assert "stopped" in out["status"].to_list()


PLAN_LIMIT_PER_S = 20.0  # the plan's limit, below what the adapter would pace at unlimited
PLAN_ROWS = 200
#: Refused calls allowed once the limit the provider's headers announce has been seen.
MAX_REFUSED_SHARE = 0.01


def test_a_plan_limit_below_the_default_is_learned_from_the_headers() -> None:
    sim = simulate(attack_world(), rate_limits={"apollo": PLAN_LIMIT_PER_S})
    result, _ = asyncio.run(
        run_bounded(waterfall(["apollo"], None), world_records(PLAN_ROWS, seed=12), sim, cap_s=120)
    )
    calls = sim.requests()["apollo"]
    refused = sim.refused().get("apollo", 0)
    assert calls >= PLAN_ROWS
    assert refused < MAX_REFUSED_SHARE * calls, f"{refused} of {calls} calls were refused"
    assert result.records.height == PLAN_ROWS


#: Learning a limit from refusals takes a few of them: enough rows that 1% is more than that.
UNANNOUNCED_LIMIT_PER_S, UNANNOUNCED_ROWS = 50.0, 500


def test_a_plan_limit_no_header_announces_is_learned_from_the_refusals() -> None:
    # Hunter announces no limit: it answers 403 when its plan's rate is exceeded
    sim = simulate(attack_world(), rate_limits={"hunter": UNANNOUNCED_LIMIT_PER_S})
    records = world_records(UNANNOUNCED_ROWS, seed=14)
    result, _ = asyncio.run(run_bounded(waterfall(["hunter"], None), records, sim, cap_s=120))
    calls = sim.requests()["hunter"]
    refused = sim.refused().get("hunter", 0)
    assert calls >= UNANNOUNCED_ROWS
    assert refused < MAX_REFUSED_SHARE * calls, f"{refused} of {calls} calls were refused"
    assert result.records.height == UNANNOUNCED_ROWS
    assert result.totals["limits"]["hunter"]["final_per_second"] < UNANNOUNCED_LIMIT_PER_S


QUOTA_STEPS = ["apollo", "hunter", "pdl", "prospeo", "dropcontact"]
QUOTA_ROWS = 40


def _quota_run(provider: str, faults: FaultConfig):
    sim = simulate(attack_world(), faults=faults)
    proxy = CountingTransport(sim.transport)
    result, _ = asyncio.run(
        run_bounded(
            waterfall([provider], None),
            world_records(QUOTA_ROWS, seed=13),
            sim,
            cap_s=30,
            connect_options={"transport": proxy},
        )
    )
    asked = Counter((r.method, str(r.url), r.content) for r in proxy.sent)
    assert asked, "nothing was asked"
    repeated = {k[1]: n for k, n in asked.items() if n > 1}
    assert not repeated, f"{provider}: a quota answer was retried: {repeated}"
    assert provider in result.totals["disabled"], f"{provider} was not stopped for the run"
    return result


@pytest.mark.parametrize("provider", QUOTA_STEPS)
def test_an_out_of_credits_answer_is_never_retried(provider: str) -> None:
    _quota_run(provider, FaultConfig(rate=1.0, kinds=("402",), providers=(provider,)))


def test_an_apollo_daily_quota_429_is_never_retried_and_stops_apollo() -> None:
    # Apollo answers an exhausted day window with a 429 whose Retry-After is beyond the run
    _quota_run(
        "apollo",
        FaultConfig(rate=1.0, kinds=("429",), providers=("apollo",), retry_after_s=1e9),
    )


# -- 10. keys with stray bytes never leak and a bad key is refused before any call -------------

KEY_CORE = "TOPSECRET7781"  # a distinctive part every spelling of the key carries
KEY_PROVIDERS = ["apollo", "hunter", "hunter_verifier", "pdl", "prospeo", "dropcontact"]
#: Keys as secrets made from files come: usable once stripped.
USABLE_KEYS = {
    "trailing LF": f"sk-{KEY_CORE}\n",
    "trailing CRLF": f"sk-{KEY_CORE}\r\n",
    "trailing CR": f"sk-{KEY_CORE}\r",
    "quotes, backslash, LF": f'sk-"{KEY_CORE}\\x"\n',
}
#: Keys no provider can be sent: a clear error before any call.
BAD_KEYS = {
    "inner LF (header injection)": f"sk-{KEY_CORE}\nX-Injected: 1",
    "inner CR": f"sk-{KEY_CORE}\rmore",
    "blank": " \n",
}


def _key_test_person() -> dict[str, object]:
    """A person of the simulated world, with the email a verifier is asked about."""
    person = world_records(1, seed=5).row(0, named=True)
    email = f"{person['first_name']}.{person['last_name']}@{person['company_domain']}".lower()
    return {**person, "email": email}


def _env_var(name: str) -> str:
    from gtmkit.providers import provider_class

    var = provider_class(name).env_var
    assert var
    return var


def _leaks(texts: list[str]) -> list[str]:
    return [text[:200] for text in texts if KEY_CORE in text]


def _log_texts(caplog: pytest.LogCaptureFixture) -> list[str]:
    out = []
    for record in caplog.records:
        out.append(record.getMessage())
        out.append(repr(record.args))
        if record.exc_info:
            import traceback

            out.append("".join(traceback.format_exception(*record.exc_info)))
    return out


#: The simulation answers in simulated time: live adapters need not wait real seconds for it
#: (Dropcontact's polling, Hunter's pending verifications).
SIMULATED_WAITS = adapter_options()


@pytest.fixture(scope="module")
def loopback_base_urls():
    """One loopback simulation for the key tests (what it bills does not matter there)."""
    with simulate(attack_world()).serve() as srv:
        yield srv.base_urls


@pytest.mark.parametrize("variant", sorted(USABLE_KEYS))
@pytest.mark.parametrize("provider", KEY_PROVIDERS)
def test_a_key_with_stray_bytes_is_stripped_and_never_leaks(
    provider: str,
    variant: str,
    loopback_base_urls: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import httpx

    from gtmkit.providers import connect

    key = USABLE_KEYS[variant]
    monkeypatch.setenv(_env_var(provider), key)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    proxy = CountingTransport(httpx.AsyncHTTPTransport())
    person = _key_test_person()

    async def lookup():
        conn = connect(
            [provider],
            mode="live",
            base_urls=loopback_base_urls,
            transport=proxy,
            options=SIMULATED_WAITS,
            env_file=None,
        )
        async with conn:
            finding = await conn[provider].lookup(person)
            texts.extend([repr(conn), repr(conn[provider]), str(finding), repr(finding)])
            if finding.error is not None:
                texts.extend([str(finding.error), repr(finding.error)])
            return finding

    finding = asyncio.run(lookup())
    # a run too: its ledger, frames and logs are searched as well (a fresh proxy: the lookup's
    # connection closed the first one with its client)
    run_proxy = CountingTransport(httpx.AsyncHTTPTransport())
    steps = ["hunter"] if provider == "hunter_verifier" else [provider]
    verify = provider if provider == "hunter_verifier" else None
    result = waterfall(steps, verify).run(
        pl.DataFrame([{**person, "email": None, "row_id": 0}]),
        mode="live",
        ledger=tmp_path / "ledger.sqlite",
        progress=False,
        retry=FAST_RETRY,
        connect_options={
            "base_urls": loopback_base_urls,
            "transport": run_proxy,
            "options": SIMULATED_WAITS,
            "env_file": None,
        },
    )
    texts.extend(_log_texts(caplog))
    for frame in (result.records, result.attempts, result.summary):
        texts.append(frame.write_csv())
    texts.append(repr(result.totals))
    for path in tmp_path.glob("ledger.sqlite*"):
        texts.append(path.read_bytes().decode("latin-1"))
    assert not _leaks(texts), f"{provider}: the key ({variant}) leaked: {_leaks(texts)[:3]}"
    # the key was sent stripped, not mangled, and the lookup worked
    stripped = key.strip()
    sent = [dict(r.headers) for r in (*proxy.sent, *run_proxy.sent)]
    assert sent and all(stripped in headers.values() for headers in sent), provider
    assert finding.error is None, f"{provider}: {finding.error!r}"


@pytest.mark.parametrize("variant", sorted(BAD_KEYS))
@pytest.mark.parametrize("provider", KEY_PROVIDERS)
def test_a_bad_key_is_a_clear_error_before_any_call(
    provider: str, variant: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    from gtmkit.providers import connect

    monkeypatch.setenv(_env_var(provider), BAD_KEYS[variant])
    caplog.set_level(logging.DEBUG)
    proxy = CountingTransport(httpx.MockTransport(lambda request: httpx.Response(500)))
    texts: list[str] = []

    async def attempt() -> None:
        async with connect([provider], mode="live", transport=proxy, env_file=None) as conn:
            finding = await conn[provider].lookup(_key_test_person())
            texts.extend([str(finding), repr(finding), repr(finding.error)])

    with pytest.raises(GtmkitError) as raised:
        asyncio.run(attempt())
    message = str(raised.value)
    assert _env_var(provider) in message, f"the error does not say which key: {message!r}"
    texts.extend([message, repr(raised.value), *_log_texts(caplog)])
    assert not _leaks(texts), _leaks(texts)[:3]
    assert proxy.requests == {}, f"{provider}: a bad key was sent {proxy.requests}"


# -- 11. a ledger that cannot work is a clear error before any money is spent ------------------


def _ledger_error_says_what_to_do(message: str, path: Path | str) -> None:
    assert "ledger" in message.lower(), message
    assert str(path) in message, f"the error does not name the ledger: {message!r}"
    # not bare sqlite text
    assert not message.startswith(("cannot ", "database ", "disk I/O", "unable to open")), message


@pytest.mark.parametrize("existing", [False, True], ids=["new ledger", "existing ledger"])
def test_a_full_disk_is_a_clear_error_before_any_call(existing: bool, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    if existing:
        run_in_process(
            waterfall(["hunter"], None),
            world_records(5, seed=2),
            simulate(attack_world()),
            ledger=ledger,
        )
    report = run_full_disk_child(ledger, tmp_path / "report.json")
    assert report["gtmkit_error"], f"{report['raised']}: {report['message']}"
    _ledger_error_says_what_to_do(report["message"], ledger)
    assert any(word in report["message"].lower() for word in ("disk", "space", "full")), report
    assert report["requests"] == {}, "calls were made although nothing could be recorded"


def test_a_dev_null_ledger_is_refused_before_any_call() -> None:
    devices = Path("/dev")
    before = {p.name for p in devices.iterdir() if p.name.startswith("null")}
    sim = simulate(attack_world())
    try:
        with pytest.raises(GtmkitError) as raised:
            run_in_process(waterfall(["hunter"], None), world_records(5), sim, ledger="/dev/null")
        _ledger_error_says_what_to_do(str(raised.value), "/dev/null")
        assert sim.requests() == {}
    finally:
        created = {p.name for p in devices.iterdir() if p.name.startswith("null")} - before
        for name in created:  # a journal SQLite put next to /dev/null (as root): clean it up
            (devices / name).unlink()
    assert not created, f"opening the ledger created {sorted(created)} in /dev"


FUTURE_SCHEMA_VERSION = 999_999


def test_a_ledger_from_a_future_schema_version_is_refused(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    run_in_process(
        waterfall(["hunter"], None),
        world_records(5, seed=2),
        simulate(attack_world()),
        ledger=ledger,
    )
    with sqlite3.connect(ledger) as db:  # as a newer gtmkit would have left it
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        if "meta" in tables:
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'schema_version'",
                (str(FUTURE_SCHEMA_VERSION),),
            )
        db.execute(f"PRAGMA user_version = {FUTURE_SCHEMA_VERSION}")
    sim = simulate(attack_world())
    with pytest.raises(GtmkitError) as raised:
        run_in_process(waterfall(["hunter"], None), world_records(5, seed=3), sim, ledger=ledger)
    message = str(raised.value)
    _ledger_error_says_what_to_do(message, ledger)
    assert "version" in message.lower() and str(FUTURE_SCHEMA_VERSION) in message, message
    assert sim.requests() == {}


def test_a_duplicate_of_cycle_is_refused_before_any_call() -> None:
    records = world_records(10, seed=4).with_columns(pl.lit(None, pl.Int64).alias("duplicate_of"))
    first, second = records["row_id"][3], records["row_id"][6]
    records = records.with_columns(
        pl.when(pl.col("row_id") == first)
        .then(pl.lit(second))
        .when(pl.col("row_id") == second)
        .then(pl.lit(first))
        .otherwise(pl.col("duplicate_of"))
        .alias("duplicate_of")
    )
    sim = simulate(attack_world())
    with pytest.raises(GtmkitError) as raised:
        run_in_process(waterfall(["hunter"], None), records, sim)
    message = str(raised.value)
    assert "duplicate_of" in message and str(first) in message and str(second) in message, message
    assert sim.requests() == {}
