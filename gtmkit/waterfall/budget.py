"""Exact spend caps: reserve the worst case before a call, settle to the real charge after.

The cap holds with any number of calls in flight because a call may only be sent once its
worst case fits under ``cap - spent - reserved``. When it does not fit *yet* but would fit
once in-flight calls settle (a miss usually costs less than its reservation), the caller
waits; only when even ``spent + worst case`` is over the cap is the budget exhausted.

This is the in-process :class:`~gtmkit.waterfall.interfaces.BudgetAccount`. A resumed run
starts it from what the run's earlier attempts already spent (the ledger knows), so a crash and
a rerun never get the cap twice. A provider that charges more than the worst case it declared
is settled at what it charged (the books must say what was billed); the meter then stops that
provider, and ``overspent_credits`` says by how much the cap was passed.

Example:
    >>> b = Budget(credits=2.0)
    >>> r = b.try_reserve(1.0, 0.0)
    >>> b.settle_now(r, credits=0.0, usd=0.0)
    >>> b.spent_credits
    0.0
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

from gtmkit.errors import GtmkitError
from gtmkit.waterfall.validate import NumberError, cap

_EPS = 1e-9


@dataclass(slots=True)
class Reservation:
    """A worst-case hold on the budget, released by :meth:`Budget.settle`."""

    credits: float
    usd: float
    settled: bool = False


class BudgetError(NumberError):
    """A budget or cap with an impossible value."""


class BudgetExhausted(GtmkitError):
    """The worst case of the next call no longer fits under the cap."""


class Budget:
    """A hard cap in credits and/or US dollars, shared by every call of a run.

    Args:
        credits: cap in credits (``None`` = no credit cap).
        usd: cap in dollars (``None`` = no dollar cap).
    """

    def __init__(
        self,
        credits: float | None = None,
        usd: float | None = None,
        *,
        spent_credits: float = 0.0,
        spent_usd: float = 0.0,
    ) -> None:
        self.cap_credits = cap("budget_credits", credits, error=BudgetError)
        self.cap_usd = cap("budget_usd", usd, error=BudgetError)
        #: spent (or held at worst case) so far, earlier attempts of a resumed run included
        self.spent_credits = float(spent_credits)
        self.spent_usd = float(spent_usd)
        self.reserved_credits = 0.0
        self.reserved_usd = 0.0
        self.open_reservations = 0
        #: Highest ``spent + reserved`` ever seen (tests assert it never passes the cap).
        self.peak_committed_credits = 0.0
        self.peak_committed_usd = 0.0
        self._lock = threading.Lock()  # settle may come from any thread
        self._changed: asyncio.Event | None = None

    @property
    def limited(self) -> bool:
        return self.cap_credits is not None or self.cap_usd is not None

    def _fits(self, credits: float, usd: float, *, with_reserved: bool) -> bool:
        rc = self.reserved_credits if with_reserved else 0.0
        ru = self.reserved_usd if with_reserved else 0.0
        if (
            self.cap_credits is not None
            and self.spent_credits + rc + credits > self.cap_credits + _EPS
        ):
            return False
        return not (self.cap_usd is not None and self.spent_usd + ru + usd > self.cap_usd + _EPS)

    def could_ever_fit(self, credits: float, usd: float) -> bool:
        """Whether the amount fits once every in-flight call has settled at zero cost."""
        with self._lock:
            return self._fits(credits, usd, with_reserved=False)

    def try_reserve(self, credits: float, usd: float) -> Reservation | None:
        """Reserve now if the worst case fits under the cap with everything in flight."""
        with self._lock:
            if not self._fits(credits, usd, with_reserved=True):
                return None
            self.reserved_credits += credits
            self.reserved_usd += usd
            self.open_reservations += 1
            self.peak_committed_credits = max(
                self.peak_committed_credits, self.spent_credits + self.reserved_credits
            )
            self.peak_committed_usd = max(
                self.peak_committed_usd, self.spent_usd + self.reserved_usd
            )
            return Reservation(credits, usd)

    @property
    def overspent_credits(self) -> float:
        """How far spending passed the credit cap (only a provider over-charging can do it)."""
        if self.cap_credits is None:
            return 0.0
        return max(0.0, self.spent_credits - self.cap_credits)

    async def reserve(self, credits: float, usd: float) -> Reservation:
        """Reserve, waiting for in-flight calls to settle when that could make room.

        Raises:
            BudgetExhausted: the amount cannot fit even if every in-flight call costs nothing.
        """
        while True:
            reservation = self.try_reserve(credits, usd)
            if reservation is not None:
                return reservation
            if not self.could_ever_fit(credits, usd):
                raise BudgetExhausted(self.describe_exhaustion(credits, usd))
            if self._changed is None:
                self._changed = asyncio.Event()
            event = self._changed
            await event.wait()

    async def settle(self, reservation: Reservation, *, credits: float, usd: float) -> None:
        """Release the hold and record what the call really cost (or is held at)."""
        self.settle_now(reservation, credits=credits, usd=usd)

    def settle_now(self, reservation: Reservation, *, credits: float, usd: float) -> None:
        """:meth:`settle` for callers that cannot await (cancellation clean-up)."""
        with self._lock:
            if reservation.settled:
                raise BudgetError("reservation settled twice (an engine bug: please report it)")
            reservation.settled = True
            self.open_reservations -= 1
            if self.open_reservations == 0:  # no float residue once nothing is in flight
                self.reserved_credits = self.reserved_usd = 0.0
            else:
                self.reserved_credits = max(0.0, self.reserved_credits - reservation.credits)
                self.reserved_usd = max(0.0, self.reserved_usd - reservation.usd)
            self.spent_credits += credits
            self.spent_usd += usd
        if self._changed is not None:
            # wake every waiter; each re-checks, then a fresh event collects the next waiters
            event, self._changed = self._changed, None
            event.set()

    def describe_exhaustion(self, credits: float, usd: float) -> str:
        parts = []
        if self.cap_credits is not None and self.spent_credits + credits > self.cap_credits + _EPS:
            parts.append(f"{self.spent_credits:g} of {self.cap_credits:g} credits spent")
        if self.cap_usd is not None and self.spent_usd + usd > self.cap_usd + _EPS:
            parts.append(f"${self.spent_usd:.4f} of ${self.cap_usd:.4f} spent")
        return "budget exhausted: " + (", ".join(parts) or "cap reached")


class RowCap:
    """Per-row ceiling in credits. A row has at most one call in flight, so no waiting needed."""

    def __init__(self, credits: float | None) -> None:
        self.cap = cap("per_row_cap_credits", credits, error=BudgetError)

    def allows(self, spent: float, worst_case: float) -> bool:
        return self.cap is None or spent + worst_case <= self.cap + _EPS
