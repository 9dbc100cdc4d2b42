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


class InvalidInput(GtmkitError, ValueError):
    """An argument with an impossible value (a chart asked of a frame without its columns...)."""


class ArgumentError(GtmkitError, TypeError):
    """An argument of the wrong kind (a list where a frame is expected...)."""


class NotFound(GtmkitError, KeyError):
    """A name that is not there (a provider that is not connected...). The message lists what
    is; ``str()`` gives the plain message (not ``KeyError``'s quoted repr)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


__all__ = ["ArgumentError", "GtmkitError", "InvalidInput", "NotFound"]
