"""The SQLite ledger: shared by two processes, resume bookkeeping and budget chain, cache TTL,
schema version and migration."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from gtmkit.providers.base import Throttle
from gtmkit.waterfall import Ledger, LedgerError, Step, Waterfall
from gtmkit.waterfall.attempt import ATTEMPT_COLUMNS, INSERT_ATTEMPT, Attempt
from gtmkit.waterfall.ledger import write_transaction
from gtmkit.waterfall.limits import ProviderLimiter

ROOT = Path(__file__).resolve().parents[1]


def test_two_processes_sharing_one_ledger_do_not_corrupt_it(tmp_path):
    ledger = tmp_path / "shared.sqlite"
    children = []
    for seed in (1, 2):
        out = tmp_path / f"child{seed}.json"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from tests._waterfall_helpers import shared_ledger_child_main; "
                "shared_ledger_child_main(sys.argv[1:])",
                str(ledger),
                str(seed),
                "400",
                str(out),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        children.append((proc, out))
    (tmp_path / "shared.sqlite.go").touch()  # both children are up: start them together
    reports = []
    for proc, out in children:
        assert proc.wait(timeout=120) == 0
        reports.append(json.loads(out.read_text()))
    with Ledger(ledger) as led:
        assert led.integrity_check() == "ok"
        attempts = led.attempts()
        runs = led.runs()
        assert sorted(runs["status"].to_list()) == ["finished", "finished"]
        for report in reports:
            mine = attempts.filter(pl.col("run_id") == report["run_id"])
            assert mine.height == report["calls"]  # every call of each process is there
            assert (mine["state"] != "sent").all()  # and each has its result
            assert led.total_credits(report["run_id"]) == report["credits"]
        assert led.total_credits() == sum(r["credits"] for r in reports)
        # the runs really overlapped in time (otherwise this test proves little)
        starts = sorted(runs["started_at"].to_list())
        ends = sorted(runs["finished_at"].to_list())
        assert starts[1] < ends[0]


def _attempt(run_id: str, seq: int, **fields) -> Attempt:
    base = {"state": "sent", "row_id": 0, "lookup_key": "k", "step": 0, "provider": "alpha"}
    base |= {"endpoint": "e", "attempt": 1, "started_at": "2026-01-01T00:00:00.000+00:00"}
    return Attempt(run_id=run_id, seq=seq, **(base | fields))


def _write(led: Ledger, *attempts: Attempt) -> None:
    with led.lock, write_transaction(led.conn) as conn:
        conn.executemany(INSERT_ATTEMPT, [a.as_row() for a in attempts])


def test_begin_run_counts_calls_in_flight_of_an_interrupted_run(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger(path) as led:
        info = led.begin_run("fp", name="x", budget_credits=10)
        _write(
            led,
            _attempt(info.run_id, 1, worst_case=1.0, price_usd=0.5),
            _attempt(info.run_id, 2, worst_case=2.0, price_usd=0.5),
            _attempt(info.run_id, 3, state="done", credits=3.0, cost_usd=1.5, price_usd=0.5),
        )
    with Ledger(path) as led:
        # same host, pid still alive (this process): a live run is not resumed
        assert led.begin_run("fp").resumed_in_flight == 0
        led.conn.execute("UPDATE runs SET pid = 999999999 WHERE run_id = ?", (info.run_id,))
        resumed = led.begin_run("fp")
        assert (resumed.resumed_from, resumed.resumed_in_flight) == (info.run_id, 2)
        # the chain's budget goes on: 3 billed + the two lost calls held at their worst case
        assert resumed.chain_id == info.run_id
        assert (resumed.spent_credits, resumed.spent_usd) == (6.0, 3.0)
        again = led.begin_run("fp")
        assert again.resumed_in_flight == 0  # counted once
        assert again.spent_credits == 6.0
        states = led.attempts().sort("seq")["state"].to_list()
        assert states == ["lost", "lost", "done"]
        led.finish_run(again.run_id)
        fresh = led.begin_run("fp")  # the chain finished: a new run starts a new budget
        assert (fresh.chain_id, fresh.spent_credits) == (fresh.run_id, 0.0)


def test_the_engine_reads_the_cache_within_its_ttl_only(tmp_path):
    """The one cache reader, through the engine: a 10-day-old answer is used (free) under a
    30-day TTL and bought again under a 5-day one (the provider's own meter counts)."""
    from tests._waterfall_helpers import FakeService, make_providers, make_records

    records = make_records(1, seed=3)
    first, last, domain = records.row(0)[1:4]
    key = "|".join(str(v).lower() for v in (first, last, domain))
    ledger_path = tmp_path / "l.sqlite"
    with Ledger(ledger_path) as led, led.lock, write_transaction(led.conn) as conn:
        fields = '{"email": "x@co.example"}'
        conn.execute(
            "INSERT INTO cache VALUES (?, ?, ?, 'hit', ?, 'valid', 'ok', 0.9, 200, 1.0, ?, 'r')",
            ("alpha", "person/lookup", key, fields, time.time() - 10 * 86400),
        )

    async def run(ttl_days: float):
        svc = FakeService()
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            res = await Waterfall([Step("alpha")]).run_async(
                records, providers=make_providers(client, ["alpha"], verifier=False),
                ledger=ledger_path, progress=False, cache_ttl_days=ttl_days,
            )  # fmt: skip
        return res, svc

    cached, svc = asyncio.run(run(30))
    assert svc.calls["alpha"] == 0 and cached.totals["cached"] == 1
    assert cached.records["email"].to_list() == ["x@co.example"]
    expired, svc = asyncio.run(run(5))
    assert svc.calls["alpha"] == 1 and expired.totals["cached"] == 0


def test_limiter_adapts_to_rate_limits_and_headers():
    async def main():
        # a provider whose headers announced its limit: refusals are judged by the storm rule
        lim = ProviderLimiter(100.0, 4)
        lim.announced = 100.0
        now = time.monotonic()
        lim._recent.extend(now - 0.9 + i * 0.009 for i in range(100))  # 100 sends in 0.9 s...
        lim.on_rate_limited(1.0)
        lim.on_rate_limited(1.0)
        assert lim.per_second == 100.0  # ...and 2 refusals: sporadic, nothing changes
        lim._successes.extend([now] * 30)  # the provider answered only 30
        for _ in range(20):
            lim.on_rate_limited(1.0)  # 22 refusals: still under half the sends
        assert lim.per_second == 100.0
        for _ in range(30):
            lim.on_rate_limited(1.0)  # 52 refusals of 100 sends: a storm
        assert lim.per_second == pytest.approx(0.95 * 30 / 0.9, rel=0.01)  # 95% of accepted/s
        before = lim.per_second
        lim.on_success()
        assert before < lim.per_second < before * 1.01  # recovers gradually
        for _ in range(20000):
            lim.on_success()
        assert lim.per_second == 100.0  # back up to the configured ceiling, not above
        lim.observe(Throttle(remaining=0, reset_after_s=0.05))
        await lim.acquire()
        lim.release()
        assert lim.stats.waited_s > 0  # a spent quota pauses senders until its reset
        unpaced = ProviderLimiter(float("inf"), 4)
        unpaced.on_rate_limited(None)  # one refusal: stays unpaced
        assert unpaced.per_second == float("inf")
        # no header ever announced a limit: refusals that keep coming (5 of the last 100 sends)
        # cap the pace at 90% of what was accepted, and recovery never climbs past it
        silent = ProviderLimiter(float("inf"), 4)
        now = time.monotonic()
        silent._recent.extend(now - 0.9 + i * 0.009 for i in range(100))
        silent._successes.extend([now] * 30)
        silent.on_rate_limited(None)
        silent.on_rate_limited(None)
        assert silent.per_second == float("inf")  # two refusals: sporadic
        for _ in range(3):
            silent.on_rate_limited(None)
        assert silent.per_second == pytest.approx(0.9 * 30 / 1.0)
        for _ in range(20000):
            silent.on_success()
        assert silent.per_second == silent.ceiling == pytest.approx(27.0)

    import asyncio

    asyncio.run(main())


def test_a_result_overwrites_its_intent_in_place(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as led:
        info = led.begin_run("fp", name="x")
        intent = _attempt(info.run_id, 1, row_id=7, lookup_key="name=a|b;domain=acme.com")
        result = _attempt(
            info.run_id, 1, state="done", row_id=7, lookup_key="name=a|b;domain=acme.com",
            outcome="hit", http_status=200, latency_s=0.01, credits=1.0, cost_usd=0.1,
            billed=True, email="a@acme.com", email_status="valid", provider_status="ok",
            confidence=0.9, fields_json='{"email": "a@acme.com"}',
        )  # fmt: skip
        alone = _attempt(info.run_id, 2, state="done", row_id=8, lookup_key="k2", outcome="miss")
        _write(led, intent)
        _write(led, result, alone)  # the second call's result has no intent (local step)
        rows = led.attempts(info.run_id)
        assert rows.height == 2
        assert rows.row(0) == result.as_row() and rows.row(1) == alone.as_row()
        assert led.total_credits(info.run_id) == 1.0
        # the lookup index still finds the call by its identity
        found = led.conn.execute(
            "SELECT state FROM attempts INDEXED BY attempts_lookup "
            "WHERE provider = 'alpha' AND endpoint = 'e' AND lookup_key = ?",
            ("name=a|b;domain=acme.com",),
        ).fetchall()
        assert found == [("done",)]
        assert led.integrity_check() == "ok"


def test_the_ledger_table_is_the_attempt_layout_new_or_migrated(tmp_path):
    """The table SQLite really has (fresh, and migrated from a version-1 ledger) holds every
    ``Attempt`` field, and an attempt reads back exactly as written."""
    import sqlite3

    fresh = tmp_path / "new.sqlite"
    with Ledger(fresh) as led:
        columns = [r[1] for r in led.conn.execute("PRAGMA table_info(attempts)")]
        assert columns == list(ATTEMPT_COLUMNS)
    old = tmp_path / "v1.sqlite"
    conn = sqlite3.connect(old)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.execute(
        "INSERT INTO attempts (run_id, seq, state, lookup_key, step, provider, endpoint, "
        "attempt, started_at, credits, billed, cost_usd) "
        "VALUES ('r', 1, 'done', 'k', 0, 'alpha', 'e', 1, 't', 2.0, 1, 0.2)"
    )
    conn.execute(
        "INSERT INTO runs (run_id, fingerprint, host, pid, started_at, status) "
        "VALUES ('r', 'fp', 'h', 1, 't', 'finished')"
    )
    conn.commit()
    conn.close()
    with Ledger(old) as led:
        columns = {r[1] for r in led.conn.execute("PRAGMA table_info(attempts)")}
        assert columns == set(ATTEMPT_COLUMNS)
        migrated = led.attempts().row(0, named=True)
        assert (migrated["credits"], migrated["price_usd"], migrated["credits_held"]) == (
            2.0,
            pytest.approx(0.1),
            0.0,
        )
        assert led.runs()["chain_id"].to_list() == ["r"]
        info = led.begin_run("fp2")
        full = _attempt(info.run_id, 1, worst_case=2.0, credits_held=2.0, price_usd=0.3)
        _write(led, full)
        assert led.attempts(info.run_id).row(0) == full.as_row()


def test_a_ledger_from_a_newer_gtmkit_is_refused(tmp_path):
    path = tmp_path / "future.sqlite"
    with Ledger(path) as led:
        led.conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(LedgerError, match="newer gtmkit"):
        Ledger(path)


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, name TEXT,
    host TEXT NOT NULL, pid INTEGER NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
    status TEXT NOT NULL, resumed_from TEXT, resumed_in_flight INTEGER NOT NULL DEFAULT 0);
CREATE TABLE attempts (run_id TEXT NOT NULL, seq INTEGER NOT NULL, state TEXT NOT NULL,
    row_id INTEGER, lookup_key TEXT NOT NULL, step INTEGER NOT NULL, provider TEXT NOT NULL,
    endpoint TEXT NOT NULL, attempt INTEGER NOT NULL, started_at TEXT NOT NULL, outcome TEXT,
    error_kind TEXT, http_status INTEGER, latency_s REAL, credits REAL NOT NULL DEFAULT 0,
    billed INTEGER NOT NULL DEFAULT 0, cost_usd REAL NOT NULL DEFAULT 0,
    cached INTEGER NOT NULL DEFAULT 0, email TEXT, email_status TEXT, provider_status TEXT,
    confidence REAL, fields_json TEXT, PRIMARY KEY (run_id, seq));
CREATE TABLE cache (provider TEXT NOT NULL, endpoint TEXT NOT NULL, lookup_key TEXT NOT NULL,
    outcome TEXT NOT NULL, fields_json TEXT NOT NULL, email_status TEXT, provider_status TEXT,
    confidence REAL, http_status INTEGER, credits REAL NOT NULL, fetched_at REAL NOT NULL,
    run_id TEXT NOT NULL, PRIMARY KEY (provider, endpoint, lookup_key));
"""


@pytest.mark.parametrize("content", [b"x", b"name,email\nAda,ada@acme.io\n"])
def test_a_file_that_is_not_a_ledger_is_refused_and_left_untouched(tmp_path, content):
    path = tmp_path / "not-a-ledger.sqlite"
    path.write_bytes(content)
    with pytest.raises(LedgerError, match="not a gtmkit ledger"):
        Ledger(path)
    assert path.read_bytes() == content
