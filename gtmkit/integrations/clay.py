"""Clay as a source and a sink: push rows to a Clay table's webhook, collect what Clay
enriched from its HTTP callbacks, matched to the original ``row_id``.

Facts, and where they come from (checked with the search tool; Clay publishes no API
reference for webhook sources, so some are from third parties and said so):

* A table's webhook source is a URL Clay shows when you add *Webhooks → Monitor webhook* to a
  workbook; rows are ``POST``-ed to it as JSON; an optional auth token, shown only once, goes
  in a request header (university.clay.com/docs/webhook-integration-docs). The header's name,
  ``x-clay-webhook-auth``, is from integrators' docs (docs.modulex.dev/integrations/tools/clay;
  Kestra's Clay plugin, kestra.io/plugins/plugin-clay), not from Clay's own pages.
* Path shape ``https://api.clay.com/v3/sources/webhook/pull-in-data-from-a-webhook-<uuid>``
  (as seen in public code calling Clay, e.g. github.com/abhichandai/url-analyzer).
* "Webhook sources are limited to 50,000 submissions, and this limit persists even after
  deleting rows"; past it you create a new webhook (Enterprise passthrough tables excepted)
  (university.clay.com/docs/webhook-integration-docs). Clay has no documented API to create a
  webhook, so a new one is *asked for*: ``new_webhook`` is called before the limit is reached
  and a person (or the twin) hands back the new URL.
* What Clay answers past the limit is **not verified**: one report says the webhook "silently
  stops accepting new data. No error" (skills.sh clay-known-pitfalls). So the count is kept
  here, counting every record sent (a request whose answer never came included), and never
  trusted to Clay's answer.
* Pacing: "10 records per second per workspace, burst 20; each payload under 100KB" is from
  Clay's community support bot (community.clay.com), **not verified** in Clay's docs; it is the
  default of ``records_per_second`` / ``burst`` and of the body cap.
* Batching: Kestra's plugin posts a JSON array of up to 100 records per request
  (kestra.io/plugins/plugin-clay); whether Clay counts an array as one submission is **not
  verified**, so each record counts as one. ``batch_size=1`` (one object per request, the shape
  Clay documents) is the default.
* The way back is an HTTP API column in the Clay table that ``POST``s the enriched row to your
  receiver (university.clay.com/docs/http-api-integration-overview). Its body and headers are
  yours to configure: gtmkit asks for ``row_id`` in the body and the shared secret in the
  ``x-gtmkit-callback-token`` header (see :mod:`gtmkit.integrations.clay_callback`).

A Clay table's CSV export is loaded by ``gtmkit.load_list`` like any list: its headers are
the table's column names, and Clay's usual ones ("First Name", "Job Title", "Company Domain",
"LinkedIn Profile", "Work Email"; "Company Name", "Domain", "Company LinkedIn URL" on a
companies table, as integrators' guides such as docs.prontohq.com name them) already map. No
Clay document lists an export's exact headers, so the fixture the tests load is modelled on
those names, **not** copied from a real export.

Secrets come from the environment only: ``CLAY_WEBHOOK_URL`` (a webhook without a token
accepts anything posted to it, so its URL is a credential too), ``CLAY_WEBHOOK_TOKEN`` and
``CLAY_CALLBACK_TOKEN``. None is ever written to the store, a repr, a log or an error.

Example:
    >>> import tempfile, pathlib, polars as pl
    >>> from gtmkit.sandbox.clay import ClayTwin
    >>> twin = ClayTwin()
    >>> url = twin.create_webhook(token="t0k")
    >>> store = ClayStore(pathlib.Path(tempfile.mkdtemp()) / "clay.sqlite")
    >>> rows = pl.DataFrame({"row_id": [0, 1], "full_name": ["Ada Lovelace", "Alan Turing"],
    ...                      "company_domain": ["acme.io", "bletchley.uk"]})
    >>> report = push(rows, store, webhook_url=url, token="t0k", transport=twin, sleep=None)
    >>> report.sent, report.failed.height, report.pending
    (2, 0, [])
    >>> [answer.status for answer in twin.send_callbacks(store, token="cb")]
    [200, 200]
    >>> collect(store).columns[:2]
    ['row_id', 'clay_received_at']
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.integrations.clay_store import SUBMISSION_LIMIT, ClayStore, WebhookUsage
from gtmkit.lists.headers import map_headers
from gtmkit.providers._redact import install_log_redaction
from gtmkit.schema import CANONICAL_FIELDS, ROW_ID

__all__ = [
    "AUTH_HEADER",
    "CLAY_CALLBACK_TOKEN_ENV",
    "CLAY_WEBHOOK_TOKEN_ENV",
    "CLAY_WEBHOOK_URL_ENV",
    "SECRET_ENV_VARS",
    "ClayError",
    "ClayStore",
    "PushReport",
    "collect",
    "push",
]

CLAY_WEBHOOK_URL_ENV = "CLAY_WEBHOOK_URL"
CLAY_WEBHOOK_TOKEN_ENV = "CLAY_WEBHOOK_TOKEN"
CLAY_CALLBACK_TOKEN_ENV = "CLAY_CALLBACK_TOKEN"
SECRET_ENV_VARS: tuple[str, ...] = (
    CLAY_WEBHOOK_URL_ENV,
    CLAY_WEBHOOK_TOKEN_ENV,
    CLAY_CALLBACK_TOKEN_ENV,
)
AUTH_HEADER = "x-clay-webhook-auth"
#: the largest request body sent (community support figure, see the module docstring)
MAX_BODY_BYTES = 100_000
#: a new webhook is asked for when fewer submissions than this are left
DEFAULT_HEADROOM = 500
_RETRIES = 3


class ClayError(GtmkitError, RuntimeError):
    """A Clay push cannot go ahead (no webhook, a used-up or refused one); says what to do."""


@dataclass
class PushReport:
    """What one :func:`push` did.

    Attributes:
        sent: rows Clay acknowledged in this push.
        skipped: rows already pushed from this store (not sent twice: each costs a submission).
        failed: ``row_id`` and ``reason`` of every row Clay refused or never answered; kept in
            the store, pushed again with ``resend=True``.
        pending: row ids not sent because no webhook had room (push again with a new one).
        webhooks: usage of every webhook this push used, after it.
        asked_for_webhook: how many times a new webhook was asked for.
    """

    sent: int = 0
    skipped: int = 0
    failed: pl.DataFrame = field(
        default_factory=lambda: pl.DataFrame(schema={ROW_ID: pl.Int64, "reason": pl.String})
    )
    pending: list[int] = field(default_factory=list)
    webhooks: list[WebhookUsage] = field(default_factory=list)
    asked_for_webhook: int = 0

    def __repr__(self) -> str:
        return (
            f"PushReport(sent={self.sent}, skipped={self.skipped}, failed={self.failed.height}, "
            f"pending={len(self.pending)}, asked_for_webhook={self.asked_for_webhook})"
        )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _payloads(records: pl.DataFrame, columns: Sequence[str] | None) -> list[dict[str, Any]]:
    if ROW_ID not in records.columns:
        raise ClayError(
            f"the rows to push have no {ROW_ID!r} column: push gtmkit.load_list(...).records "
            "(or a waterfall result's records), so Clay's callbacks can be matched back"
        )
    wanted = (
        list(columns)
        if columns is not None
        else [c for c in CANONICAL_FIELDS if c in records.columns]
    )
    missing = [c for c in wanted if c not in records.columns]
    if missing:
        raise ClayError(f"columns={missing} are not in the rows; they have {records.columns}")
    out = []
    for row in records.select([ROW_ID, *[c for c in wanted if c != ROW_ID]]).iter_rows(named=True):
        out.append({k: _jsonable(v) for k, v in row.items() if v is not None})
    return out


def _sha(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


class _Pacer:
    """A token bucket in records (Clay's webhook pacing is per record)."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        sleep: Callable[[float], None] | None,
        clock: Callable[[], float],
    ) -> None:
        self.rate, self.burst, self.sleep, self.clock = per_second, float(burst), sleep, clock
        self.tokens, self.at = float(burst), clock()

    def take(self, n: int) -> None:
        if self.sleep is None:
            return
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < n:
            self.sleep((n - self.tokens) / self.rate)
            self.tokens, self.at = float(n), self.clock()
        self.tokens -= n


