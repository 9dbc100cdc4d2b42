"""The errors of running a notebook as a report. Each says what happened and what to do.

Example:
    >>> from gtmkit.errors import GtmkitError
    >>> from gtmkit.reports.errors import NotebookLeakError, ReportParameterError
    >>> [issubclass(ReportParameterError, base) for base in (GtmkitError, ValueError)]
    [True, True]
    >>> [issubclass(NotebookLeakError, base) for base in (GtmkitError, RuntimeError)]
    [True, True]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gtmkit.errors import GtmkitError

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.reports.leaks import Leak

__all__ = [
    "FiguresError",
    "NotebookLeakError",
    "NotebookNotFoundError",
    "NotebookRunError",
    "ReportParameterError",
]


class ReportParameterError(GtmkitError, ValueError):
    """A parameter the report runner refuses: unknown to the notebook, or credential-like."""


class NotebookNotFoundError(GtmkitError, FileNotFoundError):
    """The notebook to run does not exist."""


class FiguresError(GtmkitError, ValueError):
    """A notebook has no executed ``figures`` cell printing one JSON object."""


class NotebookRunError(GtmkitError, RuntimeError):
    """A notebook failed; the scrubbed output notebook (with the error) is at ``.notebook``."""

    def __init__(self, message: str, notebook: Path) -> None:
        super().__init__(message)
        self.notebook = notebook


class NotebookLeakError(GtmkitError, RuntimeError):
    """An executed notebook contained a key-like string or an absolute path; nothing of it was
    kept. ``.leaks`` lists what was found (redacted)."""

    def __init__(self, leaks: Sequence[Leak]) -> None:
        super().__init__(
            "the executed notebook contained things that must not be in a report, so it was "
            "deleted:\n  " + "\n  ".join(str(leak) for leak in leaks[:10])
        )
        self.leaks = list(leaks)
