"""HubSpot's new contacts into the event tier (issue 14: "CRM webhook → queue → workers"): a
signed HubSpot delivery through the receiver, the bridge resolving ids with the HubSpot twin's
``batch/read`` on the wire, leads on ``leads.new``, and an enrichment consumer paying once per
contact. A real redis-server; the meter is the simulated providers' own billing counter."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._attack_helpers import FAST_RETRY, attack_world, waterfall, world_records
from tests._redis_helpers import RedisServer, needs_redis, redis_server

pytestmark = needs_redis
redis = pytest.importorskip("redis")
pytest.importorskip("starlette")

from gtmkit.events import (  # noqa: E402
    DLQ_STREAM,
    ENRICHED_STREAM,
    LEADS_STREAM,
    RedisStreamsBus,
    open_pipeline,
)
from gtmkit.events.consumer import EnrichmentConsumer  # noqa: E402
from gtmkit.events.hubspot_leads import (  # noqa: E402
    IGNORED_STREAM,
    HubSpotLeadBridge,
    lead_event_id,
)
from gtmkit.events.pipeline import load_pipeline  # noqa: E402
from gtmkit.queue.jobs import connection  # noqa: E402
from gtmkit.sandbox import simulate  # noqa: E402
from gtmkit.sandbox.crm import CrmTransport  # noqa: E402
from gtmkit.sync.destinations.hubspot import HubSpot  # noqa: E402
from gtmkit.sync.errors import DestinationError  # noqa: E402
from gtmkit.webhooks.receiver import HUBSPOT_STREAM, ReceiverConfig, create_app  # noqa: E402
from gtmkit.webhooks.signatures import hubspot_v3_signature  # noqa: E402

SECRET = "hs-canary-3c1d"
BASE = "http://receiver.test"
PATH = "/crm/v3/objects/contacts/batch/read"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as srv:
        yield srv


def _deliver(server: RedisServer, events: list[dict[str, Any]]) -> httpx.Response:
    """One signed HubSpot webhook delivery through the receiver app."""
    body = json.dumps(events).encode()
    ts = str(int(time.time() * 1000))
    headers = {
        "x-hubspot-signature-v3": hubspot_v3_signature(
            SECRET, "POST", f"{BASE}/webhooks/hubspot", body, ts
        ),
        "x-hubspot-request-timestamp": ts,
    }
    app = create_app(ReceiverConfig(redis_url=server.url, hubspot_secret=SECRET))

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
            return await c.post("/webhooks/hubspot", content=body, headers=headers)

    return asyncio.run(go())  # fmt: skip


def _crm_with(leads: list[dict[str, Any]]) -> tuple[CrmTransport, list[str]]:
    """The HubSpot twin holding one contact per lead (gtmkit fields under HubSpot's names)."""
    transport = CrmTransport()
    api = transport.app.apis["hubspot"]
    names = {"first_name": "firstname", "last_name": "lastname", "company_name": "company",
             "company_domain": "website", "linkedin_url": "hs_linkedin_url"}  # fmt: skip
    ids = [api.add("contacts", {hs: lead.get(f) for f, hs in names.items()})  # type: ignore[attr-defined]
           for lead in leads]  # fmt: skip
    return transport, ids


def _hubspot_fails(monkeypatch: pytest.MonkeyPatch, error: DestinationError) -> None:
    """Every contacts read of the HubSpot client raises ``error`` (down, limited, refused)."""

    async def read(*_: Any, **__: Any) -> Any:
        raise error

    monkeypatch.setattr(HubSpot, "read", read)


def _creation(event_id: int, contact_id: str) -> dict[str, Any]:
    return {"eventId": event_id, "subscriptionType": "contact.creation", "objectId": contact_id}


def _bridge(server: RedisServer, transport: CrmTransport) -> HubSpotLeadBridge:
    bus = RedisStreamsBus(connection(server.url))
    return HubSpotLeadBridge(bus, HubSpot(transport=transport), name="b1", block_ms=0,
                             claim_idle_s=0.05)  # fmt: skip


def test_new_contacts_become_one_lead_each_and_are_enriched_once(server: RedisServer) -> None:
    leads = world_records(6, seed=3).drop("row_id").to_dicts()
    transport, ids = _crm_with(leads)
    # HubSpot resends a delivery, and announces contact 0 twice; a property change is no lead
    events = [_creation(100 + i, cid) for i, cid in enumerate(ids)]
    assert _deliver(server, events).status_code == 202
    assert _deliver(server, events[:2]).status_code == 200  # a resent delivery: duplicate
    extra = [_creation(200, ids[0]),
             {"eventId": 201, "subscriptionType": "contact.propertyChange", "objectId": ids[1],
              "propertyName": "jobtitle", "propertyValue": "CTO"}]  # fmt: skip
    assert _deliver(server, extra).status_code == 202

    bridge = _bridge(server, transport)
    while bridge.step():
        pass
    assert bridge.counts == {"leads": 7, "dlq": 0, "ignored": 1, "already_done": 0,
                             "retry_later": 0}  # fmt: skip
    reads = [r for r in transport.app.requests if r == ("hubspot", "POST", PATH)]
    assert len(reads) == 1  # the batch resolved in one call
    bus = bridge.bus
    published = [f for _, f in bus.entries(LEADS_STREAM)]
    assert sorted({f["event_id"] for f in published}) == sorted(lead_event_id(i) for i in ids)
    first = json.loads(next(f["lead"] for f in published if f["event_id"] == lead_event_id(ids[0])))
    assert first["crm"] == "hubspot" and first["crm_id"] == ids[0]
    assert first["first_name"] == leads[0]["first_name"]
    assert first["website"] == leads[0]["company_domain"]
    ignored = [f for _, f in bus.entries(IGNORED_STREAM)]
    assert [(f["type"], f["object_id"]) for f in ignored] == [("contact.propertyChange", ids[1])]
    assert connection(server.url).xinfo_groups(HUBSPOT_STREAM)[0]["pending"] == 0

    sim = simulate(attack_world(), latency_ms=1)
    with sim.serve() as srv:
        conn = connection(server.url)
        open_pipeline(conn, waterfall(), mode="sandbox", retry=FAST_RETRY, cache_ttl_days=0,
                      connect_options={"base_urls": srv.base_urls, "timeout": 30})  # fmt: skip
        consumer = EnrichmentConsumer(bus, conn, load_pipeline(conn, "enrichment"), name="c1",
                                      batch_size=10, block_ms=0)  # fmt: skip
        consumer.run(burst=True)
    settled = [f for _, f in bus.entries(ENRICHED_STREAM) + bus.entries(DLQ_STREAM)]
    assert sorted(f["event_id"] for f in settled) == sorted(lead_event_id(i) for i in ids)
    assert sim.repeated_lookups() == 0  # contact 0, announced twice, was paid for once
    records = [json.loads(f["record"]) for _, f in bus.entries(ENRICHED_STREAM)]
    assert records and all(r["crm_id"] in ids for r in records)  # the way back to the CRM


def test_a_contact_hubspot_no_longer_has_goes_to_the_dlq_with_its_reason(
    server: RedisServer,
) -> None:
    transport, ids = _crm_with(world_records(1, seed=4).drop("row_id").to_dicts())
    _deliver(server, [_creation(1, ids[0]), _creation(2, "999999"),
                      {"eventId": 3, "subscriptionType": "contact.creation"}])  # fmt: skip
    bridge = _bridge(server, transport)
    while bridge.step():
        pass
    assert bridge.counts["leads"] == 1 and bridge.counts["dlq"] == 2
    dead = {f["event_id"]: f for _, f in bridge.bus.entries(DLQ_STREAM)}
    assert "not in HubSpot any more" in dead["hubspot:2"]["reason"]
    assert dead["hubspot:2"]["kind"] == "invalid"
    assert "without an objectId" in dead["hubspot:3"]["reason"]


def test_hubspot_down_leaves_the_events_pending_then_they_go_through(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport, ids = _crm_with(world_records(2, seed=5).drop("row_id").to_dicts())
    _deliver(server, [_creation(1, ids[0]), _creation(2, ids[1])])
    bridge = _bridge(server, transport)
    real_read = HubSpot.read
    _hubspot_fails(
        monkeypatch,
        DestinationError(
            "hubspot answered 503",
            destination="hubspot",
            kind="server",
            http_status=503,
            retryable=True,
        ),
    )
    assert bridge.step() == 2
    assert bridge.counts["retry_later"] == 2 and bridge.counts["leads"] == 0
    assert bridge.bus.entries(LEADS_STREAM) == []
    conn = connection(server.url)
    assert conn.xinfo_groups(HUBSPOT_STREAM)[0]["pending"] == 2  # not acknowledged: kept
    monkeypatch.setattr(HubSpot, "read", real_read)
    time.sleep(0.1)  # idle past claim_idle_s: reclaimed as a second delivery
    while bridge.step():
        pass
    assert bridge.counts["leads"] == 2
    assert conn.xinfo_groups(HUBSPOT_STREAM)[0]["pending"] == 0


def test_an_event_hubspot_always_fails_on_ends_in_the_dlq(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport, ids = _crm_with(world_records(1, seed=6).drop("row_id").to_dicts())
    _deliver(server, [_creation(1, ids[0])])
    bridge = _bridge(server, transport)
    bridge.max_deliveries = 2
    _hubspot_fails(
        monkeypatch, DestinationError("daily limit", destination="hubspot", kind="daily_limit")
    )
    for _ in range(3):
        bridge.step()
        time.sleep(0.1)
    dead = [f for _, f in bridge.bus.entries(DLQ_STREAM)]
    assert [(f["event_id"], f["kind"]) for f in dead] == [("hubspot:1", "deliveries")]
    assert json.loads(dead[0]["event"])["objectId"] == ids[0]  # the event rides along
    assert connection(server.url).xinfo_groups(HUBSPOT_STREAM)[0]["pending"] == 0


def test_the_command_without_a_token_says_where_it_comes_from(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gtmkit.cli import main

    monkeypatch.delenv("HUBSPOT_ACCESS_TOKEN", raising=False)
    assert main(["hubspot-leads", "--redis", "redis://127.0.0.1:1/0", "--burst"]) == 2
    assert "set HUBSPOT_ACCESS_TOKEN in the environment" in capsys.readouterr().out


def test_a_refused_token_stops_the_bridge_and_keeps_the_events(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    transport, ids = _crm_with(world_records(1, seed=7).drop("row_id").to_dicts())
    _deliver(server, [_creation(1, ids[0])])
    bridge = _bridge(server, transport)
    _hubspot_fails(
        monkeypatch,
        DestinationError(
            "hubspot refused the credential (401)",
            destination="hubspot",
            kind="auth",
            http_status=401,
        ),
    )
    with pytest.raises(DestinationError, match="refused the credential"):
        bridge.run(burst=True)  # not retried once a second for ever
    assert connection(server.url).xinfo_groups(HUBSPOT_STREAM)[0]["pending"] == 1
