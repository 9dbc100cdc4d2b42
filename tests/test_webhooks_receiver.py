"""The webhook receiver through httpx against the ASGI app, on a real redis-server: signature
on the raw body, replay and staleness, body size, duplicate deliveries, durable queueing, and
no secret in any log line. One test serves it with a real uvicorn process on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._redis_helpers import ROOT, RedisServer, free_port, needs_redis, redis_server

pytestmark = needs_redis
redis = pytest.importorskip("redis")
pytest.importorskip("starlette")

from gtmkit.events import LEADS_STREAM, RedisStreamsBus  # noqa: E402
from gtmkit.webhooks.receiver import (  # noqa: E402
    HUBSPOT_STREAM,
    RESULTS_STREAM,
    ReceiverConfig,
    create_app,
)
from gtmkit.webhooks.signatures import generic_signature, hubspot_v3_signature  # noqa: E402

SECRETS = {"generic_secret": "gen-canary-7f3a", "hubspot_secret": "hs-canary-91bc",
           "clay_token": "clay-canary-55de", "apollo_token": "apollo-canary-0a1b"}  # fmt: skip
BASE = "http://receiver.test"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as srv:
        yield srv


def _post(server: RedisServer, path: str, body: bytes, headers: dict[str, str],
          **config: Any) -> httpx.Response:  # fmt: skip
    settings = {"redis_url": server.url, **SECRETS, **config}
    app = create_app(ReceiverConfig(**settings))

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.post(path, content=body, headers=headers)

    return asyncio.run(go())


def _lead_headers(body: bytes, *, at: float | None = None, secret: str | None = None) -> dict:
    ts = str(int(at if at is not None else time.time()))
    sig = generic_signature(secret or SECRETS["generic_secret"], body, ts)
    return {"x-gtmkit-timestamp": ts, "x-gtmkit-signature": sig,
            "content-type": "application/json"}  # fmt: skip


def _entries(server: RedisServer, stream: str) -> list[dict[str, str]]:
    return [f for _, f in RedisStreamsBus(redis.Redis.from_url(server.url)).entries(stream)]


LEAD = json.dumps({"id": "crm-1", "lead": {"first_name": "Ada", "last_name": "Lovelace",
                                           "company_domain": "acme.io"}}).encode()  # fmt: skip


def test_a_signed_lead_is_queued_durably_then_a_resend_is_a_duplicate(
    server: RedisServer,
) -> None:
    first = _post(server, "/webhooks/leads", LEAD, _lead_headers(LEAD))
    assert first.status_code == 202, first.text
    assert first.json()["queued"] == ["crm-1"]
    entries = _entries(server, LEADS_STREAM)  # in the stream when the 202 came back
    assert [e["event_id"] for e in entries] == ["crm-1"]
    assert json.loads(entries[0]["lead"])["company_domain"] == "acme.io"
    again = _post(server, "/webhooks/leads", LEAD, _lead_headers(LEAD))  # the sender retried
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert len(_entries(server, LEADS_STREAM)) == 1


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing X-Gtmkit-Signature"),
        ({"secret": "not-the-secret"}, "bad signature"),
        ({"at": time.time() - 3600}, "stale request"),  # a replay of an old delivery
        ({"tamper": True}, "bad signature"),
    ],
)
def test_a_bad_signature_is_refused_before_parsing(
    server: RedisServer, headers: dict[str, Any], reason: str
) -> None:
    body = LEAD
    sent = {} if not headers else _lead_headers(
        LEAD, at=headers.get("at"), secret=headers.get("secret"))  # fmt: skip
    if headers.get("tamper"):
        body = LEAD.replace(b"acme.io", b"evil.io")  # signed body changed in transit
    response = _post(server, "/webhooks/leads", body, sent)
    assert response.status_code == 401
    assert reason in response.json()["error"]
    assert _entries(server, LEADS_STREAM) == []


def test_unparsable_bodies_get_400_with_what_was_expected(server: RedisServer) -> None:
    for body, reason in [(b"{not json", "not JSON"), (b"[1, 2]", "JSON object"),
                         (b'{"lead": {"first_name": "A"}}', "missing id"),
                         (b'{"id": "x", "lead": "Ada"}', "lead's fields")]:  # fmt: skip
        response = _post(server, "/webhooks/leads", body, _lead_headers(body))
        assert response.status_code == 400, body
        assert reason in response.json()["error"]
    assert _entries(server, LEADS_STREAM) == []


def test_a_body_over_the_limit_is_refused_with_413(server: RedisServer) -> None:
    body = json.dumps({"id": "big", "lead": {"note": "x" * 5000}}).encode()
    response = _post(server, "/webhooks/leads", body, _lead_headers(body), max_body_bytes=1024)
    assert response.status_code == 413
    assert "1024" in response.json()["error"]
    assert _entries(server, LEADS_STREAM) == []


def _hubspot(body: bytes, *, at_ms: int | None = None) -> dict[str, str]:
    ts = str(at_ms if at_ms is not None else int(time.time() * 1000))
    sig = hubspot_v3_signature(SECRETS["hubspot_secret"], "POST", f"{BASE}/webhooks/hubspot",
                               body, ts)  # fmt: skip
    return {"x-hubspot-signature-v3": sig, "x-hubspot-request-timestamp": ts}


def test_hubspot_v3_batches_are_checked_split_and_deduplicated(server: RedisServer) -> None:
    events = [
        {"eventId": 101, "subscriptionType": "contact.creation", "objectId": 9},
        {"eventId": 102, "subscriptionType": "contact.creation", "objectId": 10},
    ]
    body = json.dumps(events).encode()
    ok = _post(server, "/webhooks/hubspot", body, _hubspot(body))
    assert ok.status_code == 202, ok.text
    assert [e["object_id"] for e in _entries(server, HUBSPOT_STREAM)] == ["9", "10"]
    # HubSpot retried the batch with one event more: only the new one is queued
    more = json.dumps([*events, {"eventId": 103, "objectId": 11}]).encode()
    again = _post(server, "/webhooks/hubspot", more, _hubspot(more))
    assert again.json()["queued"] == ["hubspot:103"]
    assert again.json()["duplicates"] == ["hubspot:101", "hubspot:102"]
    stale = _post(server, "/webhooks/hubspot", body,
                  _hubspot(body, at_ms=int((time.time() - 600) * 1000)))  # fmt: skip
    assert stale.status_code == 401 and "stale" in stale.json()["error"]
    # signed for another URI (the v3 signature covers it): refused
    moved = _post(server, "/webhooks/hubspot", body, _hubspot(body),
                  public_url="https://hooks.example.com")  # fmt: skip
    assert moved.status_code == 401 and moved.json()["error"] == "bad signature"
    assert len(_entries(server, HUBSPOT_STREAM)) == 3


def test_clay_callbacks_need_the_token_and_land_in_provider_results(
    server: RedisServer,
) -> None:
    body = json.dumps({"id": "row-7", "email": "ada@acme.io"}).encode()
    bearer = {"authorization": f"Bearer {SECRETS['clay_token']}"}
    wrong = {"authorization": "Bearer nope"}
    assert _post(server, "/webhooks/clay", body, wrong).status_code == 401
    assert _post(server, "/webhooks/clay", body, bearer).status_code == 202
    assert _post(server, "/webhooks/clay", body, bearer).json()["status"] == "duplicate"
    [entry] = _entries(server, RESULTS_STREAM)
    assert entry["event_id"] == "clay:row-7"
    assert json.loads(entry["result"])["email"] == "ada@acme.io"


def test_apollo_phone_reveals_reach_the_adapters_inbox_and_the_stream(
    server: RedisServer, tmp_path: Path
) -> None:
    from gtmkit.providers.apollo_phone import PhoneInbox

    inbox_path = tmp_path / "phones.sqlite"
    body = json.dumps({"people": [{"id": "ap-1", "phone_numbers": [
        {"sanitized_number": "+14155550111", "type_cd": "mobile"}]}]}).encode()  # fmt: skip
    path = f"/webhooks/apollo/phones/{SECRETS['apollo_token']}"
    assert _post(server, "/webhooks/apollo/phones/guess", body, {}).status_code == 401
    ok = _post(server, path, body, {}, phone_inbox=str(inbox_path))
    assert ok.status_code == 202, ok.text
    again = _post(server, path, body, {}, phone_inbox=str(inbox_path))  # Apollo retries
    assert again.json()["status"] == "duplicate"
    assert PhoneInbox(inbox_path).delivery("ap-1")["phone_numbers"][0]["type_cd"] == "mobile"
    assert [e["event_id"] for e in _entries(server, RESULTS_STREAM)] == ["apollo-phone:ap-1"]
    bad = _post(server, path, b'{"people": [{"name": "x"}]}', {})
    assert bad.status_code == 400 and "Apollo phone delivery" in bad.json()["error"]


def test_an_unconfigured_endpoint_is_off_and_a_down_redis_is_503(server: RedisServer) -> None:
    off = _post(server, "/webhooks/leads", LEAD, _lead_headers(LEAD), generic_secret=None)
    assert off.status_code == 404
    down = _post(server, "/webhooks/leads", LEAD, _lead_headers(LEAD),
                 redis_url=f"redis://127.0.0.1:{free_port()}/0")  # fmt: skip
    assert down.status_code == 503 and "retry" in down.json()["error"]


def test_extra_routes_are_the_slack_hook(server: RedisServer) -> None:
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def interactions(request: Request) -> PlainTextResponse:
        return PlainTextResponse("approved-by-integrations")

    app = create_app(ReceiverConfig(redis_url=server.url),
                     extra_routes=[Route("/slack/interactions", interactions,
                                         methods=["POST"])])  # fmt: skip

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=BASE) as client:  # fmt: skip
            return await client.post("/slack/interactions", content=b"payload=%7B%7D")

    assert asyncio.run(go()).text == "approved-by-integrations"


def test_no_secret_in_any_log_line(server: RedisServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    _post(server, "/webhooks/leads", LEAD, _lead_headers(LEAD))
    _post(server, "/webhooks/leads", LEAD, _lead_headers(LEAD, secret="wrong"))
    _post(server, f"/webhooks/apollo/phones/{SECRETS['apollo_token']}", b"{}", {})
    # every record of the receiver's side (httpx's lines are the test client's, the sender's)
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))
    assert "webhook leads 202" in text and "webhook leads 401 bad signature" in text
    for secret in SECRETS.values():
        assert secret not in text


def test_served_by_a_real_uvicorn_process_on_loopback(server: RedisServer) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "GTMKIT_WEBHOOK_SECRET": SECRETS["generic_secret"]}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "gtmkit", "serve-webhooks", "--redis", server.url,
         "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).json() == {"redis": "ok"}:
                    break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "uvicorn did not start"
                time.sleep(0.1)
        response = httpx.post(f"{url}/webhooks/leads", content=LEAD, headers=_lead_headers(LEAD))
        assert response.status_code == 202, response.text
        assert [e["event_id"] for e in _entries(server, LEADS_STREAM)] == ["crm-1"]
        assert httpx.post(f"{url}/webhooks/leads", content=LEAD,
                          headers=_lead_headers(LEAD)).json()["status"] == "duplicate"  # fmt: skip
    finally:
        proc.terminate()
        out = proc.communicate(timeout=15)[0].decode()
    assert SECRETS["generic_secret"] not in out
    assert "webhook leads 202" in out  # the app's own log line, not uvicorn's access log
