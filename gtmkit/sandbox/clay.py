"""A simulated Clay table: its webhook source on Clay's path shape, its auth token, its
lifetime submission limit, and the HTTP API column that calls back with enriched rows.

Served in process as an httpx transport (``push(..., transport=ClayTwin())``). What it answers,
and how sure we are (the facts and their sources are in :mod:`gtmkit.integrations.clay`):

* ``POST https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-<uuid>`` with a
  JSON object (one row) or array (one row each); any other path is ``404``.
* A webhook made with a token wants it in ``x-clay-webhook-auth``; missing or wrong → ``401``
  (the status Clay uses is not verified).
* Bodies over 100 KB → ``413`` (figure from Clay's support bot; status not verified).
* Past the 50,000 submissions (``limit=`` to make it small): ``over_limit="silent"`` (the
  default) answers ``200`` and drops the rows, as one report describes Clay doing;
  ``over_limit="error"`` answers ``400`` — neither is verified against Clay.
* ``fail_next(status, times)`` answers the next requests with that status (``429`` with
  ``Retry-After: 1``), to exercise retries.

The callback sender plays the HTTP API column: for each row the table holds it builds the body
a column configured as gtmkit asks would send (``row_id`` plus ``Work Email``, ``Job Title``,
``Company Name``), deterministically "enriched" (a hash of the row decides who is found), and
hands it to :func:`~gtmkit.integrations.clay_callback.accept_clay_callback` or POSTs it to a
receiver.

Example:
    >>> twin = ClayTwin()
    >>> url = twin.create_webhook()
    >>> url.startswith("https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-")
    True
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from gtmkit.integrations.clay_callback import (
    CALLBACK_TOKEN_HEADER,
    CallbackAnswer,
    accept_clay_callback,
)
from gtmkit.integrations.clay_store import SUBMISSION_LIMIT, ClayStore

__all__ = ["CLAY_HOST", "WEBHOOK_PREFIX", "ClayTwin", "SimulatedWebhook"]

CLAY_HOST = "api.clay.com"
WEBHOOK_PREFIX = "/v3/sources/webhook/pull-in-data-from-a-webhook-"
_MAX_BODY = 100_000


@dataclass
class SimulatedWebhook:
    """One webhook source of the simulated table."""

    token: str | None
    limit: int
    over_limit: Literal["silent", "error"]
    submissions: int = 0
    rows: list[dict[str, Any]] = field(default_factory=list)


class ClayTwin(httpx.BaseTransport):
    """The simulated Clay table (an httpx transport); ``rows`` is everything it holds."""

    def __init__(self, *, seed: int = 0, hit_rate: float = 0.7) -> None:
        self.webhooks: dict[str, SimulatedWebhook] = {}
        self.requests = 0
        self._faults: list[int] = []
        self.seed, self.hit_rate = seed, hit_rate

    def create_webhook(
        self,
        *,
        token: str | None = None,
        limit: int = SUBMISSION_LIMIT,
        over_limit: Literal["silent", "error"] = "silent",
    ) -> str:
        """Add a webhook source to the table (Clay: + Add → Webhooks → Monitor webhook)."""
        hook_id = str(uuid.UUID(int=len(self.webhooks) + 1 + self.seed * 1_000_003))
        self.webhooks[hook_id] = SimulatedWebhook(token, limit, over_limit)
        return f"https://{CLAY_HOST}{WEBHOOK_PREFIX}{hook_id}"

    def fail_next(self, status: int, times: int = 1) -> None:
        self._faults += [status] * times

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row for hook in self.webhooks.values() for row in hook.rows]

    def __repr__(self) -> str:  # no tokens, no rows
        return f"ClayTwin(webhooks={len(self.webhooks)}, rows={len(self.rows)})"

    # -- the webhook endpoint ---------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = request.url.path
        hook = None
        if request.url.host == CLAY_HOST and path.startswith(WEBHOOK_PREFIX):
            hook = self.webhooks.get(path[len(WEBHOOK_PREFIX) :])
        if hook is None or request.method != "POST":
            return httpx.Response(404, json={"error": "Not found"})
        if hook.token is not None and request.headers.get("x-clay-webhook-auth") != hook.token:
            return httpx.Response(401, json={"error": "Unauthorized"})
        if self._faults:
            status = self._faults.pop(0)
            return httpx.Response(status, headers={"retry-after": "1"}, json={"error": "busy"})
        body = request.read()
        if len(body) > _MAX_BODY:
            return httpx.Response(413, json={"error": "Payload too large"})
        try:
            parsed = json.loads(body)
        except ValueError:
            return httpx.Response(400, json={"error": "Invalid JSON"})
        records = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(r, dict) for r in records):
            return httpx.Response(400, json={"error": "Expected a JSON object"})
        for record in records:
            hook.submissions += 1
            if hook.submissions > hook.limit:
                if hook.over_limit == "error":
                    return httpx.Response(400, json={"error": "Webhook submission limit reached"})
                continue  # silently dropped
            hook.rows.append(dict(record))
        return httpx.Response(200, json={})

    # -- the HTTP API column calling back ---------------------------------------------------
    def _found(self, row: dict[str, Any]) -> bool:
        digest = hashlib.sha256(f"{self.seed}|{row.get('row_id')}".encode()).digest()
        return digest[0] / 256 < self.hit_rate

    def callback_bodies(self) -> list[bytes]:
        """The body the HTTP API column sends for each row the table holds."""
        bodies = []
        for row in self.rows:
            name = (
                str(
                    row.get("full_name")
                    or " ".join(str(row.get(k, "")) for k in ("first_name", "last_name"))
                )
                .strip()
                .lower()
            )
            domain = str(row.get("company_domain") or "")
            local = ".".join(part for part in name.split() if part.isalpha())
            email = f"{local}@{domain}" if self._found(row) and local and domain else None
            bodies.append(json.dumps({
                "row_id": str(row.get("row_id")),  # Clay's columns are text
                "Work Email": email,
                "Job Title": row.get("title"),
                "Company Name": row.get("company_name"),
            }).encode())  # fmt: skip
        return bodies

    def send_callbacks(
        self, store: ClayStore, *, token: str, bodies: Iterable[bytes] | None = None
    ) -> list[CallbackAnswer]:
        """Deliver every callback to :func:`accept_clay_callback` in process."""
        headers = {"Content-Type": "application/json", CALLBACK_TOKEN_HEADER: token}
        return [
            accept_clay_callback(body, headers, store, token=token)
            for body in (self.callback_bodies() if bodies is None else bodies)
        ]

    def post_callbacks(self, url: str, *, token: str, client: httpx.Client) -> list[int]:
        """POST every callback to a receiver (a loopback server in tests); the statuses."""
        headers = {"content-type": "application/json", CALLBACK_TOKEN_HEADER: token}
        return [
            client.post(url, content=body, headers=headers).status_code
            for body in self.callback_bodies()
        ]
