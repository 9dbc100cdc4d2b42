"""Exact spend caps: reserve the worst case before a call, settle to the real charge after.

The cap holds with any number of calls in flight because a call may only be sent once its
worst case fits under ``cap - spent - reserved``. When it does not fit *yet* but would fit
once in-flight calls settle (a miss usually costs less than its reservation), the caller
waits; only when even ``spent + worst case`` is over the cap is the budget exhausted.

Example:
    >>> b = Budget(credits=2.0)
    >>> r = b.try_reserve(1.0, 0.0)
    >>> b.settle(r, credits=0.0, usd=0.0)
    >>> b.spent_credits
    0.0
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass

_EPS = 1e-9


@dataclass(slots=True)
class Reservation:
    """A worst-case hold on the budget, released by :meth:`Budget.settle`."""

    credits: float
    usd: float
    settled: bool = False


class BudgetExhausted(Exception):
    """The worst case of the next call no longer fits under the cap."""


class Budget:
    """A hard cap in credits and/or US dollars, shared by every call of a run.

    Args:
        credits: cap in credits (``None`` = no credit cap).
        usd: cap in dollars (``None`` = no dollar cap).
    """

    def __init__(self, credits: float | None = None, usd: float | None = None) -> None:
        for label, value in (("budget_credits", credits), ("budget_usd", usd)):
            if value is not None and (not isinstance(value, int | float) or value < 0):
                raise ValueError(f"{label} must be a non-negative number or None, got {value!r}")
        self.cap_credits = None if credits is None else float(credits)
        self.cap_usd = None if usd is None else float(usd)
        self.spent_credits = 0.0
        self.spent_usd = 0.0
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

    def settle(self, reservation: Reservation, *, credits: float, usd: float) -> None:
        """Release the hold and record what the call really cost."""
        with self._lock:
            if reservation.settled:
                raise RuntimeError("reservation settled twice")
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
        if credits is not None and (not isinstance(credits, int | float) or credits < 0):
            raise ValueError(f"per_row_cap_credits must be a non-negative number, got {credits!r}")
        self.cap = None if credits is None else float(credits)

    def allows(self, spent: float, worst_case: float) -> bool:
        return self.cap is None or spent + worst_case <= self.cap + _EPS
