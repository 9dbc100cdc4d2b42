"""The one exception root every gtmkit error derives from.

Catch :class:`GtmkitError` to handle anything gtmkit raises on purpose (a bad list, a bad spec,
a ledger that cannot be opened, a provider failure surfaced to the caller...). Subclasses keep
deriving from the built-in they always did (``ValueError`` for bad input, ``RuntimeError`` for
environment problems), so existing ``except ValueError`` code keeps working.

Every message says what happened and what to do about it.

Example:
    >>> from gtmkit.errors import GtmkitError
    >>> from gtmkit.lists import ListError
    >>> issubclass(ListError, GtmkitError) and issubclass(ListError, ValueError)
    True
"""

from __future__ import annotations


class GtmkitError(Exception):
    """Base class of every error gtmkit raises on purpose."""


__all__ = ["GtmkitError"]
