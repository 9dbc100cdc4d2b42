"""Per-key credit counters for the simulated providers, and the meter of every billed call.

Each (provider, key) pair has an allowance; a call that would need more than what is left is
refused the provider's way (402, ``INSUFFICIENT_CREDITS``, Dropcontact's 403). Keys are kept only
as one-way digests. The ledger also keeps what each provider charged in total and, per billed
call, which request it was (its fingerprint), so tests and benchmarks can reconcile an engine's
own books against what the "provider" billed, and see a paid lookup that was paid twice.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from gtmkit.sandbox.errors import SandboxError

#: Allowance per key when none is configured: large enough never to run out in a benchmark,
#: small enough to be reported as a plausible "credits left" figure.
DEFAULT_ALLOWANCE = 1_000_000


@dataclass(slots=True)
class BilledCall:
    """One call a provider charged: which request (its fingerprint, hex) and the net credits
    (a Dropcontact refund lowers them)."""

    provider: str
    request: str
    credits: float
    #: the path below the provider's API prefix (``/email-verifier``): which endpoint billed
    path: str = ""


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
        >>> call = ledger.charge("pdl", "k1", 1, request=b"same lookup")
        >>> _ = ledger.charge("pdl", "k1", 1, request=b"same lookup")
        >>> ledger.repeated_requests()
        1
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
            raise SandboxError("credit allowances must be >= 0")
        self._used: dict[tuple[str, str], float] = {}
        self._calls: list[BilledCall] = []  # every charge with a request, in order
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

    def charge(
        self,
        provider: str,
        key_id: str,
        amount: float,
        *,
        request: bytes | None = None,
        path: str = "",
    ) -> int | None:
        """Take ``amount`` credits from the key; with ``request`` (the request's fingerprint)
        the call is metered too, and its index is returned for a later :meth:`refund`."""
        if not amount:
            return None
        with self._lock:
            slot = (provider, key_id)
            self._used[slot] = self._used.get(slot, 0.0) + amount
            if request is None:
                return None
            self._calls.append(BilledCall(provider, request.hex(), float(amount), path))
            return len(self._calls) - 1

    def refund(self, provider: str, key_id: str, amount: float, *, call: int | None = None) -> None:
        """Give ``amount`` credits back (to the metered ``call`` when given)."""
        if not amount:
            return
        with self._lock:
            slot = (provider, key_id)
            self._used[slot] = self._used.get(slot, 0.0) - amount
            if call is not None:
                self._calls[call].credits -= amount

    def billed_calls(self, provider: str | None = None) -> list[BilledCall]:
        """Every metered call that cost something (net of refunds), in billing order."""
        with self._lock:
            calls = [BilledCall(c.provider, c.request, c.credits, c.path) for c in self._calls]
        return [c for c in calls if c.credits > 0 and provider in (None, c.provider)]

    def billed_requests(self, provider: str | None = None) -> Counter[tuple[str, str]]:
        """``(provider, request fingerprint) → number of times it was billed``."""
        return Counter((c.provider, c.request) for c in self.billed_calls(provider))

    def repeated_requests(self, provider: str | None = None) -> int:
        """Billed calls that repeated a request already billed: paid lookups paid again."""
        return sum(n - 1 for n in self.billed_requests(provider).values())

    def totals(self) -> dict[str, float]:
        """Credits charged per provider over all keys (for reconciliation)."""
        out: dict[str, float] = {}
        with self._lock:
            used = list(self._used.items())
        for (provider, _), value in used:
            out[provider] = out.get(provider, 0.0) + value
        return out
