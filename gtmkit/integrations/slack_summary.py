"""The Block Kit body of a run summary for a Slack incoming webhook.

An incoming webhook takes ``POST`` JSON with ``text`` (the notification fallback) and
``blocks`` (docs.slack.dev/messaging/sending-messages-using-incoming-webhooks); a ``section``
block's ``fields`` hold at most 10 text objects of ``mrkdwn`` (docs.slack.dev/reference/
block-kit/blocks/section-block). Only the body is built here; posting it is not in this branch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunSummary:
    """The figures a run summary reports; money in US dollars."""

    run_id: str
    rows: int
    found: int
    spend_usd: float
    budget_usd: float
    failures: tuple[str, ...] = ()
    report_path: str = ""


def summary_payload(summary: RunSummary) -> dict[str, Any]:
    """The webhook body: a fallback ``text`` and the blocks.

    >>> body = summary_payload(RunSummary("r1", rows=200, found=150, spend_usd=12.5, budget_usd=50))
    >>> body["text"]
    'gtmkit run r1: 150/200 rows found (75.0%), $12.50 of $50.00'
    """
    coverage = summary.found / summary.rows if summary.rows else 0.0
    text = (
        f"gtmkit run {summary.run_id}: {summary.found}/{summary.rows} rows found "
        f"({coverage:.1%}), ${summary.spend_usd:.2f} of ${summary.budget_usd:.2f}"
    )
    fields = [
        {"type": "mrkdwn", "text": f"*Rows*\n{summary.rows}"},
        {"type": "mrkdwn", "text": f"*Coverage*\n{coverage:.1%}"},
        {
            "type": "mrkdwn",
            "text": f"*Spend*\n${summary.spend_usd:.2f} of ${summary.budget_usd:.2f}",
        },
        {"type": "mrkdwn", "text": f"*Failed*\n{len(summary.failures)}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Run {summary.run_id}"}},
        {"type": "section", "fields": fields},
    ]
    if summary.failures:
        listed = "\n".join(f"• {reason}" for reason in summary.failures[:10])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": listed}})
    if summary.report_path:
        report = {"type": "mrkdwn", "text": f"Report: `{summary.report_path}`"}
        blocks.append({"type": "context", "elements": [report]})
    return {"text": text, "blocks": blocks}
