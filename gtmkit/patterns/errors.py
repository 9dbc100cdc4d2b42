"""The pattern library's one error type: what is wrong, in which file, on which line.

Example:
    >>> err = PatternError("unknown maturity 'Great'", path="patterns/x.md", line=3)
    >>> str(err)
    "patterns/x.md, line 3: unknown maturity 'Great'"
    >>> isinstance(err, ValueError)
    True
"""

from __future__ import annotations

from pathlib import Path

from gtmkit.errors import GtmkitError


class PatternError(GtmkitError, ValueError):
    """A pattern entry cannot be read, run or written as asked; nothing was written.

    Attributes:
        path: the entry's file, when there is one.
        line: the 1-based line the problem is on, when it is on one.
    """

    def __init__(
        self, message: str, *, path: str | Path | None = None, line: int | None = None
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        where = self.path or ""
        if line is not None:
            where = f"{where}, line {line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message)


__all__ = ["PatternError"]
