"""Apollo's asynchronous phone reveal: the inbox its deliveries land in, and the webhook handler.

Apollo does not answer a phone reveal in the enrichment response. ``POST /people/match`` with
``reveal_phone_number=true`` needs a ``webhook_url``; Apollo "immediately returns the standard
people enrichment response, then sends the phone enrichment results to the webhook URL"
(docs.apollo.io/docs/retrieve-mobile-phone-numbers-for-contacts), and "may retry webhook calls;
your endpoint should be idempotent to handle duplicate payloads" (docs.apollo.io/reference/
people-enrichment). Billing: "1 credit for demographics or email, plus 8 credits if a mobile
phone is returned" (OAS "Endpoint essentials", ``../shared/providers.md`` §1).

The delivery body read here: ``{"people": [{"id": <Apollo person id>, "phone_numbers":
[{"raw_number", "sanitized_number", "type_cd", ...}]}], "credits_consumed"?: n}`` — the field
names of Apollo's people object (``phone_numbers[].sanitized_number``, ``type_cd``:
``mobile`` / ``work_direct`` / ``work_hq`` / ``home`` / ``other``); the exact native webhook
payload was not in the sources at hand, so the reader also takes a single person object.

Three parts, one job each:

* :class:`PhoneInbox` — a small SQLite file (WAL, one commit per delivery) where deliveries
  are stored durably, keyed by Apollo's person id: a retried delivery is ignored.
* :func:`phone_reveal_handler` — ``async def handler(body, headers) -> (status, json)`` for
  the webhook receiver (``gtmkit serve-webhooks`` mounts it): parse → check the shape → store
  → answer. Apollo documents no signature on its webhooks, so a delivery is authenticated
  only by its shape and by being for a person this inbox asked about (the adapter reads only
  those); keep the webhook URL unguessable (a secret path).
* :data:`LOCAL_WEBHOOKS` — in-process runs have no receiver: an adapter registers its inbox's
  handler under its ``webhook_url`` and the simulated Apollo delivers there directly, through
  the same handler, into the same store.

Example:
    >>> import asyncio, json, tempfile, pathlib
    >>> inbox = PhoneInbox(pathlib.Path(tempfile.mkdtemp()) / "phones.sqlite")
    >>> handler = phone_reveal_handler(inbox)
    >>> body = json.dumps({"people": [{"id": "abc", "phone_numbers": [
    ...     {"sanitized_number": "+14155550111", "type_cd": "mobile"}]}]}).encode()
    >>> asyncio.run(handler(body, {}))
    (200, {'stored': 1, 'duplicates': 0})
    >>> asyncio.run(handler(body, {}))  # Apollo retried: ignored
    (200, {'stored': 0, 'duplicates': 1})
    >>> inbox.delivery("abc")["phone_numbers"][0]["type_cd"]
    'mobile'
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from gtmkit.errors import GtmkitError

#: A webhook handler as the receiver mounts it.
WebhookHandler = Callable[[bytes, Mapping[str, str]], Awaitable[tuple[int, dict[str, Any]]]]

#: Apollo's ``type_cd`` words → the common phone types.
APOLLO_PHONE_TYPES: Mapping[str, str] = {
    "mobile": "mobile",
    "work_direct": "direct",
    "work_hq": "office",
    "home": "direct",
    "other": "direct",
}
#: The largest delivery body accepted (a 10-person bulk delivery is a few kB).
MAX_BODY_BYTES = 1_000_000

#: ``webhook_url`` → handler, for in-process runs (no receiver): the simulated Apollo delivers
#: to a URL registered here without any network.
LOCAL_WEBHOOKS: dict[str, WebhookHandler] = {}


class PhoneInboxError(GtmkitError, RuntimeError):
    """The phone-reveal inbox cannot be opened or written (the message says where)."""


class PhoneInbox:
    """Where Apollo's phone deliveries are kept until the run that asked picks them up.

    Args:
        path: the SQLite file (created with its folder). Put it beside the run's ledger.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS apollo_phone_deliveries ("
                    " person_id TEXT PRIMARY KEY, received_at REAL NOT NULL, body TEXT NOT NULL)"
                )
        except (OSError, sqlite3.Error) as exc:
            raise PhoneInboxError(
                f"cannot open the Apollo phone inbox at {self.path}: {exc}. Point phone_inbox= "
                "at a writable folder (beside the run's ledger)."
            ) from exc

    def __repr__(self) -> str:
        return f"PhoneInbox({str(self.path)!r})"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30.0, isolation_level=None)

    def store(self, person_id: str, person: Mapping[str, Any]) -> bool:
        """Keep one person's delivery (committed before returning); ``False``: already had it."""
        text = json.dumps(person, sort_keys=True, default=str)
        with self._lock, self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO apollo_phone_deliveries VALUES (?, ?, ?)",
                (person_id, time.time(), text),
            )
            return cursor.rowcount == 1

    def delivery(self, person_id: str) -> dict[str, Any] | None:
        """The delivered person object for this Apollo person id, if it has arrived."""
        with self._connect() as db:
            row = db.execute(
                "SELECT body FROM apollo_phone_deliveries WHERE person_id = ?", (person_id,)
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))

    def count(self) -> int:
        """Deliveries stored so far."""
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM apollo_phone_deliveries").fetchone()[0])


def delivered_people(payload: Any) -> list[Mapping[str, Any]] | None:
    """The person objects of a delivery body (``None``: not a phone delivery)."""
    if not isinstance(payload, Mapping):
        return None
    people = payload.get("people")
    if people is None and "phone_numbers" in payload:
        people = [payload]  # one person object on its own
    if not isinstance(people, list):
        return None
    found = [
        p
        for p in people
        if isinstance(p, Mapping)
        and isinstance(p.get("id"), str)
        and p["id"]
        and isinstance(p.get("phone_numbers", []), list)
    ]
    return found if len(found) == len(people) else None


def phone_reveal_handler(inbox: PhoneInbox) -> WebhookHandler:
    """The webhook endpoint for Apollo's phone deliveries, storing them in ``inbox``.

    Answers 200 ``{"stored", "duplicates"}`` once every person in the body is committed; 400
    for a body that is not a phone delivery (nothing stored); 413 for a body over
    :data:`MAX_BODY_BYTES`; 503 when the inbox cannot be written (Apollo retries).
    """

    async def handler(body: bytes, headers: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        if len(body) > MAX_BODY_BYTES:
            return 413, {"error": f"body over {MAX_BODY_BYTES} bytes"}
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return 400, {"error": "body is not JSON"}
        people = delivered_people(payload)
        if people is None:
            return 400, {
                "error": "not an Apollo phone delivery: expected people[{id, phone_numbers}]"
            }
        stored = duplicates = 0
        try:
            for person in people:
                if inbox.store(str(person["id"]), person):
                    stored += 1
                else:
                    duplicates += 1
        except (OSError, sqlite3.Error):
            return 503, {"error": "the inbox could not be written; retry"}
        return 200, {"stored": stored, "duplicates": duplicates}

    return handler


__all__ = [
    "APOLLO_PHONE_TYPES",
    "LOCAL_WEBHOOKS",
    "MAX_BODY_BYTES",
    "PhoneInbox",
    "PhoneInboxError",
    "WebhookHandler",
    "delivered_people",
    "phone_reveal_handler",
]
