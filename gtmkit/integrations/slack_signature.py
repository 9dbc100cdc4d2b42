"""Verify Slack's signed requests before their body is parsed.

The signing scheme and its checks live with every other webhook signature in
:mod:`gtmkit.webhooks.signatures` (one order of checks: headers, freshness, constant-time HMAC);
this module gives Slack's receivers a raising form and a hint about which secret to check.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from gtmkit.errors import GtmkitError
from gtmkit.webhooks.signatures import check_slack, slack_v0_signature


class SlackSignatureError(GtmkitError, ValueError):
    """A request that is not provably from Slack; the message says which check failed."""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack would send for this body (used by the twin).

    >>> sign("s", "1", b"x")[:3]
    'v0='
    """
    return slack_v0_signature(secret, body, timestamp)


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
    """Raise :class:`SlackSignatureError` unless ``body`` carries a fresh, valid v0 signature.

    >>> headers = {"X-Slack-Request-Timestamp": "100", "X-Slack-Signature": sign("s", "100", b"b")}
    >>> verify("s", b"b", headers, now=100.0)
    >>> verify("t", b"b", headers, now=100.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gtmkit.integrations.slack_signature.SlackSignatureError: bad signature: ...
    """
    refusal = check_slack(secret, body, headers, time.time() if now is None else now)
    if refusal == "bad signature":
        refusal += ": check SLACK_SIGNING_SECRET (the app's signing secret, not its bot token)"
    if refusal is not None:
        raise SlackSignatureError(refusal)
