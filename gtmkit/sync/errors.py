"""The errors ``gtmkit.sync`` raises: each says what happened and what to do, and none carries a
credential (destination clients keep their token out of every message they build).

Example:
    >>> from gtmkit.errors import GtmkitError
    >>> issubclass(MappingError, GtmkitError) and issubclass(MappingError, ValueError)
    True
"""

from __future__ import annotations

from gtmkit.errors import GtmkitError

__all__ = [
    "DestinationError",
    "MappingError",
    "MissingDestinationCredentials",
    "PlanNotSeen",
    "SyncError",
]


class SyncError(GtmkitError):
    """Base class of every ``gtmkit.sync`` error."""


class MappingError(SyncError, ValueError):
    """The field mapping does not fit the records or the destination's schema."""


class PlanNotSeen(SyncError, RuntimeError):
    """A write was asked for without a dry-run plan (or the plan was already written)."""


class MissingDestinationCredentials(SyncError, RuntimeError):
    """A live destination without its credential in the environment."""


class DestinationError(SyncError):
    """A destination call failed as a whole (not one record of a batch).

    Attributes:
        destination: ``"hubspot"``, ``"salesforce"``...
        http_status: the HTTP status, or ``None`` for a transport failure.
        kind: short machine-readable reason (``"rate_limited"``, ``"daily_limit"``,
            ``"auth"``, ``"server"``, ``"bad_request"``, ``"transport"``).
        retryable: whether the same call may succeed later (the records stay in the failed
            table of the sync ledger either way).
    """

    def __init__(
        self,
        message: str,
        *,
        destination: str,
        kind: str,
        http_status: int | None = None,
        retryable: bool = False,
    ) -> None:
        super().__init__(message)
        self.destination = destination
        self.kind = kind
        self.http_status = http_status
        self.retryable = retryable
