"""The event bus: a small interface, and its implementation on Redis Streams.

The event tier needs five things of a bus, and nothing else (``README.md`` says what each is
on Kafka): :meth:`~Bus.publish` an event to a stream; :meth:`~Bus.read` new events as one
consumer of a consumer group; :meth:`~Bus.reclaim` events another consumer of the group took
and never acknowledged (it crashed) once they have been idle long enough, with how many times
each was delivered; :meth:`~Bus.forward` — publish the outcome of an event, mark the event
done and acknowledge it, as one atomic step; :meth:`~Bus.touch` — tell the group that events
being worked on are not abandoned.

Redis facts (https://redis.io/docs/latest/develop/data-types/streams/): ``XREADGROUP`` with
``>`` delivers entries never delivered to the group and adds them to the consumer's pending
entries list (PEL); ``XACK`` removes them; ``XAUTOCLAIM`` transfers entries idle for more than
``min-idle-time`` to the calling consumer and increments their delivery counter
(https://redis.io/docs/latest/commands/xautoclaim/), ``XPENDING`` reports that counter;
``XCLAIM ... JUSTID`` with a zero idle time resets an entry's idle time without incrementing
it (https://redis.io/docs/latest/commands/xclaim/). Entries deleted from the stream while
pending come back from ``XAUTOCLAIM`` in its third element (Redis ≥ 7).

Example:
    >>> FORWARD.count("redis.call")  # done?, publish, mark done, acknowledge: one script
    6
    >>> Message("leads.new", "1-0", {"event_id": "e1"}, 2).event_id
    'e1'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # pragma: no cover
    import redis

#: the seed's stream names (``seeds/architecture-variants.md``, "Event-Driven with Webhooks")
LEADS_STREAM = "leads.new"
ENRICHED_STREAM = "enriched.contacts"
DLQ_STREAM = "dlq.enrichment"

# KEYS: done hash, outcome stream, source stream. ARGV: event id, group, message id, fields...
FORWARD = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('XACK', KEYS[3], ARGV[2], ARGV[3])
  return {0, redis.call('HGET', KEYS[1], ARGV[1])}
end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 4))
redis.call('HSET', KEYS[1], ARGV[1], KEYS[2] .. ' ' .. id)
redis.call('XACK', KEYS[3], ARGV[2], ARGV[3])
return {1, id}
"""


@dataclass(frozen=True)
class Message:
    """One delivered event: its stream, the bus's id for it, its fields, and how many times
    the group has delivered it (1 on first delivery)."""

    stream: str
    id: str
    fields: Mapping[str, str]
    deliveries: int

    @property
    def event_id(self) -> str:
        """The sender's id of the event (what idempotence keys on); the bus id if it had none."""
        return self.fields.get("event_id") or self.id


class Bus(Protocol):
    """What the event tier asks of a bus (see the module doc)."""

    def publish(self, stream: str, fields: Mapping[str, str]) -> str: ...

    def ensure_group(self, stream: str, group: str) -> None: ...

    def read(
        self, stream: str, group: str, consumer: str, *, count: int, block_ms: int
    ) -> list[Message]: ...

    def reclaim(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int
    ) -> list[Message]: ...

    def forward(
        self, message: Message, group: str, *, to: str, fields: Mapping[str, str], done_key: str
    ) -> bool: ...

    def touch(self, stream: str, group: str, consumer: str, ids: Sequence[str]) -> None: ...


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


class RedisStreamsBus:
    """:class:`Bus` on Redis Streams (one client; give it :func:`gtmkit.queue.jobs.connection`
    so a Redis restart pauses the consumer instead of failing it)."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        self._forward = conn.register_script(FORWARD)

    def publish(self, stream: str, fields: Mapping[str, str]) -> str:
        return _text(self.conn.xadd(stream, dict(fields)))  # type: ignore[arg-type]

    def ensure_group(self, stream: str, group: str) -> None:
        import redis as redis_module

        try:
            # from the start of the stream: events published before the first consumer count
            self.conn.xgroup_create(stream, group, id="0", mkstream=True)
        except redis_module.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(
        self, stream: str, group: str, consumer: str, *, count: int, block_ms: int
    ) -> list[Message]:
        answer: Any = self.conn.xreadgroup(
            group, consumer, {stream: ">"}, count=count, block=block_ms or None
        )
        out: list[Message] = []
        for _name, entries in answer or []:
            out += [Message(stream, _text(i), _fields(f), 1) for i, f in entries if f]
        return out

    def reclaim(
        self, stream: str, group: str, consumer: str, *, min_idle_ms: int, count: int
    ) -> list[Message]:
        answer: Any = self.conn.xautoclaim(stream, group, consumer, min_idle_ms, "0-0", count)
        entries = answer[1]
        deleted = [_text(i) for i in answer[2]] if len(answer) > 2 else []
        if deleted:  # trimmed away while pending: nothing left to process
            self.conn.xack(stream, group, *deleted)
        claimed = [(_text(i), f) for i, f in entries if f]
        if not claimed:
            return []
        counts = self.deliveries(stream, group, [i for i, _ in claimed])
        return [Message(stream, i, _fields(f), counts.get(i, 1)) for i, f in claimed]

    def deliveries(self, stream: str, group: str, ids: Iterable[str]) -> dict[str, int]:
        """How many times the group delivered each pending id."""
        out: dict[str, int] = {}
        for message_id in ids:
            rows: Any = self.conn.xpending_range(stream, group, message_id, message_id, 1)
            for row in rows:
                out[_text(row["message_id"])] = int(row["times_delivered"])
        return out

    def forward(
        self, message: Message, group: str, *, to: str, fields: Mapping[str, str], done_key: str
    ) -> bool:
        """Publish ``fields`` to ``to``, mark the event done and acknowledge it, atomically;
        ``False`` when the event was already done (only acknowledged: nothing published)."""
        flat: list[str] = []
        for key, value in fields.items():
            flat += [key, value]
        answer: Any = self._forward(
            keys=[done_key, to, message.stream],
            args=[message.event_id, group, message.id, *flat],
        )
        return int(answer[0]) == 1

    def touch(self, stream: str, group: str, consumer: str, ids: Sequence[str]) -> None:
        if ids:
            self.conn.xclaim(stream, group, consumer, 0, list(ids), justid=True)

    def pending(self, stream: str, group: str) -> int:
        """Entries delivered to the group and not acknowledged yet."""
        summary: Any = self.conn.xpending(stream, group)
        return int(summary["pending"])

    def entries(self, stream: str) -> list[tuple[str, dict[str, str]]]:
        """Every entry of ``stream`` (for reports and tests; streams are read, never popped)."""
        rows: Any = self.conn.xrange(stream)
        return [(_text(i), _fields(f)) for i, f in rows]


def take(
    bus: Bus,
    stream: str,
    group: str,
    consumer: str,
    *,
    count: int,
    min_idle_ms: int,
    block_ms: int,
) -> list[Message]:
    """One consumer's next batch: events a dead consumer left idle longer than
    ``min_idle_ms`` first (reclaimed), else new ones (waiting up to ``block_ms``)."""
    messages = bus.reclaim(stream, group, consumer, min_idle_ms=min_idle_ms, count=count)
    return messages or bus.read(stream, group, consumer, count=count, block_ms=block_ms)


__all__ = [
    "DLQ_STREAM",
    "ENRICHED_STREAM",
    "LEADS_STREAM",
    "Bus",
    "Message",
    "RedisStreamsBus",
    "take",
]
