"""Signature checks of the webhook receiver: HubSpot v3 and the generic HMAC header."""

from __future__ import annotations

import base64
import hashlib
import hmac

from gtmkit.webhooks.signatures import check_generic, check_hubspot_v3, generic_signature

NOW = 1_800_000_000.0
SECRET = "s3cret-for-tests"
URI = "https://example.test/webhooks/hubspot"
BODY = b'[{"objectId": 1, "subscriptionType": "contact.creation"}]'


def _hubspot_headers(ts_ms: int, body: bytes = BODY) -> dict[str, str]:
    # computed independently of the module, from HubSpot's documented recipe
    message = b"POST" + URI.encode() + body + str(ts_ms).encode()
    sig = base64.b64encode(hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).decode()
    return {"x-hubspot-signature-v3": sig, "X-HubSpot-Request-Timestamp": str(ts_ms)}


def test_hubspot_valid_fresh_request_passes() -> None:
    headers = _hubspot_headers(int(NOW * 1000) - 60_000)
    assert check_hubspot_v3(SECRET, "POST", URI, BODY, headers, NOW) is None


def test_hubspot_tampered_body_is_refused() -> None:
    headers = _hubspot_headers(int(NOW * 1000))
    assert check_hubspot_v3(SECRET, "POST", URI, BODY + b" ", headers, NOW) == "bad signature"


def test_hubspot_stale_request_is_refused() -> None:
    headers = _hubspot_headers(int(NOW * 1000) - 301_000)
    reason = check_hubspot_v3(SECRET, "POST", URI, BODY, headers, NOW)
    assert reason is not None and reason.startswith("stale")


def test_hubspot_missing_headers_are_refused() -> None:
    assert check_hubspot_v3(SECRET, "POST", URI, BODY, {}, NOW) is not None


def test_generic_roundtrip_stale_and_bad() -> None:
    ts = str(int(NOW))
    good = {"X-Gtmkit-Signature": generic_signature(SECRET, BODY, ts), "X-Gtmkit-Timestamp": ts}
    assert check_generic(SECRET, BODY, good, NOW) is None
    assert check_generic("other", BODY, good, NOW) == "bad signature"
    old = str(int(NOW) - 400)
    stale = {"X-Gtmkit-Signature": generic_signature(SECRET, BODY, old), "X-Gtmkit-Timestamp": old}
    reason = check_generic(SECRET, BODY, stale, NOW)
    assert reason is not None and reason.startswith("stale")
