"""The approval gate: a request posted with its buttons, answered by a signed Slack click or
``gtmkit approve``; rejections, timeouts, forged and replayed clicks; two processes waiting on
one store; and a waterfall that runs only once approved."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import gtmkit
from gtmkit.integrations.slack import SlackWebhook
from gtmkit.integrations.slack_approvals import (
    APPROVE_ACTION,
    REJECT_ACTION,
    ApprovalError,
    ApprovalStore,
    Estimate,
    answer_interaction,
    approvals_path,
    gated_run,
    request_approval,
    wait_for_approval,
)
from gtmkit.sandbox.slack import SlackTwin
from gtmkit.waterfall import Step, Waterfall
from tests._notebooks_helpers import ROOT

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
SAMPLE = ROOT / "data" / "samples" / "leads_small.csv"
EST = Estimate(rows=224, credits=168, cost_usd=14.0, worst_case_credits=336, worst_case_usd=28.0,
               steps=(("hunter", 112.0, 11.2), ("apollo", 56.0, 2.8)))  # fmt: skip


async def _no_wait(seconds: float) -> None:
    return None


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> tuple[SlackTwin, SlackWebhook]:
    twin = SlackTwin()
    monkeypatch.setenv("SLACK_WEBHOOK_URL", twin.add_webhook("#gtm-runs"))
    return twin, SlackWebhook(transport=twin.transport(), sleep=_no_wait)


@pytest.fixture
def store(tmp_path: Path) -> ApprovalStore:
    return ApprovalStore(approvals_path(tmp_path / "ledger.sqlite"))


def _asked(twin: SlackTwin) -> dict:  # type: ignore[type-arg]
    (message,) = twin.messages("#gtm-runs")
    return message


def test_the_request_posts_the_estimate_with_two_buttons(slack, store) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    request_approval("run-7", EST, "100 credits", store=store, webhook=hook, timeout_s=600,
                     ledger_hint="data/ledger.sqlite", now=1_800_000_000)  # fmt: skip
    message = _asked(twin)
    text = str(message)
    assert "168 credits" in message["text"] and "$14.00" in message["text"]
    assert "over 100 credits" in message["text"]
    assert "336 credits ($28.00)" in text  # the worst case is shown too
    assert "*hunter*\\n112 credits, $11.20" in text
    assert "gtmkit approve run-7 --ledger data/ledger.sqlite" in text
    assert "2027-01-15 08:10:00 UTC" in text  # requested + 600 s
    (actions,) = [b for b in message["blocks"] if b["type"] == "actions"]
    buttons = {e["action_id"]: e for e in actions["elements"]}
    assert set(buttons) == {APPROVE_ACTION, REJECT_ACTION}
    assert {b["value"] for b in buttons.values()} == {"run-7"}
    assert buttons[APPROVE_ACTION]["style"] == "primary" and "confirm" in buttons[APPROVE_ACTION]
    assert store.get("run-7").status == "pending"  # type: ignore[union-attr]


def test_a_signed_click_approves_and_records_who(slack, store) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    request_approval("run-1", EST, "100 credits", store=store, webhook=hook)
    body, headers = twin.click(_asked(twin), APPROVE_ACTION, signing_secret=SECRET,
                               user_id="U42", user_name="ana")  # fmt: skip
    status, text = answer_interaction(SECRET, body, headers, store)
    assert (status, text) == (200, "run run-1 approved by slack:U42 (ana)")
    approval = store.get("run-1")
    assert approval is not None
    assert (approval.status, approval.decided_by, approval.via) == ("approved", "slack:U42 (ana)",
                                                                   "slack")  # fmt: skip
    decision = wait_for_approval("run-1", 5, store=store)
    assert decision.approved and decision.by == "slack:U42 (ana)"


def test_a_reject_click_rejects_and_a_second_click_does_not_change_it(slack, store) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    request_approval("run-2", EST, "100 credits", store=store, webhook=hook)
    body, headers = twin.click(_asked(twin), REJECT_ACTION, signing_secret=SECRET, user_id="U7")
    assert answer_interaction(SECRET, body, headers, store)[0] == 200
    later = time.time() + 1  # a different click (another timestamp, so another signature)
    body, headers = twin.click(_asked(twin), APPROVE_ACTION, signing_secret=SECRET, now=later)
    status, text = answer_interaction(SECRET, body, headers, store, now=later)
    assert status == 200 and text.startswith("not recorded: run run-2 was already rejected")
    assert wait_for_approval("run-2", 5, store=store).status == "rejected"


def test_forged_stale_and_replayed_clicks_are_refused(slack, store) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    request_approval("run-3", EST, "100 credits", store=store, webhook=hook)
    message = _asked(twin)
    forged, headers = twin.click(message, APPROVE_ACTION, signing_secret="not-the-secret")
    status, text = answer_interaction(SECRET, forged, headers, store)
    assert status == 401 and "bad signature" in text and "SLACK_SIGNING_SECRET" in text
    # a signed body edited to name another run no longer matches its signature
    body, headers = twin.click(message, REJECT_ACTION, signing_secret=SECRET)
    assert answer_interaction(SECRET, body.replace(b"run-3", b"run-9"), headers, store)[0] == 401
    old = time.time() - 600
    body_old, headers_old = twin.click(message, APPROVE_ACTION, signing_secret=SECRET, now=old)
    status, text = answer_interaction(SECRET, body_old, headers_old, store)
    assert status == 401 and "stale" in text
    assert answer_interaction(SECRET, body, {}, store)[0] == 401  # no headers at all
    assert store.get("run-3").status == "pending"  # type: ignore[union-attr]
    # the genuine click counts once; the same request sent again is a replay
    assert answer_interaction(SECRET, body, headers, store)[0] == 200
    status, text = answer_interaction(SECRET, body, headers, store)
    assert status == 409 and "replay" in text
    assert store.get("run-3").status == "rejected"  # type: ignore[union-attr]


def test_only_the_named_approvers_may_click(slack, store) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    request_approval("run-4", EST, "$10.00", store=store, webhook=hook, approvers=("U1",))
    body, headers = twin.click(_asked(twin), APPROVE_ACTION, signing_secret=SECRET, user_id="U2")
    status, text = answer_interaction(SECRET, body, headers, store)
    assert status == 200 and "is not an approver" in text
    assert store.get("run-4").status == "pending"  # type: ignore[union-attr]
    body, headers = twin.click(_asked(twin), APPROVE_ACTION, signing_secret=SECRET, user_id="U1",
                               now=time.time() + 1)  # fmt: skip
    assert answer_interaction(SECRET, body, headers, store)[1].startswith("run run-4 approved")


def test_malformed_and_foreign_interactions(store) -> None:  # type: ignore[no-untyped-def]
    from gtmkit.integrations.slack_signature import sign

    def signed(body: bytes) -> dict[str, str]:
        stamp = str(int(time.time()))
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": sign(SECRET, stamp, body)}

    bad = b"payload=%7Bnot-json"
    assert answer_interaction(SECRET, bad, signed(bad), store)[0] == 400
    other = b"payload=%7B%22type%22%3A%22view_submission%22%2C%22user%22%3A%7B%7D%7D"
    status, text = answer_interaction(SECRET, other, signed(other), store)
    assert status == 200 and text.startswith("ignored")


def test_timeout_ends_with_a_reason_and_a_late_click_is_refused(slack, store) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    request_approval("run-5", EST, "100 credits", store=store, webhook=hook, timeout_s=0.3)
    started = time.monotonic()
    decision = wait_for_approval("run-5", 0.3, store=store, poll_s=0.05)
    assert 0.25 <= time.monotonic() - started < 3
    assert decision.status == "timed_out" and not decision.approved
    assert "nobody approved within 0.3 s" in decision.reason
    assert "without spending" in decision.reason
    body, headers = twin.click(_asked(twin), APPROVE_ACTION, signing_secret=SECRET)
    status, text = answer_interaction(SECRET, body, headers, store)
    assert status == 200 and "already timed out" in text
    assert store.get("run-5").status == "timed_out"  # type: ignore[union-attr]


def test_a_click_after_the_deadline_is_refused_even_before_the_waiter_notices(store) -> None:  # type: ignore[no-untyped-def]
    store.request("run-6", EST, "100 credits", timeout_s=60, now=1000.0)
    done = store.decide("run-6", approved=True, by="cli:ana", via="cli", now=1061.0)
    assert done.refused == "run run-6 was already timed out"
    assert store.get("run-6").status == "timed_out"  # type: ignore[union-attr]


def test_a_run_id_is_asked_for_once(store) -> None:  # type: ignore[no-untyped-def]
    store.request("run-8", EST, "100 credits")
    with pytest.raises(ApprovalError, match="already has an approval request"):
        store.request("run-8", EST, "100 credits")
    with pytest.raises(ApprovalError, match="no approval request for run nope"):
        wait_for_approval("nope", 1, store=store)


def _approve_cli(ledger: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    return subprocess.run(
        [sys.executable, "-m", "gtmkit", "approve", *args, "--ledger", str(ledger)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


_WAITER = """
import sys
from gtmkit.integrations.slack_approvals import ApprovalStore, wait_for_approval
store = ApprovalStore(sys.argv[1])
print("waiting", flush=True)
decision = wait_for_approval(sys.argv[2], 60, store=store, poll_s=0.05)
print(decision.status, decision.by)
"""


def test_two_waiting_processes_each_get_their_own_answer_from_the_cli(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    store = ApprovalStore(approvals_path(ledger))
    store.request("run-a", EST, "100 credits", timeout_s=120)
    store.request("run-b", EST, "100 credits", timeout_s=120)
    waiters = [
        subprocess.Popen([sys.executable, "-c", _WAITER, str(store.path), run],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for run in ("run-a", "run-b")
    ]  # fmt: skip
    try:
        for waiter in waiters:
            assert waiter.stdout is not None and waiter.stdout.readline().strip() == "waiting"
        done = _approve_cli(ledger, "run-a", "--by", "cli:ana")
        assert done.returncode == 0 and done.stdout.strip() == "run run-a approved by cli:ana"
        done = _approve_cli(ledger, "run-b", "--reject", "--by", "cli:ben")
        assert done.returncode == 0 and "run run-b rejected by cli:ben" in done.stdout
        outs = [w.communicate(timeout=60)[0].strip().splitlines()[-1] for w in waiters]
    finally:
        for waiter in waiters:
            waiter.kill() if waiter.poll() is None else None
    assert outs == ["approved cli:ana", "rejected cli:ben"]
    # a second answer is refused, and the error lists what is still waiting
    again = _approve_cli(ledger, "run-a", "--reject")
    assert again.returncode == 1 and "already approved by cli:ana" in again.stderr
    assert "runs waiting: none" in again.stderr


def test_the_cli_says_what_to_pass_when_there_is_nothing_to_approve(tmp_path: Path) -> None:
    done = _approve_cli(tmp_path / "ledger.sqlite", "run-x")
    assert done.returncode == 1 and "no approval store" in done.stderr and "--ledger" in done.stderr
    store = ApprovalStore(approvals_path(tmp_path / "ledger.sqlite"))
    store.request("run-y", EST, "100 credits")
    done = _approve_cli(tmp_path / "ledger.sqlite", "run-x")
    assert done.returncode == 1 and "no approval request for run run-x" in done.stderr
    assert "runs waiting: run-y" in done.stderr


# -- the gate around a real (simulated) waterfall run -------------------------------------
def _attempts(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    with sqlite3.connect(ledger) as db:
        return int(db.execute("SELECT COUNT(*) FROM attempts").fetchone()[0])


def _click_when_asked(twin: SlackTwin, store_path: Path, action: str) -> threading.Thread:
    def clicker() -> None:
        deadline = time.monotonic() + 30
        while not twin.messages("#gtm-runs") and time.monotonic() < deadline:
            time.sleep(0.02)
        body, headers = twin.click(twin.messages("#gtm-runs")[0], action, signing_secret=SECRET,
                                   user_id="U9", user_name="lea")  # fmt: skip
        answer_interaction(SECRET, body, headers, ApprovalStore(store_path))

    thread = threading.Thread(target=clicker, daemon=True)
    thread.start()
    return thread


def test_an_approved_run_runs_and_posts_its_summary(slack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    leads = gtmkit.load_list(SAMPLE)
    wf = Waterfall([Step("hunter"), Step("apollo")])
    ledger = tmp_path / "ledger.sqlite"
    clicker = _click_when_asked(twin, approvals_path(ledger), APPROVE_ACTION)
    gated = gated_run(wf, leads, threshold_credits=100, run_id="big-1", webhook=hook,
                      timeout_s=60, poll_s=0.05, mode="sandbox", ledger=ledger,
                      progress=False)  # fmt: skip
    clicker.join(5)
    assert gated.status == "ran" and gated.reason == "approved by slack:U9 (lea)"
    assert gated.result is not None and _attempts(ledger) > 0
    asked, summary = twin.messages("#gtm-runs")
    assert asked["blocks"][-1]["elements"][0]["value"] == "big-1"
    assert gated.summary_posted and summary["text"].startswith(
        f"gtmkit run {gated.result.totals['run_id']}: {gated.result.totals['emails_found']}/"
    )


def test_a_rejected_or_unanswered_run_spends_nothing(slack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    leads = gtmkit.load_list(SAMPLE)
    wf = Waterfall([Step("hunter"), Step("apollo")])
    ledger = tmp_path / "ledger.sqlite"
    clicker = _click_when_asked(twin, approvals_path(ledger), REJECT_ACTION)
    gated = gated_run(wf, leads, threshold_usd=5.0, run_id="big-2", webhook=hook, timeout_s=60,
                      poll_s=0.05, mode="sandbox", ledger=ledger, progress=False)  # fmt: skip
    clicker.join(5)
    assert (gated.status, gated.result) == ("rejected", None)
    assert "rejected by slack:U9 (lea)" in gated.reason
    timed = gated_run(wf, leads, threshold_usd=5.0, run_id="big-3", webhook=hook, timeout_s=0.2,
                      poll_s=0.05, mode="sandbox", ledger=ledger, progress=False)  # fmt: skip
    assert timed.status == "timed_out" and "nobody approved within 0.2 s" in timed.reason
    assert _attempts(ledger) == 0  # not one paid call


def test_under_the_threshold_no_one_is_asked(slack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    leads = gtmkit.load_list(SAMPLE)
    wf = Waterfall([Step("hunter")])
    gated = gated_run(wf, leads, threshold_credits=10_000, webhook=hook, post_summary=False,
                      mode="sandbox", ledger=tmp_path / "l.sqlite", progress=False)  # fmt: skip
    assert gated.status == "ran" and "no approval needed" in gated.reason
    assert twin.messages("#gtm-runs") == [] and not (tmp_path / "l.approvals.sqlite").exists()


def test_a_request_slack_refuses_cancels_the_run(slack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    twin, hook = slack
    twin.archive("#gtm-runs")
    leads = gtmkit.load_list(SAMPLE)
    wf = Waterfall([Step("hunter")])
    ledger = tmp_path / "ledger.sqlite"
    gated = gated_run(wf, leads, threshold_credits=1, run_id="big-4", webhook=hook,
                      mode="sandbox", ledger=ledger, progress=False)  # fmt: skip
    assert gated.status == "cancelled" and "channel_is_archived" in gated.reason
    assert ApprovalStore(approvals_path(ledger)).get("big-4").status == "cancelled"  # type: ignore[union-attr]
    assert _attempts(ledger) == 0
    with pytest.raises(ApprovalError, match="threshold_credits= or threshold_usd="):
        gated_run(wf, leads, mode="sandbox", ledger=ledger)
