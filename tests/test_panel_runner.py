"""Run, progress, Cancel and Resume through the real engine on the simulated providers: the
panel's runner on its thread, the panel's buttons, and what the provider side billed."""

from __future__ import annotations

import threading
from pathlib import Path

import polars as pl
import pytest

import gtmkit
from gtmkit.panel import PanelError, RunController, WaterfallPanel
from gtmkit.panel.runner import RunInProgress
from gtmkit.sandbox import simulate
from gtmkit.waterfall import RunProgress, Step, Waterfall
from tests._notebooks_helpers import ROOT

SAMPLE = ROOT / "data/samples/leads_small.csv"
WF = Waterfall([Step("hunter"), Step("apollo"), Step("pdl")], verify="hunter_verifier")
BUDGET = 120.0


@pytest.fixture(scope="module")
def leads() -> gtmkit.LoadedList:
    return gtmkit.load_list(SAMPLE)


def _slow_sim():  # type: ignore[no-untyped-def]
    """Answers take ~20 ms, so a run lasts long enough to be cancelled part-way."""
    return simulate(latency_ms=20, seed=3)


def test_progress_reaches_the_end_and_the_result_matches(leads, tmp_path: Path) -> None:
    snapshots: list[RunProgress] = []
    states: list[str] = []
    runner = RunController(on_progress=snapshots.append, on_state=states.append)
    sim = simulate()
    runner.start(
        WF,
        leads,
        {
            "ledger": str(tmp_path / "l.sqlite"),
            "budget_credits": BUDGET,
            "mode": "sandbox",
            "connect_options": sim.connect_options,
        },
    )
    runner.wait(timeout=120)
    assert states == ["running", "finished"] and runner.error is None
    last = snapshots[-1]
    assert last.finished and last.rows_done == last.rows_total == leads.records.height
    done = [s.rows_done for s in snapshots]
    assert done == sorted(done)  # progress never goes back
    totals = runner.result.totals
    walked = runner.result.records.filter(pl.col("status") != "duplicate")
    assert last.emails_found == walked["email"].is_not_null().sum() > 0
    assert last.credits == pytest.approx(totals["credits"]) and totals["credits"] <= BUDGET
    assert sum(sim.billed().values()) == pytest.approx(totals["credits"])  # the provider side
    per_provider = {name: v["credits"] for name, v in last.by_provider.items()}
    billed = runner.result.attempts.group_by("provider").agg(pl.col("credits").sum())
    assert per_provider == pytest.approx(dict(billed.iter_rows()))
    assert totals["budget_exhausted"] > 0 and runner.can_resume  # the budget binds here


def test_cancel_stops_at_a_safe_point_and_resume_finishes_within_the_budget(
    leads, tmp_path: Path
) -> None:
    sim = _slow_sim()
    ledger = tmp_path / "ledger.sqlite"
    first_progress = threading.Event()
    runner = RunController(on_progress=lambda s: first_progress.set())
    options = {"ledger": str(ledger), "budget_credits": BUDGET, "mode": "sandbox",
               "connect_options": sim.connect_options}  # fmt: skip
    runner.start(WF, leads, options)
    assert runner.busy and first_progress.wait(timeout=60)
    runner.cancel()
    assert runner.state == "cancelling"
    runner.wait(timeout=120)
    assert runner.state == "cancelled" and runner.can_resume
    first = runner.result
    assert first.totals["stopped"] > 0, "the run finished before the cancel reached it"
    assert first.records.height == leads.records.height + leads.rejected.height  # nothing lost
    paid_first = sum(sim.billed().values())
    assert paid_first == pytest.approx(first.totals["credits"])  # every credit in the ledger

    runner.resume()
    runner.wait(timeout=240)
    second = runner.result
    assert runner.state == "finished" and second.totals["stopped"] == 0
    # the budget belongs to the chain: both runs together stay within it
    assert paid_first + second.totals["credits"] <= BUDGET + 1e-9
    assert sum(sim.billed().values()) == pytest.approx(paid_first + second.totals["credits"])
    assert sim.repeated_lookups() == 0  # no paid lookup paid twice across cancel + resume


def test_the_panel_buttons_follow_the_run(tmp_path: Path) -> None:
    sim = _slow_sim()
    panel = WaterfallPanel(
        path=SAMPLE,
        budget_credits=BUDGET,
        out_dir=tmp_path,
        connect_options=sim.connect_options,
        confirm_above_usd=1_000,
    )
    assert not panel.run_button.disabled and panel.cancel_button.disabled
    assert panel.resume_button.disabled
    started = threading.Event()
    real = panel._progressed
    panel.runner.on_progress = lambda s: (real(s), started.set())
    panel.run_button.click()
    assert started.wait(timeout=60)
    assert panel.run_button.disabled and not panel.cancel_button.disabled
    with pytest.raises(PanelError):
        panel.run()  # one run at a time
    panel.cancel_button.click()
    panel.runner.wait(timeout=120)
    assert panel.runner.state == "cancelled"
    assert "Cancelled at a safe point" in panel.run_message.value
    assert "Resume continues them" in panel.run_message.value
    assert not panel.resume_button.disabled and panel.downloads.enabled
    assert "stopped" in panel.preview.value
    panel.resume_button.click()
    panel.runner.wait(timeout=240)
    assert panel.runner.state == "finished" and panel.result.totals["stopped"] == 0
    assert panel.progress_bar.value == panel.progress_bar.max  # progress reached the end
    assert "Finished" in panel.run_message.value and panel.resume_button.disabled is (
        not panel.runner.can_resume
    )
    panel.close()


def test_a_failing_run_says_why(tmp_path: Path) -> None:
    runner = RunController()
    not_a_ledger = tmp_path / "notes.sqlite"
    not_a_ledger.write_text("these are not the ledger's tables")
    runner.start(Waterfall([Step("hunter")]), gtmkit.load_list(SAMPLE),
                 {"ledger": str(not_a_ledger), "mode": "sandbox"})  # fmt: skip
    runner.wait(timeout=60)
    assert runner.state == "failed" and runner.result is None
    assert "ledger" in (runner.error or "").lower()
    with pytest.raises(RunInProgress, match="nothing to resume"):
        RunController().resume()
