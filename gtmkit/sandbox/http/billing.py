"""Per-key credit counters for the simulated providers.

Each (provider, key) pair has an allowance; a call that would need more than what is left is
refused the provider's way (402, ``INSUFFICIENT_CREDITS``, Dropcontact's 403). Keys are kept only
as one-way digests. The ledger also keeps what each provider charged in total, so tests and
benchmarks can reconcile the engine's own ledger against what the "provider" billed.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

#: Allowance per key when none is configured: large enough never to run out in a benchmark,
#: small enough to be reported as a plausible "credits left" figure.
DEFAULT_ALLOWANCE = 1_000_000


class CreditLedger:
    """Credit allowance and usage per (provider, key digest).

    Args:
        allowance: credits each key starts with, for every provider (an int) or per provider
            (a mapping; providers not named get :data:`DEFAULT_ALLOWANCE`). ``None`` = default.

    Example:
        >>> ledger = CreditLedger({"pdl": 2})
        >>> ledger.charge("pdl", "k1", 1)
        >>> ledger.remaining("pdl", "k1")
        1.0
        >>> ledger.can_afford("pdl", "k1", 2)
        False
    """

    def __init__(self, allowance: int | Mapping[str, int] | None = None) -> None:
        if allowance is None:
            self._allowance: dict[str, float] = {}
            self._default = float(DEFAULT_ALLOWANCE)
        elif isinstance(allowance, Mapping):
            self._allowance = {str(k): float(v) for k, v in allowance.items()}
            self._default = float(DEFAULT_ALLOWANCE)
        else:
            self._allowance = {}
            self._default = float(allowance)
        if any(v < 0 for v in self._allowance.values()) or self._default < 0:
            raise ValueError("credit allowances must be >= 0")
        self._used: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()  # the loopback server and the transport may share one

    def allowance(self, provider: str) -> float:
        return self._allowance.get(provider, self._default)

    def used(self, provider: str, key_id: str | None = None) -> float:
        """Credits used by one key, or by all keys of the provider when ``key_id`` is None."""
        if key_id is not None:
            return self._used.get((provider, key_id), 0.0)
        return sum(v for (p, _), v in self._used.items() if p == provider)

    def remaining(self, provider: str, key_id: str) -> float:
        return max(0.0, self.allowance(provider) - self.used(provider, key_id))

    def can_afford(self, provider: str, key_id: str, amount: float) -> bool:
        return self.remaining(provider, key_id) >= amount

    def charge(self, provider: str, key_id: str, amount: float) -> None:
        if amount:
            with self._lock:
                slot = (provider, key_id)
                self._used[slot] = self._used.get(slot, 0.0) + amount

    def refund(self, provider: str, key_id: str, amount: float) -> None:
        self.charge(provider, key_id, -amount)

    def totals(self) -> dict[str, float]:
        """Credits charged per provider over all keys (for reconciliation)."""
        out: dict[str, float] = {}
        for (provider, _), value in self._used.items():
            out[provider] = out.get(provider, 0.0) + value
        return out
