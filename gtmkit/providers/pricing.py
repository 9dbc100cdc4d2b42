"""What a provider's credit costs and the most one call can take: one answer for everyone.

The engine (reserving the budget), ``Waterfall.estimate`` and ``gtmkit.compare`` all price
credits and reserve worst cases through these functions, so a misspelt provider is an error
everywhere (``Waterfall([Step("huntr")]).estimate(leads)`` used to report $0.00) and a price
is validated once: a finite number of US dollars ≥ 0, never a bool (``True`` is not a price).

Example:
    >>> price_per_credit("hunter")
    0.1
    >>> price_per_credit("hunter", prices={"hunter": 0.08})
    0.08
    >>> worst_case_credits("pdl")
    1.0
    >>> price_per_credit("huntr")
    Traceback (most recent call last):
    ...
    gtmkit.providers.registry.UnknownProvider: unknown provider 'huntr'; known providers: \
apollo, hunter, hunter_verifier, pdl, prospeo, dropcontact, zoominfo, lusha, findymail, \
leadmagic, pattern, manual. Check the spelling, or register a custom adapter with \
gtmkit.providers.register(...).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Real
from typing import Any

from gtmkit.errors import GtmkitError
from gtmkit.providers.registry import UnknownProvider, provider_class

#: ``{name: adapter instance or class}``, e.g. an open ``Connection`` (its adapters' attributes
#: are their classes' unless overridden) or custom adapters that are not registered.
Providers = Mapping[str, Any]


class InvalidPrice(GtmkitError, ValueError):
    """A price or credit figure that is not a finite number ≥ 0 (the message names its source)."""


def adapter_for(name: str, providers: Providers | None = None) -> Any:
    """The adapter given for ``name`` in ``providers``, else the registered adapter class.

    Raises:
        UnknownProvider: ``name`` is neither given nor registered (the message lists the
            known names).
    """
    if providers is not None and name in providers:
        return providers[name]
    return provider_class(name)


def price_per_credit(
    name: str, *, prices: Mapping[str, Any] | None = None, providers: Providers | None = None
) -> float:
    """US dollars per credit of provider ``name``.

    Args:
        name: provider name.
        prices: per-run overrides ``{name: usd_per_credit}``; the adapter's list price
            (``price_per_credit``) applies to providers not named.
        providers: adapters to read instead of the registered classes (see :data:`Providers`).

    Raises:
        UnknownProvider: an unknown provider name (even when ``prices`` names it: a price for
            a provider that does not exist is a typo, not a free provider).
        InvalidPrice: the price is not a finite number ≥ 0, or is a bool.
    """
    adapter = adapter_for(name, providers)
    if prices is not None and name in prices:
        return valid_amount(prices[name], source=f"prices[{name!r}]")
    return valid_amount(
        getattr(adapter, "price_per_credit", 0.0), source=f"{_label(adapter)}.price_per_credit"
    )


def worst_case_credits(name: str, *, providers: Providers | None = None) -> float:
    """The most credits one call of provider ``name`` can cost (its ``max_credits``).

    Raises:
        UnknownProvider: an unknown provider name.
        InvalidPrice: the adapter declares something other than a finite number ≥ 0.
    """
    adapter = adapter_for(name, providers)
    return valid_amount(
        getattr(adapter, "max_credits", 1.0), source=f"{_label(adapter)}.max_credits"
    )


def check_prices(
    prices: Mapping[str, Any] | None, *, providers: Providers | None = None
) -> dict[str, float]:
    """Every entry of a ``{name: usd_per_credit}`` override, validated, as floats.

    Example:
        >>> check_prices({"pdl": 1, "hunter": 0.1})
        {'pdl': 1.0, 'hunter': 0.1}

    Raises:
        UnknownProvider: a name that is not a provider.
        InvalidPrice: a price that is not a finite number ≥ 0, or is a bool.
    """
    if prices is None:
        return {}
    if not isinstance(prices, Mapping):
        raise InvalidPrice(
            f"prices must be a mapping {{provider: usd_per_credit}}, not {type(prices).__name__}"
        )
    return {name: price_per_credit(name, prices=prices, providers=providers) for name in prices}


def valid_amount(value: Any, *, source: str) -> float:
    """``value`` as a float when it is a finite real number ≥ 0 (and not a bool).

    Example:
        >>> valid_amount(float("nan"), source="prices['pdl']")
        Traceback (most recent call last):
        ...
        gtmkit.providers.pricing.InvalidPrice: prices['pdl'] must be a finite number >= 0, \
not nan. A NaN or infinite price would make every budget check pass.
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InvalidPrice(
            f"{source} must be a finite number >= 0, not {value!r} ({type(value).__name__})."
        )
    number = float(value)
    if not math.isfinite(number):
        raise InvalidPrice(
            f"{source} must be a finite number >= 0, not {value!r}. A NaN or infinite price "
            "would make every budget check pass."
        )
    if number < 0:
        raise InvalidPrice(f"{source} must be a finite number >= 0, not {value!r}.")
    return number


def _label(adapter: Any) -> str:
    cls = adapter if isinstance(adapter, type) else type(adapter)
    return cls.__name__


__all__ = [
    "InvalidPrice",
    "Providers",
    "UnknownProvider",
    "adapter_for",
    "check_prices",
    "price_per_credit",
    "valid_amount",
    "worst_case_credits",
]
