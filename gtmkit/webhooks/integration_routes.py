"""The integrations' HTTP endpoints on the webhook receiver: Slack's approval clicks and Clay's
callbacks, as Starlette routes for ``create_app(config, extra_routes=...)``.

The handlers themselves are framework-free and live with their integrations; this module is
only the glue (raw body with a size limit, the handler in a worker thread because it writes
SQLite, the answer, one log line without secrets):

* ``POST /slack/interactions`` — :func:`gtmkit.integrations.slack_approvals.answer_interaction`
  (``v0`` signature on the raw body, 5-minute window, replays refused, the decision recorded in
  the approval store a waiting :func:`~gtmkit.integrations.slack_approvals.gated_run` polls).
  Slack wants the answer within 3 seconds (docs.slack.dev/tools/bolt-python/concepts/
  acknowledge), so the message update goes out *after* the answer, as a background task: a
  ``POST`` of JSON to the click's ``response_url`` with ``"replace_original": true`` — the
  buttons are replaced by who decided — or, when the decision was not taken and the request is
  still pending (the clicker is not an approver), an ``"response_type": "ephemeral"`` note to
  the clicker only (api.slack.com/interactivity/handling#message_responses; a response_url
  takes up to 5 posts within 30 minutes). Only ``https://hooks.slack.com/`` URLs are followed,
  and only for a request whose signature checked out.
* ``POST /webhooks/clay`` — :func:`gtmkit.integrations.clay_callback.accept_clay_callback`
  (the ``x-gtmkit-callback-token`` header against ``CLAY_CALLBACK_TOKEN``, the row matched to
  the ``row_id`` gtmkit pushed, stored in the table's
  :class:`~gtmkit.integrations.clay_store.ClayStore`; unmatched rows kept, not lost).

Why this Clay endpoint and not the receiver's built-in ``parse_clay`` on the same path: one
URL for Clay's HTTP API column to call, one contract. The built-in one checks
``Authorization: Bearer $CLAY_WEBHOOK_TOKEN`` — the token of Clay's *own* webhook, which gtmkit
sends to Clay when pushing — and publishes the body keyed by ``id`` to a Redis stream nothing
reads, matched to nothing. This one uses a secret of its own (a leaked push token then cannot
write results into gtmkit), matches each row to the ``row_id`` push recorded and lands it where
:func:`gtmkit.integrations.clay.collect` reads it. ``create_app`` lets an extra route replace a
built-in one of the same path, so when these routes are mounted there is one Clay endpoint.

A route whose secret or store is missing is still mounted, answering ``404`` with what to set,
and :attr:`IntegrationRoutes.off` says why at start-up (``gtmkit serve-webhooks`` logs it).
The click's ``response_url`` is a credential for 30 minutes (it posts into the channel): it is
never logged — httpx's request line for it is masked by :class:`ResponseUrlLogFilter`.

Example:
    >>> mounted = integration_routes(IntegrationConfig(slack_signing_secret="s3cr3t-canary"))
    >>> [route.path for route in mounted.routes]
    ['/slack/interactions', '/webhooks/clay']
    >>> mounted.off["/slack/interactions"][:35]
    'off: no approval store (pass --ledg'
    >>> "s3cr3t-canary" in repr(IntegrationConfig(slack_signing_secret="s3cr3t-canary"))
    False
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from gtmkit.integrations.clay import CLAY_CALLBACK_TOKEN_ENV, CLAY_WEBHOOK_TOKEN_ENV
from gtmkit.integrations.clay_callback import MAX_CALLBACK_BYTES, accept_clay_callback
from gtmkit.integrations.clay_store import ClayStore, ClayStoreError
from gtmkit.integrations.slack import SIGNING_SECRET_ENV
from gtmkit.integrations.slack_approvals import (
    ApprovalError,
    ApprovalStore,
    answer_interaction,
    decided_message,
)
from gtmkit.webhooks.receiver import MAX_BODY_BYTES, Refused, read_body

__all__ = [
    "CLAY_CALLBACK_PATH",
    "SLACK_INTERACTIONS_PATH",
    "IntegrationConfig",
    "IntegrationRoutes",
    "ResponseUrlLogFilter",
    "decided_message",
    "integration_routes",
]

log = logging.getLogger("gtmkit.webhooks")

SLACK_INTERACTIONS_PATH = "/slack/interactions"
CLAY_CALLBACK_PATH = "/webhooks/clay"
#: The only host a click's response_url may point at (Slack issues them there).
RESPONSE_URL_PREFIX = "https://hooks.slack.com/"
_RESPONSE_ATTEMPTS = 3
_ACTIONS_PATH = re.compile(r"(hooks\.slack\.com/actions/)[^\s\"']+")


@dataclass(frozen=True)
class IntegrationConfig:
    """What the integration routes need; a secret or store left ``None`` turns a route off.

    Attributes:
        slack_signing_secret: the Slack app's signing secret (``SLACK_SIGNING_SECRET``).
        approvals: the approval store (``ledger.approvals.sqlite`` beside the run ledger).
        clay_callback_token: the callbacks' shared secret (``CLAY_CALLBACK_TOKEN``).
        clay_store: the Clay store ``push`` wrote (an existing file: a new empty one would
            match nothing).
        transport: the httpx transport for response_url posts (the twin's in tests).
    """

    slack_signing_secret: str | None = field(default=None, repr=False)
    approvals: Path | None = None
    clay_callback_token: str | None = field(default=None, repr=False)
    clay_store: Path | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_env(cls, **settings: Any) -> IntegrationConfig:
        """Secrets from the environment (:data:`gtmkit.integrations.SECRET_ENV_VARS`)."""
        env = os.environ.get
        return cls(slack_signing_secret=(env(SIGNING_SECRET_ENV) or "").strip() or None,
                   clay_callback_token=(env(CLAY_CALLBACK_TOKEN_ENV) or "").strip() or None,
                   **settings)  # fmt: skip


@dataclass
class IntegrationRoutes:
    """The routes to mount, and per path whether it is on (and why not)."""

    routes: list[BaseRoute]
    on: dict[str, str] = field(default_factory=dict)
    off: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[str]:
        """One line per route for the start-up log: ``POST /path on: ...`` or ``off: ...``."""
        lines = [f"POST {path} {why}" for path, why in self.on.items()]
        return lines + [f"POST {path} {why}" for path, why in self.off.items()]


class ResponseUrlLogFilter(logging.Filter):
    """Masks the token part of ``hooks.slack.com/actions/…`` in httpx's request lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "hooks.slack.com/actions/" in message:
            record.msg, record.args = _ACTIONS_PATH.sub(r"\1***", message), ()
        return True


def _install_log_filter() -> None:
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, ResponseUrlLogFilter) for f in logger.filters):
        logger.addFilter(ResponseUrlLogFilter())


