"""The way back out of the event tier's dead-letter stream: list it, replay it, once.

:func:`dead_letters` lists a pipeline's ``dlq.enrichment`` entries as a frame (why each is
there, the original event id, how often it was delivered, when it died, how often it was
replayed). :func:`replay` sends selected entries (all, by kind, by event id) back to
``leads.new``, each exactly once; :func:`raise_budget` lifts the pipeline's cap first when
the entries died for want of credits.

Replaying one entry is two steps, in this order:

1. **publish** (one Lua script, :data:`PUBLISH`): if the entry is still in the DLQ and has no
   replay record yet, put its lead back on ``leads.new`` under its *original* event id, clear
   the event's ``done`` mark (it pointed at this very DLQ entry; a mark pointing anywhere else
   means the event was settled elsewhere — a stale copy of an entry, from a DLQ restored from a
   backup, say — and nothing is published, the entry is only removed), and write the replay
   record ``gtmkit:events:{name}:replayed`` (DLQ id → where it went);
2. **remove** (:data:`REMOVE`): delete the DLQ entry and its replay record — only if that
   record exists, i.e. only after step 1.

A replayer that dies between the two leaves the entry in the DLQ *with* its record: the next
:func:`replay` finds the record, publishes nothing and finishes the removal (``resumed``), so
the lead is neither lost nor sent twice; :func:`dead_letters` shows it meanwhile
(``replayed_as``). Two replayers racing on one entry are serialised by the scripts. The
publication is durable before the removal can be: Redis persists (AOF: "logs every write
operation received by the server", replayed in order at startup) and replicates in execution
order (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/,
https://redis.io/docs/latest/operate/oss_and_stack/management/replication/), so a state Redis
comes back in after a crash or a failover that holds the removal holds the publication too.
Entries go a page (1,000) per round trip: a page's removals are sent once every publication of
the page has been answered.

The replayed event keeps its event id, so the consumers' idempotence by event id holds: if it
is delivered twice it is settled (and paid) once, and what its first attempt bought is in the
shared cache (a pipeline opened with ``cache_ttl_days=0`` has no cache: a lookup paid before
the entry died is then paid again). An event still unaffordable comes back to the DLQ with its
reason, as a new entry; ``replays`` counts how often it went round. ``gtmkit dlq list|replay``
(:func:`main`) is the command line.

Example:
    >>> PUBLISH.count("redis.call"), REMOVE.count("redis.call")
    (8, 3)
    >>> replay_key("enrichment")
    'gtmkit:events:enrichment:replayed'
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.events.bus import DLQ_STREAM, LEADS_STREAM
from gtmkit.events.pipeline import done_key, run_id
from gtmkit.queue.keys import PREFIX, run_key

if TYPE_CHECKING:  # pragma: no cover
    import redis

    from gtmkit.events.bus import RedisStreamsBus

#: the reasons an entry is in the DLQ (``README.md``'s table; the last four are the engine's)
KINDS = ("budget", "deliveries", "invalid", "breaker", "error", "stopped", "job")

# KEYS: dlq stream, leads stream, done hash, replay records, replay counts.
# ARGV: dlq id, replay time. Returns {status, where it went ('<stream> <id>')}: 'new'
# (published now), 'published' (by an earlier replay that did not finish, or this one resent
# after a lost reply), 'settled' (done elsewhere: nothing published), 'gone' (not in the DLQ).
PUBLISH = """
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #entry == 0 then return {'gone', ''} end
local already = redis.call('HGET', KEYS[4], ARGV[1])
if already then return {'published', already} end
local f = {}
for i = 1, #entry[1][2], 2 do f[entry[1][2][i]] = entry[1][2][i + 1] end
local eid = f['event_id'] or ARGV[1]
local done = redis.call('HGET', KEYS[3], eid)
if done and done ~= KEYS[1] .. ' ' .. ARGV[1] then
  redis.call('HSET', KEYS[4], ARGV[1], done)
  return {'settled', done}
end
redis.call('HDEL', KEYS[3], eid)
local n = redis.call('HINCRBY', KEYS[5], eid, 1)
local id = redis.call('XADD', KEYS[2], '*', 'event_id', eid, 'source', f['source'] or '',
  'received_at', ARGV[2], 'lead', f['lead'] or '', 'replay_of', ARGV[1], 'replay', tostring(n))
