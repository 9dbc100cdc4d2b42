"""The waterfall engine: run ordered providers over a list without wasting a credit.

``Waterfall`` is the declarative spec; ``.run`` / ``.run_async`` execute it with an exact
budget that survives resumes, per-provider pacing, retries, a circuit breaker, and a SQLite
``Ledger`` that records every attempt, caches answers, keeps two processes from paying twice
and lets a killed run resume. How a call travels: ``README.md`` in this folder.

Example:
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> wf = Waterfall([Step("hunter"), Step("apollo")], verify="hunter_verifier")
    >>> wf.providers
    ('hunter', 'apollo', 'hunter_verifier')
"""

from __future__ import annotations

from gtmkit.waterfall.breaker import BreakerPolicy, CircuitBreaker
from gtmkit.waterfall.budget import Budget, BudgetError, BudgetExhausted
from gtmkit.waterfall.estimate import estimate
from gtmkit.waterfall.ledger import Ledger, LedgerError
from gtmkit.waterfall.limits import ProviderLimiter
from gtmkit.waterfall.options import DEFAULT_LEDGER_PATH, RunOptions, RunOptionsError
from gtmkit.waterfall.policy import RowPolicy, RowState
from gtmkit.waterfall.progress import RunProgress
from gtmkit.waterfall.result import STATUSES, WaterfallResult
from gtmkit.waterfall.retry import PolicyError, RetryPolicy
from gtmkit.waterfall.rows import RecordsError, RecordsTypeError
from gtmkit.waterfall.run import run_waterfall
from gtmkit.waterfall.spec import SpecError, Step, Waterfall
from gtmkit.waterfall.sync import run_sync

__all__ = [
    "DEFAULT_LEDGER_PATH",
    "STATUSES",
    "BreakerPolicy",
    "Budget",
    "BudgetError",
    "BudgetExhausted",
    "CircuitBreaker",
    "Ledger",
    "LedgerError",
    "PolicyError",
    "ProviderLimiter",
    "RecordsError",
    "RecordsTypeError",
    "RetryPolicy",
    "RowPolicy",
    "RowState",
    "RunOptions",
    "RunOptionsError",
    "RunProgress",
    "SpecError",
    "Step",
    "Waterfall",
    "WaterfallResult",
    "estimate",
    "run_sync",
    "run_waterfall",
]
