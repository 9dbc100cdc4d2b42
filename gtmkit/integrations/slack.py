"""Post to Slack through an incoming webhook: one small httpx client, typed errors, 429 retried.

Why httpx and not ``slack-sdk``: the engine is async on httpx, and every test drives HTTP through
an ``httpx.MockTransport`` or the in-process twin (:mod:`gtmkit.sandbox.slack`). slack-sdk's
``WebhookClient`` sends with ``urllib`` and its ``AsyncWebhookClient`` with ``aiohttp``, so
neither can be handed an ``httpx`` transport; posting one JSON body needs none of its weight.

Facts this module relies on (checked with the search tool):

* An incoming webhook takes ``POST`` JSON with ``text`` and/or ``blocks`` and answers ``200``
  with the plain-text body ``ok`` (docs.slack.dev/messaging/sending-messages-using-incoming-
  webhooks).
* Errors are an HTTP status with a plain-text code in the body (api.slack.com/changelog/
  2016-05-17-changes-to-errors-for-incoming-webhooks, and the "Handling errors" section of the
  incoming-webhooks page): ``400 invalid_payload`` (the body is not valid JSON / Block Kit),
  ``403 invalid_token`` / ``action_prohibited``, ``404 no_service`` (the webhook was removed or
  disabled; slackapi/slack-github-action#249) / ``channel_not_found``, ``410
  channel_is_archived``, ``500 rollup_error``.
* Posting is limited to about one message per second per webhook; over it Slack answers ``429``
  with ``Retry-After`` in seconds (docs.slack.dev/apis/web-api/rate-limits).

The webhook URL **is** the credential (anyone holding it can post to the channel), so it comes
from ``SLACK_WEBHOOK_URL`` only, never from an argument, and no message, ``repr`` or log line of
gtmkit carries it: errors name the variable, not the value, and the log filter of
:mod:`gtmkit.providers._redact` masks it in httpx's request lines.

Example:
    >>> import httpx, os
    >>> os.environ["SLACK_WEBHOOK_URL"] = "https://hooks.slack.com/services/T1/B1/secret"
    >>> ok = httpx.MockTransport(lambda request: httpx.Response(200, text="ok"))
    >>> SlackWebhook(transport=ok).post_sync({"text": "hello"}).attempts
    1
    >>> SlackWebhook(transport=ok)
    SlackWebhook(url from SLACK_WEBHOOK_URL)
    >>> del os.environ["SLACK_WEBHOOK_URL"]
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gtmkit.errors import GtmkitError, InvalidInput

__all__ = [
    "SIGNING_SECRET_ENV",
    "WEBHOOK_URL_ENV",
    "SlackAuthError",
    "SlackError",
    "SlackNotConfigured",
    "SlackPayloadError",
    "SlackPosted",
    "SlackRateLimited",
    "SlackUnavailable",
    "SlackWebhook",
    "SlackWebhookGone",
]

#: The incoming webhook URL (the secret itself: it grants posting to one channel).
WEBHOOK_URL_ENV = "SLACK_WEBHOOK_URL"
#: The Slack app's signing secret, which signs the interactive button clicks.
SIGNING_SECRET_ENV = "SLACK_SIGNING_SECRET"

#: A Retry-After longer than this is not waited for: the caller hears about it instead.
MAX_RETRY_AFTER_S = 60.0


class SlackError(GtmkitError, RuntimeError):
    """Slack refused or could not take a message. ``status`` is the HTTP status (0 when no
    answer came), ``code`` Slack's error string (``invalid_payload``, ``no_service``...)."""

    def __init__(self, message: str, *, status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class SlackNotConfigured(SlackError):
    """``SLACK_WEBHOOK_URL`` is not set (or is not an https URL)."""


class SlackPayloadError(SlackError, ValueError):
    """400: Slack could not read the body (bad JSON, an unknown block, no text)."""


class SlackAuthError(SlackError):
    """403: the webhook's token is not valid, or the workspace forbids this post."""


class SlackWebhookGone(SlackError):
    """404/410: the webhook was removed or disabled, or its channel archived or deleted."""


class SlackRateLimited(SlackError):
    """429 after every retry (or a Retry-After too long to wait for); ``retry_after`` says when."""

    def __init__(self, message: str, *, retry_after: float, status: int = 429, code: str = ""):
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class SlackUnavailable(SlackError):
    """5xx or no answer at all (connection refused, timeout) after the retries."""


#: What to do about each documented answer (the code in the body picks the advice).
_ADVICE = {
    "invalid_payload": "the message body is not valid Block Kit JSON; this is a gtmkit bug, "
    "please report it with the run's summary",
    "invalid_token": f"the webhook's token is not valid: create a new incoming webhook and "
    f"set {WEBHOOK_URL_ENV} to it",
    "action_prohibited": "the workspace restricts this webhook; ask a Slack admin",
    "no_service": f"the webhook was removed or disabled: create a new one and set "
    f"{WEBHOOK_URL_ENV}",
    "channel_not_found": f"the webhook's channel no longer exists: create a webhook for "
    f"another channel and set {WEBHOOK_URL_ENV}",
    "channel_is_archived": f"the webhook's channel is archived: unarchive it, or create a "
    f"webhook for another channel and set {WEBHOOK_URL_ENV}",
}
_BY_STATUS: dict[int, type[SlackError]] = {
    400: SlackPayloadError,
    403: SlackAuthError,
    404: SlackWebhookGone,
    410: SlackWebhookGone,
}


@dataclass(frozen=True)
class SlackPosted:
    """A message Slack took: its answer body (``ok``) and how many requests it needed."""

    body: str
    attempts: int
    waited_s: float


def _code(response: httpx.Response) -> str:
    # a short plain-text code; anything else (an HTML error page) is not repeated
    text = response.text.strip()
    return text if text.replace("_", "").isalnum() and len(text) <= 64 else ""


def _retry_after(response: httpx.Response) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", "1")))
    except ValueError:  # an HTTP date or junk: wait a second, the documented pace
        return 1.0


def error_for(response: httpx.Response) -> SlackError:
    """The typed error of a non-200 answer; its message says what to do, never the URL."""
    status, code = response.status_code, _code(response)
    advice = _ADVICE.get(code, "see the Slack incoming-webhook error table")
    message = f"Slack incoming webhook ({WEBHOOK_URL_ENV}) answered {status} {code}: {advice}"
    if status == 429:
        return SlackRateLimited(message, retry_after=_retry_after(response), code=code)
    if status >= 500:
        return SlackUnavailable(
            f"Slack incoming webhook answered {status} {code}: Slack is having trouble; "
            "try again later",
            status=status,
            code=code,
        )
    return _BY_STATUS.get(status, SlackError)(message, status=status, code=code)


class SlackWebhook:
    """An incoming webhook, its URL read from ``SLACK_WEBHOOK_URL`` when a message is sent.

    Args:
        transport: an httpx transport (the twin's, or a ``MockTransport``); ``None`` is the
            network.
        max_attempts: requests per message, counting retries of 429 (after ``Retry-After``),
            5xx and lost connections (after a short pause).
        timeout_s: per request.
        sleep: the async sleep used between attempts (tests pass one that records).
    """

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        max_attempts: int = 4,
        timeout_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        if max_attempts < 1:
            raise InvalidInput(f"max_attempts must be at least 1, got {max_attempts!r}")
        self._transport = transport
        self.max_attempts = max_attempts
        self.timeout_s = timeout_s
        self._sleep = sleep or asyncio.sleep

    def __repr__(self) -> str:
        return f"SlackWebhook(url from {WEBHOOK_URL_ENV})"

    @staticmethod
    def configured() -> bool:
        """Whether ``SLACK_WEBHOOK_URL`` is set (so a notebook can say why nothing was posted)."""
        return bool(os.environ.get(WEBHOOK_URL_ENV, "").strip())

    @staticmethod
    def _url() -> str:
        url = os.environ.get(WEBHOOK_URL_ENV, "").strip()
        if not url:
            raise SlackNotConfigured(
                f"{WEBHOOK_URL_ENV} is not set: create an incoming webhook in your Slack app "
                f"(Features > Incoming Webhooks) and put its URL in the environment or .env"
            )
        if not url.startswith("https://"):
            raise SlackNotConfigured(
                f"{WEBHOOK_URL_ENV} must be an https:// URL (https://hooks.slack.com/services/"
                "...); the value set is not one (not shown: it is a secret)"
            )
        return url

    async def post(self, payload: dict[str, Any]) -> SlackPosted:
        """Send one message (a dict with ``text`` and/or ``blocks``); raises a :class:`SlackError`
        subclass when Slack refuses it."""
        from gtmkit.providers._redact import install_log_redaction

        install_log_redaction()  # httpx logs each request's URL at INFO: the secret is masked
        url = self._url()
        body = json.dumps(payload, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json; charset=utf-8"}
        waited = 0.0
        async with httpx.AsyncClient(transport=self._transport, timeout=self.timeout_s) as client:
            for attempt in range(1, self.max_attempts + 1):
                last = attempt == self.max_attempts
                try:
                    response = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    # the exception's text may hold the URL: only its kind is repeated
                    if last:
                        raise SlackUnavailable(
                            f"no answer from the Slack incoming webhook ({type(exc).__name__}) "
                            f"after {attempt} attempts: check the network, then retry"
                        ) from None
                    waited += await self._pause(1.0 * attempt)
                    continue
                if response.status_code == 200:
                    return SlackPosted(response.text, attempt, waited)
                error = error_for(response)
                if isinstance(error, SlackRateLimited):
                    if last or error.retry_after > MAX_RETRY_AFTER_S:
                        raise SlackRateLimited(
                            f"{error} (rate limited {attempt} times; Slack asks to wait "
                            f"{error.retry_after:g} s before the next message)",
                            retry_after=error.retry_after,
                            code=error.code,
                        )
                    waited += await self._pause(error.retry_after)
                    continue
                if isinstance(error, SlackUnavailable) and not last:
                    waited += await self._pause(1.0 * attempt)
                    continue
                raise error
        raise AssertionError("unreachable: the last attempt returns or raises")  # pragma: no cover

    async def _pause(self, seconds: float) -> float:
        await self._sleep(seconds)
        return seconds

    def post_sync(self, payload: dict[str, Any]) -> SlackPosted:
        """:meth:`post` from sync code (a script or a Jupyter cell)."""
        from gtmkit.waterfall.sync import run_sync

        return run_sync(self.post(payload))
