"""Token-bucket rate limits for the simulated providers, plus the usage windows their
rate-limit headers report.

Each provider has one bucket (``rate`` requests/s, burst of one second's worth). A request that
finds the bucket empty is refused; the provider module turns the refusal into that provider's
answer (Apollo 429 + ``retry-after``, Hunter 403, PDL 429 with JSON-object headers and no
Retry-After, Prospeo 429 ``RATE_LIMITED``, Dropcontact plain 429).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from gtmkit.sandbox import twins
from gtmkit.sandbox.errors import SandboxError

#: Documented paid-plan limits, as requests/s (used by ``rate_limits=True`` and, when limits
#: are off, as the nominal figures the headers report).
DEFAULT_RATES: Mapping[str, float] = {
    "apollo": 1000 / 60,  # enrichment endpoints: 1,000/min on paid plans
    "hunter": 15.0,  # finder / domain search: 15 req/s
    "pdl": 1000 / 60,  # person enrichment: 1,000/min paid
    "prospeo": 5.0,  # enrich endpoints, Starter/Growth: 5/s
    "dropcontact": 60.0,  # "limited to 60 requests per second"
    **twins.RATES,
}


def parse_rate_limits(spec: bool | Mapping[str, float | bool] | str | None) -> dict[str, float]:
    """Normalize a ``rate_limits=`` option to provider → requests/s.

    ``True`` = documented defaults for every provider; ``False``/``None`` = no limits; a mapping
    names providers (value ``True`` = that provider's default); a string is the CLI form
    ``"apollo=20,hunter=40"`` (or ``"default"``).

    Example:
        >>> parse_rate_limits("apollo=20,hunter=40")
        {'apollo': 20.0, 'hunter': 40.0}
    """
    if spec is None or spec is False:
        return {}
    if spec is True:
        return dict(DEFAULT_RATES)
    if isinstance(spec, str):
        text = spec.strip()
        if text in {"", "none", "off"}:
            return {}
        if text in {"default", "defaults", "true"}:
            return dict(DEFAULT_RATES)
        parsed: dict[str, float | bool] = {}
        for part in text.split(","):
            name, sep, value = part.partition("=")
            if not sep:
                raise SandboxError(
                    f"rate limit {part!r} is not of the form provider=requests_per_s"
                )
            parsed[name.strip()] = float(value)
        spec = parsed
    out: dict[str, float] = {}
    for name, value in spec.items():
        if name not in DEFAULT_RATES:
            raise SandboxError(
                f"unknown provider {name!r} in rate limits ({sorted(DEFAULT_RATES)})"
            )
        if value is True:
            out[name] = DEFAULT_RATES[name]
        elif value is False or value is None:
            continue
        else:
            rate = float(value)
            if not rate > 0:
                raise SandboxError(f"rate limit for {name} must be > 0 requests/s, got {value!r}")
            out[name] = rate
    return out


#: ``RateInfo.retry_after_value`` meaning "derive the header from the bucket's wait".
AUTO_RETRY_AFTER = "auto"


@dataclass(frozen=True, slots=True)
class RateInfo:
    """What the rate limiter said about one request (feeds the provider's rate headers)."""

    allowed: bool
    retry_after_s: float  # 0 when allowed
    per_second: float  # configured (or nominal) sustained rate
    minute_limit: int
    minute_used: int
    hour_used: int
    day_used: int
    minute_reset_s: float
    day_reset_s: float
    now: float  # wall clock, for UTC timestamps
    #: the ``Retry-After`` text to send: :data:`AUTO_RETRY_AFTER` derives it from
    #: ``retry_after_s``; ``None`` sends no header (an injected fault can say either)
    retry_after_value: str | None = "auto"

    @property
    def minute_left(self) -> int:
        return max(0, self.minute_limit - self.minute_used)

    @property
    def retry_after_header(self) -> str | None:
        """Whole seconds, at least 1 (HTTP ``Retry-After`` is an integer), unless an injected
        fault chose the value (or no header: ``None``)."""
        if self.retry_after_value == AUTO_RETRY_AFTER:
            return str(max(1, math.ceil(self.retry_after_s)))
        return self.retry_after_value


class _ProviderState:
    __slots__ = ("burst", "day", "hour", "minute", "rate", "stamp", "tokens")

    def __init__(self, rate: float | None, now: float) -> None:
        self.rate = rate
        self.burst = max(1.0, rate or 1.0)
        self.tokens = self.burst
        self.stamp = now
        self.minute = [-1, 0]  # [window index, count]
        self.hour = [-1, 0]
        self.day = [-1, 0]


class RateLimiter:
    """One token bucket per limited provider and fixed usage windows for every provider.

    Args:
        rates: provider → requests/s (providers absent are not limited).
        clock: seconds, monotonic enough (injectable so tests are deterministic).

    Example:
        >>> t = [0.0]
        >>> limiter = RateLimiter({"apollo": 2}, clock=lambda: t[0])
        >>> [limiter.admit("apollo").allowed for _ in range(3)]
        [True, True, False]
        >>> t[0] += 0.5
        >>> limiter.admit("apollo").allowed
        True
    """

    def __init__(
        self, rates: Mapping[str, float] | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.rates = dict(rates or {})
        self._clock = clock
        self._states: dict[str, _ProviderState] = {}
        self._lock = threading.Lock()

    def admit(self, provider: str) -> RateInfo:
        now = self._clock()
        with self._lock:
            state = self._states.get(provider)
            if state is None:
                state = self._states[provider] = _ProviderState(self.rates.get(provider), now)
            wait = 0.0
            if state.rate is not None:
                state.tokens = min(state.burst, state.tokens + (now - state.stamp) * state.rate)
                state.stamp = now
                if state.tokens >= 1.0:
                    state.tokens -= 1.0
                else:
                    wait = (1.0 - state.tokens) / state.rate
            allowed = wait == 0.0
            counts = []
            for window, size in ((state.minute, 60), (state.hour, 3600), (state.day, 86400)):
                index = int(now // size)
                if window[0] != index:
                    window[0], window[1] = index, 0
                if allowed:
                    window[1] += 1
                counts.append(window[1])
            per_second = state.rate if state.rate is not None else DEFAULT_RATES.get(provider, 10.0)
            minute_limit = round(per_second * 60)
            if state.rate is None:
                # Not enforcing: the headers must not report a window this account never hits,
                # or a well-behaved client (the engine honours these headers) pauses for nothing.
                minute_limit += counts[0]
        return RateInfo(
            allowed=allowed,
            retry_after_s=wait,
            per_second=per_second,
            minute_limit=minute_limit,
            minute_used=counts[0],
            hour_used=counts[1],
            day_used=counts[2],
            minute_reset_s=60 - now % 60,
            day_reset_s=86400 - now % 86400,
            now=now,
        )
