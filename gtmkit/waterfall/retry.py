"""When to send a failed call again, how long to wait, and when to stop using a provider.

Retried: rate limits (429 and the like, honouring ``Retry-After``), 5xx, timeouts, connection
resets and malformed bodies (those capped lower: a body that never parses is not transient).
Never retried: 400/404/422 (:class:`~gtmkit.providers.errors.BadRequest`). Auth failures and
exhausted credits open the provider's circuit breaker for the rest of the run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from gtmkit.providers.errors import MalformedResponse, ProviderError, RateLimited


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter.

    Args:
        max_attempts: attempts per lookup, first call included.
        max_rate_limited_attempts: attempts when the failures are rate limits (flow control
            rather than failure: the provider says when to come back).
        max_malformed_attempts: cap for malformed bodies.
        base_s: first backoff ceiling; the n-th retry waits ``uniform(0, base * 2**(n-1))``.
        max_backoff_s: ceiling of any single wait (a provider's Retry-After is honoured up to
            ``max_retry_after_s``).
        max_retry_after_s: longest Retry-After the engine accepts before giving up on the call.
    """

    max_attempts: int = 6
    max_malformed_attempts: int = 3
    max_rate_limited_attempts: int = 10
    base_s: float = 0.2
    max_backoff_s: float = 10.0
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_malformed_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_s < 0 or self.max_backoff_s < 0:
            raise ValueError("backoff times must be non-negative")

    def should_retry(self, error: ProviderError, attempt: int, *, same_kind: int = 1) -> bool:
        """Whether to try again after attempt number ``attempt`` (1-based) failed with
        ``error``, the ``same_kind``-th failure of that kind for this lookup."""
        if not error.retryable or error.disables_provider:
            return False
        if isinstance(error, MalformedResponse):
            return same_kind < self.max_malformed_attempts and attempt < self.max_attempts
        if isinstance(error, RateLimited):
            if (error.retry_after or 0) > self.max_retry_after_s:
                return False
            return attempt < max(self.max_attempts, self.max_rate_limited_attempts)
        return attempt < self.max_attempts

    def delay(self, error: ProviderError, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        ceiling = min(self.max_backoff_s, self.base_s * (2 ** (attempt - 1)))
        jitter = rng.uniform(0.0, ceiling)
        if isinstance(error, RateLimited) and error.retry_after:
            # the provider said when; a little jitter keeps retries from arriving in lockstep
            return float(error.retry_after) + rng.uniform(0.0, min(ceiling, 0.25))
        return jitter


class CircuitBreaker:
    """Per-provider switch opened by auth errors and exhausted credits, for the rest of a run."""

    def __init__(self) -> None:
        self.reasons: dict[str, str] = {}

    def is_open(self, provider: str) -> bool:
        return provider in self.reasons

    def trip(self, provider: str, error: ProviderError) -> None:
        if provider not in self.reasons:
            status = f" (HTTP {error.http_status})" if error.http_status else ""
            self.reasons[provider] = f"{error.kind}{status}"