def _send(
    client: httpx.Client, url: str, token: str | None, body: bytes, sleep: Callable[[float], None]
) -> tuple[str, str | None]:
    """POST one batch: ``("sent", None)``, ``("auth", why)``, ``("failed", why)`` or
    ``("unknown", why)`` (sent, no answer: counted, not resent by itself)."""
    headers = {"content-type": "application/json"}
    if token:
        headers[AUTH_HEADER] = token
    why = "no answer"
    for attempt in range(_RETRIES):
        try:
            response = client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return "unknown", "Clay did not answer in time (the rows may be in the table)"
        except httpx.TransportError as exc:
            return "unknown", f"connection to Clay failed ({type(exc).__name__})"
        status = response.status_code
        if 200 <= status < 300:
            return "sent", None
        if status in (401, 403):
            return "auth", (
                f"Clay refused the webhook's auth token (HTTP {status}): check "
                f"{CLAY_WEBHOOK_TOKEN_ENV} is the token Clay showed when the webhook was made"
            )
        detail = response.text[:200].strip()
        why = f"Clay answered HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429 or status >= 500:
            retry_after = response.headers.get("retry-after", "")
            wait = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else 2.0**attempt
            sleep(min(wait, 60.0))
            continue
        return "failed", why
    return "failed", why + f" (after {_RETRIES} tries)"


