"""Destinations after the waterfall: Slack, Clay and the manual LinkedIn hand-off (issue 13).

So far: Slack's request signature check and its run-summary message body; Clay's webhook push,
callback receiving side and collect (``clay``, ``clay_callback``, ``clay_store``); the manual
LinkedIn task list (``linkedin_handoff``).

Example:
    >>> from gtmkit.integrations.slack_summary import RunSummary, summary_payload
    >>> summary_payload(RunSummary("r7", rows=10, found=9, spend_usd=1, budget_usd=5))["text"]
    'gtmkit run r7: 9/10 rows found (90.0%), $1.00 of $5.00'
"""

from __future__ import annotations

#: Credentials this package reads from the environment (the secrets canary and the log filter
#: derive their lists from it). Clay: the webhook URL (a write credential when the webhook has
#: no token), the webhook's auth token, and the shared secret of the callbacks.
SECRET_ENV_VARS: tuple[str, ...] = (
    "CLAY_WEBHOOK_URL",
    "CLAY_WEBHOOK_TOKEN",
    "CLAY_CALLBACK_TOKEN",
)
