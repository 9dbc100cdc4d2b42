"""Signature checks for incoming webhooks, done on the raw body before anything is parsed.

HubSpot v3 (https://developers.hubspot.com/docs/api/webhooks/validating-requests): the header
``X-HubSpot-Signature-v3`` is base64(HMAC-SHA256(client secret, method + uri + body +
timestamp)), ``X-HubSpot-Request-Timestamp`` is milliseconds since the epoch, and a request
older than 5 minutes is refused.

Slack (https://docs.slack.dev/authentication/verifying-requests-from-slack): ``X-Slack-Signature``
is ``v0=`` + hex(HMAC-SHA256(signing secret, ``v0:{X-Slack-Request-Timestamp}:{body}``)), the
timestamp in seconds, the same 5-minute window.

Generic leads: ``X-Gtmkit-Signature`` is hex(HMAC-SHA256(secret, timestamp + "." + body)) with
``X-Gtmkit-Timestamp`` in seconds; the same 5-minute window refuses replays of old deliveries.

Example:
    >>> body = b'{"email": "ana@acme.io"}'
    >>> headers = {"x-gtmkit-timestamp": "1700000000",
    ...            "x-gtmkit-signature": generic_signature("s3cret", body, "1700000000")}
    >>> check_generic("s3cret", body, headers, now=1700000010.0) is None
    True
    >>> check_generic("wrong", body, headers, now=1700000010.0) is None
    False
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping

MAX_AGE_SECONDS = 300.0


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _refusal(
    signature: str | None,
    timestamp: str | None,
    expected_for: Callable[[str], str],
    unit_per_second: float,
    names: str,
    now: float,
) -> str | None:
    """The shared order of checks: headers present, timestamp fresh, then the HMAC."""
    if not signature or not timestamp:
        return f"missing {names} header"
    if not timestamp.isdigit():
        return f"timestamp header of {names} is not a whole number"
    # a clock a little ahead of ours is not a replay; far ahead is refused like stale
    if abs(now - int(timestamp) / unit_per_second) > MAX_AGE_SECONDS:
        return "stale request: timestamp outside the 5-minute window"
    if not hmac.compare_digest(expected_for(timestamp), signature):
        return "bad signature"
    return None


def hubspot_v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot sends for this request."""
    message = method.upper().encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_hubspot_v3(
    secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str], now: float
) -> str | None:
    """None when the request is HubSpot's and fresh, else the reason it is refused."""
    return _refusal(
        _header(headers, "X-HubSpot-Signature-v3"),
        _header(headers, "X-HubSpot-Request-Timestamp"),
        lambda ts: hubspot_v3_signature(secret, method, uri, body, ts),
        1000.0,
        "X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp",
        now,
    )


def generic_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The signature a sender of generic lead events puts in X-Gtmkit-Signature."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_generic(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> str | None:
    """None when the generic lead delivery is signed and fresh, else the reason it is refused."""
    return _refusal(
        _header(headers, "X-Gtmkit-Signature"),
        _header(headers, "X-Gtmkit-Timestamp"),
        lambda ts: generic_signature(secret, body, ts),
        1.0,
        "X-Gtmkit-Signature or X-Gtmkit-Timestamp",
        now,
    )


def slack_v0_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The ``X-Slack-Signature`` value Slack sends for this body."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def check_slack(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> str | None:
    """None when the request is Slack's and fresh, else the reason it is refused."""
    return _refusal(
        _header(headers, "X-Slack-Signature"),
        _header(headers, "X-Slack-Request-Timestamp"),
        lambda ts: slack_v0_signature(secret, body, ts),
        1.0,
        "X-Slack-Signature or X-Slack-Request-Timestamp",
        now,
    )
