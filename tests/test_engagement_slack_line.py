"""The engagement report's summary says what went to Slack for approval and what was decided —
read from the approval store beside the run ledger — and says nothing when there is none."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import gtmkit
from gtmkit.integrations.slack_approvals import (
    ApprovalStore,
    Estimate,
    approvals_path,
    approvals_sentence,
    request_approval,
)
from gtmkit.integrations.slack_web import SlackWebApi
from gtmkit.reports import engagement as er
from gtmkit.reports.engagement import sections
from gtmkit.sandbox.slack import SlackTwin

ROOT = Path(__file__).resolve().parents[1]


def test_the_summary_names_the_requests_and_their_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = SlackTwin()
    monkeypatch.setenv("SLACK_BOT_TOKEN", twin.add_bot_token())
    path = approvals_path(tmp_path / "ledger.sqlite")
    store = ApprovalStore(path)
    bot = SlackWebApi(transport=twin.transport())
    est = Estimate(rows=10, credits=120, cost_usd=12.5)
    request_approval("r1", est, "100 credits", store=store, webhook=None, bot=bot,
                     channel="#gtm-runs")  # fmt: skip
    request_approval("r2", est, "100 credits", store=store, webhook=None)
    store.decide("r1", approved=True, by="cli:ana", via="cli")
    store.decide("r2", approved=False, by="slack:U1 (ben)", via="slack")
    line = approvals_sentence(path)
    assert line == (
        "Sent to Slack for spend approval: 2 requests; 1 posted as an editable message: "
        "run r1 (estimated $12.50) approved by cli:ana via cli; "
        "run r2 (estimated $12.50) rejected by slack:U1 (ben) via slack."
    )
    leads = gtmkit.load_list(ROOT / "data" / "samples" / "leads_small.csv")
    pattern = er.find_pattern("enterprise-contact-enrichment")
    result = pattern.to_waterfall().run(leads, ledger=None, mode="sandbox", progress=False)
    e = er.measure_engagement(
        result, pattern=pattern, check=pattern.check(result), client="Acme",
        report_date=datetime.date(2026, 1, 1), data_source="simulated",
    )  # fmt: skip
    html = sections.summary(e, approvals=str(path)).html
    assert 'data-figure="slack_approvals"' in html and "approved by cli:ana via cli" in html
    # no store, or an empty one: no line at all
    assert "slack_approvals" not in sections.summary(e).html
    empty = approvals_path(tmp_path / "empty.sqlite")
    ApprovalStore(empty)
    assert approvals_sentence(empty) == "" and approvals_sentence(tmp_path / "none") == ""
    assert "slack_approvals" not in sections.summary(e, approvals=str(empty)).html
