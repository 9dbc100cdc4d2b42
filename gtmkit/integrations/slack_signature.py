"""Verify Slack's signed requests before their body is parsed.

Slack signs every interactivity request
(docs.slack.dev/authentication/verifying-requests-from-slack):
``X-Slack-Signature`` is ``v0=`` + hex HMAC-SHA256, keyed by the app's signing secret, of the
base string ``v0:{X-Slack-Request-Timestamp}:{raw body}``; compare in constant time and refuse a
timestamp more than five minutes from now, so a captured request cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

MAX_SKEW_SECONDS = 300


class SlackSignatureError(ValueError):
    """A request that is not provably from Slack; the message says which check failed."""


def _header(headers: Mapping[str, str], name: str) -> str:
    # HTTP header names are case-insensitive; receivers pass them in any case.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    raise SlackSignatureError(f"missing {name} header: the request is not from Slack")


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack would send for this body (used by the twin).

    >>> sign("s", "1", b"x")[:3]
    'v0='
    """
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None) -> None:
    """Raise :class:`SlackSignatureError` unless ``body`` carries a fresh, valid v0 signature.

    >>> headers = {"X-Slack-Request-Timestamp": "100", "X-Slack-Signature": sign("s", "100", b"b")}
    >>> verify("s", b"b", headers, now=100.0)
    >>> verify("t", b"b", headers, now=100.0)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    gtmkit.integrations.slack_signature.SlackSignatureError: signature does not match: ...
    """
    timestamp = _header(headers, "x-slack-request-timestamp")
    signature = _header(headers, "x-slack-signature")
    try:
        sent_at = int(timestamp)
    except ValueError:
        raise SlackSignatureError("X-Slack-Request-Timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - sent_at) > MAX_SKEW_SECONDS:
        raise SlackSignatureError("request timestamp is more than 5 minutes old: possible replay")
    if not hmac.compare_digest(sign(secret, timestamp, body), signature):
        raise SlackSignatureError("signature does not match: check SLACK_SIGNING_SECRET")
