"""``gtmkit consume``: an enrichment consumer of an event pipeline (run any number of them).

One consumer of the pipeline's consumer group on ``leads.new``. Each turn it first reclaims
events another consumer took and left idle longer than ``claim_idle_s`` (that consumer
crashed: ``XAUTOCLAIM``), then reads new ones, and settles every event exactly one way:

* **already done** (its event id is in the pipeline's ``done`` hash: a resend, or a delivery
  after a crash that followed the outcome) → only acknowledged; nothing is run or paid;
* **delivered more than** ``max_deliveries`` **times** → ``dlq.enrichment``, kind
  ``deliveries`` (every consumer that took it died or failed on it: a poison event);
* **not a lead** (its ``lead`` field is not a JSON object) → DLQ, kind ``invalid``;
* **credit circuit breaker open** (the pipeline's *settled* budget has nothing left) → DLQ,
  kind ``budget``, without running anything. Credits merely held by calls in flight (another
  consumer's, which may settle for less) do not open it: the consumer waits for those holds
  to settle (up to :data:`HOLD_SETTLE_S`) and looks again;
* otherwise the batch runs through the waterfall on the queue tier's shared parts
  (:class:`gtmkit.queue.backends.RedisBackends`: one budget, shared rate limits, lookup claims
  and cache), and each event goes to ``enriched.contacts`` — or to the DLQ when its row ended
  ``budget_exhausted`` (the seed's breaker: the budget could not afford it), ``failed`` or
  ``stopped``, with the engine's reason and the kind of :func:`gtmkit.queue.dead.kinds`. A row
  refused for budget is dead-lettered only once the refusal is final: the open holds settled
  (none left after the round) and running it again made no progress (nothing more spent,
  nothing more afforded). Until then it is run again (up to :data:`BUDGET_ROUNDS` rounds);
  if the holds never settle, its event is left pending (reclaimed and retried later, never
  dropped and never dead-lettered on a guess).

Publishing the outcome, marking the event done and acknowledging it are one Lua script
(:meth:`~gtmkit.events.bus.Bus.forward`), so an event is settled once however often it is
delivered. A consumer killed mid-batch leaves its events pending: another reclaims and re-runs
them, and every lookup the dead one had paid for is in the shared cache (or claimed, then
taken over once its lease ends) — only calls in flight at the kill can be paid twice. While a
batch runs, a thread resets its events' idle time (``XCLAIM JUSTID``) so a slow batch is not
mistaken for a dead consumer.

Example:
    >>> parser().parse_args(["--redis", "redis://127.0.0.1:6379/0"]).max_deliveries
    5
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from gtmkit.events.bus import Bus, Message, take
from gtmkit.events.pipeline import Pipeline
from gtmkit.queue.dead import DEAD_STATUSES, kinds
from gtmkit.queue.shared import RedisBudget
from gtmkit.schema import ROW_ID

if TYPE_CHECKING:  # pragma: no cover
    import redis

log = logging.getLogger("gtmkit.events")

#: deliveries after which an event goes to the DLQ instead of being run again
MAX_DELIVERIES = 5
#: seconds an event may sit unacknowledged with its consumer before others reclaim it
CLAIM_IDLE_S = 30.0
#: seconds a consumer waits for open budget holds (calls in flight) to settle
HOLD_SETTLE_S = 60.0
#: times a batch's budget-refused rows are run again while holds were open or money moved
BUDGET_ROUNDS = 20
_SETTLE_POLL_S = 0.05
_EPS = 1e-9


class EnrichmentConsumer:
    """One consumer ``name`` of ``pipeline`` on ``bus`` (see the module doc)."""

    def __init__(
        self,
        bus: Bus,
        conn: redis.Redis,
        pipeline: Pipeline,
        *,
        name: str,
        batch_size: int = 10,
        block_ms: int = 1000,
        claim_idle_s: float = CLAIM_IDLE_S,
        max_deliveries: int = MAX_DELIVERIES,
    ) -> None:
        self.bus, self.conn, self.pipeline, self.name = bus, conn, pipeline, name
        self.batch_size, self.block_ms = batch_size, block_ms
        self.claim_idle_ms = int(claim_idle_s * 1000)
        self.max_deliveries = max_deliveries
        self.counts = {"enriched": 0, "dlq": 0, "already_done": 0, "batches": 0}
        self.stopping = threading.Event()
        bus.ensure_group(pipeline.source, pipeline.group)

    def step(self) -> int:
        """One turn: reclaim abandoned events, then read new ones; returns events settled."""
        p = self.pipeline
        messages = take(self.bus, p.source, p.group, self.name, count=self.batch_size,
                        min_idle_ms=self.claim_idle_ms, block_ms=self.block_ms)  # fmt: skip
        if messages:
            self.handle(messages)
        return len(messages)

    def run(self, *, burst: bool = False) -> dict[str, int]:
        """Turns until :attr:`stopping` is set (SIGTERM) — or, with ``burst``, until a turn
        finds nothing to do."""
        run_turns(self.step, self.stopping, name=self.name, burst=burst)
        return dict(self.counts)

    def handle(self, messages: Sequence[Message]) -> None:
        """Settle each message one way (see the module doc)."""
        p = self.pipeline
        raw: Any = self.conn.hmget(p.done_key, [m.event_id for m in messages])
        to_run: list[tuple[Message, dict[str, Any]]] = []
        for message, done in zip(messages, raw, strict=True):
            if done is not None:
                self._settle(message, p.dlq, {})  # acknowledged only
                continue
            if message.deliveries > self.max_deliveries:
                self._dead(message, "deliveries", f"delivered {message.deliveries} times and "
                           f"never acknowledged (limit {self.max_deliveries}): every consumer "
                           "that took it crashed or failed on it")  # fmt: skip
                continue
            lead = _lead(message)
            if lead is None:
                self._dead(message, "invalid", "the event's 'lead' field is not a JSON object "
                           "(publish leads with gtmkit.events.publish_lead)")  # fmt: skip
                continue
            to_run.append((message, lead))
        if not to_run:
            return
        if not self._holds_settled():
            return  # left pending: reclaimed and retried once the holds settle
        refusal = self._breaker()
        if refusal is not None:
            for message, _ in to_run:
                self._dead(message, "budget", refusal)
            return
        self._enrich(to_run)

    def _budget(self) -> RedisBudget:
        return RedisBudget(self.conn, self.pipeline.run_id)

    def _breaker(self) -> str | None:
        """The credit circuit breaker: the reason when the *settled* budget has nothing left
        (spent, plus the worst case of calls a dead consumer had sent; open holds excluded)."""
        budget = self._budget()
        if budget.cap_credits is None:
            return None
        committed = budget.spent_credits + budget.lost_credits()
        if committed + _EPS < budget.cap_credits:
            return None
        return (f"budget exhausted: {committed:g} of {budget.cap_credits:g} credits "
                "spent (credit circuit breaker open)")  # fmt: skip

    def _open_holds(self) -> float:
        """Credits reserved by calls in flight (they settle, maybe for less)."""
        budget = self._budget()
        return max(0.0, budget.held_credits() - budget.lost_credits())

    def _holds_settled(self) -> bool:
        """Wait (up to :data:`HOLD_SETTLE_S`) until no call in flight holds credits, or the
        settled budget is spent anyway; ``False``: they did not settle in time (or stopping)."""
        if self._budget().cap_credits is None:
            return True
        deadline = time.monotonic() + HOLD_SETTLE_S
        while self._open_holds() > _EPS and self._breaker() is None:
            if time.monotonic() > deadline or self.stopping.wait(_SETTLE_POLL_S):
                log.warning("consumer %s: budget holds did not settle; events left pending",
                            self.name)  # fmt: skip
                return False
        return True

    def _enrich(self, batch: list[tuple[Message, dict[str, Any]]]) -> None:
        """Run the batch; run its budget-refused rows again while the refusal may be due to
        holds that settled since (see the module doc); dead-letter them only when final."""
        for _ in range(BUDGET_ROUNDS):
            spent_before = self._budget().spent_credits
            refused = self._run_batch(batch)
            if not refused:
                return
            held_after = self._open_holds()
            if not self._holds_settled():
                return  # left pending: never dead-lettered while the holds are open
            progressed = len(refused) < len(batch) or (
                self._budget().spent_credits > spent_before + _EPS
            )
            if held_after <= _EPS and not progressed:
                for message, kind, reason, record in refused:
                    self._dead(message, kind, reason, record=record)
                return
            again = {m.id for m, *_ in refused}
            batch = [(m, lead) for m, lead in batch if m.id in again]
        log.warning("consumer %s: %d events still refused for budget after %d rounds; left "
                    "pending", self.name, len(batch), BUDGET_ROUNDS)  # fmt: skip

    def _run_batch(
        self, batch: list[tuple[Message, dict[str, Any]]]
    ) -> list[tuple[Message, str, str, dict[str, Any]]]:
        """Run ``batch``, settle every event but those refused for budget; returns those."""
        from gtmkit.queue.backends import RedisBackends

        firsts: dict[str, int] = {}
        rows: list[dict[str, Any]] = []
        for message, lead in batch:
            if message.event_id not in firsts:  # one event sent twice in a batch: run once
                firsts[message.event_id] = len(rows)
                rows.append({**lead, ROW_ID: len(rows)})
        frame = pl.from_dicts(rows, infer_schema_length=None)
        p = self.pipeline
        execution = f"{self.name}:{uuid.uuid4().hex[:8]}"
        backends = RedisBackends(self.conn, p.run_id, execution=execution)
        ids = [m.id for m, _ in batch]
        stop_touch = threading.Event()
        toucher = threading.Thread(target=self._touch, args=(ids, stop_touch), daemon=True)
        toucher.start()
        try:
            result = p.wf.run(frame, ledger=None, progress=False, backends=backends,
                              **dict(p.options))  # fmt: skip
        finally:
            stop_touch.set()
            toucher.join(timeout=5)
        self.counts["batches"] += 1
        records = result.records.sort(ROW_ID)
        by_row = dict(zip(records[ROW_ID].to_list(), records.to_dicts(), strict=True))
        row_kinds = dict(zip(records[ROW_ID].to_list(), kinds(records), strict=True))
        refused: list[tuple[Message, str, str, dict[str, Any]]] = []
        for message, _ in batch:
            row = firsts[message.event_id]
            record = by_row[row]
            reason = str(record.get("status_reason") or "")
            if record["status"] == "budget_exhausted":
                refused.append((message, row_kinds[row], reason, record))
            elif record["status"] in DEAD_STATUSES:
                self._dead(message, row_kinds[row], reason, record=record)
            else:
                self._settle(message, p.out, _outcome(message, record, p.name))
        return refused

    def _touch(self, ids: list[str], stop: threading.Event) -> None:
        p = self.pipeline
        every = max(0.05, self.claim_idle_ms / 3000.0)
        while not stop.wait(every):
            try:
                self.bus.touch(p.source, p.group, self.name, ids)
            except Exception:  # Redis away for a moment: the next beat tries again
                continue

    def _dead(
        self, message: Message, kind: str, reason: str, *, record: dict[str, Any] | None = None
    ) -> None:
        fields = {
            "event_id": message.event_id,
            "kind": kind,
            "reason": reason,
            "source": message.fields.get("source", ""),
            "lead": message.fields.get("lead", ""),
            "source_id": message.id,
            "deliveries": str(message.deliveries),
            "pipeline": self.pipeline.name,
        }
        if record is not None:
            fields["record"] = json.dumps(record, default=str, sort_keys=True)
        self._settle(message, self.pipeline.dlq, fields, counter="dlq")

    def _settle(
        self, message: Message, to: str, fields: dict[str, str], *, counter: str = "enriched"
    ) -> bool:
        p = self.pipeline
        if not fields:  # already done: acknowledge without publishing
            fields = {"event_id": message.event_id}
        published = self.bus.forward(message, p.group, to=to, fields=fields,
                                     done_key=p.done_key)  # fmt: skip
        self.counts[counter if published else "already_done"] += 1
        return published


def run_turns(
    step: Callable[[], int],
    stopping: threading.Event,
    *,
    name: str,
    burst: bool = False,
    fatal: tuple[type[BaseException], ...] = (),
) -> None:
    """Call ``step`` until ``stopping`` is set — or, with ``burst``, until a turn finds nothing
    to do. A turn that fails leaves its events pending (reclaimed and retried later) and the
    loop goes on a second later, unless the error is one of ``fatal`` (retrying cannot help)."""
    while not stopping.is_set():
        try:
            if step() == 0 and burst:
                break
        except fatal:
            raise
        except Exception as exc:
            log.warning("consumer %s: a batch failed (%s); its events will be retried",
                        name, type(exc).__name__)  # fmt: skip
            stopping.wait(1.0)


def _lead(message: Message) -> dict[str, Any] | None:
    try:
        lead = json.loads(message.fields.get("lead", ""))
    except ValueError:
        return None
    if not isinstance(lead, dict) or not lead:
        return None
    # every value as text: leads from different senders must fit one frame
    return {str(k): None if v is None else str(v) for k, v in lead.items() if k != ROW_ID}


def _outcome(message: Message, record: dict[str, Any], pipeline: str) -> dict[str, str]:
    record = {k: v for k, v in record.items() if k != ROW_ID}
    return {
        "event_id": message.event_id,
        "source": message.fields.get("source", ""),
        "status": str(record.get("status")),
        "credits": repr(float(record.get("credits") or 0.0)),
        "record": json.dumps(record, default=str, sort_keys=True),
        "pipeline": pipeline,
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gtmkit consume",
        description="Run an enrichment consumer of an event pipeline (start any number).",
    )
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    p.add_argument("--pipeline", default="enrichment", help="pipeline name (open_pipeline)")
    p.add_argument("--name", default=None, help="consumer name, unique in the group")
    p.add_argument("--batch-size", type=int, default=10, help="events run together")
    p.add_argument("--claim-idle-s", type=float, default=CLAIM_IDLE_S,
                   help="reclaim events idle this long with a dead consumer")  # fmt: skip
    p.add_argument("--max-deliveries", type=int, default=MAX_DELIVERIES,
                   help="deliveries before an event goes to the DLQ")  # fmt: skip
    p.add_argument("--block-ms", type=int, default=1000, help="wait for new events this long")
    p.add_argument("--burst", action="store_true", help="exit once there is nothing to do")
    return p


def main(argv: list[str] | None = None) -> int:
    from gtmkit.events.bus import RedisStreamsBus
    from gtmkit.events.pipeline import load_pipeline
    from gtmkit.queue.jobs import connection

    args = parser().parse_args(argv)
    conn = connection(args.redis)
    pipeline = load_pipeline(conn, args.pipeline)
    name = args.name or f"consumer-{uuid.uuid4().hex[:8]}"
    consumer = EnrichmentConsumer(
        RedisStreamsBus(conn), conn, pipeline, name=name, batch_size=args.batch_size,
        block_ms=args.block_ms, claim_idle_s=args.claim_idle_s,
        max_deliveries=args.max_deliveries,
    )  # fmt: skip
    for sig in (signal.SIGTERM, signal.SIGINT):  # finish the batch in hand, then stop
        signal.signal(sig, lambda *_: consumer.stopping.set())
    counts = consumer.run(burst=args.burst)
    print(json.dumps({"consumer": name, **counts}))
    return 0


__all__ = [
    "BUDGET_ROUNDS",
    "CLAIM_IDLE_S",
    "HOLD_SETTLE_S",
    "MAX_DELIVERIES",
    "EnrichmentConsumer",
    "main",
    "parser",
    "run_turns",
]
