"""Typed provider errors: the one place HTTP statuses and provider error bodies become exceptions.

Adapters never raise these out of ``Provider.lookup``; they are carried on
``Finding.error`` so the engine can decide what to do (retry, back off, open the circuit
breaker, or give up on the row). Messages never contain an API key.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base class for everything a provider call can fail with.

    Attributes:
        provider: provider name (``"apollo"``...).
        http_status: the HTTP status, or ``None`` for transport failures.
        retryable: whether sending the same request again may succeed.
        disables_provider: whether the provider is unusable for the rest of the run
            (bad key, out of credits): the engine's circuit breaker opens.
    """

    retryable: bool = False
    disables_provider: bool = False

    def __init__(self, message: str, *, provider: str = "", http_status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.http_status = http_status

    @property
    def kind(self) -> str:
        """Short machine-readable name used in attempt logs (``"rate_limited"``...)."""
        return _KIND_BY_CLASS.get(type(self), "provider_error")


class RateLimited(ProviderError):
    """429 (or a provider's own throttle answer, e.g. Hunter's 403). Retry after a pause."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        http_status: int | None = 429,
        retry_after: float | None = None,
    ):
        super().__init__(message, provider=provider, http_status=http_status)
        self.retry_after = retry_after


class AuthError(ProviderError):
    """401/403: missing, invalid or out-of-scope key. Disables the provider for the run."""

    disables_provider = True


class OutOfCredits(ProviderError):
    """402 or a credits-exhausted body. Disables the provider for the run."""

    disables_provider = True


class BadRequest(ProviderError):
    """400/404/422 on a request the provider will never accept as sent. Not retried."""


class ProviderDown(ProviderError):
    """5xx, connection refused or reset: the provider is (maybe briefly) unavailable."""

    retryable = True


class ProviderTimeout(ProviderDown):
    """The request timed out. Retryable, like any transient outage."""


class MalformedResponse(ProviderError):
    """The body could not be parsed into the provider's documented shape. Retried once or twice:
    a truncated body is usually a transient fault, but the engine caps the retries."""

    retryable = True


_KIND_BY_CLASS: dict[type[ProviderError], str] = {
    ProviderError: "provider_error",
    RateLimited: "rate_limited",
    AuthError: "auth",
    OutOfCredits: "out_of_credits",
    BadRequest: "bad_request",
    ProviderDown: "provider_down",
    ProviderTimeout: "timeout",
    MalformedResponse: "malformed_response",
}