def _off(reason: str) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        log.info("webhook %s 404 off", request.url.path)
        return JSONResponse({"error": reason}, status_code=404)

    return handle


# -- Slack -------------------------------------------------------------------------------------
def _click(body: bytes) -> tuple[str, str] | None:
    """(run id, response_url) of a signature-checked click, or None when it has neither."""
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
        run_id = str(payload["actions"][0]["value"])
        url = payload["response_url"]
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError):
        return None
    return (run_id, url) if isinstance(url, str) else None


async def _post_response(url: str, message: dict[str, Any], transport: Any) -> None:
    """Post to a click's response_url; failures are logged (code only), never raised: the
    decision is already recorded and Slack has had its answer."""
    if not url.startswith(RESPONSE_URL_PREFIX):
        log.warning("slack response_url is not on hooks.slack.com: the message was not updated")
        return
    async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
        for attempt in range(1, _RESPONSE_ATTEMPTS + 1):
            try:
                answer = await client.post(url, json=message)
            except httpx.HTTPError as exc:
                outcome = f"no answer ({type(exc).__name__})"
            else:
                if answer.status_code == 200:
                    log.info("slack message updated through the response_url")
                    return
                code = answer.text.strip()[:40] if answer.text.strip().isidentifier() else ""
                outcome = f"{answer.status_code} {code}".strip()
                if answer.status_code < 500 and answer.status_code != 429:
                    break
            if attempt < _RESPONSE_ATTEMPTS:
                await asyncio.sleep(0.5 * attempt)
    log.warning("slack response_url answered %s: the message was not updated", outcome)


