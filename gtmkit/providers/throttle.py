"""Read a provider's rate-limit headers into a :class:`~gtmkit.providers.base.Throttle`.

Spellings handled (from ../shared/providers.md):

* Apollo: ``x-minute-requests-left``, ``x-hourly-requests-left``, and the day window under both
  ``x-24-hour-requests-left`` (current) and ``x-daily-requests-left`` (legacy); limits
  ``x-rate-limit-minute`` / ``-hourly`` / ``-24-hour`` / ``-daily``.
* PDL: ``x-ratelimit-remaining`` and ``x-ratelimit-limit`` as JSON objects
  (``{"minute": 1200, "day": null, "month": null}``), ``x-ratelimit-reset`` as a UTC timestamp.
* Prospeo: ``x-minute-request-left``, ``x-daily-request-left``, ``x-second-rate-limit``,
  ``x-minute-reset-seconds``, ``x-daily-reset-seconds``.
* Generic ``x-ratelimit-remaining`` / ``ratelimit-remaining`` / ``x-ratelimit-limit`` as plain
  numbers.

``remaining`` is the smallest number of requests left over all windows reported (the one that
will throttle first); ``reset_after_s`` is when that window resets, if said;
``limit_per_second`` is the shortest window's limit as a rate (what a burst hits first).

Example:
    >>> t = read_throttle({"x-minute-requests-left": "45", "x-daily-requests-left": "295",
    ...                    "x-rate-limit-minute": "50"})
    >>> t.remaining, round(t.limit_per_second, 3)
    (45, 0.833)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime

from gtmkit.providers.base import Throttle
from gtmkit.providers.errors import retry_after_seconds

_WINDOW_SECONDS = {
    "second": 1.0,
    "minute": 60.0,
    "hour": 3600.0,
    "hourly": 3600.0,
    "day": 86400.0,
    "daily": 86400.0,
    "24-hour": 86400.0,
    "month": 30 * 86400.0,
}

#: header → window, for "requests left" counters
_LEFT = {
    "x-second-requests-left": "second",
    "x-minute-requests-left": "minute",
    "x-hourly-requests-left": "hour",
    "x-24-hour-requests-left": "day",
    "x-daily-requests-left": "day",
    "x-minute-request-left": "minute",
    "x-daily-request-left": "day",
}
#: header → window, for limits
_LIMIT = {
    "x-rate-limit-minute": "minute",
    "x-rate-limit-hourly": "hour",
    "x-rate-limit-24-hour": "day",
    "x-rate-limit-daily": "day",
    "x-second-rate-limit": "second",
}
_RESET = {"x-minute-reset-seconds": "minute", "x-daily-reset-seconds": "day"}
#: every header read_throttle looks at
_QUOTA_HEADERS = frozenset(
    {*_LEFT, *_LIMIT, *_RESET, "x-ratelimit-remaining", "ratelimit-remaining"}
    | {"x-ratelimit-limit", "ratelimit-limit", "x-ratelimit-reset", "ratelimit-reset"}
)


def _number(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _windows(raw: str | None) -> dict[str, float]:
    """A header that is either a plain number (window unknown) or a PDL-style JSON object."""
    if raw is None:
        return {}
    raw = raw.strip()
    if raw.startswith("{"):
        try:
            data = json.loads(raw)
        except ValueError:
            return {}
        out: dict[str, float] = {}
        if isinstance(data, Mapping):
            for window, value in data.items():
                number = _number(value)
                if number is not None and str(window).lower() in _WINDOW_SECONDS:
                    out[str(window).lower()] = number
        return out
    number = _number(raw)
    return {"": number} if number is not None else {}


def read_throttle(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> Throttle | None:
    """Quota information from response headers, or ``None`` when there is none."""
    if not headers:
        return None
    h = {str(k).lower(): str(v) for k, v in headers.items()}
    if _QUOTA_HEADERS.isdisjoint(h):
        return None  # most answers carry no quota header (Hunter's never do): nothing to parse
    left: dict[str, float] = {}
    limits: dict[str, float] = {}
    resets: dict[str, float] = {}
    for name, window in _LEFT.items():
        number = _number(h.get(name))
        if number is not None:
            left[window] = min(number, left.get(window, number))
    for name, window in _LIMIT.items():
        number = _number(h.get(name))
        if number is not None:
            limits[window] = number
    for name, window in _RESET.items():
        number = _number(h.get(name))
        if number is not None:
            resets[window] = number
    for name in ("x-ratelimit-remaining", "ratelimit-remaining"):
        for window, number in _windows(h.get(name)).items():
            left[window or "unknown"] = number
    for name in ("x-ratelimit-limit", "ratelimit-limit"):
        for window, number in _windows(h.get(name)).items():
            if window:
                limits[window] = number
    generic_reset = None
    if "x-ratelimit-reset" in h or "ratelimit-reset" in h:
        generic_reset = retry_after_seconds(
            {"x-ratelimit-reset": h.get("x-ratelimit-reset") or h.get("ratelimit-reset", "")},
            now=now or datetime.now(UTC),
        )
    if not (left or limits or resets or generic_reset is not None):
        return None
    remaining: int | None = None
    reset_after: float | None = None
    if left:
        window, value = min(left.items(), key=lambda item: item[1])
        remaining = int(value)
        reset_after = resets.get(window)
    if reset_after is None and generic_reset is not None:
        reset_after = generic_reset
    if reset_after is None and resets:
        reset_after = min(resets.values())
    # Pacing follows the shortest window's limit (the one a burst hits first).
    positive = [(window, value) for window, value in limits.items() if value > 0]
    per_second = None
    if positive:
        window, value = min(positive, key=lambda item: _WINDOW_SECONDS[item[0]])
        per_second = value / _WINDOW_SECONDS[window]
    return Throttle(remaining=remaining, reset_after_s=reset_after, limit_per_second=per_second)
