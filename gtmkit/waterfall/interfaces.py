"""The small interfaces behind which the engine keeps its shared, money-keeping parts.

Each has the in-process / SQLite implementation used by a direct run. A deployment that runs
the same waterfall in many worker processes (the queue tier) supplies its own — Redis-backed,
say — and the layers in ``layers.py`` do not change.

| interface       | here                                        |
|-----------------|---------------------------------------------|
| BudgetAccount   | ``budget.Budget``                           |
| RateLimiter     | ``limits.ProviderLimiter``                  |
| CacheStore      | ``journal.LedgerCache``                     |
| Claims          | ``journal.LedgerClaims``                    |
| Journal         | ``journal.LedgerJournal`` (and ``MemoryJournal``) |

Example:
    >>> from gtmkit.waterfall.budget import Budget
    >>> all(hasattr(Budget, m) for m in ("reserve", "settle", "settle_now", "limited"))
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.providers.base import Finding
    from gtmkit.waterfall.attempt import Attempt
    from gtmkit.waterfall.budget import Reservation
    from gtmkit.waterfall.limits import LimiterStats
    from gtmkit.waterfall.lookup import Answer, ClaimKey


class BudgetAccount(Protocol):
    """Reserve a call's worst case before it is sent; settle to what it cost after."""

    @property
    def limited(self) -> bool: ...

    # what the run reports (spent includes what is held for unknown outcomes)
    spent_credits: float
    spent_usd: float
    peak_committed_credits: float
    peak_committed_usd: float

    @property
    def overspent_credits(self) -> float: ...

    async def reserve(self, credits: float, usd: float) -> Reservation:
        """Hold the amount (waiting while calls in flight may free room); raises
        ``BudgetExhausted`` when it cannot fit even if they all cost nothing."""

    async def settle(self, reservation: Reservation, *, credits: float, usd: float) -> None:
        """Release the hold and book what the call cost (or is held at)."""

    def settle_now(self, reservation: Reservation, *, credits: float, usd: float) -> None:
        """The same, from a place that cannot await (a cancelled call's clean-up)."""


class RateLimiter(Protocol):
    """Paces one provider (or one account shared by several endpoints)."""

    # what the run reports
    max_in_flight: int
    per_second: float
    announced: float | None
    stats: LimiterStats

    async def acquire(self, priority: int = 0) -> None: ...

    def release(self) -> None: ...

    def observe_finding(self, finding: Finding) -> None:
        """Learn from an answer: its rate-limit headers, a refusal, a success."""


class CacheStore(Protocol):
    """Answers already bought, within the time-to-live."""

    async def get(self, key: ClaimKey) -> Answer | None: ...

    def put(self, key: ClaimKey, answer: Answer) -> None: ...


class Claims(Protocol):
    """One payer per lookup across processes: a lookup somebody else is paying for is waited
    for, and a claim whose owner is gone is taken over."""

    async def wait_for(self, key: ClaimKey) -> Answer | None:
        """The other owner's answer, or ``None`` once its claim is released or stale."""


class Journal(Protocol):
    """Where every call is written before it is sent and after it answers."""

    async def intend(self, attempt: Attempt) -> Answer | bool | None:
        """Commit the intent of a call about to be sent. ``None``: go ahead. An ``Answer``:
        another process answered this lookup meanwhile (use it, free). ``True``: another
        live process is paying for it right now (wait for it through ``Claims``)."""

    def done(self, attempt: Attempt, answer: Answer | None) -> None:
        """Record the call's result (and cache ``answer`` when given); committed soon after,
        nobody waits for it."""

    def used(self, attempt: Attempt) -> None:
        """Record a free reuse of an answer (kept in the run's attempts, not the ledger)."""
