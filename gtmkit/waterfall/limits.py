"""Per-provider pacing: a token bucket for requests per second plus a cap on calls in flight.

Limits adapt to what the provider says: a 429's ``Retry-After`` pauses every sender to that
provider until it passes and lowers the rate a little (so a configured rate that was too
optimistic converges on the real one); a ``Throttle`` read from rate-limit headers sets the
rate directly and pauses until the window resets when nothing is left.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gtmkit.providers.base import RateLimit, Throttle

RateLimitsOption = Literal["auto", "off"] | Mapping[str, "RateLimit | float | None"]


@dataclass(slots=True)
class LimiterStats:
    sent: int = 0
    throttled: int = 0
    waited_s: float = 0.0


class ProviderLimiter:
    """Paces one provider's calls.

    Args:
        per_second: sustained rate (``math.inf`` = no pacing).
        max_in_flight: calls in flight at once.
        burst: tokens the bucket may hold (default 1: evenly spaced sends, which is what
            a sliding-window limiter on the other side accepts without 429s).
    """

    def __init__(self, per_second: float, max_in_flight: int, *, burst: float = 1.0) -> None:
        if per_second <= 0:
            raise ValueError("per_second must be positive (use math.inf for no limit)")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.per_second = float(per_second)
        self.max_in_flight = int(max_in_flight)
        self.burst = max(1.0, float(burst))
        self._slots = asyncio.Semaphore(self.max_in_flight)
        self._next_at = 0.0  # monotonic time at which the next token is available
        self._paused_until = 0.0
        self.stats = LimiterStats()

    @property
    def unlimited(self) -> bool:
        return math.isinf(self.per_second)

    async def acquire(self) -> None:
        """Wait for an in-flight slot and a token. Pair with :meth:`release`."""
        await self._slots.acquire()
        try:
            await self._wait_token()
        except BaseException:
            self._slots.release()
            raise
        self.stats.sent += 1

    def release(self) -> None:
        self._slots.release()

    async def _wait_token(self) -> None:
        while True:
            now = time.monotonic()
            if self._paused_until > now:
                self.stats.waited_s += self._paused_until - now
                await asyncio.sleep(self._paused_until - now)
                continue
            if self.unlimited:
                return
            interval = 1.0 / self.per_second
            # tokens saved while idle, up to the burst size
            at = max(self._next_at, now - (self.burst - 1.0) * interval)
            self._next_at = at + interval
            if at > now:
                self.stats.waited_s += at - now
                await asyncio.sleep(at - now)
                if self._paused_until > time.monotonic():
                    continue  # a 429 arrived while we slept: wait for the pause, take a new slot
            return

    # -- adaptation ---------------------------------------------------------------------
    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429 (or equivalent): pause everyone, and slow down by 10% unless told a rate."""
        self.stats.throttled += 1
        pause = retry_after if retry_after and retry_after > 0 else 1.0
        self._paused_until = max(self._paused_until, time.monotonic() + pause)
        if not self.unlimited:
            self.per_second = max(0.2, self.per_second * 0.9)

    def observe(self, throttle: Throttle | None) -> None:
        """Read the provider's rate-limit headers (as parsed by the adapter)."""
        if throttle is None:
            return
        if throttle.limit_per_second and throttle.limit_per_second > 0:
            self.per_second = float(throttle.limit_per_second)
        if throttle.remaining is not None and throttle.remaining <= 0 and throttle.reset_after_s:
            self._paused_until = max(self._paused_until, time.monotonic() + throttle.reset_after_s)


def build_limiters(
    providers: Mapping[str, object],
    option: RateLimitsOption,
    *,
    sandbox: Mapping[str, bool] | None = None,
    max_in_flight: int | None = None,
) -> dict[str, ProviderLimiter]:
    """One limiter per provider.

    ``option``: ``"auto"`` — the adapter's published ``rate_limit`` for live providers, no pacing
    (in-flight cap only) for sandbox ones, which answer 429s themselves when they enforce
    limits; ``"off"`` — no pacing at all; or a mapping ``{provider: RateLimit | per_second}``
    (missing providers fall back to ``"auto"``).
    """
    limiters: dict[str, ProviderLimiter] = {}
    for name, provider in providers.items():
        published: RateLimit = getattr(provider, "rate_limit", RateLimit(per_second=10.0))
        in_flight = max_in_flight or published.max_in_flight
        per_second = published.per_second
        if option == "off" or (option == "auto" and (sandbox or {}).get(name, False)):
            per_second = math.inf
        elif isinstance(option, Mapping) and name in option and option[name] is not None:
            chosen = option[name]
            if isinstance(chosen, RateLimit):
                per_second, in_flight = chosen.per_second, max_in_flight or chosen.max_in_flight
            else:
                per_second = float(chosen)  # type: ignore[arg-type]
        elif isinstance(option, Mapping) and (sandbox or {}).get(name, False):
            per_second = math.inf
        limiters[name] = ProviderLimiter(per_second, in_flight)
    return limiters
