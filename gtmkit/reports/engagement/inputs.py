"""The report notebook's inputs made safe: which pattern, and simulated or live.

Example:
    >>> from gtmkit.reports.engagement.inputs import data_source, find_pattern, run_mode
    >>> find_pattern("smb-verified-guess-waterfall").title
    'SMB Verified-Guess Waterfall'
    >>> run_mode("sandbox"), data_source("sandbox"), data_source("live")
    ('sandbox', 'simulated', 'live')
    >>> run_mode("auto")
    Traceback (most recent call last):
    ...
    gtmkit.reports.engagement.errors.ReportInputError: mode must be 'sandbox' ...
"""

from __future__ import annotations

from typing import Any, Literal

from gtmkit.paths import resolve_path
from gtmkit.reports.engagement.errors import ReportInputError
from gtmkit.reports.engagement.measures import DataSource

__all__ = ["PATTERNS_DIR", "data_source", "find_pattern", "run_mode"]

#: The pattern library the report finds entries in.
PATTERNS_DIR = "patterns"


def find_pattern(name: str) -> Any:
    """The pattern called ``name`` (its file name without ``.md``) or at the path ``name``.

    Raises:
        ReportInputError: no such entry (the message lists the runnable ones).
    """
    from gtmkit import patterns

    candidate = resolve_path(name)
    if name.endswith(".md") and candidate.is_file():
        return patterns.load(candidate)
    library = patterns.index(resolve_path(PATTERNS_DIR), on_error="report")
    match = library.filter(library["name"] == name.strip())
    if match.height:
        return patterns.load(match["path"][0])
    runnable = library.filter(library["steps"].list.len() > 0)["name"].to_list()
    raise ReportInputError(
        f"no pattern named {name!r} in {PATTERNS_DIR}/; runnable patterns: {', '.join(runnable)}"
    )


def run_mode(mode: str) -> Literal["sandbox", "live"]:
    """The waterfall's provider mode. Only ``sandbox`` or ``live``: a client report says which
    one it was, so "live where a key happens to be set" (``auto``) is not allowed here.

    Raises:
        ReportInputError: any other value.
    """
    if mode == "sandbox":
        return "sandbox"
    if mode == "live":
        return "live"
    raise ReportInputError(
        f"mode must be 'sandbox' (simulated providers, no spend) or 'live' (real APIs, keys "
        f"from the environment), got {mode!r}"
    )


def data_source(mode: str) -> DataSource:
    """What the report says the figures come from: ``simulated`` or ``live``."""
    return "live" if run_mode(mode) == "live" else "simulated"
