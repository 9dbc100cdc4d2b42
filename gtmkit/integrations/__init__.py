"""Destinations after the waterfall: Slack, Clay and the manual LinkedIn hand-off (issue 13).

Slack: the request signature check, the run-summary message body, the incoming-webhook client
(:mod:`~gtmkit.integrations.slack`) and the approval gate
(:mod:`~gtmkit.integrations.slack_approvals`).

Credentials come from the environment only (:data:`SECRET_ENV_VARS`, masked in every log line
and checked by the canary tests).

Example:
    >>> from gtmkit.integrations.slack_summary import RunSummary, summary_payload
    >>> summary_payload(RunSummary("r7", rows=10, found=9, spend_usd=1, budget_usd=5))["text"]
    'gtmkit run r7: 9/10 rows found (90.0%), $1.00 of $5.00'
"""

from __future__ import annotations

#: Secret variables of the integrations (the Slack webhook URL is itself the secret).
SECRET_ENV_VARS: tuple[str, ...] = ("SLACK_WEBHOOK_URL", "SLACK_SIGNING_SECRET")
