"""Values gtmkit writes into an entry's markdown, kept from changing the file's structure.

A write-back puts values that came from a caller or from the stored history (an engagement
name, a dataset fingerprint, a step label, a provider name) into lines gtmkit owns. A value with
a line break in it would start a new line there — a heading, a table row, front matter — and a
``<!--`` would hide the rest of the line from a reader. So:

* :func:`one_line` refuses a caller's value with a line break or control character (the
  caller is told what to change; nothing is written);
* :func:`inline` and :func:`cell` escape a value that is already stored: line breaks and
  control characters become spaces, ``<``/``>`` become ``&lt;``/``&gt;`` (no HTML comment or
  tag can open), and in a table cell ``|`` becomes ``\\|``; :func:`code` keeps a value inside its
  backticks. The stored history keeps the value exactly; only its rendering is escaped.

Line breaks are every character ``str.splitlines`` splits on (CommonMark ends a line at
``\\n`` and ``\\r``; editors and other renderers also at U+2028, U+2029, U+0085, ``\\v``, ``\\f``).

Example:
    >>> inline("Acme\\n## Injected <!-- x")
    'Acme ## Injected &lt;!-- x'
    >>> cell("a | b"), code("abc`def")
    ('a \\\\| b', "abc'def")
    >>> one_line("Acme\\r\\nEvil", "engagement")
    Traceback (most recent call last):
    ...
    gtmkit.patterns.errors.PatternError: engagement must be one line of text (... U+000D); ...
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gtmkit.patterns.errors import PatternError

# C0 and C1 control characters (tab aside) and the Unicode line and paragraph separators
_BREAKING = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value: str | None, what: str, *, path: str | Path | None = None) -> str | None:
    """``value`` unchanged, or a :class:`PatternError` when it would break a line."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise PatternError(f"{what} must be text, got {type(value).__name__}", path=path)
    found = _BREAKING.search(value)
    if found:
        raise PatternError(
            f"{what} must be one line of text (it has a line break or control character "
            f"U+{ord(found.group()):04X}); remove it",
            path=path,
        )
    return value


def inline(value: Any) -> str:
    """A stored value as text inside one line gtmkit writes (see the module docstring)."""
    text = _BREAKING.sub(" ", str(value))
    return text.replace("<", "&lt;").replace(">", "&gt;")


def cell(value: Any) -> str:
    """A stored value inside a markdown table cell."""
    return inline(value).replace("|", "\\|")


def code(value: Any) -> str:
    """A stored value inside a backtick code span (a backtick would close it early)."""
    return _BREAKING.sub(" ", str(value)).replace("`", "'")


__all__ = ["cell", "code", "inline", "one_line"]
