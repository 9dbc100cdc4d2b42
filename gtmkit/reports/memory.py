"""Where papermill writes the notebook it is executing: memory, never a file.

papermill saves its output after every cell, injected parameters included. Pointed at a
``memory://`` path, those saves stay in this process, so nothing reaches the disk before the
report runner has scrubbed the notebook and checked it for leaks.

Example:
    >>> from gtmkit.reports.memory import memory_path, take
    >>> import papermill.iorw as io
    >>> path = memory_path()
    >>> io.papermill_io.write('{"cells": [], "metadata": {}, "nbformat": 4, '
    ...                       '"nbformat_minor": 5}', path)
    >>> len(take(path).cells), take(path)
    (0, None)
"""

from __future__ import annotations

import threading
import uuid
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from nbformat import NotebookNode

__all__ = ["SCHEME", "memory_path", "take"]

SCHEME = "memory://"


class _MemoryHandler:
    """A papermill I/O handler keeping notebooks in a dict (the last save of each path)."""

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}
        self.lock = threading.Lock()

    def read(self, path: str) -> str:
        with self.lock:
            return self.saved[path]

    def listdir(self, path: str) -> list[str]:
        raise NotImplementedError("memory notebooks cannot be listed")

    def write(self, buf: str, path: str) -> None:
        with self.lock:
            self.saved[path] = buf

    def pretty_path(self, path: str) -> str:
        return path


_HANDLER = _MemoryHandler()
_REGISTERED = False


def memory_path() -> str:
    """A fresh ``memory://…ipynb`` path papermill can write to (registers the handler once)."""
    global _REGISTERED
    if not _REGISTERED:
        import papermill.iorw as io

        io.papermill_io.register(SCHEME, _HANDLER)
        _REGISTERED = True
    return f"{SCHEME}gtmkit/{uuid.uuid4().hex}.ipynb"


def take(path: str) -> NotebookNode | None:
    """The notebook last saved at ``path``, forgotten as it is handed over (``None`` if none)."""
    import nbformat

    with _HANDLER.lock:
        text = _HANDLER.saved.pop(path, None)
    if text is None:
        return None
    node: NotebookNode = nbformat.reads(text, as_version=4)
    return node
