"""The SQLite ledger: shared by two processes, resume bookkeeping, cache TTL, group commit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

from gtmkit.providers.base import Throttle
from gtmkit.waterfall import Ledger
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


def test_begin_run_counts_calls_in_flight_of_an_interrupted_run(tmp_path):
    path = tmp_path / "l.sqlite"
    with Ledger(path) as led:
        info = led.begin_run("fp", name="x")
        done = threading.Event()
        row = (info.run_id, 1, "sent", 0, "k", 0, "alpha", "e", 1, "t", None, None, None, None)
        row += (0.0, 0, 0.0, 0, None, None, None, None, None)
        led.write([row, (*row[:1], 2, *row[2:])], done=lambda _e: done.set())
        assert done.wait(5)
        led.flush()
    with Ledger(path) as led:
        # same host, pid still alive (this process): a live run is not resumed
        assert led.begin_run("fp").resumed_in_flight == 0
        led._read.execute("UPDATE runs SET pid = 999999999 WHERE run_id = ?", (info.run_id,))
        resumed = led.begin_run("fp")
        assert (resumed.resumed_from, resumed.resumed_in_flight) == (info.run_id, 2)
        assert led.begin_run("fp").resumed_in_flight == 0  # counted once
        assert set(led.attempts()["state"].to_list()) == {"lost"}


def test_cache_ttl(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as led:
        entry = ("alpha", "e", "k", "hit", '{"email": "a@b.c"}', "valid", "ok", 0.9, 200, 1.0)
        led.write([], [(*entry, time.time() - 10 * 86400, "run")])
        led.flush()
        assert led.cached("alpha", "e", "k", ttl_s=30 * 86400).fields == {"email": "a@b.c"}
        assert led.cached("alpha", "e", "k", ttl_s=5 * 86400) is None
        assert led.cache_index([("alpha", "e")], ttl_s=30 * 86400) == {("alpha", "e", "k")}
        assert led.cache_index([("alpha", "e")], ttl_s=5 * 86400) == set()


def test_limiter_adapts_to_rate_limits_and_headers():
    async def main():
        lim = ProviderLimiter(100.0, 4)
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

    import asyncio

    asyncio.run(main())


def test_a_result_overwrites_its_intent_in_place(tmp_path):
    with Ledger(tmp_path / "l.sqlite") as led:
        info = led.begin_run("fp", name="x")
        base = (info.run_id, 1, "sent", 7, "name=a|b;domain=acme.com", 0, "alpha", "e", 1, "t")
        intent = (*base, None, None, None, None, 0.0, 0, 0.0, 0, None, None, None, None, None)
        result = (*base[:2], "done", *base[3:], "hit", None, 200, 0.01, 1.0, 1, 0.1, 0)
        result += ("a@acme.com", "valid", "ok", 0.9, '{"email": "a@acme.com"}')
        alone = (info.run_id, 2, "done", 8, "k2", 0, "alpha", "e", 1, "t", "miss", None, 200)
        alone += (0.01, 0.0, 0, 0.0, 0, None, None, None, None, "{}")
        led.write_now([intent])
        led.write_now([result, alone])  # the second call's result has no intent (local step)
        rows = led.attempts(info.run_id)
        assert rows.height == 2
        assert rows.row(0) == result and rows.row(1) == alone
        assert led.total_credits(info.run_id) == 1.0
        # the lookup index still finds the call by its identity
        found = led._read.execute(
            "SELECT state FROM attempts INDEXED BY attempts_lookup "
            "WHERE provider = 'alpha' AND endpoint = 'e' AND lookup_key = ?",
            (base[4],),
        ).fetchall()
        assert found == [("done",)]
        assert led.integrity_check() == "ok"


def test_result_schema_types_the_ledger_layout_in_order():
    from gtmkit.waterfall.ledger import LEDGER_COLUMNS
    from gtmkit.waterfall.result import _ATTEMPT_SCHEMA

    assert tuple(_ATTEMPT_SCHEMA) == LEDGER_COLUMNS
