"""Lists already on the server: the project's ``data/`` folder, and nothing outside it.

A list too large to upload (or already copied next to the notebook server) is picked from
here. Only files under the folder are offered, and a name that resolves outside it (``..``, a
symlink pointing elsewhere) is refused, so the picker cannot be used to read the server's
other files.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "raw").mkdir(), (root / "raw" / "leads.csv").write_text("Email\\n")
    >>> [f.relative for f in list_data_files(root)]
    ['raw/leads.csv']
    >>> try:
    ...     resolve_data_file(root, "../etc/passwd")
    ... except ServerFileError as exc:
    ...     print(str(exc).split(";")[0])
    ../etc/passwd is outside the data folder
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from gtmkit.lists.errors import ListError

__all__ = ["LIST_SUFFIXES", "DataFile", "ServerFileError", "list_data_files", "resolve_data_file"]

#: What ``gtmkit.load_list`` reads.
LIST_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet")
#: Most files offered (a data folder with a million files must not freeze the panel).
MAX_FILES = 500


class ServerFileError(ListError):
    """A server file that cannot be offered: outside the data folder, missing, not a list."""


@dataclass(frozen=True, slots=True)
class DataFile:
    """One list under the data folder: its path relative to it, and its size."""

    relative: str
    size: int

    @property
    def label(self) -> str:
        """How the picker shows it: ``samples/leads_small.csv (41 KB)``."""
        size = self.size
        shown = f"{size / 1024**2:.1f} MB" if size >= 1024**2 else f"{max(1, size // 1024)} KB"
        return f"{self.relative} ({shown})"


def list_data_files(
    root: str | Path, *, suffixes: Iterable[str] = LIST_SUFFIXES, limit: int = MAX_FILES
) -> list[DataFile]:
    """Lists under ``root``, sorted by path, skipping hidden folders and truth files
    (``*.truth.csv`` are answers for the sandbox, not lists to enrich)."""
    base = Path(root).resolve()
    if not base.is_dir():
        return []
    wanted = {s.lower() for s in suffixes}
    found: list[DataFile] = []
    for path in sorted(base.rglob("*")):
        relative = path.relative_to(base)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.suffix.lower() not in wanted or path.name.endswith(".truth.csv"):
            continue
        if not path.is_file() or not _inside(base, path):
            continue
        found.append(DataFile(relative.as_posix(), path.stat().st_size))
        if len(found) >= limit:
            break
    return found


def resolve_data_file(root: str | Path, relative: str) -> Path:
    """The file ``relative`` names under ``root``.

    Raises:
        ServerFileError: it resolves outside ``root``, does not exist, or is not a list type.
    """
    base = Path(root).resolve()
    path = (base / relative).resolve()
    if not _inside(base, path):
        raise ServerFileError(
            f"{relative} is outside the data folder; pick a file under {base.name}/ (copy the "
            "list there first)."
        )
    if not path.is_file():
        raise ServerFileError(f"{relative} is not a file under {base.name}/; refresh the list.")
    if path.suffix.lower() not in LIST_SUFFIXES:
        raise ServerFileError(
            f"{relative} is not a list gtmkit reads ({', '.join(LIST_SUFFIXES)})."
        )
    return path


def _inside(base: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(base)
    except ValueError:
        return False
    return True
