"""Slack request signing: valid passes; tampering, wrong secret, replay, bad headers fail."""

from __future__ import annotations

import pytest

from gtmkit.integrations.slack_signature import SlackSignatureError, sign, verify

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"payload=%7B%22type%22%3A%22block_actions%22%7D"


def _headers(ts: str = "1700000000", body: bytes = BODY, secret: str = SECRET) -> dict[str, str]:
    return {"x-slack-request-timestamp": ts, "X-Slack-Signature": sign(secret, ts, body)}


def test_valid_signature_passes() -> None:
    verify(SECRET, BODY, _headers(), now=1700000010)


def test_known_vector_from_independent_hmac() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"v0:1700000000:" + BODY, hashlib.sha256).hexdigest()
    assert _headers()["X-Slack-Signature"] == "v0=" + expected


@pytest.mark.parametrize(
    ("headers", "body", "now", "message"),
    [
        (_headers(), BODY + b"x", 1700000010, "bad signature"),
        (_headers(secret="other"), BODY, 1700000010, "bad signature"),
        (_headers(), BODY, 1700000000 + 301, "5-minute window"),
        (
            {"X-Slack-Signature": "v0=00"},
            BODY,
            1700000000,
            "missing X-Slack-Signature or X-Slack-Request-Timestamp",
        ),
        (
            {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=0"},
            BODY,
            0,
            "not a whole number",
        ),
    ],
)
def test_bad_requests_refused(
    headers: dict[str, str], body: bytes, now: float, message: str
) -> None:
    with pytest.raises(SlackSignatureError, match=message):
        verify(SECRET, body, headers, now=now)
