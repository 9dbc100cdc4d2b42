"""``RedisBackends``: what a worker hands ``RunOptions(backends=...)`` so one chunk of a queued
run spends through the run's shared parts (``shared.py``) instead of this process's own.

Example:
    >>> from gtmkit.waterfall.backends import Backends
    >>> issubclass(RedisBackends, Backends)
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gtmkit.queue.shared import (
    Leases,
    RedisBudget,
    RedisCache,
    RedisClaims,
    RedisJournal,
    SharedBreaker,
    run_started,
    shared_limiters,
)
from gtmkit.waterfall.backends import Backends, RunContext
from gtmkit.waterfall.ledger import RunInfo

if TYPE_CHECKING:  # pragma: no cover
    import redis

    from gtmkit.waterfall.breaker import CircuitBreaker
    from gtmkit.waterfall.control import RunControl
    from gtmkit.waterfall.interfaces import BudgetAccount, CacheStore, Claims, RateLimiter
    from gtmkit.waterfall.journal import MemoryJournal


class RedisBackends(Backends):
    """One execution of one chunk of run ``run_id`` (``execution`` names it in the attempts
    and owns its claims)."""

    def __init__(self, conn: redis.Redis, run_id: str, *, execution: str) -> None:
        self.conn, self.run_id, self.execution = conn, run_id, execution
        self.leases: Leases | None = None
        self.journal_: RedisJournal | None = None

    def _leases(self) -> Leases:
        if self.leases is None:
            self.leases = Leases(self.conn)
        return self.leases

    def begin(self, ctx: RunContext) -> RunInfo:
        budget = RedisBudget(self.conn, self.run_id)
        return RunInfo(
            self.run_id, "", self.run_id, None, 0, budget.spent_credits, budget.spent_usd
        )

    def journal(self, ctx: RunContext, info: RunInfo) -> MemoryJournal:
        self.journal_ = RedisJournal(
            self.conn,
            self.run_id,
            execution=self.execution,
            ttl_s=ctx.options.ttl_s,
            leases=self._leases(),
        )
        return self.journal_

    def budget(self, ctx: RunContext, info: RunInfo) -> BudgetAccount:
        return RedisBudget(self.conn, self.run_id, owner=self.execution)

    def limiters(self, ctx: RunContext) -> Mapping[str, RateLimiter]:
        local = super().limiters(ctx)
        return shared_limiters(self.conn, local, ctx.providers, self._leases())

    def breaker(self, ctx: RunContext) -> CircuitBreaker:
        breaker = SharedBreaker(ctx.options.breaker, self.conn, self.run_id)
        for name, adapter in ctx.providers.items():
            breaker.set_stall(name, getattr(adapter, "stall_after_s", None))
        return breaker

    def cache(self, ctx: RunContext, info: RunInfo, journal: MemoryJournal) -> CacheStore | None:
        started = run_started(self.conn, self.run_id)
        return RedisCache(self.conn, ttl_s=ctx.options.ttl_s, run_started=started)

    def claims(self, ctx: RunContext, info: RunInfo, control: RunControl) -> Claims | None:
        return RedisClaims(self.conn, stopping=control.stopping)

    def finish(self, info: RunInfo, status: str) -> None:
        if self.leases is not None:
            self.leases.stop()
            self.leases = None


__all__ = ["RedisBackends"]
