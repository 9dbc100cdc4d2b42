"""Resume of a queued run (``gtmkit/queue/resume.py``): real redis-server, real ``gtmkit
worker`` processes, the loopback sandbox server. The meter is the simulated provider's own
billing counter: nothing already paid is paid again, and the run's one budget holds across
the first run and every resume."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gtmkit.queue import QueueError, attach, dead_letters, runs
from gtmkit.queue.shared import RedisBudget
from gtmkit.sandbox import simulate
from tests._attack_helpers import attack_world, billed_total, waterfall, world_records
from tests._redis_helpers import RedisServer, needs_redis, redis_server, stop_workers

# the queue tests' own helpers (that module skips itself without redis-py and rq)
from tests.test_queue_workers import _options, _rows_intact, _workers

pytestmark = needs_redis


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    with redis_server(tmp_path / "redis") as srv:
        yield srv


def test_a_run_whose_workers_all_died_is_attached_by_id_and_resumed(server: RedisServer) -> None:
    """Both workers are SIGKILLed mid-run and the handle is dropped (the enqueuing notebook
    crashed). With no retries left their chunks fail for good. Attached again by its id and
    resumed on new workers, the run finishes every row on its one budget: the provider's own
    counter never passes the cap, and only calls in flight at the kills were paid twice."""
    records = world_records(160, seed=11)
    budget = 70.0
    sim = simulate(attack_world(), latency_ms=20)
    with sim.serve() as srv:
        first = _workers(server.url, 2, "first")
        workers = list(first)
        try:
            handle = waterfall().enqueue(
                records, redis_url=server.url, batch_size=40, budget_credits=budget,
                retries=0, rate_limits={"hunter": 20}, **_options(srv.base_urls),
            )  # fmt: skip
            run_id = handle.run_id
            deadline = time.monotonic() + 60
            while handle.conn.llen(f"gtmkit:run:{run_id}:attempts") < 30:
                assert time.monotonic() < deadline, "the run did not start"
                time.sleep(0.005)
            for worker in first:
                worker.send_signal(signal.SIGKILL)
                worker.wait()
            del handle  # the enqueuing process is gone; the run lives on in Redis
            assert run_id in runs(server.url)["run_id"].to_list()
            run = attach(run_id, redis_url=server.url)
            deadline = time.monotonic() + 30
            while run.progress()["started"]:  # the dead workers' jobs fail: no retry left
                assert time.monotonic() < deadline, run.progress()
                run.reap()
                time.sleep(0.2)
            assert run.progress()["failed"] >= 1
            paid_before = billed_total(sim)
            assert 0 < paid_before <= budget + 1e-9
            workers += _workers(server.url, 2, "second")
            resumed = run.resume()
            assert resumed  # the killed chunks (the ones never started are still queued)
            assert run.resume() == []  # already queued: not queued twice
            result = run.wait(timeout_s=120).result()
        finally:
            stop_workers(workers)
    _rows_intact(result, records)
    billed = billed_total(sim)
    assert billed <= budget + 1e-9  # one budget over the first run and the resume
    lost_held = RedisBudget(run.conn, run.run_id).lost_credits()
    assert billed >= budget - lost_held - 5  # the cap was the limit: spent, not shrunk
    assert billed > paid_before
    lost = result.totals["lost_calls"]  # calls in flight at the two kills
    assert sim.repeated_lookups() <= lost
    assert result.totals["credits"] <= billed + 1e-9
    assert billed <= result.totals["credits"] + result.totals["credits_held"] + 1e-9
    assert result.totals["overspent_credits"] == 0.0


def test_a_finished_run_with_dead_letters_resumes_on_its_own_budget(server: RedisServer) -> None:
    """Rows the budget could not afford are resumed in the same run: on the same cap nothing
    more is bought (what was spent counts), with the cap raised to a new total they finish,
    and nothing the run bought is paid again — with the cache off, the run's own purchases
    answer."""
    records = world_records(60, seed=12)
    sim = simulate(attack_world())
    with sim.serve() as srv:
        workers = _workers(server.url, 2, "dead")
        try:
            run = waterfall().enqueue(
                records, redis_url=server.url, batch_size=20, budget_credits=15,
                cache_ttl_days=0, **_options(srv.base_urls),
            )  # fmt: skip
            dead = dead_letters(run.wait(timeout_s=60))
            assert dead.height > 0 and set(dead["kind"]) == {"budget"}
            paid = billed_total(sim)
            assert run.resume()  # the chunks with dead letters run again, on the same cap
            same = run.wait(timeout_s=60).result()
            assert billed_total(sim) == paid  # no room was left: nothing more bought
            assert sorted(dead_letters(same)["row_id"].to_list()) == sorted(dead["row_id"])
            with pytest.raises(QueueError, match="below"):
                run.resume(budget_credits=paid - 1)
            assert run.resume(budget_credits=1_000)
            result = run.wait(timeout_s=60).result()
        finally:
            stop_workers(workers)
    _rows_intact(result, records)
    assert dead_letters(result).height == 0
    assert sim.repeated_lookups() == 0  # nothing bought before the resumes was bought again
    billed = billed_total(sim)
    assert billed > paid and billed <= 1_000
    assert result.totals["credits"] == pytest.approx(billed)  # the books say what was billed
    assert result.totals["budget_credits"] == 1_000.0
    assert RedisBudget(run.conn, run.run_id).spent_credits == pytest.approx(billed)


def test_chunks_the_enqueuing_process_never_queued_are_queued_by_resume(
    server: RedisServer,
) -> None:
    """The enqueuing process died after the run was stored but before every chunk's job was
    queued (here: two jobs deleted): the run shows ``failed`` once the rest ended, and a
    resume queues just the missing chunks."""
    from rq.job import Job

    records = world_records(60, seed=13)
    sim = simulate(attack_world())
    with pytest.raises(QueueError, match="runs"):
        attach("no-such-run", redis_url=server.url)
    with sim.serve() as srv:
        handle = waterfall(["hunter"], verify=None).enqueue(
            records, redis_url=server.url, batch_size=20, **_options(srv.base_urls)
        )
        for index in (1, 2):
            Job.fetch(f"gtmkit-{handle.run_id}-{index}", connection=handle.conn).delete()
        workers = _workers(server.url, 1, "lost")
        try:
            run = attach(handle.run_id, redis_url=server.url)
            assert run.wait(timeout_s=60).status() == "failed"
            assert run.progress()["done"] == 1
            assert run.resume() == [1, 2]
            result = run.wait(timeout_s=60).result()
        finally:
            stop_workers(workers)
    _rows_intact(result, records)
    assert run.status() == "finished"
    assert sim.repeated_lookups() == 0
    assert result.totals["credits"] == pytest.approx(billed_total(sim))
