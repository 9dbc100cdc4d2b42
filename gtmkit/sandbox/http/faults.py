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

import math
import threading
from dataclasses import dataclass
from typing import Literal, get_args

from gtmkit.sandbox.errors import SandboxError
from gtmkit.sandbox.http.wire import unit_float

FaultKind = Literal[
    "429", "5xx", "timeout", "reset", "malformed", "401", "402", "slow", "late", "hang", "refuse"
]
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
            gateway page), ``"timeout"`` (in process: ``httpx.ReadTimeout`` after ``timeout_s``;
            on loopback: the request is held past the client's timeout), ``"reset"`` (in
            process: ``httpx.ReadError`` / ``RemoteProtocolError``; on loopback: the TCP
            connection is aborted), ``"malformed"`` (200 with truncated JSON), ``"401"`` (the
            provider's bad-key answer), ``"402"`` (its out-of-credits answer), ``"slow"`` (the
            normal answer, ``slow_s`` late), ``"late"`` (the provider processes and **bills**
            the request, then its answer arrives after the client gave up: in process
            ``httpx.ReadTimeout`` after ``timeout_s``; on loopback the answer is held for
            ``hold_s``), ``"hang"`` (the request is accepted and never answered: in process the
            client waits its whole read timeout, then ``httpx.ReadTimeout``; on loopback the
            connection is held open until the client closes it), ``"refuse"`` (the provider is
            down: in process ``httpx.ConnectError``, connection refused; on loopback the
            connection is aborted before the request is read — for a real refusal point a
            base URL at a closed port).
        seed: seed of the draws.
        slow_s: extra delay of a ``"slow"`` answer, seconds.
        timeout_s: in process, how long a ``"timeout"`` or ``"late"`` request waits before
            raising ``ReadTimeout`` (capped by the client's read timeout).
        hold_s: on loopback, how long a ``"timeout"`` or ``"late"`` request is held before the
            connection is dropped (should exceed the client's timeout).
        max_consecutive: if set, a request that already failed this many times in a row is
            answered normally (guarantees progress for bounded-retry tests).
        providers: restrict faults to these providers (``None`` = all).
        paths: restrict faults to requests whose path below the provider's API prefix starts
            with one of these (e.g. ``("/enrich/all/",)``: Dropcontact's polls, not its
            submits). ``None`` = every path.
        first_tries: fault only the *first* try of each request (by fingerprint); every later
            try of it is answered normally. With ``rate=1.0, kinds=("429",)``: a provider that
            refuses every first try and answers its retry.
        retry_after_s: the ``Retry-After`` an injected ``"429"`` carries, for the providers
            that send one (Apollo): seconds as sent (``0``, ``1e9``, a negative number), or
            ``None`` for no header at all.

    Billing is what a real provider would do: a faulted request is not billed, except
    ``"slow"`` and ``"late"`` (both processed, so billed as usual), and Dropcontact's submit,
    which is billed when it is accepted even if a later poll of its result is faulted.
    """

    rate: float = 0.0
    kinds: tuple[FaultKind, ...] = DEFAULT_KINDS
    seed: int = 0
    slow_s: float = 1.0
    timeout_s: float = 0.05
    hold_s: float = 30.0
    max_consecutive: int | None = None
    providers: tuple[str, ...] | None = None
    paths: tuple[str, ...] | None = None
    first_tries: bool = False
    retry_after_s: float | None = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise SandboxError(f"fault rate must be within [0, 1], got {self.rate!r}")
        kinds = (self.kinds,) if isinstance(self.kinds, str) else tuple(self.kinds)
        unknown = [k for k in kinds if k not in FAULT_KINDS]
        if unknown or not kinds:
            raise SandboxError(f"fault kinds must be a non-empty subset of {FAULT_KINDS}: {kinds}")
        object.__setattr__(self, "kinds", kinds)
        for name in ("providers", "paths"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        for name in ("slow_s", "timeout_s", "hold_s"):
            if not getattr(self, name) >= 0:  # also refuses NaN
                raise SandboxError(f"{name} must be >= 0")
        if self.retry_after_s is not None and math.isnan(self.retry_after_s):
            raise SandboxError("retry_after_s must be a number of seconds or None, not NaN")

    @property
    def retry_after_header(self) -> str | None:
        """The ``Retry-After`` value an injected 429 sends (``None``: no header)."""
        seconds = self.retry_after_s
        if seconds is None:
            return None
        return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


class FaultInjector:
    """Stateful side of :class:`FaultConfig`: counts attempts per request fingerprint."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self._attempts: dict[bytes, list[int]] = {}  # fingerprint → [attempts, consecutive]
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def decide(
        self, provider: str, fingerprint: bytes, path: str = "/"
    ) -> tuple[FaultKind, float] | None:
        """The fault for this attempt of this request (and a draw in [0, 1) for sub-choices such
        as which 5xx status), or ``None`` to answer normally."""
        config = self.config
        if config.rate <= 0.0 or (
            config.providers is not None and provider not in config.providers
        ):
            return None
        if config.paths is not None and not path.startswith(config.paths):
            return None
        with self._lock:
            slot = self._attempts.get(fingerprint)
            if slot is None:
                slot = self._attempts[fingerprint] = [0, 0]
            attempt = slot[0]
            slot[0] += 1
            if config.first_tries and attempt > 0:
                return None
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
