"""Where things are: the project directory, notebook parameter paths, and paths as a report may
show them (relative to the project, never an absolute machine path).

A notebook runs in ``notebooks/``, a test in a temporary folder, the demo from the repository
root: every one of them names bundled data the same way (``"data/samples/leads_small.csv"``).

Example:
    >>> from gtmkit.paths import display_path, project_root, resolve_path
    >>> resolve_path("pyproject.toml").is_file()  # found from any working directory
    True
    >>> display_path(project_root() / "data" / "samples")
    'data/samples'
    >>> display_path("/somewhere/else/list.csv")
    'list.csv'
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["display_path", "project_root", "resolve_path"]

_PROJECT_MARKERS = ("pyproject.toml", "gtmkit")


def project_root() -> Path:
    """The gtmkit project directory (the one holding ``pyproject.toml`` and ``gtmkit/``).

    Found from the working directory upwards (a notebook runs in ``notebooks/``), else from the
    installed package (an editable install lives in the project), else the working directory.
    """
    candidates = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[1]]
    for directory in candidates:
        if all((directory / marker).exists() for marker in _PROJECT_MARKERS):
            return directory
    return Path.cwd()


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Resolve a notebook parameter path: absolute as given, else relative to the working
    directory when it exists there, else relative to the project root.

    So ``"data/samples/leads.csv"`` works from the repo root, from ``notebooks/`` and from a
    copy of a notebook anywhere else.
    """
    candidate = Path(path).expanduser()
    if candidate.is_absolute() or candidate.exists():
        return candidate
    return project_root() / candidate


def display_path(path: str | os.PathLike[str]) -> str:
    """A path as it may appear in a report: relative to the project root when inside it, else
    the file name only — never an absolute machine path."""
    resolved = Path(path).expanduser().resolve()
    for base in (project_root().resolve(), Path.cwd().resolve()):
        try:
            return resolved.relative_to(base).as_posix()
        except ValueError:
            continue
    return resolved.name
