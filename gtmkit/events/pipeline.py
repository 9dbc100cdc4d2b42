"""An event pipeline: the waterfall its consumers run, its budget, and how leads get in.

:func:`open_pipeline` stores, once, what every enrichment consumer of the pipeline reads at
start: the waterfall spec and run options (pickled into Redis, as the queue tier does — give
the consumers a Redis only your team can reach) and the pipeline's budget, opened as the queue
tier's shared account (:class:`gtmkit.queue.shared.RedisBudget`: reserve-then-settle in Lua,
exact with any number of consumers). The pipeline's money keys are the queue tier's, under the
run id ``events-{name}`` (``gtmkit/queue/keys.py``): budget, attempts, in-flight intents; the
cache and lookup claims are shared with every queued run.

Its own keys: ``gtmkit:events:{name}:done`` — event id → where its outcome went (the
idempotence record, written in the same script as the outcome).

Example:
    >>> run_id("enrichment"), done_key("enrichment")
    ('events-enrichment', 'gtmkit:events:enrichment:done')
    >>> lead_fields({"first_name": "Ada"}, event_id="e1", source="api")["lead"]
    '{"first_name": "Ada"}'
"""

from __future__ import annotations

import json
import pickle
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gtmkit.errors import GtmkitError
from gtmkit.events.bus import DLQ_STREAM, ENRICHED_STREAM, LEADS_STREAM, Bus
from gtmkit.queue.keys import PREFIX, run_key
from gtmkit.queue.shared import RedisBudget
from gtmkit.queue.shipping import pack, unpack

if TYPE_CHECKING:  # pragma: no cover
    import redis

    from gtmkit.waterfall.spec import Waterfall

#: options a consumer decides itself (it has no ledger, bar or local budget)
_NOT_PIPELINED = ("ledger", "backends", "progress", "cancel", "providers", "budget_credits",
                  "budget_usd", "resume")  # fmt: skip
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class PipelineError(GtmkitError, ValueError):
    """A pipeline cannot be opened or read (what is wrong is in the message)."""


def run_id(name: str) -> str:
    return f"events-{name}"


def done_key(name: str) -> str:
    return f"{PREFIX}:events:{name}:done"


@dataclass(frozen=True)
class Pipeline:
    """What a consumer of pipeline ``name`` runs: the spec, its options, the streams."""

    name: str
    wf: Waterfall
    options: Mapping[str, Any]
    source: str = LEADS_STREAM
    out: str = ENRICHED_STREAM
    dlq: str = DLQ_STREAM

    @property
    def group(self) -> str:
        """The consumer group: one per pipeline, so two pipelines each see every lead."""
        return self.name

    @property
    def run_id(self) -> str:
        return run_id(self.name)

    @property
    def done_key(self) -> str:
        return done_key(self.name)


def open_pipeline(
    conn: redis.Redis,
    wf: Waterfall,
    *,
    name: str = "enrichment",
    budget_credits: float | None = None,
    budget_usd: float | None = None,
    **options: Any,
) -> Pipeline:
    """Store pipeline ``name`` (spec, options, budget) and create its consumer group.

    ``options`` are :class:`~gtmkit.waterfall.options.RunOptions` fields every consumer runs
    with (``mode``, ``connect_options``, ``cache_ttl_days``...), checked here, before anything
    is stored. Opening a name again replaces spec and options but keeps its budget account
    and what it spent (a budget is never reset by accident: use a new name).
    """
    from gtmkit.waterfall.options import RunOptions

    if not _NAME.match(name):
        raise PipelineError(f"pipeline name {name!r}: use letters, digits, '.', '_', '-'")
    refused = sorted(set(options) & set(_NOT_PIPELINED))
    if refused:
        raise PipelineError(f"{refused} cannot be set for a pipeline (the consumers own them)")
    checked = RunOptions.build(None, budget_credits=budget_credits, budget_usd=budget_usd,
                               ledger=None, **options)  # fmt: skip
    shipped = pack(options)  # refused now, naming the option, if a consumer could not get it
    meta = run_key(run_id(name), "meta")
    if not conn.exists(meta):
        RedisBudget.create(conn, run_id(name), checked.budget_credits, checked.budget_usd)
        conn.hset(meta, mapping={"created_at": repr(time.time()), "tier": "events"})
    conn.hset(meta, mapping={"spec": pickle.dumps(wf), "options": shipped})
    pipeline = Pipeline(name, wf, options)
    from gtmkit.events.bus import RedisStreamsBus

    RedisStreamsBus(conn).ensure_group(pipeline.source, pipeline.group)
    return pipeline


def load_pipeline(conn: redis.Redis, name: str) -> Pipeline:
    """Pipeline ``name`` as :func:`open_pipeline` stored it."""
    raw: Any = conn.hmget(run_key(run_id(name), "meta"), ["spec", "options"])
    if raw[0] is None:
        raise PipelineError(
            f"no event pipeline {name!r} in this Redis: open it first with "
            "gtmkit.events.open_pipeline(conn, waterfall, name=..., budget_credits=...)"
        )
    return Pipeline(name, pickle.loads(raw[0]), unpack(raw[1]))


def lead_fields(lead: Mapping[str, Any], *, event_id: str, source: str) -> dict[str, str]:
    """The fields of a ``leads.new`` event: its id, where it came from, the lead as JSON."""
    return {
        "event_id": event_id,
        "source": source,
        "received_at": repr(time.time()),
        "lead": json.dumps(dict(lead), sort_keys=True, default=str),
    }


def publish_lead(
    bus: Bus,
    lead: Mapping[str, Any],
    *,
    event_id: str | None = None,
    source: str = "api",
    stream: str = LEADS_STREAM,
) -> str:
    """Put one lead on ``leads.new``; returns the event id (give your own to make a resend
    of the same lead the same event: it is then enriched, and paid, once)."""
    eid = event_id or uuid.uuid4().hex
    bus.publish(stream, lead_fields(lead, event_id=eid, source=source))
    return eid


__all__ = [
    "Pipeline",
    "PipelineError",
    "done_key",
    "lead_fields",
    "load_pipeline",
    "open_pipeline",
    "publish_lead",
    "run_id",
]
