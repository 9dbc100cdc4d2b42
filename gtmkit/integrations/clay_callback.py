"""Take one callback from a Clay table's HTTP API column: check it, store it, match it.

Framework-free, so any receiver (the Starlette one of the webhook-receiver issue, a test, a
notebook) mounts it: hand it the raw body and the headers, send back the answer's ``status``
and ``json()``.

Configure the Clay table's HTTP API column (university.clay.com/docs/http-api-integration-
overview: method, URL, headers and a JSON body built from the row's columns are yours to set)
as ``POST <your receiver>/clay`` with the header ``x-gtmkit-callback-token: <the value of
CLAY_CALLBACK_TOKEN>`` and a body such as ``{"row_id": "/row_id", "Work Email": "/Work Email",
...}`` — ``row_id`` is the column gtmkit pushed with every row. Clay documents no signature of
its own for these requests, so a shared secret in a header is the check (compared in constant
time); without ``CLAY_CALLBACK_TOKEN`` set, every callback is refused (fail closed).

Answers: ``200`` stored (or the same body again: a duplicate, stored once), ``400`` not a JSON
object with a ``row_id``, ``401`` wrong or missing token, ``404`` a ``row_id`` this store never
pushed (kept in the store's ``unmatched`` table for review, not lost), ``413`` too large,
``503`` no token configured.

Example:
    >>> import tempfile, pathlib
    >>> from gtmkit.integrations.clay_store import ClayStore
    >>> store = ClayStore(pathlib.Path(tempfile.mkdtemp()) / "c.sqlite")
    >>> accept_clay_callback(b'{"row_id": 1}', {"x-gtmkit-callback-token": "no"}, store,
    ...                      token="yes").status
    401
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gtmkit.integrations.clay_store import ClayStore

__all__ = ["CALLBACK_TOKEN_HEADER", "MAX_CALLBACK_BYTES", "CallbackAnswer", "accept_clay_callback"]

CALLBACK_TOKEN_HEADER = "x-gtmkit-callback-token"
MAX_CALLBACK_BYTES = 1_000_000
_TOKEN_ENV = "CLAY_CALLBACK_TOKEN"  # the same variable gtmkit.integrations.clay lists


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """What to answer Clay: an HTTP status and a short message (no row data in it)."""

    status: int
    message: str
    row_id: int | None = None
    duplicate: bool = False

    def json(self) -> dict[str, Any]:
        return {"ok": 200 <= self.status < 300, "message": self.message, "row_id": self.row_id}


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _row_id(value: Any) -> int | None:
    # Clay's columns are text unless typed: "17" and 17 are the same row; 17.0 too
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def accept_clay_callback(
    body: bytes, headers: Mapping[str, str], store: ClayStore, *, token: str | None = None
) -> CallbackAnswer:
    """Check one Clay callback's token, store it durably and match it to its ``row_id``.

    Args:
        body: the raw request body.
        headers: the request headers (any case).
        store: the table's :class:`~gtmkit.integrations.clay_store.ClayStore`.
        token: the expected shared secret; default ``$CLAY_CALLBACK_TOKEN``.
    """
    expected = token if token is not None else os.environ.get(_TOKEN_ENV, "")
    expected = expected.strip()
    if not expected:
        return CallbackAnswer(
            503, f"callbacks are refused until {_TOKEN_ENV} is set on the receiver"
        )
    given = (_header(headers, CALLBACK_TOKEN_HEADER) or "").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return CallbackAnswer(401, f"missing or wrong {CALLBACK_TOKEN_HEADER} header")
    if len(body) > MAX_CALLBACK_BYTES:
        return CallbackAnswer(413, f"callback body over {MAX_CALLBACK_BYTES:,} bytes")
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return CallbackAnswer(400, "the body is not JSON: set the HTTP API column's body to JSON")
    if not isinstance(parsed, dict):
        return CallbackAnswer(400, "the body must be a JSON object with a row_id")
    sha = hashlib.sha256(body).hexdigest()[:32]
    raw_id = parsed.get("row_id")
    row_id = _row_id(raw_id)
    text = body.decode("utf-8", "replace")
    if row_id is None:
        store.add_unmatched(text, sha, None if raw_id is None else str(raw_id), "no row_id")
        return CallbackAnswer(
            400, "no usable row_id in the body: add row_id (the column gtmkit pushed) to it"
        )
    if not store.is_pushed(row_id):
        store.add_unmatched(text, sha, str(raw_id), "row_id never pushed from this store")
        return CallbackAnswer(404, f"row_id {row_id} was never pushed from this store; kept")
    fields = {k: v for k, v in parsed.items() if k != "row_id"}
    data = fields.pop("data", None)
    if isinstance(data, dict):  # a body nesting the fields under "data" is flattened
        fields = {**fields, **data}
    fields = {k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in fields.items()}
    if not store.add_callback(row_id, fields, sha):
        return CallbackAnswer(200, "duplicate: this callback was stored before", row_id, True)
    return CallbackAnswer(200, "stored", row_id)
