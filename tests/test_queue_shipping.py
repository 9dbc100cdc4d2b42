"""What ``Waterfall.enqueue`` ships to its workers (issue 14): the sandbox's
``sim.adapter_options`` (with its live Apollo phone inbox) runs on real workers; what cannot
be shipped is refused before anything is queued, naming the option."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._attack_helpers import FAST_RETRY, attack_world, billed_total, waterfall, world_records
from tests._redis_helpers import RedisServer, needs_redis, redis_server, start_worker, stop_workers

pytestmark = needs_redis
redis = pytest.importorskip("redis")
pytest.importorskip("rq")

from gtmkit.providers.apollo_phone import PhoneInbox  # noqa: E402
from gtmkit.queue.shipping import PhoneInboxAt, ShippingError, pack, unpack  # noqa: E402
from gtmkit.sandbox import simulate  # noqa: E402


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as srv:
        yield srv


def test_the_sandbox_adapter_options_run_on_real_workers(server: RedisServer) -> None:
    records = world_records(40, seed=6)
    sim = simulate(attack_world(), latency_ms=5)
    with sim.serve() as srv:
        workers = [start_worker(server.url, name=f"ship-{i}") for i in range(2)]
        try:
            handle = waterfall().enqueue(
                records, redis_url=server.url, batch_size=20, budget_credits=100,
                mode="sandbox", retry=FAST_RETRY, cache_ttl_days=0,
                connect_options={"base_urls": srv.base_urls, "timeout": 30,
                                 "options": sim.adapter_options},
            )  # fmt: skip
            result = handle.wait(timeout_s=90).result()
        finally:
            stop_workers(workers)
    assert result.totals["chunks_failed"] == 0, result.records["status_reason"].to_list()
    assert sorted(result.records["row_id"].to_list()) == sorted(records["row_id"].to_list())
    assert result.records["status"].null_count() == 0
    assert result.totals["emails_found"] > 0
    assert 0 < billed_total(sim) <= 100 + 1e-9  # the providers' own counter


def test_a_phone_inbox_ships_as_its_path_and_is_reopened(tmp_path: Path) -> None:
    inbox = PhoneInbox(tmp_path / "phones.sqlite")
    inbox.store("p1", {"id": "p1", "phone_numbers": []})
    options = {"connect_options": {"options": {"apollo": {"phone_inbox": inbox}}}}
    with pytest.raises(TypeError):
        pickle.dumps(options)  # the bug: the live inbox (its lock) cannot be pickled
    shipped = unpack(pack(options))
    rebuilt = shipped["connect_options"]["options"]["apollo"]["phone_inbox"]
    assert isinstance(rebuilt, PhoneInbox) and rebuilt is not inbox
    assert rebuilt.path == inbox.path
    assert rebuilt.delivery("p1") == {"id": "p1", "phone_numbers": []}
    assert PhoneInboxAt(str(inbox.path)).rebuild().count() == 1


def test_what_cannot_be_shipped_is_refused_naming_the_option(server: RedisServer) -> None:
    sim = simulate(attack_world(), latency_ms=0)
    records = world_records(5, seed=1)
    with pytest.raises(ShippingError, match=r"connect_options\['transport'\].*sim.serve"):
        waterfall().enqueue(records, redis_url=server.url, mode="sandbox",
                            connect_options=sim.connect_options)  # fmt: skip
    lock: Any = threading.Lock()
    with pytest.raises(ShippingError, match=r"connect_options\['options'\]\['pdl'\]\['x'\]"):
        waterfall().enqueue(records, redis_url=server.url, mode="sandbox",
                            connect_options={"options": {"pdl": {"x": lock}}})  # fmt: skip
    assert redis.Redis.from_url(server.url).dbsize() == 0  # nothing was queued
