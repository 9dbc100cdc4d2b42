"""Destinations after the waterfall: Slack, Clay and the manual LinkedIn hand-off (issue 13).

So far: Slack's request signature check and its run-summary message body.

Example:
    >>> from gtmkit.integrations.slack_summary import RunSummary, summary_payload
    >>> summary_payload(RunSummary("r7", rows=10, found=9, spend_usd=1, budget_usd=5))["text"]
    'gtmkit run r7: 9/10 rows found (90.0%), $1.00 of $5.00'
"""
