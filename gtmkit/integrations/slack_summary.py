"""The Block Kit body of a run summary for a Slack incoming webhook.

An incoming webhook takes ``POST`` JSON with ``text`` (the notification fallback) and
``blocks`` (docs.slack.dev/messaging/sending-messages-using-incoming-webhooks); a ``section``
block's ``fields`` hold at most 10 text objects of ``mrkdwn`` (docs.slack.dev/reference/
block-kit/blocks/section-block). Only the body is built here; :mod:`gtmkit.integrations.slack`
posts it, and :func:`summary_from_result` takes the figures from a run's own totals and records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Row statuses a summary reports as failed (not found is an answer, not a failure).
FAILED_STATUSES = ("failed", "budget_exhausted", "stopped", "rejected")


@dataclass(frozen=True)
class RunSummary:
    """The figures a run summary reports; money in US dollars."""

    run_id: str
    rows: int
    found: int
    spend_usd: float
    budget_usd: float | None
    failures: tuple[str, ...] = ()
    report_path: str = ""
    credits: float | None = None
    budget_credits: float | None = None
    #: rows that ended failed / out of budget / stopped / rejected (None: count the failures)
    failed_rows: int | None = None


def _spend(summary: RunSummary) -> str:
    """``$12.50 of $50.00``, with the credit cap when the run had one, or ``no cap``."""
    parts = [f"${summary.spend_usd:.2f}"]
    if summary.budget_usd is not None:
        parts.append(f"of ${summary.budget_usd:.2f}")
    if summary.budget_credits is not None and summary.credits is not None:
        parts.append(f"({summary.credits:g} of {summary.budget_credits:g} credits)")
    if summary.budget_usd is None and summary.budget_credits is None:
        parts.append("(no budget cap)")
    return " ".join(parts)


def summary_payload(summary: RunSummary) -> dict[str, Any]:
    """The webhook body: a fallback ``text`` and the blocks.

    >>> body = summary_payload(RunSummary("r1", rows=200, found=150, spend_usd=12.5, budget_usd=50))
    >>> body["text"]
    'gtmkit run r1: 150/200 rows found (75.0%), $12.50 of $50.00'
    """
    coverage = summary.found / summary.rows if summary.rows else 0.0
    text = (
        f"gtmkit run {summary.run_id}: {summary.found}/{summary.rows} rows found "
        f"({coverage:.1%}), {_spend(summary)}"
    )
    failed = len(summary.failures) if summary.failed_rows is None else summary.failed_rows
    fields = [
        {"type": "mrkdwn", "text": f"*Rows*\n{summary.rows}"},
        {"type": "mrkdwn", "text": f"*Coverage*\n{coverage:.1%}"},
        {"type": "mrkdwn", "text": f"*Spend*\n{_spend(summary)}"},
        {"type": "mrkdwn", "text": f"*Failed*\n{failed}"},
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Run {summary.run_id}"[:150]}},
        {"type": "section", "fields": fields},
    ]
    if summary.failures:
        # a section's text holds at most 3000 characters (Block Kit section block reference)
        lines = [f"• {reason[:280]}" for reason in summary.failures[:10]]
        if len(summary.failures) > 10:
            lines.append(f"… and {len(summary.failures) - 10} more (see the report)")
        listed = "\n".join(lines)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": listed}})
    if summary.report_path:
        report = {"type": "mrkdwn", "text": f"Report: `{summary.report_path}`"}
        blocks.append({"type": "context", "elements": [report]})
    return {"text": text, "blocks": blocks}


def summary_from_result(result: Any, *, report_path: str = "") -> RunSummary:
    """The figures of a finished run, from its own ``totals`` and ``records`` (nothing is
    recounted elsewhere): rows, emails found, dollars and credits spent against the run's
    caps, and one line per kind of failure (status and reason, with its row count) followed by
    every provider the circuit breaker stopped.

    ``report_path`` is shown as given: pass a path relative to the project
    (:func:`gtmkit.paths.display_path`), not an absolute machine path.
    """
    import polars as pl

    totals = result.totals
    records = result.records
    failed = records.filter(pl.col("status").is_in(FAILED_STATUSES))
    failures: list[str] = []
    if failed.height:
        counts = (
            failed.with_columns(pl.col("status_reason").fill_null("no reason recorded"))
            .group_by("status", "status_reason")
            .len()
            .sort(["len", "status", "status_reason"], descending=[True, False, False])
        )
        for status, reason, n in counts.iter_rows():
            failures.append(f"{status} ({n} row{'s' if n != 1 else ''}): {reason}")
    for provider, reason in sorted(dict(totals.get("disabled") or {}).items()):
        failures.append(f"{provider} stopped: {reason}")
    budget_usd, budget_credits = totals.get("budget_usd"), totals.get("budget_credits")
    return RunSummary(
        run_id=str(totals.get("run_id") or "unnamed"),
        rows=int(totals.get("rows", records.height)),
        found=int(totals.get("emails_found", 0)),
        spend_usd=float(totals.get("cost_usd", 0.0)),
        budget_usd=None if budget_usd is None else float(budget_usd),
        failures=tuple(failures),
        report_path=report_path,
        credits=float(totals.get("credits", 0.0)),
        budget_credits=None if budget_credits is None else float(budget_credits),
        failed_rows=failed.height,
    )
