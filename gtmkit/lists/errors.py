"""The one error list intake raises for a file it cannot turn into records."""

from __future__ import annotations

from gtmkit.errors import GtmkitError


class ListError(GtmkitError, ValueError):
    """A lead list could not be read; the message says what is wrong and what to do.

    The underlying parser error, when there is one, is chained as ``__cause__`` so it stays
    available for debugging without being the first thing a notebook user sees.

    Example:
        >>> raise ListError("The file is empty. Export the list again and re-upload it.")
        Traceback (most recent call last):
        ...
        gtmkit.lists.errors.ListError: The file is empty. Export the list again and re-upload it.
    """
