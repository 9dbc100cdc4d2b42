"""The event tier's way back out of its DLQ (``gtmkit.events.replay``), on a real redis-server
and the loopback sandbox server. The meter is the simulated providers' own billing counter
(``billed()``, ``repeated_lookups()``), never the pipeline's books; consumers run in process
(``EnrichmentConsumer.run(burst=True)``) so every test is deterministic."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests._attack_helpers import FAST_RETRY, attack_world, billed_total, waterfall, world_records
from tests._redis_helpers import ROOT, RedisServer, needs_redis, redis_server, stop_workers

pytestmark = needs_redis
redis = pytest.importorskip("redis")

import gtmkit.events.replay as replay_module  # noqa: E402
from gtmkit.cli import main as gtmkit_main  # noqa: E402
from gtmkit.events import (  # noqa: E402
    DLQ_STREAM,
    ENRICHED_STREAM,
    LEADS_STREAM,
    EnrichmentConsumer,
    RedisStreamsBus,
    load_pipeline,
    open_pipeline,
    publish_lead,
)
from gtmkit.events.replay import (  # noqa: E402
    ReplayError,
    _Steps,
    dead_letters,
    raise_budget,
    replay,
)
from gtmkit.queue.jobs import connection  # noqa: E402
from gtmkit.sandbox import simulate  # noqa: E402
from gtmkit.sandbox.simulation import Simulation  # noqa: E402

#: small enough that part of 20 leads cannot be afforded (the full waterfall costs more)
SMALL_BUDGET = 12.0
N_LEADS = 20


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as srv:
        yield srv


@pytest.fixture
def sim() -> Iterator[tuple[Simulation, dict[str, str]]]:
    simulation = simulate(attack_world(), latency_ms=1)
    with simulation.serve() as srv:
        yield simulation, srv.base_urls


def _open(conn: Any, base_urls: dict[str, str], **kw: Any) -> None:
    # the default cache: what a dead letter's first attempt bought is reused by its replay
    open_pipeline(conn, waterfall(), mode="sandbox", retry=FAST_RETRY,
                  connect_options={"base_urls": base_urls, "timeout": 30}, **kw)  # fmt: skip


def _leads(bus: RedisStreamsBus, n: int = N_LEADS) -> dict[str, dict[str, Any]]:
    """Publish ``n`` leads; event id → the lead as published."""
    leads = world_records(n, seed=5).drop("row_id").to_dicts()
    sent = {f"lead-{i}": lead for i, lead in enumerate(leads)}
    for event_id, lead in sent.items():
        publish_lead(bus, lead, event_id=event_id)
    return sent


def _consume(conn: Any) -> dict[str, int]:
    consumer = EnrichmentConsumer(RedisStreamsBus(conn), conn, load_pipeline(conn, "enrichment"),
                                  name="c1", batch_size=5, block_ms=20)  # fmt: skip
    return consumer.run(burst=True)


def _ids(bus: RedisStreamsBus, stream: str) -> list[str]:
    return sorted(f["event_id"] for _, f in bus.entries(stream))


@dataclass
class Starved:
    """A pipeline on a budget too small for its 20 leads, run until every lead was settled."""

    url: str
    conn: Any
    bus: RedisStreamsBus
    sent: dict[str, dict[str, Any]]
    sim: Simulation
    started: dt.datetime


@pytest.fixture
def starved(server: RedisServer, sim: tuple[Simulation, dict[str, str]]) -> Starved:
    started = dt.datetime.now(dt.UTC)
    conn = connection(server.url)
    bus = RedisStreamsBus(conn)
    _open(conn, sim[1], budget_credits=SMALL_BUDGET)
    sent = _leads(bus)
    _consume(conn)
    assert sorted(_ids(bus, ENRICHED_STREAM) + _ids(bus, DLQ_STREAM)) == sorted(sent)
    return Starved(server.url, conn, bus, sent, sim[0], started)


def test_dead_letters_from_a_small_budget_are_listed_with_their_reasons(
    starved: Starved, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn, bus, sent, started = starved.conn, starved.bus, starved.sent, starved.started
    dead = dead_letters(starved.url)
    in_stream = bus.entries(DLQ_STREAM)
    assert 0 < dead.height == len(in_stream) < N_LEADS
    assert dead["dlq_id"].to_list() == [i for i, _ in in_stream]  # oldest first
    assert set(dead["kind"]) == {"budget"}
    assert all("budget exhausted" in reason for reason in dead["reason"])
    assert dead["deliveries"].to_list() == [1] * dead.height
    assert dead["replays"].to_list() == [0] * dead.height
    assert dead["replayed_as"].null_count() == dead.height
    assert dead["pipeline"].to_list() == ["enrichment"] * dead.height
    # when: the time Redis added each entry, inside this test's run
    assert dead["dead_at"].min() >= started - dt.timedelta(seconds=1)  # type: ignore[operator]
    assert dead["dead_at"].max() <= dt.datetime.now(dt.UTC)  # type: ignore[operator]
    # the original event id and its lead ride along: nothing is lost
    for event_id, lead in zip(dead["event_id"], dead["lead"], strict=True):
        assert json.loads(lead) == json.loads(json.dumps(sent[event_id], default=str))
    assert set(dead["event_id"]).isdisjoint(_ids(bus, ENRICHED_STREAM))
    # one pipeline's list is not another's, and a bus or a client lists the same
    assert dead_letters(bus).equals(dead) and dead_letters(conn).equals(dead)
    with pytest.raises(ReplayError, match="no event pipeline 'other'"):
        dead_letters(starved.url, pipeline="other")  # a mistyped name is not "no dead letters"
    with pytest.raises(ReplayError, match="no event pipeline 'other'"):
        replay(starved.url, pipeline="other")
    every = dead_letters(conn, pipeline=None)  # every pipeline's: only this one here
    assert every.equals(dead)
    assert billed_total(starved.sim) <= SMALL_BUDGET + 1e-9
    assert dead.height > 3
    monkeypatch.setattr(replay_module, "_PAGE", 3)  # read in pages of 3: the same frame
    assert dead_letters(conn).equals(dead)


def test_replay_after_raising_the_budget_enriches_each_once_and_pays_nothing_twice(
    starved: Starved, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn, bus, sent, simulation = starved.conn, starved.bus, starved.sent, starved.sim
    dead_ids = sorted(dead_letters(starved.url)["event_id"])
    assert len(dead_ids) > 3
    monkeypatch.setattr(replay_module, "_PAGE", 3)  # replayed in several pages
    billed_before = billed_total(simulation)
    assert raise_budget(starved.url, credits=10_000) == {"credits": SMALL_BUDGET}
    report = replay(starved.url, kinds=["budget"])
    assert sorted(report.republished) == dead_ids
    assert report.resumed == report.settled == report.not_found == []
    assert dead_letters(starved.url).height == 0  # removed once republished
    replayed = [f for _, f in bus.entries(LEADS_STREAM) if "replay_of" in f]
    assert sorted(f["event_id"] for f in replayed) == dead_ids  # the original event ids
    assert all(json.loads(f["lead"]) == json.loads(json.dumps(sent[f["event_id"]], default=str))
               for f in replayed)  # fmt: skip

    # replaying again is a no-op: nothing is published twice
    length = conn.xlen(LEADS_STREAM)
    again = replay(starved.url)
    assert again.as_dict() == {"republished": [], "resumed": [], "settled": [], "not_found": []}
    assert conn.xlen(LEADS_STREAM) == length

    counts = _consume(conn)
    assert counts["enriched"] == len(dead_ids) and counts["dlq"] == 0
    assert replay(starved.url).as_dict()["republished"] == []  # and after the consumers, too
    assert _ids(bus, ENRICHED_STREAM) == sorted(sent)  # every lead enriched exactly once
    assert bus.entries(DLQ_STREAM) == []
    assert billed_total(simulation) > billed_before  # the replays really ran and paid
    assert simulation.repeated_lookups() == 0  # and no lookup was paid twice
    assert dead_letters(starved.url).height == 0


def test_a_replayed_event_still_unaffordable_comes_back_to_the_dlq_with_its_reason(
    starved: Starved,
) -> None:
    conn, bus, sent, simulation = starved.conn, starved.bus, starved.sent, starved.sim
    first = dead_letters(starved.url)
    report = replay(starved.url)  # the budget was not raised
    assert sorted(report.republished) == sorted(first["event_id"])
    _consume(conn)
    back = dead_letters(starved.url)
    assert back.height > 0  # not lost: back in the DLQ, as new entries
    assert set(back["dlq_id"]).isdisjoint(first["dlq_id"])
    assert set(back["kind"]) == {"budget"}
    assert all("budget exhausted" in reason for reason in back["reason"])
    assert back["replays"].to_list() == [1] * back.height  # gone round once
    # every lead is either enriched once or dead once, never both, never neither
    enriched = _ids(bus, ENRICHED_STREAM)
    assert sorted(enriched + back["event_id"].to_list()) == sorted(sent)
    assert billed_total(simulation) <= SMALL_BUDGET + 1e-9
    assert simulation.repeated_lookups() == 0


def test_a_crash_between_publish_and_remove_neither_loses_nor_doubles(
    starved: Starved, capsys: pytest.CaptureFixture[str]
) -> None:
    conn, bus, sent, simulation = starved.conn, starved.bus, starved.sent, starved.sim
    dead = dead_letters(starved.url)
    steps = _Steps(conn, "enrichment")
    for dlq_id in dead["dlq_id"]:  # step 1 only, then the replayer "dies"
        status, where = steps.publish(dlq_id)
        assert status == "new" and where.startswith(f"{LEADS_STREAM} ")
        assert steps.publish(dlq_id) == ("published", where)  # a resent step 1: nothing more
    length = conn.xlen(LEADS_STREAM)
    assert length == N_LEADS + dead.height
    waiting = dead_letters(starved.url)
    assert waiting["dlq_id"].to_list() == dead["dlq_id"].to_list()  # still there, not lost
    assert waiting["replayed_as"].null_count() == 0  # and marked as published
    assert gtmkit_main(["dlq", "list", "--redis", starved.url]) == 0
    assert f"{dead.height} already republished by a replay that stopped" in capsys.readouterr().out

    report = replay(starved.url)  # the next replay finishes the removal, publishes nothing
    assert sorted(report.resumed) == sorted(dead["event_id"]) and report.republished == []
    assert conn.xlen(LEADS_STREAM) == length
    assert dead_letters(starved.url).height == 0
    assert all(not steps.remove(dlq_id) for dlq_id in dead["dlq_id"])  # step 2 done once

    raise_budget(conn, credits=10_000)
    _consume(conn)
    assert _ids(bus, ENRICHED_STREAM) == sorted(sent)  # each once: not lost, not doubled
    assert simulation.repeated_lookups() == 0


def test_consumers_running_between_publish_and_remove_do_not_double_either(
    starved: Starved,
) -> None:
    """The replayer dies after step 1; consumers run the republished events on the same small
    budget (they die again: new entries) before the next replay comes."""
    conn, bus, sent, simulation = starved.conn, starved.bus, starved.sent, starved.sim
    dead = dead_letters(starved.url)
    steps = _Steps(conn, "enrichment")
    for dlq_id in dead["dlq_id"]:
        steps.publish(dlq_id)
    _consume(conn)
    both = dead_letters(starved.url)
    old = both.filter(both["dlq_id"].is_in(dead["dlq_id"].to_list()))
    new = both.filter(~both["dlq_id"].is_in(dead["dlq_id"].to_list()))
    assert old.height == dead.height and new.height > 0
    assert new["replayed_as"].null_count() == new.height

    raise_budget(conn, credits=10_000)
    length = conn.xlen(LEADS_STREAM)
    report = replay(starved.url)
    assert sorted(report.resumed) == sorted(old["event_id"])  # only removed
    assert sorted(report.republished) == sorted(new["event_id"])  # sent once more
    assert conn.xlen(LEADS_STREAM) == length + new.height
    _consume(conn)
    assert _ids(bus, ENRICHED_STREAM) == sorted(sent)
    assert bus.entries(DLQ_STREAM) == []
    assert simulation.repeated_lookups() == 0


def test_an_entry_whose_event_was_enriched_since_is_removed_not_replayed(starved: Starved) -> None:
    """A DLQ entry for an event the pipeline settled elsewhere (a stale copy: a DLQ restored
    from a backup, say) is removed without publishing or paying anything."""
    conn, bus, simulation = starved.conn, starved.bus, starved.sim
    enriched = _ids(bus, ENRICHED_STREAM)[0]
    conn.xadd(DLQ_STREAM, {"event_id": enriched, "kind": "budget", "reason": "stale",
                           "lead": "{}", "pipeline": "enrichment", "deliveries": "1"})  # fmt: skip
    length, billed = conn.xlen(LEADS_STREAM), billed_total(simulation)
    report = replay(conn, event_ids=[enriched])
    assert report.settled == [enriched] and report.republished == []
    assert enriched not in dead_letters(conn)["event_id"].to_list()
    assert conn.xlen(LEADS_STREAM) == length
    _consume(conn)
    assert billed_total(simulation) == billed
    assert _ids(bus, ENRICHED_STREAM).count(enriched) == 1


def test_replay_selects_by_kind_and_event_id(starved: Starved) -> None:
    conn, bus = starved.conn, starved.bus
    bus.publish(LEADS_STREAM, {"event_id": "bad-1", "lead": "not json"})
    bus.publish(LEADS_STREAM, {"event_id": "bad-2", "lead": "[1, 2]"})
    _consume(conn)
    dead = dead_letters(conn)
    assert sorted(dead.filter(dead["kind"] == "invalid")["event_id"]) == ["bad-1", "bad-2"]
    by_age = dead.filter(dead["kind"] == "budget")["event_id"].to_list()  # oldest first

    only = replay(conn, kinds=["invalid"])
    assert sorted(only.republished) == ["bad-1", "bad-2"]
    left = dead_letters(conn)
    assert left["event_id"].to_list() == by_age  # the budget ones untouched

    one = replay(conn, event_ids=[by_age[0], "no-such-event"])
    assert one.republished == [by_age[0]] and one.not_found == ["no-such-event"]
    assert dead_letters(conn)["event_id"].to_list() == by_age[1:]
    twice = replay(conn, event_ids=[by_age[0]])  # replaying it again does nothing
    assert twice.republished == [] and twice.not_found == [by_age[0]]

    with pytest.raises(ReplayError, match="unknown DLQ kind"):
        replay(conn, kinds=["budgte"])
    with pytest.raises(ReplayError, match="limit=0"):
        replay(conn, limit=0)
    oldest = replay(conn, kinds=["budget"], limit=2)  # try a few first: the oldest
    assert oldest.republished == by_age[1:3]
    assert dead_letters(conn)["event_id"].to_list() == by_age[3:]
    _consume(conn)
    again = dead_letters(conn)
    assert sorted(again.filter(again["kind"] == "invalid")["event_id"]) == ["bad-1", "bad-2"]
    assert again.filter(again["kind"] == "invalid")["replays"].to_list() == [1, 1]


def test_raise_budget_only_raises(
    server: RedisServer, sim: tuple[Simulation, dict[str, str]]
) -> None:
    conn = connection(server.url)
    _open(conn, sim[1], budget_credits=SMALL_BUDGET)
    with pytest.raises(ReplayError, match="only ever raised"):
        raise_budget(conn, credits=SMALL_BUDGET - 1)
    with pytest.raises(ReplayError, match="no usd cap"):
        raise_budget(conn, credits=50, usd=5)
    assert _cap(conn) == SMALL_BUDGET  # both checked before either is set: nothing changed
    with pytest.raises(ReplayError, match="finite number"):
        raise_budget(conn, credits=float("nan"))
    with pytest.raises(ReplayError, match="no event pipeline 'nope'"):
        raise_budget(conn, pipeline="nope", credits=50)
    assert raise_budget(conn, credits=SMALL_BUDGET) == {"credits": SMALL_BUDGET}
    assert raise_budget(conn, credits=50) == {"credits": SMALL_BUDGET}
    assert _cap(conn) == 50


def _cap(conn: Any) -> float:
    return float(conn.hget("gtmkit:run:events-enrichment:budget", "cap_credits"))


def test_the_dlq_command_lists_and_replays(
    starved: Starved, server: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    conn, sent = starved.conn, starved.sent
    dead = dead_letters(conn)
    assert gtmkit_main(["dlq", "list", "--redis", server.url]) == 0
    shown = capsys.readouterr().out
    assert f"{dead.height} dead letter(s) in pipeline 'enrichment' (budget: {dead.height})" in shown
    assert all(event_id in shown for event_id in dead["event_id"])
    assert gtmkit_main(["dlq", "list", "--redis", server.url, "--json", "--kind", "budget"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["event_id"] for r in rows] == dead["event_id"].to_list()

    assert gtmkit_main(["dlq", "replay", "--redis", server.url]) == 2  # says what to replay
    assert "--all, --kind KIND or --event-id ID" in capsys.readouterr().err
    assert gtmkit_main(["dlq", "replay", "--redis", server.url, "--all",
                        "--budget-credits", "1"]) == 2  # fmt: skip
    assert "only ever raised" in capsys.readouterr().err
    assert gtmkit_main(["dlq", "replay", "--redis", server.url, "--all",
                        "--budget-credits", "10000"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    assert out["caps_before"] == {"credits": SMALL_BUDGET}
    assert sorted(out["republished"]) == sorted(dead["event_id"])
    _consume(conn)
    assert sorted(f["event_id"] for _, f in RedisStreamsBus(conn).entries(ENRICHED_STREAM)) == (
        sorted(sent)
    )
    assert gtmkit_main(["dlq", "list", "--redis", server.url]) == 0
    assert "0 dead letter(s) in pipeline 'enrichment'" in capsys.readouterr().out


def _consumers(url: str, n: int) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(
        [sys.executable, "-m", "gtmkit", "consume", "--redis", url, "--pipeline", "enrichment",
         "--name", f"p{i}", "--batch-size", "4", "--block-ms", "50"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    ) for i in range(n)]  # fmt: skip


def _wait(conn: Any, done: Callable[[], bool], timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        group = conn.xinfo_groups(LEADS_STREAM)[0]
        if done() and group["pending"] == 0 and group["lag"] == 0:
            return
        time.sleep(0.05)
    raise AssertionError("the consumers did not settle every event in time")


def test_live_consumer_processes_and_the_command_replay_once(
    server: RedisServer, sim: tuple[Simulation, dict[str, str]]
) -> None:
    """Two real ``gtmkit consume`` processes run throughout; ``python -m gtmkit dlq replay``
    is run while they wait for events."""
    simulation, base_urls = sim
    conn = connection(server.url)
    bus = RedisStreamsBus(conn)
    _open(conn, base_urls, budget_credits=SMALL_BUDGET)
    consumers = _consumers(server.url, 2)
    try:
        sent = _leads(bus)
        _wait(conn, lambda: len(_ids(bus, ENRICHED_STREAM) + _ids(bus, DLQ_STREAM)) == N_LEADS)
        dead = dead_letters(conn)
        assert dead.height > 0 and set(dead["kind"]) == {"budget"}
        done = subprocess.run(
            [sys.executable, "-m", "gtmkit", "dlq", "replay", "--redis", server.url, "--all",
             "--budget-credits", "10000"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True,
            text=True, check=False, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert sorted(json.loads(done.stdout)["republished"]) == sorted(dead["event_id"])
        _wait(conn, lambda: len(_ids(bus, ENRICHED_STREAM)) == N_LEADS)
    finally:
        stop_workers(consumers)
    assert _ids(bus, ENRICHED_STREAM) == sorted(sent)
    assert bus.entries(DLQ_STREAM) == []
    assert simulation.repeated_lookups() == 0
