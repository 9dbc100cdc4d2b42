"""Live test against a real Slack incoming webhook: one run summary and one approval request.

Skipped unless ``SLACK_WEBHOOK_URL`` is set (the only skips allowed). It posts two messages to
the webhook's channel — use a test channel. Run with
``SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... .venv/bin/pytest -m live
tests/test_integrations_slack_live.py``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmkit.integrations.slack import SlackWebhook
from gtmkit.integrations.slack_approvals import (
    ApprovalStore,
    Estimate,
    approval_payload,
    approvals_path,
)
from gtmkit.integrations.slack_summary import RunSummary, summary_payload


@pytest.mark.live("SLACK_WEBHOOK_URL")
def test_a_real_webhook_takes_the_summary_and_the_approval_request(
    live_key: str, tmp_path: Path
) -> None:
    hook = SlackWebhook()
    summary = RunSummary(
        "live-check",
        rows=10,
        found=8,
        spend_usd=1.2,
        budget_usd=5.0,
        failures=("hunter: 429 rate limited",),
        report_path="reports/x.html",
    )
    posted = hook.post_sync(summary_payload(summary))
    assert posted.body == "ok" and live_key.strip() not in repr(posted)
    store = ApprovalStore(approvals_path(tmp_path / "ledger.sqlite"))
    approval = store.request("live-check", Estimate(rows=10, credits=20, cost_usd=2.0), "$1.00")
    # Block Kit validity of the approval message (buttons, confirm dialog) is Slack's to judge
    assert hook.post_sync(approval_payload(approval)).body == "ok"
