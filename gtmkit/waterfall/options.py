"""``RunOptions``: every option of a run, in one frozen value, each number validated.

``Waterfall.run(records, budget_credits=200)`` and
``Waterfall.run(records, options=RunOptions(budget_credits=200))`` are the same call: the
keyword form builds a ``RunOptions``, so the option list is written once, here.

Every number is checked for type and range, because a budget is money: ``nan`` compares false
with everything and would mean "no cap", ``True`` is an ``int`` in Python and would mean a
budget of 1. Both are refused with a message that says what to pass instead.

Example:
    >>> RunOptions(budget_credits=200).budget_credits
    200.0
    >>> try:
    ...     RunOptions(budget_credits=float("nan"))
    ... except RunOptionsError as exc:
    ...     print(exc)
    budget_credits must be a finite, non-negative number (use None for no cap), got nan
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from gtmkit.waterfall.breaker import BreakerPolicy
from gtmkit.waterfall.retry import RetryPolicy
from gtmkit.waterfall.validate import NumberError, cap, finite, whole

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.waterfall.backends import Backends
    from gtmkit.waterfall.ledger import Ledger
    from gtmkit.waterfall.limits import RateLimitsOption
    from gtmkit.waterfall.progress import RunProgress

Mode = Literal["auto", "sandbox", "live"]

#: Where a run's ledger lives when none is given.
DEFAULT_LEDGER_PATH = Path("data") / "ledger.sqlite"


class RunOptionsError(NumberError):
    """A run option has the wrong type or an impossible value; the message says which."""


@dataclass(frozen=True, slots=True)
class RunOptions:
    """How to run a waterfall. See ``gtmkit/waterfall/README.md`` for the table.

    Attributes:
        budget_credits: hard cap in credits for the run, across its resumes (``None``: no cap).
        budget_usd: hard cap in dollars (credits × each provider's price per credit).
        per_row_cap_credits: most credits one row may cost.
        ledger: SQLite ledger path, an open ``Ledger``, or ``None`` (no cache, no resume).
        providers: an open ``gtmkit.providers.connect(...)`` connection or
            ``{name: Provider}``; ``None`` connects ``wf.providers`` with ``mode``.
        mode: ``"auto"``, ``"sandbox"`` or ``"live"`` when the engine connects.
        connect_options: keyword arguments for ``gtmkit.providers.connect``.
        progress: a tqdm bar (``True``), nothing (``False``), or a callable that receives
            :class:`~gtmkit.waterfall.progress.RunProgress` snapshots (a widget).
        cancel: a ``threading.Event``; once set, no new call starts, calls in flight finish,
            and rows not finished end ``stopped``. A later run resumes them.
        deadline_s: wall-clock bound of the run in seconds; at the deadline calls in flight
            are abandoned (held at their worst case) and unfinished rows end ``stopped``.
        concurrency: rows in flight at once (default: 8× the providers' in-flight caps).
        max_in_flight: override every provider's in-flight cap.
        cache_ttl_days: cache entries older than this are looked up again (0 = no cache).
        rate_limits: ``"auto"``, ``"off"`` or ``{provider: RateLimit | requests per second}``.
        retry: backoff policy.
        breaker: when a provider is stopped for the run (see :class:`BreakerPolicy`).
        resume: continue an interrupted run of the same spec and list (its budget included).
        seed: seeds the retry jitter.
        backends: where the shared, money-keeping parts come from (default: this process and
            the SQLite ledger); the queue tier passes its shared ones (see ``backends.py``).
    """

    budget_credits: float | None = None
    budget_usd: float | None = None
    per_row_cap_credits: float | None = None
    ledger: str | Path | Ledger | None = DEFAULT_LEDGER_PATH
    providers: Any = None
    mode: Mode = "auto"
    connect_options: Mapping[str, Any] | None = None
    progress: bool | Callable[[RunProgress], None] = True
    cancel: threading.Event | None = None
    deadline_s: float | None = None
    concurrency: int | None = None
    max_in_flight: int | None = None
    cache_ttl_days: float = 90.0
    rate_limits: RateLimitsOption = "auto"
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    resume: bool = True
    seed: int = 0
    backends: Backends | None = None

    def __post_init__(self) -> None:
        error = RunOptionsError
        for name in ("budget_credits", "budget_usd", "per_row_cap_credits"):
            object.__setattr__(self, name, cap(name, getattr(self, name), error=error))
        ttl = finite("cache_ttl_days", self.cache_ttl_days, error=error)
        object.__setattr__(self, "cache_ttl_days", ttl)
        if self.deadline_s is not None:
            deadline = finite("deadline_s", self.deadline_s, strict=True, error=error)
            object.__setattr__(self, "deadline_s", deadline)
        for name in ("concurrency", "max_in_flight"):
            if getattr(self, name) is not None:
                whole(name, getattr(self, name), error=error)
        if self.mode not in ("auto", "sandbox", "live"):
            raise RunOptionsError(f"mode must be 'auto', 'sandbox' or 'live', got {self.mode!r}")
        if not (isinstance(self.progress, bool) or callable(self.progress)):
            raise RunOptionsError(
                f"progress must be True, False or a callable, got {self.progress!r}"
            )
        if self.cancel is not None and not hasattr(self.cancel, "is_set"):
            raise RunOptionsError("cancel must be a threading.Event (or None)")
        if self.retry is None:
            object.__setattr__(self, "retry", RetryPolicy())
        if self.breaker is None:
            object.__setattr__(self, "breaker", BreakerPolicy())
        if not isinstance(self.retry, RetryPolicy) or not isinstance(self.breaker, BreakerPolicy):
            raise RunOptionsError("retry must be a RetryPolicy and breaker a BreakerPolicy")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise RunOptionsError(f"seed must be a whole number, got {self.seed!r}")

    @classmethod
    def build(cls, options: RunOptions | None = None, /, **overrides: Any) -> RunOptions:
        """``options`` (or the defaults) with keyword overrides; an unknown name is refused
        with the list of known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise RunOptionsError(f"unknown run option(s) {unknown}; known: {sorted(known)}")
        base = options if options is not None else cls()
        if not isinstance(base, RunOptions):
            raise RunOptionsError(f"options must be a RunOptions, got {type(base).__name__}")
        return dataclasses.replace(base, **overrides) if overrides else base

    @property
    def ttl_s(self) -> float:
        return self.cache_ttl_days * 86400.0
