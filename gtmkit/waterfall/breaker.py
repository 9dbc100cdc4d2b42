"""The circuit breaker: when a provider stops being used, so rows fall through to the next step.

A provider is stopped for the rest of the run by an answer that says it cannot be used (a bad
key, out of credits, a used-up quota) or by charging more than it declares. It is stopped for a
cool-down — then one probe call decides whether it is back — when it looks dead:

* ``consecutive_failures`` failures in a row (5xx, resets, timeouts, malformed bodies);
* ``failure_share`` of the last ``window`` answers failed;
* no successful answer for ``stall_s`` while calls keep failing or being refused (a provider
  that answers every call with 429, whatever ``Retry-After`` says), or calls in flight and no
  answer at all for ``stall_s`` (a provider that accepts connections and never answers).

Rate-limit refusals never count towards the streak or the window: under a throttling storm
hundreds of calls in a row can be refused while the provider is perfectly healthy.

The thresholds sit far above what transient faults produce (at a 50% fault rate, 25 failures
in a row happen about once in 30 million calls), so a flaky provider keeps being retried and a
dead one is dropped within seconds.

Example:
    >>> breaker = CircuitBreaker(BreakerPolicy(consecutive_failures=2))
    >>> breaker.failed("hunter", "provider_down", now=0.0)
    >>> breaker.failed("hunter", "provider_down", now=0.1)
    >>> breaker.blocked("hunter", now=0.2)
    'hunter failed 2 calls in a row (provider_down); paused for 60 s'
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from gtmkit.waterfall.retry import PolicyError
from gtmkit.waterfall.validate import finite, whole


@dataclass(frozen=True)
class BreakerPolicy:
    """When the breaker opens (times in seconds). Adapters whose lookups legitimately take
    longer than ``stall_s`` (polling APIs) declare their own ``stall_after_s``."""

    #: failures in a row that open it
    consecutive_failures: int = 25
    #: answers in the failure-rate window (it needs this many before judging) ...
    window: int = 50
    #: the settings that count things (the others are seconds or a share)
    _COUNTS: ClassVar[tuple[str, str]] = ("consecutive_failures", "window")
    #: ... and the share of failures among them that opens it
    failure_share: float = 0.9
    #: no answer (or no successful answer while failing) for this long opens it
    stall_s: float = 5.0
    #: how long a provider that looked dead is left alone before one probe
    cooldown_s: float = 60.0

    def __post_init__(self) -> None:
        for name in self._COUNTS:
            whole(f"BreakerPolicy.{name}", getattr(self, name), error=PolicyError)
        for name in ("stall_s", "cooldown_s"):
            finite(f"BreakerPolicy.{name}", getattr(self, name), strict=True, error=PolicyError)
        share = finite("BreakerPolicy.failure_share", self.failure_share, strict=True,
                       error=PolicyError)  # fmt: skip
        if share > 1:
            raise PolicyError(f"BreakerPolicy.failure_share must be within (0, 1], got {share}")


@dataclass(slots=True)
class _Health:
    in_flight: int = 0
    quiet_since: float = 0.0  # last answer, or when calls went in flight after a quiet spell
    last_success: float | None = None
    first_sent: float | None = None
    streak: int = 0
    since_success: int = 0
    recent: deque[bool] = field(default_factory=deque)
    reopen_at: float | None = None  # cooling: a probe may go at this time
    probing: bool = False


class CircuitBreaker:
    """Per-provider switch. ``reasons`` holds every provider stopped at some point in the run."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self.reasons: dict[str, str] = {}
        #: the last reason each provider was stopped for, even if it came back later
        self.history: dict[str, str] = {}
        #: bumped every time a provider is stopped: a call admitted before cannot go after
        self.epochs: dict[str, int] = {}
        self._permanent: set[str] = set()
        self._health: dict[str, _Health] = {}
        self._stall_s: dict[str, float] = {}
        #: called with the provider's name when it opens because it is down, hanging or
        #: failing (the call layer abandons its calls); not when it is stopped for good
        self.on_open: list[Callable[[str], None]] = []

    def _of(self, provider: str) -> _Health:
        health = self._health.get(provider)
        if health is None:
            health = self._health[provider] = _Health(recent=deque(maxlen=self.policy.window))
        return health

    def set_stall(self, provider: str, seconds: float | None) -> None:
        """A provider's own stall bound (its adapter's ``stall_after_s``)."""
        if seconds is not None:
            self._stall_s[provider] = float(seconds)

    # -- asking ---------------------------------------------------------------------------
    def blocked(self, provider: str, *, now: float | None = None) -> str | None:
        """Why the provider cannot be called now, or ``None`` (a peek: takes no probe)."""
        if provider not in self.reasons:
            return None
        if provider in self._permanent:
            return self.reasons[provider]
        health = self._of(provider)
        now = time.monotonic() if now is None else now
        if health.reopen_at is not None and now >= health.reopen_at and not health.probing:
            return None
        return self.reasons[provider]

    def admit(self, provider: str, *, now: float | None = None) -> str | None:
        """Like :meth:`blocked`, but a cooled-down provider lets exactly one probe through."""
        reason = self.blocked(provider, now=now)
        if reason is None and provider in self.reasons:
            self._of(provider).probing = True
        return reason

    def is_open(self, provider: str) -> bool:
        return self.blocked(provider) is not None

    # -- telling --------------------------------------------------------------------------
    def sent(self, provider: str, *, now: float | None = None) -> None:
        health = self._of(provider)
        now = time.monotonic() if now is None else now
        if health.in_flight == 0:
            health.quiet_since = max(health.quiet_since, now)
        if health.first_sent is None:
            health.first_sent = now
        health.in_flight += 1

    def answered(self, provider: str, *, now: float | None = None) -> None:
        """A call came back (success or failure); pairs with :meth:`sent`."""
        health = self._of(provider)
        health.in_flight = max(0, health.in_flight - 1)
        health.quiet_since = time.monotonic() if now is None else now

    def succeeded(self, provider: str, *, now: float | None = None) -> None:
        health = self._of(provider)
        health.streak = health.since_success = 0
        health.last_success = time.monotonic() if now is None else now
        health.recent.append(True)
        if health.probing and provider not in self._permanent:
            health.probing, health.reopen_at = False, None
            self.reasons.pop(provider, None)  # the probe answered: the provider is back

    def refused(self, provider: str, *, now: float | None = None) -> None:
        """A rate-limit refusal: flow control, not ill health — it never counts towards the
        failure streak or window (a throttling storm is normal), only towards "no usable
        answer for ``stall_s``"."""
        health = self._of(provider)
        health.since_success += 1
        if provider not in self.reasons or health.probing:
            self.check(provider, now=now)

    def failed(self, provider: str, kind: str, *, now: float | None = None) -> None:
        """A call failed in a way that says the provider may be unwell (not a bad request)."""
        now = time.monotonic() if now is None else now
        health = self._of(provider)
        health.streak += 1
        health.since_success += 1
        health.recent.append(False)
        policy = self.policy
        if provider in self.reasons and not health.probing:
            return  # already stopped: answers still arriving from calls sent before
        if health.probing:
            self._cool(provider, f"{provider} probe failed ({kind})", now)
        elif health.streak >= policy.consecutive_failures:
            self._cool(provider, f"{provider} failed {health.streak} calls in a row ({kind})", now)
        elif len(health.recent) >= policy.window and (
            health.recent.count(False) >= policy.failure_share * len(health.recent)
        ):
            share = health.recent.count(False) / len(health.recent)
            self._cool(provider, f"{provider} failed {share:.0%} of its last calls ({kind})", now)
        else:
            self.check(provider, now=now)

    def check(self, provider: str, *, now: float | None = None) -> None:
        """Open for a stall (the run's watchdog calls this every fraction of a second)."""
        now = time.monotonic() if now is None else now
        health = self._of(provider)
        if provider in self.reasons and not health.probing:
            return
        stall = self._stall_s.get(provider, self.policy.stall_s)
        if health.in_flight and now - health.quiet_since > stall:
            self._cool(provider, f"{provider} did not answer for {stall:g} s", now)
            return
        baseline = health.last_success if health.last_success is not None else health.first_sent
        if health.since_success >= 3 and baseline is not None and now - baseline > stall:
            self._cool(
                provider,
                f"{provider} gave no usable answer for {stall:g} s "
                f"({health.since_success} refused or failed calls)",
                now,
            )

    def trip(self, provider: str, reason: str, *, abort: bool = True) -> None:
        """Stop the provider for the rest of the run. ``abort=False`` when the provider
        answers (it said no — bad key, no credits — or over-charged): its calls already sent
        are left to finish, since an answer abandoned after the provider billed it would be
        paid again by the next resume."""
        self._permanent.add(provider)
        self._open(provider, reason, abort=abort)

    def _cool(self, provider: str, reason: str, now: float) -> None:
        health = self._of(provider)
        health.probing = False
        health.reopen_at = now + self.policy.cooldown_s
        health.streak = 0
        health.recent.clear()
        self._open(provider, f"{reason}; paused for {self.policy.cooldown_s:g} s")

    def _open(self, provider: str, reason: str, *, abort: bool = True) -> None:
        self.epochs[provider] = self.epochs.get(provider, 0) + 1
        self.reasons[provider] = self.history[provider] = reason
        if not abort:
            return
        for callback in self.on_open:
            callback(provider)

    def watched(self) -> list[str]:
        """Providers the watchdog checks: calls in flight, or failing since their last
        success."""
        return [p for p, h in self._health.items() if h.in_flight or h.since_success]
