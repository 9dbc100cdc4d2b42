"""The event tier: leads on the ``leads.new`` stream, enrichment consumers in a consumer group
(any number of ``gtmkit consume`` processes), outcomes on ``enriched.contacts`` and what could
not be done — or afforded — on ``dlq.enrichment`` (``README.md`` draws it and says what a Kafka
deployment would swap); :func:`~gtmkit.events.replay.dead_letters` lists the DLQ and
:func:`~gtmkit.events.replay.replay` sends entries back to ``leads.new``, once each.

The bus is Redis Streams behind a small interface (:class:`~gtmkit.events.bus.Bus`); the money
parts are the queue tier's (one shared budget, rate limits, lookup claims, cache). Nothing here
is imported by ``import gtmkit``; it needs the ``queue`` extra (redis-py, RQ).

Example:
    >>> import gtmkit.events as ev
    >>> ev.LEADS_STREAM, ev.ENRICHED_STREAM, ev.DLQ_STREAM
    ('leads.new', 'enriched.contacts', 'dlq.enrichment')
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gtmkit.events.bus import DLQ_STREAM, ENRICHED_STREAM, LEADS_STREAM

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.events.bus import Bus, Message, RedisStreamsBus
    from gtmkit.events.consumer import EnrichmentConsumer
    from gtmkit.events.pipeline import (
        Pipeline,
        PipelineError,
        load_pipeline,
        open_pipeline,
        publish_lead,
    )
    from gtmkit.events.replay import (
        ReplayError,
        ReplayReport,
        dead_letters,
        raise_budget,
        replay,
    )

_WHERE = {
    **dict.fromkeys(("Bus", "Message", "RedisStreamsBus"), "gtmkit.events.bus"),
    "EnrichmentConsumer": "gtmkit.events.consumer",
    **dict.fromkeys(
        ("Pipeline", "PipelineError", "load_pipeline", "open_pipeline", "publish_lead"),
        "gtmkit.events.pipeline",
    ),
    **dict.fromkeys(
        ("ReplayError", "ReplayReport", "dead_letters", "raise_budget", "replay"),
        "gtmkit.events.replay",
    ),
}

__all__ = ["DLQ_STREAM", "ENRICHED_STREAM", "LEADS_STREAM", "Bus", "EnrichmentConsumer",
           "Message", "Pipeline", "PipelineError", "RedisStreamsBus", "ReplayError",
           "ReplayReport", "dead_letters", "load_pipeline", "open_pipeline", "publish_lead",
           "raise_budget", "replay"]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'gtmkit.events' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
