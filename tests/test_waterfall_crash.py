"""Crash test: a run in a subprocess killed with SIGKILL at random points and resumed ends with
records equal to an uninterrupted run, and pays at most the calls in flight at the kill again.

"Paid calls" are counted by the fake provider itself (one line appended per billed request to
a billing log shared by every process), not by the ledger under test.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from gtmkit.waterfall import Ledger
from tests._waterfall_helpers import crash_run, enriched_view

ROOT = Path(__file__).resolve().parents[1]
N_ROWS = 160
LATENCY_S = 0.01
TRIALS = 5


def _paid(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _wait_for_run(ledger: Path, child: subprocess.Popen) -> None:
    """Block until the child's run is registered in its ledger (the run has begun)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert child.poll() is None, "the child exited before its run began"
        if ledger.exists():
            try:
                with sqlite3.connect(ledger, timeout=5) as conn:
                    if conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]:
                        return
            except sqlite3.OperationalError:
                pass  # schema not created yet
        time.sleep(0.005)
    raise AssertionError("the child's run never began")


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path):
    reference_log = tmp_path / "reference.billing"
    t0 = time.perf_counter()
    reference = asyncio.run(
        crash_run(str(tmp_path / "reference.sqlite"), str(reference_log), N_ROWS, LATENCY_S)
    )
    duration = time.perf_counter() - t0
    reference_paid = _paid(reference_log)
    assert reference_paid > 100

    rng = random.Random(20261130)
    killed_mid_run = 0
    total_in_flight = 0
    for trial in range(TRIALS):
        ledger = tmp_path / f"trial{trial}.sqlite"
        log = tmp_path / f"trial{trial}.billing"
        out = tmp_path / f"trial{trial}.parquet"
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from tests._waterfall_helpers import crash_child_main; "
                "crash_child_main(sys.argv[1:])",
                str(ledger),
                str(log),
                str(N_ROWS),
                str(LATENCY_S),
                str(out),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"started"
        _wait_for_run(ledger, child)
        time.sleep(rng.uniform(0.05, 0.6) * duration)
        child.send_signal(signal.SIGKILL)
        child.wait()
        with sqlite3.connect(ledger, timeout=5) as conn:
            (finished,) = conn.execute(
                "SELECT COUNT(*) FROM runs WHERE status = 'finished'"
            ).fetchone()
        if out.exists() or finished:
            continue  # it finished before the kill landed; not a crash trial
        killed_mid_run += 1
        paid_before_kill = _paid(log)

        resumed = asyncio.run(crash_run(str(ledger), str(log), N_ROWS, LATENCY_S))
        in_flight = resumed.totals["resumed_in_flight"]
        total_in_flight += in_flight

        # same records as the uninterrupted run
        assert enriched_view(resumed.records).equals(enriched_view(reference.records))
        # paid calls <= uninterrupted + calls in flight at the kill
        assert _paid(log) <= reference_paid + in_flight, (paid_before_kill, in_flight)
        with Ledger(ledger) as led:
            assert led.integrity_check() == "ok"
            runs = led.runs()
            assert runs["status"].to_list() == ["interrupted", "finished"]
            # everything the provider billed is in the ledger, except calls lost in flight
            ledgered = led.attempts().filter(pl.col("billed") == 1).height
            assert ledgered <= _paid(log) <= ledgered + in_flight

    assert killed_mid_run >= 4  # the kills really landed mid-run
    assert total_in_flight > 0  # and caught calls on the wire at least once
