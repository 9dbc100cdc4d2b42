"""The webhook receiver: a Starlette ASGI app (``gtmkit serve-webhooks`` serves it with uvicorn)
that turns signed deliveries into events on Redis Streams.

Every endpoint does the same five things, in this order: read the raw body with a size limit
(413 over :attr:`ReceiverConfig.max_body_bytes`, checked on ``Content-Length`` and while
reading); check the signature on those raw bytes before anything is parsed (401 with the
reason); parse and check the shape (400 with what was expected); publish each event with its
id through one Lua script that refuses an id seen before (a duplicate delivery answers 200
``duplicate`` so the sender stops retrying); answer 202 only once Redis has acknowledged the
``XADD`` (with ``appendfsync always``, on disk). Redis unreachable: 503, the sender retries.

Endpoints and their checks:

* ``POST /webhooks/leads`` — generic lead events, ``X-Gtmkit-Signature`` (HMAC-SHA256 of
  ``timestamp.body``, 5-minute window: :func:`gtmkit.webhooks.signatures.check_generic`),
  body ``{"id": ..., "lead": {...}}`` (or the lead's fields beside ``id``) → ``leads.new``.
* ``POST /webhooks/hubspot`` — HubSpot's webhook batches, signature v3 with stale timestamps
  refused (:func:`~gtmkit.webhooks.signatures.check_hubspot_v3`; the URI signed is
  ``public_url`` + path when set, as HubSpot saw it behind a proxy). The body is an array of
  events with ``eventId``, ``subscriptionType``, ``objectId`` (developers.hubspot.com/docs/
  api/webhooks); they carry no contact fields, so they go to ``crm.hubspot`` for the CRM sync to
  resolve, keyed by ``eventId``.
* ``POST /webhooks/clay`` — Clay's HTTP API callback. Clay sends what the table's HTTP API
  column is set to send, with the headers configured there, and signs nothing
  (docs.clay.com); so the column sets ``Authorization: Bearer <CLAY_WEBHOOK_TOKEN>``
  (compared in constant time) and a body with ``id`` → ``provider.results``.
* ``POST /webhooks/apollo/phones/{token}`` — Apollo's phone reveal deliveries. Apollo signs
  nothing, so the URL's last segment is the secret (``APOLLO_WEBHOOK_TOKEN``, constant-time);
  the body is read by :func:`gtmkit.providers.apollo_phone.delivered_people`, stored in the
  adapter's :class:`~gtmkit.providers.apollo_phone.PhoneInbox` when one is configured
  (through its own handler, what the adapter reads), and each person published to
  ``provider.results`` keyed by Apollo's person id (Apollo retries: duplicates expected).

No log line holds a secret, a signature or a body: the app logs the route's name, the status
and the reason; ``gtmkit serve-webhooks`` turns uvicorn's access log off (it would print the
Apollo path, which is a secret).

**Slack approvals** (``/slack/interactions``) and the integrations' Clay callback (which
replaces ``parse_clay`` on ``/webhooks/clay`` when mounted) are built in ``gtmkit.integrations``
and mounted by :mod:`gtmkit.webhooks.integration_routes` (``gtmkit serve-webhooks`` does); this
app only leaves the hook: ``create_app(config, extra_routes=[Route("/slack/interactions",
handler, methods=["POST"])])``. Such a handler reads the body with :func:`read_body`, checks
it with :func:`gtmkit.webhooks.signatures.check_slack` before parsing, and answers within
Slack's 3 seconds.

Example:
    >>> cfg = ReceiverConfig(redis_url="redis://127.0.0.1:6379/0", generic_secret="hunter2-canary")
    >>> "hunter2-canary" in repr(cfg)  # secrets never in a repr
    False
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from gtmkit.errors import GtmkitError
from gtmkit.events.bus import LEADS_STREAM
from gtmkit.events.pipeline import lead_fields
from gtmkit.providers.apollo_phone import PhoneInbox, delivered_people, phone_reveal_handler
from gtmkit.queue.keys import PREFIX
from gtmkit.webhooks.signatures import check_generic, check_hubspot_v3

if TYPE_CHECKING:  # pragma: no cover
    import redis.asyncio as aredis

log = logging.getLogger("gtmkit.webhooks")

HUBSPOT_STREAM = "crm.hubspot"
RESULTS_STREAM = "provider.results"
#: a body larger than this is refused (HubSpot batches up to 100 events, a few tens of kB)
MAX_BODY_BYTES = 256 * 1024
#: how long a delivery id is remembered (senders retry for hours to a few days)
SEEN_TTL_S = 7 * 24 * 3600

# KEYS: seen key, stream. ARGV: ttl seconds, field, value, ...
PUBLISH_ONCE = """
local prior = redis.call('GET', KEYS[1])
if prior then return {0, prior} end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[1], id, 'EX', tonumber(ARGV[1]))
return {1, id}
"""


class Refused(GtmkitError):
    """A delivery refused with an HTTP status and a reason the sender can act on."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class ReceiverConfig:
    """What the receiver needs. A secret left ``None`` turns its endpoint off (404)."""

    redis_url: str
    generic_secret: str | None = field(default=None, repr=False)
    hubspot_secret: str | None = field(default=None, repr=False)
    clay_token: str | None = field(default=None, repr=False)
    apollo_token: str | None = field(default=None, repr=False)
    phone_inbox: str | None = None
    public_url: str | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    seen_ttl_s: int = SEEN_TTL_S

    @classmethod
    def from_env(cls, redis_url: str, **overrides: Any) -> ReceiverConfig:
        """Secrets from the environment (:data:`gtmkit.webhooks.SECRET_ENV_VARS`)."""
        env = os.environ.get
        return cls(redis_url=redis_url, generic_secret=env("GTMKIT_WEBHOOK_SECRET") or None,
                   hubspot_secret=env("HUBSPOT_CLIENT_SECRET") or None,
                   clay_token=env("CLAY_WEBHOOK_TOKEN") or None,
                   apollo_token=env("APOLLO_WEBHOOK_TOKEN") or None, **overrides)  # fmt: skip


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 once it is over ``limit`` bytes (header or stream)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refused(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "body is not JSON") from None


