"""Reassembling an upload that arrives in chunks, straight into a temporary file.

The browser sends a file as binary chunks of about a megabyte (Jupyter's websocket drops a
message over ~10 MB, so a list is never sent whole). Each chunk is written where it belongs
as it arrives: a 200 MB list is never held in memory, let alone twice. The assembler refuses a
file over the limit before a byte is sent, refuses chunks that do not fit the announced size,
and hands back the file only when every byte arrived.

Example:
    >>> assembler = ChunkAssembler(limit_bytes=1_000)
    >>> ticket = assembler.start("leads.csv", 11)
    >>> assembler.add(ticket.upload_id, 0, b"Email\\n")
    6
    >>> assembler.add(ticket.upload_id, 6, b"a@b.c")
    11
    >>> done = assembler.finish(ticket.upload_id)
    >>> done.name, done.path.read_bytes()
    ('leads.csv', b'Email\\na@b.c')
    >>> assembler.close()
    >>> done.path.exists()
    False
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from gtmkit.errors import InvalidInput
from gtmkit.lists.errors import ListError
from gtmkit.lists.upload import UploadTooLarge
from gtmkit.reports.wording import counted

__all__ = [
    "DEFAULT_CHUNK_BYTES",
    "DEFAULT_UPLOAD_LIMIT_BYTES",
    "ChunkAssembler",
    "CompletedUpload",
    "UploadError",
    "UploadTicket",
    "UploadTooLarge",
    "human_size",
    "too_large_message",
]

#: Largest list the panel accepts over the widget channel (the server-file picker and the
#: notebook's ``path`` parameter take anything ``load_list`` reads).
DEFAULT_UPLOAD_LIMIT_BYTES = 200 * 1024 * 1024
#: One chunk: far under Jupyter's ~10 MB websocket message limit, large enough that a 200 MB
#: file is 200 round trips.
DEFAULT_CHUNK_BYTES = 1024 * 1024


class UploadError(ListError):
    """An upload did not arrive whole (a chunk out of place, a size that does not match, an
    upload that was replaced or abandoned); the message says what to do."""


def human_size(size: int) -> str:
    """``"201.0 MB"``, ``"2 KB"``: a file size as a person reads it.

    Example:
        >>> human_size(200 * 1024**2), human_size(2048), human_size(10)
        ('200 MB', '2 KB', '10 bytes')
    """
    if size >= 1024**2:
        mb = size / 1024**2
        return f"{mb:.0f} MB" if mb == int(mb) else f"{mb:.1f} MB"
    return f"{size // 1024} KB" if size >= 1024 else counted(size, "byte", number=str(size))


def too_large_message(name: str, size: int, limit: int) -> str:
    """What a person reads when a file is over the upload limit.

    Example:
        >>> too_large_message("big.csv", 300 * 1024**2, 200 * 1024**2).split(";")[0]
        'big.csv is 300 MB, over the 200 MB upload limit'
    """
    return (
        f"{name} is {human_size(size)}, over the {human_size(limit)} upload limit; "
        "nothing was sent. Copy the file into the project's data/ folder and pick it under "
        "'Server file', or run the notebook with the path parameter "
        f"(-p path data/raw/{name})."
    )


def safe_name(name: str) -> str:
    """The file's own name, without any folder a browser or a caller put in front of it.

    Example:
        >>> safe_name("../../etc/passwd"), safe_name("C:\\\\Users\\\\ann\\\\leads.csv")
        ('passwd', 'leads.csv')
    """
    base = PureWindowsPath(PurePosixPath(str(name)).name).name.strip()
    return base if base not in ("", ".", "..") else "upload"


@dataclass(frozen=True, slots=True)
class UploadTicket:
    """An accepted upload: its id (chunks name it) and what was announced."""

    upload_id: str
    name: str
    size: int


@dataclass(frozen=True, slots=True)
class CompletedUpload:
    """A file that arrived whole: where it is, its original name and size."""

    path: Path
    name: str
    size: int


@dataclass(slots=True)
class _Pending:
    ticket: UploadTicket
    path: Path
    handle: BinaryIO
    received: int = 0


class ChunkAssembler:
    """Accept uploads chunk by chunk into files under one temporary folder.

    Args:
        limit_bytes: the largest file accepted.
        directory: where the temporary folder goes (default: the system's temp directory).

    Only one upload is in progress at a time: starting a new one abandons the previous (a
    person who picks another file mid-way wants that file), and its late chunks are refused.
    The last completed file is kept until the next one completes or :meth:`close`.
    """

    def __init__(self, *, limit_bytes: int, directory: str | os.PathLike[str] | None = None):
        if isinstance(limit_bytes, bool) or not isinstance(limit_bytes, int) or limit_bytes <= 0:
            raise InvalidInput(f"limit_bytes must be a positive whole number, got {limit_bytes!r}")
        self.limit_bytes = limit_bytes
        self._parent = directory
        self._folder: Path | None = None
        self._pending: _Pending | None = None
        self.completed: CompletedUpload | None = None

    @property
    def folder(self) -> Path:
        """The temporary folder holding uploads (created on first use)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="gtmkit-upload-", dir=self._parent))
        return self._folder

    @property
    def in_progress(self) -> UploadTicket | None:
        return self._pending.ticket if self._pending else None

    def start(self, name: str, size: int) -> UploadTicket:
        """Accept an upload of ``size`` bytes named ``name``, or refuse it.

        Raises:
            UploadTooLarge: over the limit (the message says what to do instead).
            UploadError: a size that is not a whole number of bytes.
        """
        name = safe_name(name)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UploadError(f"{name}: the browser announced {size!r} bytes; pick the file again.")
        if size > self.limit_bytes:
            raise UploadTooLarge(too_large_message(name, size, self.limit_bytes))
        self.abort()
        suffix = "".join(Path(name).suffixes[-2:])[:16]
        handle, raw_path = tempfile.mkstemp(prefix="part-", suffix=suffix, dir=self.folder)
        ticket = UploadTicket(upload_id=uuid.uuid4().hex, name=name, size=size)
        self._pending = _Pending(ticket, Path(raw_path), os.fdopen(handle, "wb"))
        return ticket

    def add(self, upload_id: str, offset: int, data: bytes | bytearray | memoryview) -> int:
        """Write one chunk at ``offset``; returns the bytes received so far.

        Chunks arrive in order (the browser waits for room before sending more), so a chunk
        that does not start where the previous one ended is a lost or repeated message.

        Raises:
            UploadError: no such upload in progress, a chunk out of place, or more bytes than
                were announced. The upload is abandoned.
        """
        pending = self._current(upload_id)
        chunk = memoryview(data).cast("B")
        if offset != pending.received:
            self.abort()
            raise UploadError(
                f"{pending.ticket.name}: a chunk arrived at byte {offset:,} where byte "
                f"{pending.received:,} was expected (a message was lost); upload it again."
            )
        if pending.received + len(chunk) > pending.ticket.size:
            self.abort()
            raise UploadError(
                f"{pending.ticket.name}: more bytes arrived than the {pending.ticket.size:,} "
                "announced; upload it again."
            )
        pending.handle.write(chunk)
        pending.received += len(chunk)
        return pending.received

    def finish(self, upload_id: str) -> CompletedUpload:
        """Close the file once every byte arrived; the previous completed file is removed.

        Raises:
            UploadError: bytes are missing (the upload is abandoned).
        """
        pending = self._current(upload_id)
        if pending.received != pending.ticket.size:
            self.abort()
            raise UploadError(
                f"{pending.ticket.name}: {pending.received:,} of {pending.ticket.size:,} bytes "
                "arrived; upload it again."
            )
        pending.handle.close()
        self._pending = None
        previous, self.completed = (
            self.completed,
            CompletedUpload(pending.path, pending.ticket.name, pending.ticket.size),
        )
        if previous is not None:
            previous.path.unlink(missing_ok=True)
        return self.completed

    def abort(self) -> None:
        """Abandon the upload in progress, if any, and delete what arrived of it."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.handle.close()
            pending.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Abandon any upload and delete every file this assembler wrote."""
        self.abort()
        self.completed = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _current(self, upload_id: str) -> _Pending:
        pending = self._pending
        if pending is None or pending.ticket.upload_id != upload_id:
            raise UploadError(
                "a chunk arrived for an upload that is no longer in progress (another file was "
                "picked, or the panel was rebuilt); pick the file again."
            )
        return pending

    def __del__(self) -> None:  # a panel dropped without close() must not leave its files
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()
