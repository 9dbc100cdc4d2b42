"""The one check every number of the engine goes through: the right type, finite, in range.

A budget is money: ``nan`` compares false with everything (so ``spent > nan`` never stops a
run), ``inf`` is no cap, and ``True`` is an ``int`` in Python (a budget of 1). Each is refused
with a message that says what to pass instead.

Example:
    >>> finite("budget_credits", 200)
    200.0
    >>> try:
    ...     whole("max_attempts", True)
    ... except ValueError as exc:
    ...     print(exc)
    max_attempts must be a whole number >= 1, got True
"""

from __future__ import annotations

import math
from typing import Any

from gtmkit.errors import GtmkitError


class NumberError(GtmkitError, ValueError):
    """A number with the wrong type or an impossible value (subclassed per place)."""


def finite(
    name: str,
    value: Any,
    *,
    minimum: float = 0.0,
    strict: bool = False,
    hint: str = "",
    error: type[GtmkitError] = NumberError,
) -> float:
    """``value`` as a float if it is a real, finite number ``>= minimum`` (``>`` if strict)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{name} must be a number{hint}, got {value!r}")
    number = float(value)
    too_small = number <= minimum if strict else number < minimum
    if not math.isfinite(number) or too_small:
        if minimum == 0 and not strict:
            kind = "a finite, non-negative number"
        else:
            kind = f"a finite number {'>' if strict else '>='} {minimum:g}"
        raise error(f"{name} must be {kind}{hint}, got {value!r}")
    return number


def whole(
    name: str, value: Any, *, minimum: int = 1, error: type[GtmkitError] = NumberError
) -> int:
    """``value`` if it is an ``int`` (not a bool) ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise error(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return value


def cap(name: str, value: Any, *, error: type[GtmkitError] = NumberError) -> float | None:
    """A spending cap: ``None`` (no cap) or a finite number >= 0."""
    if value is None:
        return None
    return finite(name, value, hint=" (use None for no cap)", error=error)
