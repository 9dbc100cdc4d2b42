"""The waterfall engine: run ordered providers over a list without wasting a credit.

``Waterfall`` is the declarative spec, ``.run`` / ``.run_async`` execute it with an exact
budget, per-provider limits, retries, a circuit breaker, and a SQLite ``Ledger`` that records
every attempt, caches answers and lets a killed run resume.

Example:
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> wf = Waterfall([Step("hunter"), Step("apollo")], verify="hunter_verifier")
    >>> wf.providers
    ('hunter', 'apollo', 'hunter_verifier')
"""

from __future__ import annotations

from gtmkit.waterfall.budget import Budget, BudgetExhausted
from gtmkit.waterfall.engine import run_async
from gtmkit.waterfall.estimate import estimate
from gtmkit.waterfall.ledger import DEFAULT_LEDGER_PATH, Ledger
from gtmkit.waterfall.limits import ProviderLimiter
from gtmkit.waterfall.result import STATUSES, WaterfallResult
from gtmkit.waterfall.retry import CircuitBreaker, RetryPolicy
from gtmkit.waterfall.spec import SpecError, Step, Waterfall
from gtmkit.waterfall.sync import run_sync

__all__ = [
    "DEFAULT_LEDGER_PATH",
    "STATUSES",
    "Budget",
    "BudgetExhausted",
    "CircuitBreaker",
    "Ledger",
    "ProviderLimiter",
    "RetryPolicy",
    "SpecError",
    "Step",
    "Waterfall",
    "WaterfallResult",
    "estimate",
    "run_async",
    "run_sync",
]
