"""The errors of building and exporting an engagement report; each says what to do.

Example:
    >>> from gtmkit.errors import GtmkitError
    >>> from gtmkit.reports.engagement.errors import ReportExportError, ReportInputError
    >>> [issubclass(ReportInputError, b) for b in (GtmkitError, ValueError)]
    [True, True]
    >>> [issubclass(ReportExportError, b) for b in (GtmkitError, RuntimeError)]
    [True, True]
"""

from __future__ import annotations

from gtmkit.errors import GtmkitError

__all__ = ["ReportExportError", "ReportInputError"]


class ReportInputError(GtmkitError, ValueError):
    """What the report was given cannot make a report (a segment column that does not exist,
    a pattern that cannot be found, a run with no rows)."""


class ReportExportError(GtmkitError, RuntimeError):
    """The report could not be written as HTML or PDF (no Chromium to print with, ...)."""
