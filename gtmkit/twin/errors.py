"""The twin's one error type.

Example:
    >>> from gtmkit.errors import GtmkitError
    >>> issubclass(TwinError, GtmkitError) and issubclass(TwinError, ValueError)
    True
"""

from __future__ import annotations

from gtmkit.errors import GtmkitError


class TwinError(GtmkitError, ValueError):
    """Input the twin cannot use (an unseen provider without a prior, a bad target...); the
    message says what to pass instead."""


__all__ = ["TwinError"]