def push(
    records: pl.DataFrame,
    store: ClayStore,
    *,
    webhook_url: str | None = None,
    token: str | None = None,
    new_webhook: Callable[[WebhookUsage], str | None] | None = None,
    columns: Sequence[str] | None = None,
    batch_size: int = 1,
    limit: int = SUBMISSION_LIMIT,
    headroom: int = DEFAULT_HEADROOM,
    resend: bool = False,
    records_per_second: float = 10.0,
    burst: int = 20,
    transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] | None = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    timeout_s: float = 30.0,
) -> PushReport:
    """Push rows to a Clay table's webhook, each with its ``row_id``.

    Args:
        records: rows with ``row_id`` (``load_list(...).records`` or a result's records).
        store: the table's :class:`ClayStore` (counts, pushes, callbacks).
        webhook_url: the webhook; default ``$CLAY_WEBHOOK_URL``.
        token: the webhook's auth token; default ``$CLAY_WEBHOOK_TOKEN`` (none: no header).
        new_webhook: called with the current webhook's usage when fewer than ``headroom``
            submissions are left; returns a new webhook URL of the same table, or ``None`` to
            stop (the rest stay ``pending``).
        columns: columns to send besides ``row_id`` (default: the canonical fields present).
        batch_size: records per request (1 = one JSON object; more = a JSON array).
        limit: submissions a webhook takes in its lifetime (Clay: 50,000).
        resend: push again rows this store already pushed (each costs a submission).
        records_per_second, burst: pacing; ``sleep=None`` turns pacing and back-off off.
        sleep, clock: how to wait and what time it is (a test passes simulated ones).
        transport: an httpx transport (``gtmkit.sandbox.clay.ClayTwin()`` offline).

    Raises:
        ClayError: no webhook given, a retired webhook passed again, or a bad argument.
    """
    if batch_size < 1 or headroom < 0 or limit < 1:
        raise ClayError("batch_size and limit must be at least 1 and headroom at least 0")
    url = webhook_url or os.environ.get(CLAY_WEBHOOK_URL_ENV, "").strip()
    if not url:
        raise ClayError(
            f"no Clay webhook: pass webhook_url= or set {CLAY_WEBHOOK_URL_ENV} (in the Clay "
            "table: + Add → Webhooks → Monitor webhook, copy the URL)"
        )
    token = token if token is not None else (os.environ.get(CLAY_WEBHOOK_TOKEN_ENV) or None)
    token = token.strip() if token else None
    wait = sleep or (lambda _s: None)
    report = PushReport()
    usage = store.webhook_usage(url, limit=limit)
    if usage.retired:
        raise ClayError(
            f"webhook {usage.label} was retired by this store ({usage.submissions:,} of "
            f"{usage.limit:,} submissions used): create a new webhook on the table and pass it"
        )
    done = store.pushed()
    todo: list[tuple[dict[str, Any], str]] = []
    for payload in _payloads(records, columns):
        sha = _sha(payload)
        before = done.get(int(payload[ROW_ID]))
        if before is not None and before[1] != sha and before[0] == "sent" and not resend:
            raise ClayError(
                f"row_id {payload[ROW_ID]} was pushed from this store with other values: a "
                "store belongs to one list. Use a new store file for another list, or "
                "resend=True to push the changed rows"
            )
        if before is not None and before[0] in ("sent", "unknown") and not resend:
            report.skipped += 1
            continue
        todo.append((payload, sha))
    install_log_redaction()  # httpx logs each request's URL: the webhook's is a credential
    pacer = _Pacer(records_per_second, burst, sleep, clock)
    failed: list[tuple[int, str]] = []
    used: dict[str, WebhookUsage] = {}
    with httpx.Client(transport=transport, timeout=timeout_s) as client:
        i = 0
        while i < len(todo):
            batch = _fit(todo[i : i + batch_size])
            usage = store.webhook_usage(url, limit=limit)
            if usage.left - len(batch) < headroom:
                report.asked_for_webhook += 1
                fresh = new_webhook(usage) if new_webhook is not None else None
                if not fresh or fresh.strip() == url:
                    report.pending = [int(p[ROW_ID]) for p, _ in todo[i:]]
                    break
                store.retire_webhook(url)
                used[url] = store.webhook_usage(url, limit=limit)
                url = fresh.strip()
                if store.webhook_usage(url, limit=limit).retired:
                    raise ClayError("new_webhook handed back a webhook already retired")
                continue
            ids = [int(p[ROW_ID]) for p, _ in batch]
            body = json.dumps(batch[0][0] if batch_size == 1 else [p for p, _ in batch]).encode()
            pacer.take(len(batch))
            store.begin_batch(url, [(int(p[ROW_ID]), sha) for p, sha in batch])
            state, why = _send(client, url, token, body, wait)
            store.end_batch(ids, "sent" if state == "sent" else state if state == "unknown"
                            else "failed", why)  # fmt: skip
            if state == "sent":
                report.sent += len(ids)
            else:
                failed += [(r, why or "") for r in ids]
            i += len(batch)
            if state == "auth":  # the same token fails every row: stop, keep the rest
                report.pending = [int(p[ROW_ID]) for p, _ in todo[i:]]
                break
    used[url] = store.webhook_usage(url, limit=limit)
    report.webhooks = list(used.values())
    report.failed = pl.DataFrame(
        {ROW_ID: [r for r, _ in failed], "reason": [w for _, w in failed]},
        schema={ROW_ID: pl.Int64, "reason": pl.String},
    )
    return report