local where = KEYS[2] .. ' ' .. id
redis.call('HSET', KEYS[4], ARGV[1], where)
return {'new', where}
"""

# KEYS: dlq stream, replay records. ARGV: dlq id. Removes only what step 1 recorded.
REMOVE = """
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('XDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return 1
"""

# KEYS: budget hash. ARGV: new credit cap, new usd cap ('' : leave it). Checks both, then
# sets both: a cap is only ever raised, and an uncapped budget stays uncapped.
RAISE = """
local before, names = {}, {'cap_credits', 'cap_usd'}
for i = 1, 2 do
  before[i] = tonumber(redis.call('HGET', KEYS[1], names[i]) or '-1')
  if ARGV[i] ~= '' then
    if before[i] < 0 then return {'uncapped', names[i], '-1'} end
    if tonumber(ARGV[i]) < before[i] then return {'lower', names[i], tostring(before[i])} end
  end
end
for i = 1, 2 do
  if ARGV[i] ~= '' then redis.call('HSET', KEYS[1], names[i], ARGV[i]) end
end
return {'ok', tostring(before[1]), tostring(before[2])}
"""

_PAGE = 1000
_SCHEMA: dict[str, Any] = {
    "dlq_id": pl.String,
    "event_id": pl.String,
    "pipeline": pl.String,
    "kind": pl.String,
    "reason": pl.String,
    "deliveries": pl.Int64,
    "dead_at": pl.Datetime("ms", "UTC"),
    "replays": pl.Int64,
    "replayed_as": pl.String,
    "source": pl.String,
    "source_id": pl.String,
    "lead": pl.String,
}


class ReplayError(GtmkitError, ValueError):
    """A replay or budget change was asked for wrongly (what to do is in the message)."""


def replay_key(pipeline: str) -> str:
    """DLQ id → where its replay went, for entries published and not yet removed."""
    return f"{PREFIX}:events:{pipeline}:replayed"


def replay_counts_key(pipeline: str) -> str:
    """Event id → how many times it was replayed."""
    return f"{PREFIX}:events:{pipeline}:replays"


@dataclass
class ReplayReport:
    """What one :func:`replay` did, by event id."""

    republished: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    settled: list[str] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, list[str]]:
        """``republished`` (sent to ``leads.new`` now), ``resumed`` (sent by a replay that
        stopped before removing the entry: only removed now), ``settled`` (already enriched
        or dead again since: only removed), ``not_found`` (asked-for event ids not in the
        DLQ)."""
        return {
            "republished": self.republished,
            "resumed": self.resumed,
            "settled": self.settled,
            "not_found": self.not_found,
        }


def _conn(bus_or_url: RedisStreamsBus | redis.Redis | str) -> redis.Redis:
    if isinstance(bus_or_url, str):
        from gtmkit.queue.jobs import connection

        return connection(bus_or_url)
    conn = getattr(bus_or_url, "conn", bus_or_url)
    if not hasattr(conn, "xrange"):
        raise ReplayError(
            f"dead letters are read from a Redis: give a URL, a redis.Redis or a "
            f"RedisStreamsBus, not {type(bus_or_url).__name__}"
        )
    return cast("redis.Redis", conn)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entries(conn: redis.Redis, stream: str) -> Iterator[tuple[str, dict[str, str]]]:
    start = "-"
    while True:  # in pages: a DLQ can hold a day of a broken pipeline's events
        rows: Any = conn.xrange(stream, min=start, count=_PAGE)
        for entry_id, raw in rows:
            yield _text(entry_id), {_text(k): _text(v) for k, v in raw.items()}
        if len(rows) < _PAGE:
            return
        start = "(" + _text(rows[-1][0])


def _dead_at(entry_id: str) -> dt.datetime:
    # a stream id is "<ms since the epoch>-<seq>", given by Redis when the entry was added
    ms = int(entry_id.split("-", 1)[0])
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def dead_letters(
    bus_or_url: RedisStreamsBus | redis.Redis | str,
    *,
    pipeline: str | None = "enrichment",
    stream: str = DLQ_STREAM,
) -> pl.DataFrame:
    """The DLQ's entries of ``pipeline`` (``None``: of every pipeline), oldest first.

    Columns: ``dlq_id``, ``event_id`` (the sender's id of the original event), ``pipeline``,
    ``kind`` (one of :data:`KINDS`), ``reason``, ``deliveries`` (times the group delivered
    it), ``dead_at`` (UTC, when it reached the DLQ), ``replays`` (times the event was
    replayed before), ``replayed_as`` (set when a replay published it and stopped before
    removing it: the next :func:`replay` finishes that), ``source``, ``source_id`` (its
    ``leads.new`` entry), ``lead`` (the lead as JSON).
    """
    conn = _conn(bus_or_url)
    rows: list[dict[str, Any]] = []
    for entry_id, f in _entries(conn, stream):
        name = f.get("pipeline", "")
        if pipeline is not None and name != pipeline:
            continue
        rows.append({
            "dlq_id": entry_id,
            "event_id": f.get("event_id") or entry_id,
            "pipeline": name,
            "kind": f.get("kind", ""),
            "reason": f.get("reason", ""),
            "deliveries": int(f.get("deliveries") or 0),
            "dead_at": _dead_at(entry_id),
            "source": f.get("source", ""),
            "source_id": f.get("source_id", ""),
            "lead": f.get("lead", ""),
        })  # fmt: skip
    if pipeline is not None and not rows:
        _known(conn, pipeline)  # an empty list for a mistyped name would look like good news
    frame = pl.DataFrame(rows, schema={k: _SCHEMA[k] for k in _SCHEMA
                                       if k not in ("replays", "replayed_as")})  # fmt: skip
    replays: list[int] = []
    replayed_as: list[str | None] = []
    for at in range(0, len(rows), _PAGE):
        page = rows[at : at + _PAGE]
        with conn.pipeline(transaction=False) as batch:
            for row in page:
                batch.hget(replay_counts_key(row["pipeline"]), row["event_id"])
                batch.hget(replay_key(row["pipeline"]), row["dlq_id"])
            answers: list[Any] = batch.execute()
        replays += [int(count or 0) for count in answers[0::2]]
        replayed_as += [None if where is None else _text(where) for where in answers[1::2]]
    return frame.with_columns(
        pl.Series("replays", replays, dtype=pl.Int64),
        pl.Series("replayed_as", replayed_as, dtype=pl.String),
    ).select(list(_SCHEMA))


def _known(conn: redis.Redis, pipeline: str) -> None:
    if not conn.exists(run_key(run_id(pipeline), "meta")):
        raise ReplayError(
            f"no event pipeline {pipeline!r} in this Redis: give the name it was opened with "
            "(gtmkit.events.open_pipeline(conn, waterfall, name=...))"
        )


def _check_kinds(kinds: Iterable[str] | None) -> set[str] | None:
    if kinds is None:
        return None
    asked = {kinds} if isinstance(kinds, str) else set(kinds)
    unknown = sorted(asked - set(KINDS))
    if unknown:
        raise ReplayError(f"unknown DLQ kind(s) {unknown}: use {', '.join(KINDS)}")
    return asked


def select(
    dead: pl.DataFrame,
    *,
    kinds: Iterable[str] | None = None,
    event_ids: Iterable[str] | None = None,
) -> pl.DataFrame:
    """The rows of a :func:`dead_letters` frame of ``kinds`` and ``event_ids`` (``None``:
    any)."""
    asked = _check_kinds(kinds)
    if asked is not None:
        dead = dead.filter(pl.col("kind").is_in(sorted(asked)))
    if event_ids is not None:
        ids = [event_ids] if isinstance(event_ids, str) else list(event_ids)
        dead = dead.filter(pl.col("event_id").is_in(ids))
    return dead


class _Steps:
    """The two steps of replaying DLQ entries (module doc), as scripts on one client; the
    ``_all`` forms send a page of entries in one round trip (a pipeline, not a transaction:
    each script is atomic on its own, and with ``appendfsync always`` Redis fsyncs once per
    page instead of once per entry)."""

    def __init__(
        self, conn: redis.Redis, pipeline: str, *, dlq: str = DLQ_STREAM, to: str = LEADS_STREAM
    ) -> None:
        self.conn, self.pipeline, self.dlq, self.to = conn, pipeline, dlq, to
        self._publish = conn.register_script(PUBLISH)
        self._remove = conn.register_script(REMOVE)

    def publish(self, dlq_id: str) -> tuple[str, str]:
        """Step 1 for one entry: ``(status, where)`` (see :data:`PUBLISH`)."""
        return self.publish_all([dlq_id])[0]

    def remove(self, dlq_id: str) -> bool:
        """Step 2 for one entry: delete it, if step 1 recorded it."""
        return self.remove_all([dlq_id])[0]

    def publish_all(self, dlq_ids: Iterable[str]) -> list[tuple[str, str]]:
        keys = [self.dlq, self.to, done_key(self.pipeline), replay_key(self.pipeline),
                replay_counts_key(self.pipeline)]  # fmt: skip
        with self.conn.pipeline(transaction=False) as batch:
            for dlq_id in dlq_ids:
                self._publish(keys=keys, args=[dlq_id, repr(time.time())], client=batch)
            answers: list[Any] = batch.execute()
        return [(_text(a[0]), _text(a[1])) for a in answers]

    def remove_all(self, dlq_ids: Iterable[str]) -> list[bool]:
        keys = [self.dlq, replay_key(self.pipeline)]
        with self.conn.pipeline(transaction=False) as batch:
            for dlq_id in dlq_ids:
                self._remove(keys=keys, args=[dlq_id], client=batch)
            answers: list[Any] = batch.execute()
        return [int(a) == 1 for a in answers]


def replay(
    bus_or_url: RedisStreamsBus | redis.Redis | str,
    *,
    pipeline: str = "enrichment",
    kinds: Iterable[str] | None = None,
    event_ids: Iterable[str] | None = None,
    limit: int | None = None,
    stream: str = DLQ_STREAM,
    to: str = LEADS_STREAM,
) -> ReplayReport:
    """Send ``pipeline``'s DLQ entries of ``kinds`` / ``event_ids`` (``None``: all; the oldest
    ``limit`` of them, to try a few first) back to ``to``, each exactly once, then remove them
    from the DLQ (the module doc says why that order is safe). Replaying again what was
    replayed does nothing. Entries that died for want of credits die again unless the budget
    was raised first (:func:`raise_budget`).
    """
    if limit is not None and limit < 1:
        raise ReplayError(f"limit={limit!r}: give a number of entries ≥ 1 (or None for all)")
    conn = _conn(bus_or_url)
    _known(conn, pipeline)  # its consumers are what runs a replayed event
    wanted_ids = None if event_ids is None else (
        [event_ids] if isinstance(event_ids, str) else list(event_ids))  # fmt: skip
    chosen = select(dead_letters(conn, pipeline=pipeline, stream=stream), kinds=kinds,
                    event_ids=wanted_ids)  # fmt: skip
    found = set(chosen["event_id"].to_list())
    report = ReplayReport(not_found=[i for i in dict.fromkeys(wanted_ids or []) if i not in found])
    if limit is not None:
        chosen = chosen.head(limit)
    steps = _Steps(conn, pipeline, dlq=stream, to=to)
    rows = chosen.select("dlq_id", "event_id").rows()
    for at in range(0, len(rows), _PAGE):
        page = rows[at : at + _PAGE]
        answered = steps.publish_all(dlq_id for dlq_id, _ in page)
        # removals only once every publication of the page has been answered; "gone": another
        # replayer finished that entry meanwhile
        done = [(row, status) for row, (status, _) in zip(page, answered, strict=True)
                if status != "gone"]  # fmt: skip
        for (_, event_id), status in done:
            {"new": report.republished, "published": report.resumed,
             "settled": report.settled}[status].append(event_id)  # fmt: skip
        steps.remove_all(dlq_id for (dlq_id, _), _ in done)
    return report


def raise_budget(
    bus_or_url: RedisStreamsBus | redis.Redis | str,
    *,
    pipeline: str = "enrichment",
    credits: float | None = None,
    usd: float | None = None,
) -> dict[str, float]:
    """Raise ``pipeline``'s budget cap to ``credits`` / ``usd`` (the new totals, not top-ups);
    returns the caps before. Never lowers a cap, never caps an uncapped budget: what was
    spent stays counted, so the consumers can afford ``new cap - spent`` more."""
    if credits is None and usd is None:
        raise ReplayError("give the new cap: credits=... and/or usd=...")
    conn = _conn(bus_or_url)
    _known(conn, pipeline)
    budget = run_key(run_id(pipeline), "budget")
    for label, value in (("credits", credits), ("usd", usd)):
        if value is not None and not 0 <= value < float("inf"):
            raise ReplayError(f"{label} cap {value!r}: give a finite number >= 0")
    args = ["" if v is None else repr(float(v)) for v in (credits, usd)]
    answer: Any = conn.register_script(RAISE)(keys=[budget], args=args)
    status, *rest = (_text(x) for x in answer)
    if status == "uncapped":
        raise ReplayError(f"pipeline {pipeline!r} has no {rest[0][4:]} cap to raise")
    if status == "lower":
        asked = credits if rest[0] == "cap_credits" else usd
        raise ReplayError(f"{rest[0][4:]} cap {asked:g} is below the current "
                          f"{float(rest[1]):g}: a cap is only ever raised "
                          "(open a new pipeline for a new budget)")  # fmt: skip
    before = {"credits": float(rest[0]), "usd": float(rest[1])}
    return {k: v for k, v in before.items() if v >= 0}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gtmkit dlq",
        description="List an event pipeline's dead letters (dlq.enrichment), or replay them "
        "to leads.new once each.",
    )
    sub = p.add_subparsers(dest="action", required=True)
    shown = sub.add_parser("list", help="the pipeline's dead letters, oldest first")
    again = sub.add_parser("replay", help="send dead letters back to leads.new, once each")
    for q in (shown, again):
        q.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
        q.add_argument("--pipeline", default="enrichment", help="pipeline name (open_pipeline)")
        q.add_argument("--kind", action="append", choices=KINDS, help="only this kind (repeat)")
        q.add_argument("--event-id", action="append", help="only this event id (repeat)")
    shown.add_argument("--json", action="store_true", help="one JSON object per entry")
    again.add_argument("--all", action="store_true", help="every dead letter of the pipeline")
    again.add_argument("--limit", type=int, default=None, help="only the oldest N selected")
    again.add_argument("--budget-credits", type=float, default=None,
                       help="raise the pipeline's credit cap to this total first")  # fmt: skip
    again.add_argument("--budget-usd", type=float, default=None,
                       help="raise the pipeline's USD cap to this total first")  # fmt: skip
    return p


def _list(conn: redis.Redis, args: argparse.Namespace) -> int:
    dead = select(dead_letters(conn, pipeline=args.pipeline), kinds=args.kind,
                  event_ids=args.event_id)  # fmt: skip
    if args.json:
        for row in dead.with_columns(pl.col("dead_at").dt.to_string("%+")).iter_rows(named=True):
            print(json.dumps(row, sort_keys=True))
        return 0
    shown = dead.select(
        "dlq_id", "event_id", "kind", "deliveries",
        pl.col("dead_at").dt.strftime("%Y-%m-%d %H:%M:%S").alias("dead at (UTC)"),
        "replays",
        pl.col("reason").str.slice(0, 72),  # the whole reason is in --json
    )  # fmt: skip
    with pl.Config(tbl_rows=-1, fmt_str_lengths=72, tbl_width_chars=180,
                   tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):  # fmt: skip
        if dead.height:
            print(shown)
    by_kind = ", ".join(f"{k}: {n}" for k, n in dead.group_by("kind").len().sort("kind").rows())
    print(f"{dead.height} dead letter(s) in pipeline {args.pipeline!r}"
          + (f" ({by_kind})" if by_kind else ""))  # fmt: skip
    half = dead["replayed_as"].drop_nulls().len()
    if half:
        print(f"{half} already republished by a replay that stopped before removing them: "
              "`gtmkit dlq replay` with the same selection removes them, publishing "
              "nothing")  # fmt: skip
    return 0


def _replay(conn: redis.Redis, args: argparse.Namespace) -> int:
    if not (args.all or args.kind or args.event_id):
        raise ReplayError("say what to replay: --all, --kind KIND or --event-id ID")
    out: dict[str, Any] = {"pipeline": args.pipeline}
    if args.budget_credits is not None or args.budget_usd is not None:
        out["caps_before"] = raise_budget(
            conn, pipeline=args.pipeline, credits=args.budget_credits, usd=args.budget_usd
        )
    report = replay(conn, pipeline=args.pipeline, kinds=args.kind, event_ids=args.event_id,
                    limit=args.limit)  # fmt: skip
    print(json.dumps({**out, **report.as_dict()}))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``gtmkit dlq list|replay`` (``--help`` lists the options)."""
    from gtmkit.queue.jobs import connection

    args = parser().parse_args(argv)
    conn = connection(args.redis)
    try:
        return (_list if args.action == "list" else _replay)(conn, args)
    except GtmkitError as exc:
        print(f"gtmkit dlq: {exc}", file=sys.stderr)
        return 2


__all__ = [
    "KINDS",
    "ReplayError",
    "ReplayReport",
    "dead_letters",
    "main",
    "parser",
    "raise_budget",
    "replay",
    "replay_counts_key",
    "replay_key",
    "select",
]
