"""The panel's upload: a file sent over the widget channel in binary chunks, up to a limit
far above Jupyter's ~10 MB websocket message size (default 200 MB).

Why anywidget: ipywidgets' ``FileUpload`` sends the whole file in one websocket message (over
~10 MB it is dropped without an error, and the connection with it). A custom widget can send
binary buffers in messages of its own; anywidget makes that a plain ES module beside this file
(``upload.js``) and a Python class — no JupyterLab extension to build — and it renders in
JupyterLab, Notebook 7, VS Code and Colab alike.

The protocol (the kernel is the authority; the browser only carries bytes):

* browser → ``{"kind": "start", "name", "size"}``; kernel → ``accepted`` (an id, the chunk
  size, how many chunks may be in flight) or ``refused`` (over the limit: the message says to
  use the server-file picker or the ``path`` parameter);
* browser → ``{"kind": "chunk", "id", "offset"}`` + one binary buffer; kernel writes it to a
  temporary file (:class:`~gtmkit.panel.chunks.ChunkAssembler`) → ``ack`` with the bytes
  received, or ``failed``;
* browser → ``{"kind": "end", "id"}``; kernel checks every byte arrived and hands the file to
  ``on_file``.

Everything shown (status, message, bytes received) is synced state set here, so a page reload
re-renders what the kernel knows.

Example:
    >>> widget = ChunkedUpload(limit_bytes=1024**2)
    >>> widget.receive({"kind": "start", "name": "big.csv", "size": 3 * 1024**2})
    >>> widget.status, widget.message.split(";")[0]
    ('refused', 'big.csv is 3 MB, over the 1 MB upload limit')
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from gtmkit.errors import InvalidInput
from gtmkit.lists.errors import ListError
from gtmkit.panel.chunks import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_UPLOAD_LIMIT_BYTES,
    ChunkAssembler,
    CompletedUpload,
    human_size,
)

__all__ = ["ACCEPT", "ChunkedUpload"]

HERE = Path(__file__).parent
#: File types the panel reads (what ``gtmkit.load_list`` reads).
ACCEPT = ".csv,.tsv,.txt,.xlsx,.xls,.parquet"


class ChunkedUpload(anywidget.AnyWidget):
    """Upload a file in chunks; ``on_file(CompletedUpload)`` is called when it arrived whole.

    Args:
        limit_bytes: the largest file accepted (refused before anything is sent).
        chunk_bytes: bytes per message (keep well under the websocket's ~10 MB).
        window: chunks in flight at once.
        on_file: called with the completed upload; it returns what to show (e.g. "300 rows
            loaded") or raises :class:`~gtmkit.lists.ListError`, whose message is shown.
    """

    _esm = HERE / "upload.js"
    _css = HERE / "panel.css"

    status = traitlets.Unicode("idle").tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    filename = traitlets.Unicode("").tag(sync=True)
    received_bytes = traitlets.Int(0).tag(sync=True)
    total_bytes = traitlets.Int(0).tag(sync=True)
    limit_bytes = traitlets.Int(DEFAULT_UPLOAD_LIMIT_BYTES).tag(sync=True)
    accept = traitlets.Unicode(ACCEPT).tag(sync=True)

    def __init__(
        self,
        *,
        limit_bytes: int = DEFAULT_UPLOAD_LIMIT_BYTES,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        window: int = 4,
        on_file: Callable[[CompletedUpload], str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(limit_bytes=limit_bytes, **kwargs)
        if chunk_bytes <= 0 or window <= 0:
            raise InvalidInput("chunk_bytes and window must be positive")
        self.chunk_bytes = chunk_bytes
        self.window = window
        self.on_file = on_file
        self.assembler = ChunkAssembler(limit_bytes=limit_bytes)
        self.on_msg(self._on_custom_msg)

    def _on_custom_msg(self, _widget: Any, content: Any, buffers: Sequence[Any]) -> None:
        self.receive(content, buffers)

    def receive(self, content: Any, buffers: Sequence[Any] = ()) -> None:
        """Handle one message from the browser (what the widget channel delivers)."""
        if not isinstance(content, dict):
            return
        kind = content.get("kind")
        if kind == "start":
            self._start(str(content.get("name") or "upload"), content.get("size"))
        elif kind == "chunk":
            self._chunk(str(content.get("id")), content.get("offset"), buffers)
        elif kind == "end":
            self._end(str(content.get("id")))

    def _start(self, name: str, size: Any) -> None:
        try:
            ticket = self.assembler.start(name, size)
        except ListError as exc:
            self._show("refused", str(exc), name=name, received=0, total=0)
            self.send({"kind": "refused", "message": str(exc)})
            return
        self._show("uploading", f"Uploading {ticket.name}…", name=ticket.name, received=0,
                   total=ticket.size)  # fmt: skip
        self.send(
            {
                "kind": "accepted",
                "id": ticket.upload_id,
                "chunk_bytes": self.chunk_bytes,
                "window": self.window,
            }
        )

    def _chunk(self, upload_id: str, offset: Any, buffers: Sequence[Any]) -> None:
        try:
            if len(buffers) != 1 or not isinstance(offset, int):
                raise ListError("a chunk arrived without its bytes; upload the file again.")
            received = self.assembler.add(upload_id, offset, buffers[0])
        except ListError as exc:
            self._show("failed", f"Upload failed: {exc}")
            self.send({"kind": "failed", "id": upload_id, "message": str(exc)})
            return
        self.received_bytes = received
        self.send({"kind": "ack", "id": upload_id, "received": received})

    def _end(self, upload_id: str) -> None:
        try:
            done = self.assembler.finish(upload_id)
        except ListError as exc:
            self._show("failed", f"Upload failed: {exc}")
            return
        self._show("loading", f"{done.name} arrived ({human_size(done.size)}); reading it…")
        try:
            shown = self.on_file(done) if self.on_file is not None else f"{done.name} uploaded."
        except ListError as exc:
            self._show("failed", f"Could not load {done.name}: {exc}")
            return
        self._show("done", shown)

    def _show(
        self,
        status: str,
        message: str,
        *,
        name: str | None = None,
        received: int | None = None,
        total: int | None = None,
    ) -> None:
        with self.hold_sync():
            if name is not None:
                self.filename = name
            if total is not None:
                self.total_bytes = total
            if received is not None:
                self.received_bytes = received
            self.message = message
            self.status = status

    def close(self) -> None:
        """Close the widget and delete the files it received."""
        self.assembler.close()
        super().close()
