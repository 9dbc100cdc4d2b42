"""What each provider of a run costs: its price per credit and the most one call can cost.

Both come from the one pricing function (:mod:`gtmkit.providers.pricing`), which the
estimate and the comparison use too, so a run, its estimate and a comparison can never price
a provider differently; an unknown provider is an error that lists the known names.

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

from gtmkit.providers.pricing import price_per_credit, worst_case_credits
from gtmkit.waterfall.spec import Waterfall


def run_prices(wf: Waterfall, providers: Mapping[str, Any]) -> dict[str, float]:
    """Dollars per credit for every provider of the run (the spec's ``prices`` first)."""
    return {
        name: price_per_credit(name, prices=wf.prices, providers=providers) for name in providers
    }


def worst_cases(providers: Mapping[str, Any]) -> dict[str, float]:
    """The most credits one call of each provider can cost (what is reserved before it)."""
    return {name: worst_case_credits(name, providers=providers) for name in providers}
