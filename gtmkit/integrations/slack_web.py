"""Post and edit one Slack message through the Web API with a bot token: the approval request
whose buttons ``gtmkit approve`` must replace once the run is decided.

Why not the incoming webhook: a webhook answers ``ok`` and nothing else, so the message it
posted can never be found again. ``chat.postMessage`` answers the channel id and the message's
``ts``; ``chat.update`` with that pair edits it (api.slack.com/methods/chat.postMessage,
api.slack.com/methods/chat.update: ``POST https://slack.com/api/chat.update``, JSON body,
``channel`` must be the id, ``ts`` the message's timestamp; ``blocks`` left out keep the old
ones, so the decided message always sends its own). The token travels in the
``Authorization: Bearer`` header (docs.slack.dev/authentication/tokens).

Answers are HTTP 200 with ``{"ok": false, "error": CODE}`` on failure (``not_authed``,
``invalid_auth``, ``channel_not_found``, ``message_not_found``, ``cant_update_message``,
``edit_window_closed``, ``no_text``); ``429`` with ``Retry-After`` when over the method's
tier (docs.slack.dev/apis/web-api/rate-limits). httpx, not ``slack-sdk``, for the reason given
in :mod:`gtmkit.integrations.slack`: tests hand it the twin's transport.

The bot token (``SLACK_BOT_TOKEN``, ``xoxb-…``) comes from the environment only and no
message, ``repr`` or error carries it.

Example:
    >>> import os
    >>> from gtmkit.sandbox.slack import SlackTwin
    >>> twin = SlackTwin()
    >>> os.environ["SLACK_BOT_TOKEN"] = twin.add_bot_token()
    >>> api = SlackWebApi(transport=twin.transport())
    >>> posted = api.post_message("#gtm-runs", {"text": "approve r1?"})
    >>> api.update_message(posted.channel, posted.ts, {"text": "r1 approved"}).ts == posted.ts
    True
    >>> [m["text"] for m in twin.messages("#gtm-runs")]
    ['r1 approved']
    >>> api
    SlackWebApi(token from SLACK_BOT_TOKEN)
    >>> del os.environ["SLACK_BOT_TOKEN"]
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import httpx

from gtmkit.integrations.slack import (
    SlackAuthError,
    SlackError,
    SlackNotConfigured,
    SlackPayloadError,
    SlackRateLimited,
    SlackUnavailable,
)

__all__ = ["BOT_TOKEN_ENV", "WEB_API_BASE", "SlackMessageRef", "SlackWebApi"]

#: The Slack app's bot token (``chat:write`` scope): posts and edits the approval message.
BOT_TOKEN_ENV = "SLACK_BOT_TOKEN"
WEB_API_BASE = "https://slack.com/api/"

_ADVICE = {
    "not_authed": f"no token was sent: set {BOT_TOKEN_ENV}",
    "invalid_auth": f"{BOT_TOKEN_ENV} is not a valid token: copy the Bot User OAuth Token again",
    "account_inactive": f"the token's app was uninstalled: reinstall it and update {BOT_TOKEN_ENV}",
    "missing_scope": "the app lacks the chat:write scope: add it and reinstall the app",
    "channel_not_found": "the channel does not exist or the bot is not in it: invite the app",
    "not_in_channel": "the bot is not in the channel: invite the app (/invite @app)",
    "message_not_found": "the message was deleted or its ts is wrong",
    "cant_update_message": "the message was posted by someone else: only its poster may edit",
    "edit_window_closed": "the workspace no longer allows editing this message",
    "no_text": "the message has neither text nor blocks",
    "invalid_blocks": "the blocks are not valid Block Kit",
}
_AUTH = frozenset({"not_authed", "invalid_auth", "account_inactive", "missing_scope"})


@dataclass(frozen=True)
class SlackMessageRef:
    """Where a message lives: the channel id and its ``ts`` (what ``chat.update`` needs)."""

    channel: str
    ts: str


class SlackWebApi:
    """``chat.postMessage`` and ``chat.update``, the token read from ``SLACK_BOT_TOKEN``
    when a call is made (``transport``: the twin's in tests)."""

    def __init__(self, *, transport: httpx.BaseTransport | None = None, timeout: float = 10.0):
        self._transport = transport
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"SlackWebApi(token from {BOT_TOKEN_ENV})"

    @staticmethod
    def configured() -> bool:
        """Whether ``SLACK_BOT_TOKEN`` is set."""
        return bool(os.environ.get(BOT_TOKEN_ENV, "").strip())

    def post_message(self, channel: str, payload: dict[str, Any]) -> SlackMessageRef:
        """Post ``payload`` (``text`` / ``blocks``) to ``channel`` (a name or an id)."""
        return self._call("chat.postMessage", {**payload, "channel": channel})

    def update_message(self, channel: str, ts: str, payload: dict[str, Any]) -> SlackMessageRef:
        """Replace the message ``ts`` of ``channel`` (the id) with ``payload``."""
        return self._call("chat.update", {**payload, "channel": channel, "ts": ts})

    def _call(self, method: str, body: dict[str, Any]) -> SlackMessageRef:
        token = os.environ.get(BOT_TOKEN_ENV, "").strip()
        if not token:
            raise SlackNotConfigured(
                f"{BOT_TOKEN_ENV} is not set: copy the Bot User OAuth Token (chat:write) of "
                "your Slack app into the environment or .env"
            )
        try:
            with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
                response = client.post(
                    WEB_API_BASE + method,
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
        except httpx.HTTPError as exc:  # only the kind: the request may hold the token
            raise SlackUnavailable(
                f"Slack {method} could not be reached ({type(exc).__name__}): check the "
                "network, then retry"
            ) from None
        if response.status_code == 429:
            wait = response.headers.get("Retry-After", "1")
            raise SlackRateLimited(
                f"Slack {method} is rate limited: retry after {wait} s",
                retry_after=float(wait) if wait.isdigit() else 1.0,
            )
        if response.status_code >= 500:
            raise SlackUnavailable(
                f"Slack {method} answered {response.status_code}: try again later",
                status=response.status_code,
            )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict) or answer.get("ok") is not True:
            code = str(answer.get("error", "")) if isinstance(answer, dict) else ""
            code = code if code.replace("_", "").isalnum() and len(code) <= 64 else "unknown"
            advice = _ADVICE.get(code, "see the method's error table on api.slack.com")
            kind: type[SlackError] = SlackError
            if code in _AUTH:
                kind = SlackAuthError
            elif code in ("no_text", "invalid_blocks"):
                kind = SlackPayloadError
            raise kind(f"Slack {method} answered {code}: {advice}", status=200, code=code)
        return SlackMessageRef(str(answer.get("channel", "")), str(answer.get("ts", "")))
