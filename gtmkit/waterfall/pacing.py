"""How a provider's pace adapts to what it says: refusals, answers and rate-limit headers.

The rules are described in ``limits.py``'s docstring; this mix-in holds them so the limiter
itself only hands out slots and tokens. It reads and writes the limiter's pace
(``per_second``, ``ceiling``) and its recent send/answer/refusal times.

Example:
    >>> from gtmkit.waterfall.limits import ProviderLimiter
    >>> limiter = ProviderLimiter(50.0, 8)
    >>> limiter.on_rate_limited(1.0)  # one refusal: nothing changes
    >>> limiter.per_second
    50.0
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import TYPE_CHECKING

from gtmkit.providers.base import Finding, Throttle
from gtmkit.providers.errors import RateLimited

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.waterfall.limits import LimiterStats

#: an announced limit slower than this is a long window's average, not a pace
_SLOWEST_ANNOUNCED_PACE = 1.0
#: refusals that keep coming over this window, at least this share of its sends, from a
#: provider whose headers announce no limit (Hunter's 403s) mean its plan is below our pace
_LEARN_WINDOW_S = 5.0
_LEARN_SHARE = 0.02
#: how long after a learned limit its effect is judged
_LEARN_JUDGED_AFTER_S = 3.0


class PaceAdaptation:
    """AIMD on refusals, recovery on answers, pacing from an announced limit."""

    per_second: float
    ceiling: float
    min_rate: float
    max_pause_s: float
    announced: float | None
    announced_from_config: bool
    stats: LimiterStats
    _recent: deque[float]
    _successes: deque[float]
    _rejections: deque[float]
    _paused_until: float
    _last_decrease: float
    _last_cut: tuple[float, float, float] | None
    _no_cuts_until: float
    _cut_freeze_s: float
    _learned: tuple[float, float, float, float] | None

    def on_rate_limited(self, retry_after: float | None) -> None:
        """A 429 (or equivalent). Sporadic ones change nothing (the call waits and retries);
        when half or more of the last second's sends were refused, the pace drops to 95% of
        what the provider accepted in that second (at least a 20% cut) — unless the last cut
        did not make refusals rarer, in which case it is undone."""
        self.stats.throttled += 1
        now = time.monotonic()
        self._rejections.append(now)
        if now < self._no_cuts_until or now - self._last_decrease < 1.0:
            return
        sent = sum(1 for t in self._recent if now - t <= 1.0)
        refused = sum(1 for t in self._rejections if now - t <= 1.0)
        if refused < 3 or refused < 0.5 * sent:
            self._learn_limit(now)
            return
        share = refused / max(sent, 1)
        if self._last_cut is not None and now - self._last_cut[2] < 3.0:
            before, earlier_share, _ = self._last_cut
            if share > 0.8 * earlier_share:
                # slowing down did not help: the refusals are not about pace
                self.per_second = before
                self._last_cut = None
                self._no_cuts_until = now + self._cut_freeze_s
                self._cut_freeze_s = min(120.0, self._cut_freeze_s * 2)
                return
        self._last_decrease = now
        accepted = sum(1 for t in self._successes if now - t <= 1.0)
        # accepted per second over the history we have (a run's first second is short)
        span = max(
            0.25, min(1.0, now - min((t for t in self._recent if now - t <= 1.0), default=now))
        )
        target = 0.95 * accepted / span if accepted >= 3 else 0.5 * min(self.per_second, sent)
        current = self.per_second * 0.8 if math.isfinite(self.per_second) else math.inf
        self._last_cut = (self.per_second, share, now)
        self.per_second = max(self.min_rate, min(current, target))

    def _learn_limit(self, now: float) -> None:
        """Sporadic refusals that keep coming (at least 2% of the last 5 s of sends) from a
        provider whose headers never announced a limit: its plan is below our pace, so the
        ceiling becomes 90% of what it accepted over those seconds (recovery never climbs past
        it). If refusals are not rarer 3 s later they are not about pace (random faults): the
        old pace and ceiling come back and nothing is learned for a while."""
        if self.announced is not None or now < self._no_cuts_until:
            return
        start = now - _LEARN_WINDOW_S
        if self._learned is not None:
            rate, ceiling, share, when = self._learned
            if now - when < _LEARN_JUDGED_AFTER_S:
                return
            since = max(when, start)
            sent = sum(1 for t in self._recent if t >= since)
            refused = sum(1 for t in self._rejections if t >= since)
            self._learned = None
            if refused >= 3 and refused / max(sent, 1) > 0.5 * share:
                self.per_second, self.ceiling = rate, ceiling
                self._no_cuts_until = now + self._cut_freeze_s
                self._cut_freeze_s = min(120.0, self._cut_freeze_s * 2)
            return
        sent_times = [t for t in self._recent if t >= start]
        refused = sum(1 for t in self._rejections if t >= start)
        if refused < 3 or refused < _LEARN_SHARE * len(sent_times):
            return
        span = max(1.0, now - min(sent_times, default=now))
        accepted = sum(1 for t in self._successes if t >= start)
        learned = 0.9 * accepted / span
        if not self.min_rate <= learned < self.per_second:
            return
        self._learned = (self.per_second, self.ceiling, refused / max(len(sent_times), 1), now)
        self.ceiling = min(self.ceiling, learned)
        self.per_second = learned

    def on_success(self) -> None:
        """An answered call: creep back up towards the ceiling (about +5% per second of
        answers), so a rate lowered by a transient burst of 429s recovers."""
        self._successes.append(time.monotonic())
        if self.per_second < self.ceiling:
            bump = 1.0 + 0.05 / max(self.per_second, 1.0)
            self.per_second = min(self.ceiling, self.per_second * bump)

    def observe(self, throttle: Throttle | None) -> None:
        """Read the provider's rate-limit headers (as parsed by the adapter)."""
        if throttle is None:
            return
        if throttle.remaining is not None and throttle.remaining <= 0 and throttle.reset_after_s:
            # capped: a window reset can be a minute away, and some 429s report an empty
            # window they do not enforce; after the cap one probe goes out (and re-pauses)
            pause = min(throttle.reset_after_s, self.max_pause_s)
            self._paused_until = max(self._paused_until, time.monotonic() + pause)
        announced = throttle.limit_per_second if self.stats.throttled else None
        window = getattr(throttle, "limit_window_s", None)
        short_window = window <= 60 if window is not None else None
        if (
            announced is not None
            and math.isfinite(announced)
            and announced > 0
            and (short_window or (short_window is None and announced >= _SLOWEST_ANNOUNCED_PACE))
            and announced != self.announced
        ):
            self.announced = announced
            pace = 0.97 * announced
            self.ceiling = min(self.ceiling, pace) if self.announced_from_config else pace
            self.per_second = min(self.per_second, self.ceiling)

    def observe_finding(self, finding: Finding) -> None:
        """Learn from one answer: its headers, a refusal, or a success."""
        error = finding.error
        if isinstance(error, RateLimited):
            self.on_rate_limited(error.retry_after)
        elif finding.outcome != "error":
            self.on_success()
        self.observe(finding.throttle)
