"""The twin behind ``Waterfall.estimate`` when the history is a ledger that holds answered
lookups: expected calls, hits and credits per step from the twin (which knows that providers
find the same easy people), and the interval of the total, instead of steps assumed
independent.

Fits are cached per ledger file (its path, size and modification time), so the panel, which
re-estimates after every change, fits once per ledger state.

Example:
    >>> import polars as pl
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> twin_estimate(None, Waterfall([Step("hunter")]), pl.DataFrame({"row_id": [0]})) is None
    True
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gtmkit.twin.errors import TwinError
from gtmkit.twin.priors import Prior

#: draws behind an estimate's interval (the panel re-estimates often: keep it quick)
ESTIMATE_DRAWS = 200
#: what the estimate's ``model`` column says when the twin is not used
INDEPENDENT = "steps independent"


@dataclass(frozen=True)
class TwinEstimate:
    """Per provider ``(calls, hits, credits)`` expected, the total's interval, and what it is."""

    steps: dict[str, tuple[float, float, float]]
    hits: tuple[float, float]
    cost_usd: tuple[float, float]
    model: str


@functools.lru_cache(maxsize=8)
def _fit(path: str, size: int, mtime_ns: int) -> Any:
    from gtmkit.twin.twin import Twin

    return Twin.fit(path)


def _ledger_path(history: Any) -> Path | None:
    from gtmkit.waterfall.ledger import Ledger

    if isinstance(history, Ledger):
        return history.path
    if isinstance(history, str | Path) and Path(history).is_file():
        return Path(history)
    return None


def twin_estimate(
    history: Any,
    wf: Any,
    records: Any,
    *,
    priors: dict[str, float] | None = None,
    providers: Any = None,
) -> TwinEstimate | None:
    """The twin's figures for ``wf`` on ``records``, or ``None`` when ``history`` is not a
    ledger with answered lookups (the estimate then keeps its independent steps). Providers
    the ledger never saw enter on ``priors`` (the estimate's default prior), flagged in
    ``model``."""
    path = _ledger_path(history)
    if path is None:
        return None
    stat = path.stat()
    try:
        twin = _fit(str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    except TwinError:
        return None  # an empty ledger: nothing to fit, the priors stay
    from gtmkit.providers.pricing import adapter_for

    unseen = {
        s.provider: Prior(float((priors or {}).get(s.provider, 0.5)), 10.0, "default prior")
        for s in wf.steps
        if s.provider not in twin.hits.seen
        and getattr(adapter_for(s.provider, providers), "kind", "") != "manual"
    }
    prediction = twin.predict(records, wf, priors=unseen, draws=ESTIMATE_DRAWS, providers=providers)
    steps = {
        name: (calls, hits, credits)
        for name, calls, hits, credits in prediction.steps.select(
            "provider", "calls", "hits", "credits"
        ).iter_rows()
    }
    found, spend = prediction["found"], prediction["spend_usd"]
    model = twin.basis + (f"; on a prior only: {', '.join(sorted(unseen))}" if unseen else "")
    return TwinEstimate(steps, (found.low, found.high), (spend.low, spend.high), model)


__all__ = ["ESTIMATE_DRAWS", "INDEPENDENT", "TwinEstimate", "twin_estimate"]