def _event_id(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or len(value) > 200:
        raise Refused(400, f"missing {what}: every delivery needs an id (so a resend is one event)")
    return value


Events = list[tuple[str, str, dict[str, str]]]  # (dedupe id, stream, fields)
Parser = Callable[[Request, bytes, ReceiverConfig], Awaitable[Events]]


class Receiver:
    """The app's state: one Redis client, the publish-once script, the phone inbox."""

    def __init__(self, config: ReceiverConfig) -> None:
        import redis.asyncio as aredis_module

        self.config = config
        self.conn: aredis.Redis = aredis_module.Redis.from_url(config.redis_url)
        self._publish_once = self.conn.register_script(PUBLISH_ONCE)
        self.inbox = PhoneInbox(config.phone_inbox) if config.phone_inbox else None

    async def publish(self, events: Events) -> dict[str, Any]:
        queued: list[str] = []
        duplicates: list[str] = []
        for dedupe, stream, fields in events:
            flat: list[str] = [str(self.config.seen_ttl_s)]
            for key, value in fields.items():
                flat += [key, value]
            seen = f"{PREFIX}:webhooks:seen:{dedupe}"
            answer: Any = await self._publish_once(keys=[seen, stream], args=flat)
            (queued if int(answer[0]) == 1 else duplicates).append(fields["event_id"])
        return {"status": "queued" if queued else "duplicate", "queued": queued,
                "duplicates": duplicates}  # fmt: skip

    def endpoint(self, name: str, parse: Parser) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def handle(request: Request) -> JSONResponse:
            started = time.perf_counter()
            try:
                body = await read_body(request, self.config.max_body_bytes)
                events = await parse(request, body, self.config)
                answer = await self.publish(events)
                status = 202 if answer["queued"] else 200
                response = JSONResponse(answer, status_code=status)
                reason = answer["status"]
            except Refused as refused:
                status, reason = refused.status, refused.reason
                response = JSONResponse({"error": reason}, status_code=status)
            except OSError:
                status, reason = 503, "event store unavailable; retry"
                response = JSONResponse({"error": reason}, status_code=status)
            except Exception as exc:  # redis errors: not durably queued, so the sender retries
                status, reason = 503, f"event store unavailable ({type(exc).__name__}); retry"
                response = JSONResponse({"error": reason}, status_code=status)
            log.info("webhook %s %d %s %.1fms", name, status, reason,
                     (time.perf_counter() - started) * 1000)  # fmt: skip
            return response

        return handle


def _require(secret: str | None, what: str) -> str:
    if not secret:
        raise Refused(404, f"{what} endpoint is not configured on this receiver")
    return secret


async def parse_leads(request: Request, body: bytes, config: ReceiverConfig) -> Events:
    secret = _require(config.generic_secret, "the leads")
    refusal = check_generic(secret, body, dict(request.headers), time.time())
    if refusal is not None:
        raise Refused(401, refusal)
    payload = _json(body)
    if not isinstance(payload, dict):
        raise Refused(400, 'expected a JSON object {"id": ..., "lead": {...}}')
    eid = _event_id(request.headers.get("x-gtmkit-event-id") or payload.get("id"), "id")
    lead = payload.get("lead", {k: v for k, v in payload.items() if k != "id"})
    if not isinstance(lead, dict) or not lead:
        raise Refused(400, "expected the lead's fields (first_name, company_domain...) in 'lead'")
    return [(f"leads:{eid}", LEADS_STREAM, lead_fields(lead, event_id=eid, source="webhook"))]


async def parse_hubspot(request: Request, body: bytes, config: ReceiverConfig) -> Events:
    secret = _require(config.hubspot_secret, "the HubSpot")
    uri = str(request.url)
    if config.public_url:
        query = f"?{request.url.query}" if request.url.query else ""
        uri = config.public_url.rstrip("/") + request.url.path + query
    refusal = check_hubspot_v3(secret, request.method, uri, body, dict(request.headers),
                               time.time())  # fmt: skip
    if refusal is not None:
        raise Refused(401, refusal)
    payload = _json(body)
    if not isinstance(payload, list) or not all(isinstance(e, dict) for e in payload):
        raise Refused(400, "expected HubSpot's array of event objects")
    out: Events = []
    for event in payload:
        eid = _event_id(event.get("eventId"), "eventId in a HubSpot event")
        fields = {"event_id": f"hubspot:{eid}", "source": "hubspot",
                  "type": str(event.get("subscriptionType", "")),
                  "object_id": str(event.get("objectId", "")),
                  "event": json.dumps(event, sort_keys=True)}  # fmt: skip
        out.append((f"hubspot:{eid}", HUBSPOT_STREAM, fields))
    return out


def _result_fields(provider: str, eid: str, payload: Any) -> dict[str, str]:
    return {"event_id": f"{provider}:{eid}", "source": provider, "provider": provider,
            "result": json.dumps(payload, sort_keys=True, default=str)}  # fmt: skip


async def parse_clay(request: Request, body: bytes, config: ReceiverConfig) -> Events:
    token = _require(config.clay_token, "the Clay")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Refused(401, "bad or missing Authorization: Bearer token")
    payload = _json(body)
    if not isinstance(payload, dict):
        raise Refused(400, "expected a JSON object with an 'id' (the Clay row's id)")
    eid = _event_id(payload.get("id"), "id (the Clay row's id)")
    return [(f"clay:{eid}", RESULTS_STREAM, _result_fields("clay", eid, payload))]


def apollo_parser(receiver: Receiver) -> Parser:
    async def parse(request: Request, body: bytes, config: ReceiverConfig) -> Events:
        token = _require(config.apollo_token, "the Apollo phone")
        given = str(request.path_params.get("token", ""))
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Refused(401, "unknown webhook path")
        people = delivered_people(_json(body))
        if people is None:
            raise Refused(400, "not an Apollo phone delivery: expected people[{id, phone_numbers}]")
        if receiver.inbox is not None:  # what the Apollo adapter reads, durably, first
            status, answer = await phone_reveal_handler(receiver.inbox)(body, {})
            if status != 200:
                raise Refused(status, str(answer.get("error")))
        return [(f"apollo-phone:{p['id']}", RESULTS_STREAM,
                 _result_fields("apollo-phone", str(p["id"]), p)) for p in people]  # fmt: skip

    return parse


def create_app(config: ReceiverConfig, *, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The ASGI app. ``extra_routes`` are mounted beside the built-in ones (the hook for
    ``/slack/interactions``: see the module doc); one with a built-in's path replaces it."""
    receiver = Receiver(config)
    routes: list[BaseRoute] = [
        Route("/webhooks/leads", receiver.endpoint("leads", parse_leads), methods=["POST"]),
        Route("/webhooks/hubspot", receiver.endpoint("hubspot", parse_hubspot), methods=["POST"]),
        Route("/webhooks/clay", receiver.endpoint("clay", parse_clay), methods=["POST"]),
        Route("/webhooks/apollo/phones/{token}",
              receiver.endpoint("apollo-phone", apollo_parser(receiver)), methods=["POST"]),
        Route("/healthz", _health(receiver), methods=["GET"]),
    ]  # fmt: skip
    # an extra route replaces a built-in one of the same path (the integrations' Clay callback
    # replaces parse_clay: gtmkit.webhooks.integration_routes says why), so one path, one rule
    claimed = {getattr(route, "path", None) for route in extra_routes}
    routes = [r for r in routes if getattr(r, "path", None) not in claimed] + list(extra_routes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await receiver.conn.aclose()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.receiver = receiver
    return app


def _health(receiver: Receiver) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def health(request: Request) -> JSONResponse:
        try:
            await receiver.conn.ping()
        except Exception:
            return JSONResponse({"redis": "unreachable"}, status_code=503)
        return JSONResponse({"redis": "ok"})

    return health


__all__ = ["HUBSPOT_STREAM", "MAX_BODY_BYTES", "RESULTS_STREAM", "ReceiverConfig", "Refused",
           "create_app", "read_body"]  # fmt: skip
