"""Where a run's shared, money-keeping parts come from: ``Backends``.

A direct run (the default) uses :class:`LocalBackends`: the budget account in memory seeded from
the SQLite ledger, token-bucket limiters in this process, the ledger's intent rows as claims
and its cache table as the cache. A deployment that runs the same waterfall in many worker
processes (the queue tier) hands ``RunOptions(backends=...)`` its own implementations — a Redis
budget, a shared rate limit, shared claims and cache, a breaker every worker sees — and the
layers and the row policy do not change. Each method builds one part for one run.

Example:
    >>> from gtmkit.waterfall.backends import LocalBackends
    >>> LocalBackends(ledger=None).claims  # doctest: +ELLIPSIS
    <bound method LocalBackends.claims of ...>
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gtmkit.waterfall.breaker import CircuitBreaker
from gtmkit.waterfall.budget import Budget
from gtmkit.waterfall.journal import LedgerCache, LedgerClaims, LedgerJournal, MemoryJournal
from gtmkit.waterfall.ledger import Ledger, RunInfo
from gtmkit.waterfall.limits import build_limiters
from gtmkit.waterfall.rows import list_fingerprint

if TYPE_CHECKING:  # pragma: no cover
    import polars as pl

    from gtmkit.providers.base import Provider
    from gtmkit.waterfall.control import RunControl
    from gtmkit.waterfall.interfaces import BudgetAccount, CacheStore, Claims, RateLimiter
    from gtmkit.waterfall.options import RunOptions
    from gtmkit.waterfall.spec import Waterfall


@dataclass(frozen=True, slots=True)
class RunContext:
    """What every part is built from: the spec, the list, the providers and the options."""

    wf: Waterfall
    frame: pl.DataFrame
    providers: Mapping[str, Provider]
    modes: Mapping[str, str]
    options: RunOptions


class Backends:
    """The interface: one method per shared part (override the ones a deployment shares)."""

    def begin(self, ctx: RunContext) -> RunInfo:
        """Register the run (resuming its chain): its id and what the chain spent."""
        raise NotImplementedError

    def journal(self, ctx: RunContext, info: RunInfo) -> MemoryJournal:
        raise NotImplementedError

    def budget(self, ctx: RunContext, info: RunInfo) -> BudgetAccount:
        options = ctx.options
        return Budget(
            options.budget_credits,
            options.budget_usd,
            spent_credits=info.spent_credits,
            spent_usd=info.spent_usd,
        )

    def limiters(self, ctx: RunContext) -> Mapping[str, RateLimiter]:
        return build_limiters(
            ctx.providers,
            ctx.options.rate_limits,
            sandbox={name: mode == "sandbox" for name, mode in ctx.modes.items()},
            max_in_flight=ctx.options.max_in_flight,
        )

    def breaker(self, ctx: RunContext) -> CircuitBreaker:
        breaker = CircuitBreaker(ctx.options.breaker)
        for name, adapter in ctx.providers.items():
            breaker.set_stall(name, getattr(adapter, "stall_after_s", None))
        return breaker

    def cache(self, ctx: RunContext, info: RunInfo, journal: MemoryJournal) -> CacheStore | None:
        return None

    def claims(self, ctx: RunContext, info: RunInfo, control: RunControl) -> Claims | None:
        return None

    def finish(self, info: RunInfo, status: str) -> None:
        """Record how the run ended (``finished``, ``incomplete``, ``stopped``)."""


class LocalBackends(Backends):
    """A direct run's parts: in this process, kept in the SQLite ``ledger`` (or in memory)."""

    def __init__(self, ledger: Ledger | None) -> None:
        self.ledger = ledger

    def begin(self, ctx: RunContext) -> RunInfo:
        options = ctx.options
        if self.ledger is None:
            run_id = uuid.uuid4().hex
            return RunInfo(run_id, "", run_id, None, 0, 0.0, 0.0)
        return self.ledger.begin_run(
            list_fingerprint(ctx.wf.fingerprint(), ctx.frame),
            name=ctx.wf.name,
            resume=options.resume,
            budget_credits=options.budget_credits,
            budget_usd=options.budget_usd,
        )

    def journal(self, ctx: RunContext, info: RunInfo) -> MemoryJournal:
        if self.ledger is None:
            return MemoryJournal(info.run_id)
        options = ctx.options
        return LedgerJournal(
            self.ledger,
            info.run_id,
            ttl_s=options.ttl_s,
            chain_id=info.chain_id,
            cap_credits=options.budget_credits,
            cap_usd=options.budget_usd,
        )

    def cache(self, ctx: RunContext, info: RunInfo, journal: MemoryJournal) -> CacheStore | None:
        ttl_s = ctx.options.ttl_s
        if self.ledger is None or not ttl_s:
            return None
        pairs = {(n, p.endpoint) for n, p in ctx.providers.items()}
        return LedgerCache(self.ledger, journal, pairs, ttl_s=ttl_s)

    def claims(self, ctx: RunContext, info: RunInfo, control: RunControl) -> Claims | None:
        if self.ledger is None:
            return None
        return LedgerClaims(
            self.ledger, info.run_id, ttl_s=ctx.options.ttl_s, stopping=control.stopping
        )

    def finish(self, info: RunInfo, status: str) -> None:
        if self.ledger is not None:
            self.ledger.finish_run(info.run_id, status)


__all__ = ["Backends", "LocalBackends", "RunContext"]