def _fit(batch: list[tuple[dict[str, Any], str]]) -> list[tuple[dict[str, Any], str]]:
    """Shorten a batch until its body is under the cap (one record always goes alone)."""
    while len(batch) > 1 and len(json.dumps([p for p, _ in batch]).encode()) > MAX_BODY_BYTES:
        batch = batch[: len(batch) // 2]
    return batch


def _column_name(key: str, canonical: dict[str, str]) -> str:
    base = canonical.get(key) or "".join(ch if ch.isalnum() else "_" for ch in key.lower())
    return "clay_" + "_".join(part for part in base.split("_") if part)


def collect(store: ClayStore, records: pl.DataFrame | None = None) -> pl.DataFrame:
    """The enriched rows Clay sent back, one per ``row_id`` (its latest callback).

    Columns: ``row_id``, ``clay_received_at`` and one ``clay_<field>`` per field Clay sent,
    named canonically where the header is known (``Work Email`` → ``clay_email``), all text.
    With ``records``, ``row_id`` takes their dtype so ``records.join(collect(...),
    on="row_id", how="left")`` lines up.

    Only callbacks that passed :func:`~gtmkit.integrations.clay_callback.accept_clay_callback`
    (its token check and ``row_id`` match) are in the store; the others are in
    ``store.unmatched()``.
    """
    rows = store.callbacks()
    keys = list(dict.fromkeys(k for _, fields, _ in rows for k in fields))
    canonical = map_headers(keys) if keys else {}
    names = {k: _column_name(k, canonical) for k in keys}
    data: dict[str, list[Any]] = {
        ROW_ID: [r for r, _, _ in rows],
        "clay_received_at": [t for _, _, t in rows],
    }
    for key in keys:
        column = names[key]
        values = [None if f.get(key) is None else str(f.get(key)) for _, f, _ in rows]
        if column in data:  # two Clay columns fold onto one name: keep the first non-empty
            data[column] = [
                a if a is not None else b for a, b in zip(data[column], values, strict=True)
            ]
        else:
            data[column] = values
    frame = pl.DataFrame(
        data,
        schema={ROW_ID: pl.Int64, "clay_received_at": pl.Float64}
        | {c: pl.String for c in data if c not in (ROW_ID, "clay_received_at")},
    ).with_columns(pl.from_epoch("clay_received_at", time_unit="s").dt.replace_time_zone("UTC"))
    if records is not None and ROW_ID in records.columns:
        frame = frame.with_columns(pl.col(ROW_ID).cast(records.schema[ROW_ID]))
    return frame
