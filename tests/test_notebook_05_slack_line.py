"""Notebook 05 under papermill, with an approval store beside the run's ledger: the client's
report says what was sent to Slack for spend approval and what was decided (the same sentence
the package computes), and says nothing of Slack when no store is there."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmkit.integrations.slack_approvals import (
    ApprovalStore,
    Estimate,
    approvals_path,
    approvals_sentence,
    request_approval,
)
from gtmkit.reports.engagement import run_report
from tests._report_helpers import REPORT_NOTEBOOK, SMALL, read_report

pytestmark = pytest.mark.slow


def test_the_report_carries_the_slack_approval_line(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    store = ApprovalStore(approvals_path(ledger))
    request_approval("r1", Estimate(rows=300, credits=250, cost_usd=25.0), "250 credits",
                     store=store, webhook=None)  # fmt: skip
    store.decide("r1", approved=True, by="cli:ana", via="cli")
    expected = approvals_sentence(approvals_path(ledger))
    assert expected.startswith("Sent to Slack for spend approval: 1 request")
    files = run_report(REPORT_NOTEBOOK, parameters={**SMALL, "ledger": str(ledger)},
                       out_dir=tmp_path / "out", pdf=False)  # fmt: skip
    visible = " ".join(read_report(files.html).text)
    assert expected in visible
    assert "approved by cli:ana via cli" in visible
