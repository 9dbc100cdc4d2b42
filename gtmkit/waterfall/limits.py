"""Per-provider pacing: a token bucket for requests per second plus a cap on calls in flight.

Limits adapt to what the provider says, AIMD-style:

* once a provider has refused a call and its headers announce its limit (a per-second or
  per-minute window), the pace is that limit (97% of it): a plan below the adapter's default
  is then not exceeded again. (Before any refusal the headers are only read for "quota used
  up": an announced window may be generous, or not enforced at all by a test server.)
* a 429 (or a provider's equivalent) always makes the refused call wait its ``Retry-After``
  and retry (see ``retry.py``). A single sporadic 429 changes nothing else (a slower pace
  does not make random refusals rarer, and cutting on each would spiral down); refusals that
  keep coming (2% of the last 5 s of sends) from a provider whose headers announce no limit
  cap the pace at 90% of what it accepted, undone 3 s later if refusals are no rarer; when
  half or more of the last second's sends were refused, the pace drops to 95% of what the
  provider accepted in that second (at least a 20% cut, at most once a second). If the next
  second is refused just as much, the refusals are not about pace (a provider refusing every
  first try, say): the cut is undone and no cut is tried for a while. Other calls are never
  stopped outright: a blanket pause on every 429 would idle the whole provider.
* every answer raises the rate again (about +5% per second of answers) up to the configured
  ceiling, so a transient burst of 429s costs little;
* rate-limit headers saying the quota is used up (``remaining == 0`` with a reset time) pause
  every sender until the window resets (at most ``max_pause_s`` per signal, then one probe).
  A limit announced only for an hour or a day is not used as the pace: its average rate says
  little about the burst the provider accepts.

Example:
    >>> limiter = ProviderLimiter(20.0, 4)
    >>> limiter.max_in_flight, limiter.per_second
    (4, 20.0)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from gtmkit.providers.base import RateLimit
from gtmkit.waterfall.pacing import PaceAdaptation
from gtmkit.waterfall.retry import PolicyError

RateLimitsOption = Literal["auto", "off"] | Mapping[str, "RateLimit | float | None"]


@dataclass(slots=True)
class LimiterStats:
    sent: int = 0
    throttled: int = 0
    waited_s: float = 0.0


class ProviderLimiter(PaceAdaptation):
    """Paces one provider's calls.

    Args:
        per_second: sustained rate (``math.inf`` = no pacing).
        max_in_flight: calls in flight at once.
        burst: tokens the bucket may hold (default: 100 ms worth, at least 1). Sends are
            evenly spaced; the small burst only lets the pace catch up after a timer fired
            late, so the long-run rate stays exactly ``per_second`` instead of drifting below
            it, and any window of ``t`` seconds holds at most ``burst + per_second * t`` sends.
    """

    def __init__(
        self, per_second: float, max_in_flight: int, *, burst: float | None = None
    ) -> None:
        if per_second <= 0:
            raise PolicyError("per_second must be positive (use math.inf for no limit)")
        if max_in_flight < 1:
            raise PolicyError("max_in_flight must be at least 1")
        self.per_second = float(per_second)
        self.max_in_flight = int(max_in_flight)
        if burst is None:
            burst = 0.1 * self.per_second if math.isfinite(self.per_second) else 1.0
        self.burst = max(1.0, float(burst))
        self._in_flight = 0
        # waiters ordered by (priority, arrival): rows deep in the waterfall go first, so the
        # rows already started finish before new ones start (a short tail at the end)
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrivals = itertools.count()
        self._pump_task: asyncio.Task[None] | None = None
        self._slot_freed: asyncio.Future[None] | None = None
        self._next_at = 0.0  # monotonic time at which the next token is available
        self._paused_until = 0.0
        self._last_decrease = -math.inf
        self._last_cut: tuple[float, float, float] | None = None  # (rate before, share, when)
        self._no_cuts_until = -math.inf
        self._cut_freeze_s = 10.0
        self._learned: tuple[float, float, float, float] | None = None  # see _learn_limit
        #: the limit the provider's headers announced, once seen (requests/s)
        self.announced: float | None = None
        # send, answer and refusal times over (about) the last second, to judge a 429 storm
        self._recent: deque[float] = deque(maxlen=2048)
        self._successes: deque[float] = deque(maxlen=2048)
        self._rejections: deque[float] = deque(maxlen=2048)
        #: the configured rate: adaptation never goes above it
        self.ceiling = self.per_second
        #: whether the ceiling was set by the user/adapter (an announced limit only lowers it)
        self.announced_from_config = math.isfinite(self.per_second)
        self.min_rate = 0.2
        #: longest all-senders pause one "quota used up" header can cause
        self.max_pause_s = 2.0
        self.stats = LimiterStats()

    @property
    def unlimited(self) -> bool:
        """Whether this provider is unpaced by configuration (it may still learn a pace)."""
        return math.isinf(self.ceiling)

    async def acquire(self, priority: int = 0) -> None:
        """Wait for an in-flight slot and a token (lower ``priority`` first). Pair with
        :meth:`release`."""
        if not self._waiters and self._in_flight < self.max_in_flight and self._take_token():
            self._grant()
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrivals), fut))
        if self._pump_task is None:
            self._pump_task = asyncio.ensure_future(self._pump())
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release()  # granted just as we were cancelled: give the slot back
            raise

    def release(self) -> None:
        self._in_flight -= 1
        freed = self._slot_freed
        if freed is not None and not freed.done():
            freed.set_result(None)

    def _grant(self) -> None:
        self._in_flight += 1
        self.stats.sent += 1
        self._recent.append(time.monotonic())

    def _take_token(self) -> bool:
        """Consume a token if one is available now (and nothing is paused)."""
        now = time.monotonic()
        if self._paused_until > now:
            return False
        if math.isinf(self.per_second):
            return True
        interval = 1.0 / self.per_second
        at = max(self._next_at, now - (self.burst - 1.0) * interval)  # tokens saved while idle
        if at > now:
            return False
        self._next_at = at + interval
        return True

    async def _pump(self) -> None:
        """Hand slots and tokens to waiters in priority order, at the provider's pace."""
        loop = asyncio.get_running_loop()
        try:
            while self._waiters:
                if self._waiters[0][2].done():  # cancelled while waiting
                    heapq.heappop(self._waiters)
                    continue
                if self._in_flight >= self.max_in_flight:
                    self._slot_freed = loop.create_future()
                    await self._slot_freed
                    continue
                if not self._take_token():
                    now = time.monotonic()
                    if self._paused_until > now:
                        wait = self._paused_until - now
                    else:
                        interval = 1.0 / self.per_second
                        wait = max(self._next_at, now - (self.burst - 1.0) * interval) - now
                    self.stats.waited_s += max(wait, 0.0)
                    await asyncio.sleep(max(wait, 0.0))
                    continue
                _, _, fut = heapq.heappop(self._waiters)
                self._grant()
                fut.set_result(None)
        finally:
            self._pump_task = None


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
    (missing providers fall back to ``"auto"``). Providers with the same ``base_url`` (e.g.
    ``hunter`` and ``hunter_verifier``) share one limiter, configured by whichever of them
    the mapping names.
    """
    limiters: dict[str, ProviderLimiter] = {}
    by_base_url: dict[str, ProviderLimiter] = {}
    # providers on one base URL (hunter and hunter_verifier) share one account's limit
    ordered = sorted(providers.items(), key=lambda item: not _configured(option, item[0]))
    for name, provider in ordered:
        base_url = getattr(provider, "base_url", None)
        if base_url and base_url in by_base_url:
            limiters[name] = by_base_url[base_url]
            continue
        published: RateLimit = getattr(provider, "rate_limit", RateLimit(per_second=10.0))
        in_flight = max_in_flight or published.max_in_flight
        per_second = published.per_second
        if option == "off" or (option == "auto" and (sandbox or {}).get(name, False)):
            per_second = math.inf
        elif isinstance(option, Mapping) and _configured(option, name):
            chosen = option[name]
            if isinstance(chosen, RateLimit):
                per_second, in_flight = chosen.per_second, max_in_flight or chosen.max_in_flight
            else:
                per_second = float(chosen)  # type: ignore[arg-type]
        elif isinstance(option, Mapping) and (sandbox or {}).get(name, False):
            per_second = math.inf
        limiter = ProviderLimiter(per_second, in_flight)
        limiters[name] = limiter
        if base_url:
            by_base_url[base_url] = limiter
    return {name: limiters[name] for name in providers}


def _configured(option: RateLimitsOption, name: str) -> bool:
    return isinstance(option, Mapping) and option.get(name) is not None
