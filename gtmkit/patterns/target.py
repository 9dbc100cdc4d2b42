"""Where a write-back may write: one entry file inside its library, reached by its real path.

:func:`write_target` turns the path a caller gave into the file a save writes, or refuses it:

* it must name a ``.md`` file and must not climb with ``..`` (an entry is
  ``patterns/<category>/<name>.md``; a name such as ``../../home/me/.bashrc.md`` is refused);
* symlinks — the entry itself or a folder on the way — are followed, but the real file must
  stay inside the library: the folder that holds the entry's category folder (``patterns/``),
  or the entry's own folder when it is not in a category folder. A link pointing elsewhere is
  refused rather than written through.
* the save then locks and replaces the *real* file, so every name of one entry (a symlink, a
  relative path) shares one lock and no write-back is lost, and a symlink stays a symlink
  (``os.replace`` over the link itself would turn it into a separate copy).

Example:
    >>> import tempfile, pathlib
    >>> lib = pathlib.Path(tempfile.mkdtemp()).resolve()
    >>> (lib / "enrichment-waterfalls").mkdir()
    >>> write_target(lib / "enrichment-waterfalls" / "a.md") == lib / "enrichment-waterfalls/a.md"
    True
    >>> try:
    ...     write_target(lib / "enrichment-waterfalls" / ".." / "a.md")
    ... except PatternError as exc:
    ...     print(str(exc).split(": ", 1)[1])
    the path climbs out with '..'; give the entry's own path, patterns/<category>/<name>.md
"""

from __future__ import annotations

import os
from pathlib import Path

from gtmkit.patterns.errors import PatternError


def library_root(path: Path) -> Path:
    """The library a (lexically absolute) entry path belongs to (see the module docstring)."""
    from gtmkit.patterns.model import CATEGORIES  # model imports this module

    return path.parent.parent if path.parent.name in CATEGORIES else path.parent


def refuse_climbing(path: Path) -> Path:
    """``path``, or a :class:`PatternError` when it has a ``..`` part."""
    if ".." in path.parts:
        raise PatternError(
            "the path climbs out with '..'; give the entry's own path, "
            "patterns/<category>/<name>.md",
            path=path,
        )
    return path


def inside_library(path: Path, *, verb: str, root: Path | None = None) -> Path:
    """The real path of ``path``, or a :class:`PatternError` when a symlink (the entry or a
    folder on the way) leads outside ``root`` (default: the entry's library, see above).

    Reads are held to the same rule as writes: a library folder cloned or shared from
    someone else could carry a link to ``~/.ssh/config.md``, and an entry's text ends up in
    the index, search results and client reports.
    """
    absolute = Path(os.path.abspath(path))
    real = Path(os.path.realpath(absolute))
    library = Path(os.path.realpath(root if root is not None else library_root(absolute)))
    if not real.is_relative_to(library):
        raise PatternError(
            f"is a symlink (or inside a linked folder) that leads outside the pattern library "
            f"({library}); gtmkit does not {verb} through it — replace the link with the entry "
            "file itself",
            path=path,
        )
    return real


def write_target(path: str | Path) -> Path:
    """The real file a save of ``path`` writes.

    Raises:
        PatternError: the path is not an entry file, climbs with ``..``, or is (or goes
            through) a symlink that leads outside the library. Nothing is written then.
    """
    given = refuse_climbing(Path(path))
    if given.suffix.lower() != ".md":
        raise PatternError(
            "a pattern entry is a .md file; save it as patterns/<category>/<name>.md",
            path=given,
        )
    real = inside_library(given, verb="write")
    if real.is_dir():
        raise PatternError("is a folder; save one entry's .md file", path=given)
    return real


__all__ = ["inside_library", "library_root", "refuse_climbing", "write_target"]
