"""The vocabulary the layers speak: a ``Lookup`` goes down, an ``Answer`` or a ``Failure``
comes back up.

Example:
    >>> f = Failure("budget", "budget exhausted: 10 of 10 credits spent")
    >>> f.stops_row
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.providers.base import Finding, Provider
    from gtmkit.providers.errors import ProviderError

#: (provider name, endpoint, lookup key): what is paid for once, cached and claimed
ClaimKey = tuple[str, str, str]


@dataclass(slots=True)
class RowAccount:
    """What one row has cost so far (a row has at most one call in flight)."""

    row_id: int
    credits: float = 0.0
    held: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 0


@dataclass(slots=True)
class Lookup:
    """One provider call a row needs, as it travels down the layers."""

    name: str
    adapter: Provider
    key: str
    record: Mapping[str, Any]
    row: RowAccount
    step: int
    worst: float
    price: float
    attempt: int = 0
    #: set once the call's intent is committed: from then on it may be billed
    sent: bool = False
    #: the breaker's epoch for this provider when the call was admitted
    epoch: int = 0
    #: the budget's reservation for this call (a shared budget marks it sent with the intent)
    hold: object = None

    @property
    def endpoint(self) -> str:
        return self.adapter.endpoint

    @property
    def claim_key(self) -> ClaimKey:
        return (self.name, self.adapter.endpoint, self.key)

    @property
    def local(self) -> bool:
        """Free local steps (the pattern guess) have no ledger, cache or budget."""
        return self.adapter.kind == "local"


@dataclass(slots=True)
class Answer:
    """What a provider answered to a lookup (``hit`` or ``miss``), fresh or reused."""

    outcome: str
    fields: Mapping[str, Any]
    email_status: str | None = None
    provider_status: str | None = None
    confidence: float | None = None
    http_status: int | None = None
    fields_json: str = "{}"
    cached: bool = False
    #: what the answer cost when it was bought (a reuse costs nothing)
    credits: float = 0.0

    @classmethod
    def of(cls, finding: Finding) -> Answer:
        fields = dict(finding.fields or {})
        return cls(
            finding.outcome,
            fields,
            finding.email_status,
            finding.provider_status,
            finding.confidence,
            finding.http_status,
            json.dumps(fields, sort_keys=True, default=str) if fields else "{}",
        )

    def reused(self) -> Answer:
        """The same answer, marked as a free reuse."""
        return Answer(
            self.outcome,
            self.fields,
            self.email_status,
            self.provider_status,
            self.confidence,
            self.http_status,
            self.fields_json,
            cached=True,
            credits=self.credits,
        )


FailureKind = Literal["budget", "row_cap", "disabled", "error", "stopped", "busy"]


@dataclass(slots=True)
class Failure:
    """Why a lookup produced no answer.

    ``error`` carries the provider's typed error while the retry layer may still act on it;
    ``busy`` means another process is paying for the same lookup right now.
    """

    kind: FailureKind
    reason: str
    error: ProviderError | None = field(default=None, repr=False)

    @property
    def stops_row(self) -> bool:
        """Budget, row cap and a stopped run end the row's walk (a resume continues it)."""
        return self.kind in ("budget", "row_cap", "stopped")


@dataclass(slots=True)
class Sent:
    """A call that went out: the adapter's finding, what it is booked at, and the answer read
    from it once (for the ledger and for the row)."""

    finding: Finding
    credits: float
    held: float
    answer: Answer | None = None

    @property
    def read(self) -> Answer:
        if self.answer is None:
            self.answer = Answer.of(self.finding)
        return self.answer
