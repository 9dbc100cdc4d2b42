"""What each provider of a run costs: its price per credit and the most one call can cost.

Example:
    >>> from gtmkit.waterfall.spec import Step, Waterfall
    >>> from gtmkit.providers import provider_class
    >>> wf = Waterfall([Step("hunter")], prices={"hunter": 0.05})
    >>> run_prices(wf, {"hunter": provider_class("hunter")})
    {'hunter': 0.05}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gtmkit.waterfall.spec import Waterfall


def run_prices(wf: Waterfall, providers: Mapping[str, Any]) -> dict[str, float]:
    """Dollars per credit for every provider of the run (the spec's ``prices`` first)."""
    overrides = dict(wf.prices or {})
    return {
        name: float(overrides.get(name, getattr(adapter, "price_per_credit", 0.0) or 0.0))
        for name, adapter in providers.items()
    }


def worst_cases(providers: Mapping[str, Any]) -> dict[str, float]:
    """The most credits one call of each provider can cost (what is reserved before it)."""
    return {
        name: float(getattr(adapter, "max_credits", 1.0) or 0.0)
        for name, adapter in providers.items()
    }
