"""The comparison's one error type.

Example:
    >>> from gtmkit.errors import GtmkitError
    >>> issubclass(CompareError, GtmkitError) and issubclass(CompareError, ValueError)
    True
"""

from __future__ import annotations

from gtmkit.errors import GtmkitError


class CompareError(GtmkitError, ValueError):
    """A comparison cannot run as asked (bad input, over budget, declined estimate)."""


__all__ = ["CompareError"]
