"""Destinations after the waterfall: Slack, Clay and the manual LinkedIn hand-off (issue 13).

Slack: the request signature check, the run-summary message body, the incoming-webhook client
(:mod:`~gtmkit.integrations.slack`) and the approval gate
(:mod:`~gtmkit.integrations.slack_approvals`). Clay: the webhook push, the callback's receiving
side and collect (``clay``, ``clay_callback``, ``clay_store``). The manual LinkedIn task list
and its re-import (``linkedin_handoff``).

Credentials come from the environment only (:data:`SECRET_ENV_VARS`, masked in every log line
and checked by the canary tests).

Example:
    >>> from gtmkit.integrations.slack_summary import RunSummary, summary_payload
    >>> summary_payload(RunSummary("r7", rows=10, found=9, spend_usd=1, budget_usd=5))["text"]
    'gtmkit run r7: 9/10 rows found (90.0%), $1.00 of $5.00'
"""

from __future__ import annotations

#: Credentials this package reads from the environment (the secrets canary and the log filter
#: derive their lists from it). Slack: the incoming-webhook URL (itself the secret) and the
#: signing secret. Clay: the webhook URL (a write credential when the webhook has no token),
#: the webhook's auth token, and the shared secret of the callbacks.
SECRET_ENV_VARS: tuple[str, ...] = (
    "SLACK_WEBHOOK_URL",
    "SLACK_SIGNING_SECRET",
    "CLAY_WEBHOOK_URL",
    "CLAY_WEBHOOK_TOKEN",
    "CLAY_CALLBACK_TOKEN",
    # the bot token that posts the approval request and edits it once decided (slack_web)
    "SLACK_BOT_TOKEN",
)
