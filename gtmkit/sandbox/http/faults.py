"""Seeded, reproducible fault injection for the simulated providers.

Whether a request fails, and how, is a pure function of ``(seed, provider, request fingerprint,
attempt number of that fingerprint)``. So a run is reproducible, and a *retry* of the same request
is a fresh draw that can succeed — which is what makes retry logic testable.

Example:
    >>> from gtmkit.sandbox import FaultConfig
    >>> faults = FaultConfig(rate=0.1, kinds=("429", "5xx", "timeout"), seed=3)
    >>> faults.rate
    0.1
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, get_args

from gtmkit.sandbox.http.wire import unit_float

FaultKind = Literal["429", "5xx", "timeout", "reset", "malformed", "401", "402", "slow"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)
#: Transient faults (a retry can help); ``401``/``402`` disable a provider and are opt-in.
DEFAULT_KINDS: tuple[FaultKind, ...] = ("429", "5xx", "timeout", "reset", "malformed")


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Which faults to inject and how often.

    Args:
        rate: probability in [0, 1] that one attempt of one request is answered with a fault.
        kinds: fault kinds drawn from uniformly: ``"429"`` (the provider's rate-limit answer,
            Hunter's 403 included), ``"5xx"`` (500 with the provider's error body, or a 502/503
            gateway page), ``"timeout"`` (in process: ``httpx.ReadTimeout``; on loopback: the
            request is held past the client's timeout), ``"reset"`` (in process:
            ``httpx.ReadError`` / ``RemoteProtocolError``; on loopback: the TCP connection is
            aborted), ``"malformed"`` (200 with truncated JSON), ``"401"`` (the provider's
            bad-key answer), ``"402"`` (its out-of-credits answer), ``"slow"`` (the normal
            answer, ``slow_s`` late).
        seed: seed of the draws.
        slow_s: extra delay of a ``"slow"`` answer, seconds.
        timeout_s: in process, how long to wait before raising ``ReadTimeout`` (capped by the
            client's read timeout).
        hold_s: on loopback, how long a ``"timeout"`` request is held before the connection is
            dropped (should exceed the client's timeout).
        max_consecutive: if set, a request that already failed this many times in a row is
            answered normally (guarantees progress for bounded-retry tests).
        providers: restrict faults to these providers (``None`` = all).

    Faulted requests are never billed.
    """

    rate: float = 0.0
    kinds: tuple[FaultKind, ...] = DEFAULT_KINDS
    seed: int = 0
    slow_s: float = 1.0
    timeout_s: float = 0.05
    hold_s: float = 30.0
    max_consecutive: int | None = None
    providers: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate!r}")
        kinds = (self.kinds,) if isinstance(self.kinds, str) else tuple(self.kinds)
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown or not kinds:
            raise ValueError(f"fault kinds must be a non-empty subset of {FAULT_KINDS}: {kinds}")
        object.__setattr__(self, "kinds", kinds)
        if self.providers is not None:
            object.__setattr__(self, "providers", tuple(self.providers))
        for name in ("slow_s", "timeout_s", "hold_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")


class FaultInjector:
    """Stateful side of :class:`FaultConfig`: counts attempts per request fingerprint."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._attempts: dict[bytes, list[int]] = {}  # fingerprint → [attempts, consecutive]
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def decide(self, provider: str, fingerprint: bytes) -> tuple[FaultKind, float] | None:
        """The fault for this attempt of this request (and a draw in [0, 1) for sub-choices such
        as which 5xx status), or ``None`` to answer normally."""
        config = self.config
        if config.rate <= 0.0 or (
            config.providers is not None and provider not in config.providers
        ):
            return None
        with self._lock:
            slot = self._attempts.get(fingerprint)
            if slot is None:
                slot = self._attempts[fingerprint] = [0, 0]
            attempt = slot[0]
            slot[0] += 1
            if config.max_consecutive is not None and slot[1] >= config.max_consecutive:
                slot[1] = 0
                return None
            draw = unit_float(config.seed, provider, fingerprint.hex(), attempt)
            if draw >= config.rate:
                slot[1] = 0
                return None
            slot[1] += 1
            pick = unit_float(config.seed, "kind", fingerprint.hex(), attempt)
            kind = config.kinds[min(int(pick * len(config.kinds)), len(config.kinds) - 1)]
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind, unit_float(config.seed, "detail", fingerprint.hex(), attempt)