def _slack_route(config: IntegrationConfig, store: ApprovalStore, secret: str) -> Route:
    async def interactions(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await read_body(request, config.max_body_bytes)
        except Refused as refused:
            log.info("webhook slack-interactions %d %s", refused.status, refused.reason)
            return PlainTextResponse(refused.reason, status_code=refused.status)
        headers = dict(request.headers)
        status, text = await run_in_threadpool(answer_interaction, secret, body, headers, store)
        task = None
        click = _click(body) if status == 200 and not text.startswith("ignored") else None
        if click is not None:
            run_id, url = click
            approval = await run_in_threadpool(store.get, run_id)
            if approval is not None and approval.status != "pending":
                update = decided_message(approval)
            else:  # not recorded and still waiting: tell the clicker only, keep the buttons
                update = {"response_type": "ephemeral", "replace_original": False,
                          "text": text}  # fmt: skip
            task = BackgroundTask(_post_response, url, update, config.transport)
        log.info("webhook slack-interactions %d %s %.1fms", status, text,
                 (time.perf_counter() - started) * 1000)  # fmt: skip
        return PlainTextResponse(text, status_code=status, background=task)

    return Route(SLACK_INTERACTIONS_PATH, interactions, methods=["POST"])


# -- Clay --------------------------------------------------------------------------------------
def _clay_route(store: ClayStore, token: str) -> Route:
    lock = threading.Lock()  # one ClayStore connection: its callers take turns

    def accept(body: bytes, headers: Mapping[str, str]) -> Any:
        with lock:
            return accept_clay_callback(body, headers, store, token=token)

    async def callback(request: Request) -> Response:
        try:
            body = await read_body(request, MAX_CALLBACK_BYTES)
            answer = await run_in_threadpool(accept, body, dict(request.headers))
        except Refused as refused:
            log.info("webhook clay %d %s", refused.status, refused.reason)
            return JSONResponse({"ok": False, "message": refused.reason},
                                status_code=refused.status)  # fmt: skip
        except ClayStoreError:
            log.warning("webhook clay 503 the Clay store could not be written")
            return JSONResponse({"ok": False, "message": "store unavailable; retry"},
                                status_code=503)  # fmt: skip
        log.info("webhook clay %d %s row_id=%s", answer.status, answer.message, answer.row_id)
        return JSONResponse(answer.json(), status_code=answer.status)

    return Route(CLAY_CALLBACK_PATH, callback, methods=["POST"])


# -- mounting ----------------------------------------------------------------------------------
def integration_routes(config: IntegrationConfig) -> IntegrationRoutes:
    """The Slack and Clay routes for ``create_app(..., extra_routes=mounted.routes)``."""
    _install_log_filter()
    mounted = IntegrationRoutes(routes=[])
    slack_off = None
    if config.slack_signing_secret is None:
        slack_off = f"off: {SIGNING_SECRET_ENV} is not set (the Slack app's signing secret)"
    elif config.approvals is None:
        slack_off = "off: no approval store (pass --ledger, the run's ledger)"
    else:
        try:
            approvals = ApprovalStore(config.approvals)
        except (ApprovalError, OSError, sqlite3.Error) as exc:
            slack_off = f"off: {exc}"
        else:
            mounted.routes.append(_slack_route(config, approvals, config.slack_signing_secret))
            mounted.on[SLACK_INTERACTIONS_PATH] = f"on: approvals in {config.approvals}"
    if slack_off is not None:
        mounted.routes.append(Route(SLACK_INTERACTIONS_PATH, _off(slack_off), methods=["POST"]))
        mounted.off[SLACK_INTERACTIONS_PATH] = slack_off

    clay_off = None
    if config.clay_callback_token is None:
        clay_off = f"off: {CLAY_CALLBACK_TOKEN_ENV} is not set (the callbacks' shared secret"
        if os.environ.get(CLAY_WEBHOOK_TOKEN_ENV):
            clay_off += f"; {CLAY_WEBHOOK_TOKEN_ENV} is the push token and does not open it"
        clay_off += ")"
    elif config.clay_store is None:
        clay_off = "off: no Clay store (pass --clay-store, the file push() wrote)"
    elif not config.clay_store.is_file():
        clay_off = f"off: no Clay store at {config.clay_store} (pass the file push() wrote)"
    else:
        try:
            clay = ClayStore(config.clay_store)
        except ClayStoreError as exc:
            clay_off = f"off: {exc}"
        else:
            mounted.routes.append(_clay_route(clay, config.clay_callback_token))
            mounted.on[CLAY_CALLBACK_PATH] = f"on: callbacks into {config.clay_store}"
    if clay_off is not None:
        mounted.routes.append(Route(CLAY_CALLBACK_PATH, _off(clay_off), methods=["POST"]))
        mounted.off[CLAY_CALLBACK_PATH] = clay_off
    return mounted
