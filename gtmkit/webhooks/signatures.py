"""Signature checks for incoming webhooks, done on the raw body before anything is parsed.

HubSpot v3 (https://developers.hubspot.com/docs/api/webhooks/validating-requests): the header
``X-HubSpot-Signature-v3`` is base64(HMAC-SHA256(client secret, method + uri + body +
timestamp)), ``X-HubSpot-Request-Timestamp`` is milliseconds since the epoch, and a request
older than 5 minutes is refused.

Generic leads: ``X-Gtmkit-Signature`` is hex(HMAC-SHA256(secret, timestamp + "." + body)) with
``X-Gtmkit-Timestamp`` in seconds; the same 5-minute window refuses replays of old deliveries.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

MAX_AGE_SECONDS = 300.0


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _fresh(sent_at_seconds: float, now: float) -> bool:
    # a clock a little ahead of ours is not a replay; far ahead is refused like stale
    return abs(now - sent_at_seconds) <= MAX_AGE_SECONDS


def hubspot_v3_signature(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot sends for this request."""
    message = method.upper().encode() + uri.encode() + body + timestamp.encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def check_hubspot_v3(
    secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str], now: float
) -> str | None:
    """None when the request is HubSpot's and fresh, else the reason it is refused."""
    signature = _header(headers, "X-HubSpot-Signature-v3")
    timestamp = _header(headers, "X-HubSpot-Request-Timestamp")
    if not signature or not timestamp:
        return "missing X-HubSpot-Signature-v3 or X-HubSpot-Request-Timestamp header"
    if not timestamp.isdigit():
        return "X-HubSpot-Request-Timestamp is not milliseconds since the epoch"
    if not _fresh(int(timestamp) / 1000.0, now):
        return "stale request: timestamp outside the 5-minute window"
    expected = hubspot_v3_signature(secret, method, uri, body, timestamp)
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    return None


def generic_signature(secret: str, body: bytes, timestamp: str) -> str:
    """The signature a sender of generic lead events puts in X-Gtmkit-Signature."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def check_generic(secret: str, body: bytes, headers: Mapping[str, str], now: float) -> str | None:
    """None when the generic lead delivery is signed and fresh, else the reason it is refused."""
    signature = _header(headers, "X-Gtmkit-Signature")
    timestamp = _header(headers, "X-Gtmkit-Timestamp")
    if not signature or not timestamp:
        return "missing X-Gtmkit-Signature or X-Gtmkit-Timestamp header"
    if not timestamp.isdigit():
        return "X-Gtmkit-Timestamp is not seconds since the epoch"
    if not _fresh(float(timestamp), now):
        return "stale request: timestamp outside the 5-minute window"
    if not hmac.compare_digest(generic_signature(secret, body, timestamp), signature):
        return "bad signature"
    return None
