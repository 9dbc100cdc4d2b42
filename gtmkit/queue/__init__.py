"""The queue tier: the same waterfall engine in any number of RQ workers on Redis, sharing
the run's budget, each provider's rate limit and in-flight cap, the in-flight dedupe of
lookups and the cache (``README.md`` says when to use it and draws the path of a job).

Nothing here is imported by ``import gtmkit``; Redis and RQ are the optional ``queue`` extra
(``pip install "gtmkit[queue]"``), imported when a name below is first used.

Example:
    >>> import gtmkit.queue as q
    >>> sorted(q.__all__)[:4]
    ['DEFAULT_QUEUE', 'QueueError', 'RedisBackends', 'RunHandle']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.queue.backends import RedisBackends
    from gtmkit.queue.dead import dead_letters, requeue
    from gtmkit.queue.jobs import DEFAULT_QUEUE, QueueError, RunHandle, enqueue, merge, run_chunk
    from gtmkit.queue.resume import attach, resume, runs

_WHERE = {
    "RedisBackends": "gtmkit.queue.backends",
    "dead_letters": "gtmkit.queue.dead",
    "requeue": "gtmkit.queue.dead",
    **dict.fromkeys(("attach", "resume", "runs"), "gtmkit.queue.resume"),
    **dict.fromkeys(
        ("DEFAULT_QUEUE", "QueueError", "RunHandle", "enqueue", "merge", "run_chunk"),
        "gtmkit.queue.jobs",
    ),
}

__all__ = ["DEFAULT_QUEUE", "QueueError", "RedisBackends", "RunHandle", "attach",
           "dead_letters", "enqueue", "merge", "requeue", "resume", "run_chunk",
           "runs"]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'gtmkit.queue' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
