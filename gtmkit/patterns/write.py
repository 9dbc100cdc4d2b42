"""Atomic, locked writes: a crash leaves the old file or the new one; two writers lose nothing.

* :func:`write_atomic` writes a temporary file in the same folder, flushes and fsyncs it, then
  ``os.replace``-s it over the target (atomic on POSIX) and fsyncs the folder.
* :func:`locked` holds an advisory ``fcntl.flock`` on a sidecar lock file
  (``.<name>.lock``) for the duration of a read-modify-write, so a second writer waits, then
  re-reads the file the first one wrote and merges into it. The lock file is removed on release;
  a waiter that finds it replaced retries, so removal cannot let two writers in at once.
  ``fcntl.flock`` rather than the ``filelock`` package (not a dependency; its Unix lock is
  this same call): the kernel drops the lock when the holder dies, even by SIGKILL, so a
  killed writer never leaves a stale lock behind for the next one to wait on.

Example:
    >>> import tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "entry.md"
    >>> with locked(target):
    ...     write_atomic(target, b"# Entry\\n")
    >>> target.read_bytes(), sorted(p.name for p in target.parent.iterdir())
    (b'# Entry\\n', ['entry.md'])
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def lock_path(path: Path) -> Path:
    """The sidecar lock file of ``path``."""
    return path.with_name(f".{path.name}.lock")


@contextlib.contextmanager
def locked(path: str | Path) -> Iterator[None]:
    """Hold the advisory write lock of ``path`` (blocking until it is free)."""
    lock = lock_path(Path(path))
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            break
        os.close(fd)  # the holder before us removed or replaced it: lock the current one
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(lock)
        os.close(fd)


def remove_stale_temps(path: str | Path) -> int:
    """Delete temporary files a killed writer of ``path`` left behind; call it holding
    :func:`locked` (only the lock holder writes them). Returns how many were removed."""
    target = Path(path)
    removed = 0
    # escaped: an entry named "[ab].md" must not match (and delete) the in-flight temporary
    # file of "a.md", whose writer holds a different lock
    for tmp in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
            removed += 1
    return removed


def write_atomic(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (keeps the file's permission bits)."""
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o777
    except FileNotFoundError:
        mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


__all__ = ["lock_path", "locked", "remove_stale_temps", "write_atomic"]
