"""When to send a failed call again, and how long to wait first.

Retried: rate limits (429 and the like, honouring ``Retry-After``), 5xx, connection failures,
timeouts and malformed bodies (those two capped lower: a call whose answer never arrived may
have been billed, and a body that never parses is not transient). A 2xx answer whose body cannot
be read is never retried: the provider processed the request and may have billed it. Never
retried: 400/404/422 (:class:`~gtmkit.providers.errors.BadRequest`), and errors that stop a
provider (bad key, out of credits, quota used up) — the circuit breaker (``breaker.py``)
handles those.

Example:
    >>> from gtmkit.providers.errors import ProviderDown
    >>> RetryPolicy().should_retry(ProviderDown("down"), attempt=1)
    True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gtmkit.providers.errors import (
    MalformedResponse,
    ProviderError,
    ProviderTimeout,
    RateLimited,
)
from gtmkit.waterfall.validate import NumberError, finite, whole


class PolicyError(NumberError):
    """A retry or breaker policy has an impossible setting."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter.

    Args:
        max_attempts: attempts per lookup, first call included.
        max_rate_limited_attempts: attempts when the failures are rate limits (flow control
            rather than failure: the provider says when to come back).
        max_malformed_attempts: cap for malformed bodies.
        max_unknown_attempts: cap when the answer never arrived (timeouts): each such call may
            have been billed, so it is held at its worst case and retried at most this often.
        base_s: first backoff ceiling; the n-th retry waits ``uniform(0, base * 2**(n-1))``.
        max_backoff_s: ceiling of any single wait.
        max_retry_after_s: longest Retry-After the engine accepts before giving up on the call.
    """

    max_attempts: int = 6
    max_malformed_attempts: int = 3
    max_rate_limited_attempts: int = 10
    max_unknown_attempts: int = 2
    base_s: float = 0.2
    max_backoff_s: float = 10.0
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        for name in ("max_attempts", "max_malformed_attempts", "max_rate_limited_attempts",
                     "max_unknown_attempts"):  # fmt: skip
            whole(f"RetryPolicy.{name}", getattr(self, name), error=PolicyError)
        for name in ("base_s", "max_backoff_s", "max_retry_after_s"):
            finite(f"RetryPolicy.{name}", getattr(self, name), error=PolicyError)

    def should_retry(self, error: ProviderError, attempt: int, *, same_kind: int = 1) -> bool:
        """Whether to try again after attempt number ``attempt`` (1-based) failed with
        ``error``, the ``same_kind``-th failure of that kind for this lookup."""
        if not error.retryable or error.disables_provider:
            return False
        if isinstance(error, RateLimited):
            if (error.retry_after or 0) > self.max_retry_after_s:
                return False
            return attempt < max(self.max_attempts, self.max_rate_limited_attempts)
        if isinstance(error, MalformedResponse):
            if error.http_status is not None and 200 <= error.http_status < 300:
                # the provider answered "done" and may have billed it: asking again could pay
                # the lookup twice (its charge stays held at worst case instead)
                return False
            return same_kind < self.max_malformed_attempts and attempt < self.max_attempts
        if isinstance(error, ProviderTimeout):
            return same_kind < self.max_unknown_attempts and attempt < self.max_attempts
        return attempt < self.max_attempts

    def delay(self, error: ProviderError, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        ceiling = min(self.max_backoff_s, self.base_s * (2 ** (attempt - 1)))
        if isinstance(error, RateLimited) and error.retry_after:
            # the provider said when; a little jitter keeps retries from arriving in lockstep
            return max(0.0, float(error.retry_after)) + rng.uniform(0.0, min(ceiling, 0.25))
        return rng.uniform(0.0, ceiling)
