"""A simulated Slack: incoming webhooks on Slack's real paths and answers, and the signed
``block_actions`` request Slack sends when someone clicks a button of a posted message.

Incoming webhooks (docs.slack.dev/messaging/sending-messages-using-incoming-webhooks): ``POST
https://hooks.slack.com/services/T…/B…/<token>`` with a JSON body holding ``text`` and/or
``blocks``; ``200`` with the plain-text body ``ok``. The failures, each a status and a plain-text
code (api.slack.com/changelog/2016-05-17-changes-to-errors-for-incoming-webhooks and the
"Handling errors" table of the webhook page): ``400 invalid_payload`` (not JSON, not an
object, no text and no blocks, a block without a known ``type``), ``403 invalid_token`` (the
token of a known webhook is wrong), ``404 no_service`` (no such webhook, or it was removed),
``410 channel_is_archived``, and ``429`` with ``Retry-After`` in seconds when posting too fast
(docs.slack.dev/apis/web-api/rate-limits; scripted here with :meth:`SlackTwin.throttle` so
tests stay deterministic).

Interactivity (docs.slack.dev/interactivity/handling-user-interaction, docs.slack.dev/
reference/interaction-payloads/block_actions-payload): a click is ``POST``-ed to the app's
request URL as ``application/x-www-form-urlencoded`` with one field, ``payload``, holding the
JSON ``block_actions`` payload (``user``, ``actions[].action_id`` / ``value`` / ``block_id``,
``response_url``...), signed with the app's signing secret (``X-Slack-Signature``,
``X-Slack-Request-Timestamp``; docs.slack.dev/authentication/verifying-requests-from-slack).

The click's ``response_url`` (``https://hooks.slack.com/actions/T…/…/<token>``) is served too:
the app ``POST``s JSON to it, and ``"replace_original": true`` replaces the message the button
was on, ``"delete_original": true`` removes it, ``"response_type": "ephemeral"`` shows a note
to the clicker only (api.slack.com/interactivity/handling#message_responses: "up to 5 times
within 30 minutes"). It answers ``200 ok`` like an incoming webhook; ``404 no_service`` for a
URL it never issued and ``404 expired_url`` past 5 uses or 30 minutes — those two codes are
this twin's assumption, not from Slack's docs.

The Web API's two message methods are served on ``https://slack.com/api/`` with a bot token
(:meth:`SlackTwin.add_bot_token`) in ``Authorization: Bearer``: ``chat.postMessage`` answers
``{"ok": true, "channel": "C…", "ts": "…"}`` and ``chat.update`` replaces the message with that
channel id and ``ts`` (api.slack.com/methods/chat.postMessage, api.slack.com/methods/
chat.update). Failures are HTTP 200 with ``{"ok": false, "error": CODE}``: ``not_authed`` (no
token), ``invalid_auth``, ``channel_not_found`` (``chat.update`` wants the id, not the name),
``message_not_found``, ``no_text`` and ``invalid_blocks``.

Example:
    >>> import httpx
    >>> twin = SlackTwin()
    >>> url = twin.add_webhook("#gtm-runs")
    >>> with httpx.Client(transport=twin.transport()) as client:
    ...     client.post(url, json={"text": "hi"}).text
    ...     client.post(url, content=b"{not json").text
    'ok'
    'invalid_payload'
    >>> [m["text"] for m in twin.messages("#gtm-runs")]
    ['hi']
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from gtmkit.errors import NotFound
from gtmkit.integrations.slack import SlackWebhook
from gtmkit.integrations.slack_signature import sign

__all__ = ["KNOWN_BLOCK_TYPES", "SlackTwin"]

HOST = "hooks.slack.com"
API_HOST = "slack.com"
#: The Block Kit block types a message may hold (docs.slack.dev/reference/block-kit/blocks).
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "rich_text",
        "section",
        "video",
        "markdown",
    }
)


@dataclass
class _Webhook:
    team: str
    service: str
    token: str
    channel: str
    removed: bool = False


#: A response_url takes this many posts within this many seconds (Slack's interactivity docs).
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60.0


@dataclass
class _ResponseUrl:
    channel: str
    message: dict[str, Any]
    issued_at: float
    uses: int = 0


@dataclass
class SlackTwin:
    """Incoming webhooks and their channels, in memory; :meth:`transport` serves them."""

    team: str = "T0TWIN0001"
    _hooks: dict[str, _Webhook] = field(default_factory=dict)
    _archived: set[str] = field(default_factory=set)
    _posted: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    _throttles: list[float] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    _response_urls: dict[str, _ResponseUrl] = field(default_factory=dict)
    _responses: list[dict[str, Any]] = field(default_factory=list)
    _bot_tokens: set[str] = field(default_factory=set)
    _channel_ids: dict[str, str] = field(default_factory=dict)
    #: (channel id, ts) -> the posted message object (the same one ``messages`` lists)
    _by_ts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)

    # -- set-up -----------------------------------------------------------------------------
    def add_webhook(self, channel: str = "#gtm-runs", *, token: str | None = None) -> str:
        """A new incoming webhook posting to ``channel``; its URL (the secret). ``token``
        (default: random) lets a canary test plant a recognisable one."""
        service = f"B{len(self._hooks) + 1:010d}"
        hook = _Webhook(self.team, service, token or secrets.token_urlsafe(18), channel)
        self._hooks[service] = hook
        return f"https://{HOST}/services/{hook.team}/{service}/{hook.token}"

    def remove_webhook(self, url: str) -> None:
        """The webhook is removed (its app uninstalled, or it was revoked): 404 from now on."""
        self._hooks[url.rstrip("/").split("/")[-2]].removed = True

    def webhook(self, channel: str = "#gtm-runs") -> SlackWebhook:
        """A webhook client posting to a new webhook of this twin for ``channel``: the
        sandbox's way in, so a notebook never sets ``SLACK_WEBHOOK_URL`` itself."""
        return _TwinWebhook(self.add_webhook(channel), transport=self.transport())

    def add_bot_token(self, token: str | None = None) -> str:
        """A bot token the Web API methods accept (default: a random ``xoxb-`` one)."""
        token = token or f"xoxb-{secrets.token_urlsafe(24)}"
        self._bot_tokens.add(token)
        return token

    def channel_id(self, channel: str) -> str:
        """The id of a channel named ``channel`` (given on first use, like Slack's C… ids)."""
        return self._channel_ids.setdefault(channel, f"C{len(self._channel_ids) + 1:010d}")

    def archive(self, channel: str) -> None:
        """The channel is archived: its webhooks answer 410 ``channel_is_archived``."""
        self._archived.add(channel)

    def throttle(self, times: int = 1, *, retry_after: float = 1.0) -> None:
        """The next ``times`` posts are answered 429 with ``Retry-After: retry_after``."""
        self._throttles.extend([retry_after] * times)

    def messages(self, channel: str = "#gtm-runs") -> list[dict[str, Any]]:
        """The bodies the channel received, oldest first."""
        return list(self._posted.get(channel, []))

    def responses(self) -> list[dict[str, Any]]:
        """The bodies posted to click ``response_url`` s, oldest first (ephemeral ones too)."""
        return list(self._responses)

    def transport(self) -> httpx.MockTransport:
        """An httpx transport (sync and async) answering as Slack's webhook host does."""
        return httpx.MockTransport(self._handle)

    # -- the webhook endpoint ---------------------------------------------------------------
    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        parts = request.url.path.strip("/").split("/")
        if request.url.host == HOST and len(parts) == 4 and parts[0] == "actions":
            return self._respond(request)
        if request.url.host == API_HOST and len(parts) == 2 and parts[0] == "api":
            return self._web_api(parts[1], request)
        if request.url.host != HOST or len(parts) != 4 or parts[0] != "services":
            return _answer(404, "no_service")
        if request.method != "POST":
            return _answer(405, "invalid_post_type")
        _, team, service, token = parts
        hook = self._hooks.get(service)
        if hook is None or hook.team != team or hook.removed:
            return _answer(404, "no_service")
        if not secrets.compare_digest(hook.token, token):
            return _answer(403, "invalid_token")
        if hook.channel in self._archived:
            return _answer(410, "channel_is_archived")
        if self._throttles:
            wait = self._throttles.pop(0)
            return httpx.Response(429, text="rate_limited", headers={"Retry-After": f"{wait:g}"})
        payload = _payload(request.content)
        if payload is None:
            return _answer(400, "invalid_payload")
        self._posted.setdefault(hook.channel, []).append(payload)
        return _answer(200, "ok")

    def _respond(self, request: httpx.Request) -> httpx.Response:
        if request.method != "POST":
            return _answer(405, "invalid_post_type")
        issued = self._response_urls.get(str(request.url.copy_with(query=None)))
        if issued is None:
            return _answer(404, "no_service")
        if issued.uses >= RESPONSE_URL_USES or time.time() - issued.issued_at > RESPONSE_URL_TTL_S:
            return _answer(404, "expired_url")
        try:
            body = json.loads(request.content)
        except (ValueError, UnicodeDecodeError):
            return _answer(400, "invalid_payload")
        if not isinstance(body, dict):
            return _answer(400, "invalid_payload")
        delete = _flag(body.get("delete_original"))
        if not delete and _payload(request.content) is None:
            return _answer(400, "invalid_payload")
        issued.uses += 1
        self._responses.append(body)
        posted = self._posted.get(issued.channel, [])
        at = next((i for i, m in enumerate(posted) if m is issued.message), None)
        if at is not None and delete:
            del posted[at]
        elif at is not None and _flag(body.get("replace_original")):
            posted[at] = issued.message = {
                k: v for k, v in body.items() if k not in ("replace_original", "response_type")
            }
        return _answer(200, "ok")

    # -- the Web API (chat.postMessage, chat.update) ---------------------------------------
    def _web_api(self, method: str, request: httpx.Request) -> httpx.Response:
        if method not in ("chat.postMessage", "chat.update"):
            return _api_error("unknown_method")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            return _api_error("not_authed")
        if not any(secrets.compare_digest(auth[7:], t) for t in self._bot_tokens):
            return _api_error("invalid_auth")
        if self._throttles:
            wait = self._throttles.pop(0)
            return httpx.Response(429, json={"ok": False, "error": "ratelimited"},
                                  headers={"Retry-After": f"{wait:g}"})  # fmt: skip
        try:
            body = json.loads(request.content)
        except (ValueError, UnicodeDecodeError):
            return _api_error("invalid_json")
        if not isinstance(body, dict):
            return _api_error("invalid_json")
        message = {k: v for k, v in body.items() if k not in ("channel", "ts")}
        if _payload(json.dumps(message).encode()) is None:
            blocks = message.get("blocks")
            return _api_error("invalid_blocks" if blocks else "no_text")
        channel = str(body.get("channel", ""))
        if method == "chat.postMessage":
            names = {v: k for k, v in self._channel_ids.items()}
            name = names.get(channel, channel)
            if not name or name in self._archived:
                return _api_error("channel_not_found" if not name else "is_archived")
            channel_id = self.channel_id(name)
            ts = f"{time.time():.6f}"
            while (channel_id, ts) in self._by_ts:  # two posts in one microsecond
                ts = f"{float(ts) + 0.000001:.6f}"
            self._posted.setdefault(name, []).append(message)
            self._by_ts[(channel_id, ts)] = message
            return httpx.Response(200, json={"ok": True, "channel": channel_id, "ts": ts,
                                             "message": {**message, "ts": ts}})  # fmt: skip
        if channel not in self._channel_ids.values():
            return _api_error("channel_not_found")
        ts = str(body.get("ts", ""))
        old = self._by_ts.get((channel, ts))
        if old is None:
            return _api_error("message_not_found")
        name = next(k for k, v in self._channel_ids.items() if v == channel)
        posted = self._posted.get(name, [])
        at = next((i for i, m in enumerate(posted) if m is old), None)
        if at is None:
            return _api_error("message_not_found")
        # chat.update keeps the old blocks when none are sent (the method's docs)
        new = {**({"blocks": old["blocks"]} if "blocks" in old else {}), **message}
        posted[at] = self._by_ts[(channel, ts)] = new
        self.updates.append({**body})
        return httpx.Response(200, json={"ok": True, "channel": channel, "ts": ts,
                                         "text": new.get("text", "")})  # fmt: skip

    # -- the interactive side ---------------------------------------------------------------
    def click(
        self,
        message: dict[str, Any],
        action_id: str,
        *,
        signing_secret: str,
        user_id: str = "U0TWIN0042",
        user_name: str = "ana",
        now: float | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The raw body and headers Slack sends the app's request URL when ``user_name``
        clicks the button ``action_id`` of a posted ``message``.

        Raises ``KeyError`` when the message has no such button (a test asking for a click
        the person could not make).
        """
        block, button = _button(message, action_id)
        stamp = str(int(time.time() if now is None else now))
        response_url = (
            f"https://{HOST}/actions/{self.team}/{secrets.randbelow(10**12)}/"
            f"{secrets.token_urlsafe(18)}"
        )
        # the message as posted (same object), so replace_original finds it in its channel
        channel, posted = next(
            ((c, m) for c, ms in self._posted.items() for m in ms if m == message),
            ("#gtm-runs", message),
        )
        self._response_urls[response_url] = _ResponseUrl(channel, posted, time.time())
        payload = {
            "type": "block_actions",
            "user": {
                "id": user_id,
                "username": user_name,
                "name": user_name,
                "team_id": self.team,
            },
            "api_app_id": "A0TWIN0001",
            "container": {"type": "message", "is_ephemeral": False},
            "trigger_id": f"{stamp}.{secrets.randbelow(10**9)}",
            "team": {"id": self.team, "domain": "gtmkit-twin"},
            "channel": {"id": "C0TWIN0001", "name": "gtm-runs"},
            "message": message,
            "response_url": response_url,
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": block.get("block_id", ""),
                    "text": button.get("text", {}),
                    "value": button.get("value", ""),
                    "style": button.get("style", ""),
                    "action_ts": f"{stamp}.000100",
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": sign(signing_secret, stamp, body),
        }
        return body, headers


class _TwinWebhook(SlackWebhook):
    """A :class:`SlackWebhook` whose URL is one of the twin's, not the environment's."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(**options)
        self._twin_url = url

    def _url(self) -> str:  # type: ignore[override]
        return self._twin_url


def _api_error(code: str) -> httpx.Response:
    # the Web API says no with HTTP 200 and ok: false
    return httpx.Response(200, json={"ok": False, "error": code})


def _answer(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, text=code, headers={"Content-Type": "text/html"})


def _flag(value: Any) -> bool:
    # Slack's own examples send "true" as a string as often as a JSON true
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _payload(content: bytes) -> dict[str, Any] | None:
    """The message, or None when Slack would answer ``invalid_payload``."""
    try:
        payload = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    text, blocks = payload.get("text"), payload.get("blocks")
    well_formed = isinstance(blocks, list) and all(
        isinstance(b, dict) and b.get("type") in KNOWN_BLOCK_TYPES for b in blocks
    )
    if blocks is not None and not well_formed:
        return None
    if not (isinstance(text, str) and text.strip()) and not blocks:
        return None
    return payload


def _button(message: dict[str, Any], action_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for block in message.get("blocks", []):
        if block.get("type") != "actions":
            continue
        for element in block.get("elements", []):
            if element.get("type") == "button" and element.get("action_id") == action_id:
                return block, element
    raise NotFound(f"the message has no button with action_id {action_id!r}")
