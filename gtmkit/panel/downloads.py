"""The result as files downloaded in the browser: formula-safe CSV, Parquet and XLSX.

The bytes are built here (:func:`result_bytes`) and sent to the browser in chunks well under
Jupyter's websocket message limit, where they are saved under the file's name. The CSV
neutralizes cells a spreadsheet would run as a formula (``gtmkit.export_csv``'s rule); XLSX
cells are written as typed text, which a spreadsheet never runs.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"email": ["ann@acme.io"], "note": ["=HYPERLINK(1)"]})
    >>> result_bytes(frame, "csv").decode()
    "email,note\\nann@acme.io,'=HYPERLINK(1)\\n"
    >>> result_bytes(frame, "parquet")[:4], result_bytes(frame, "xlsx")[:2]
    (b'PAR1', b'PK')
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import anywidget
import polars as pl
import traitlets

from gtmkit.errors import InvalidInput
from gtmkit.lists.export import neutralize_formulas
from gtmkit.panel.chunks import DEFAULT_CHUNK_BYTES
from gtmkit.reports.wording import counted

__all__ = ["FORMATS", "MIME_TYPES", "DownloadButtons", "DownloadFormat", "result_bytes"]

HERE = Path(__file__).parent
DownloadFormat = Literal["csv", "parquet", "xlsx"]
FORMATS: tuple[str, ...] = get_args(DownloadFormat)
MIME_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def result_bytes(frame: pl.DataFrame, fmt: DownloadFormat) -> bytes:
    """``frame`` as a file of format ``fmt``.

    Raises:
        ValueError: an unknown format (the message lists the known ones).
    """
    buffer = io.BytesIO()
    if fmt == "csv":
        neutralize_formulas(frame).write_csv(buffer)
    elif fmt == "parquet":
        frame.write_parquet(buffer)
    elif fmt == "xlsx":
        frame.write_excel(buffer, worksheet="enriched")
    else:
        raise InvalidInput(f"unknown download format {fmt!r}; use one of {FORMATS}")
    return buffer.getvalue()


class DownloadButtons(anywidget.AnyWidget):
    """One button per format; a click sends ``frame()`` as a file named ``basename.<fmt>``.

    Args:
        frame: returns the frame to download (``None`` while there is nothing to download).
        basename: the file name without its extension.
        chunk_bytes: bytes per message to the browser.
    """

    _esm = HERE / "download.js"
    _css = HERE / "panel.css"

    formats = traitlets.List(traitlets.Unicode(), default_value=list(FORMATS)).tag(sync=True)
    enabled = traitlets.Bool(False).tag(sync=True)
    note = traitlets.Unicode("Run the waterfall to download its result.").tag(sync=True)

    def __init__(
        self,
        frame: Callable[[], pl.DataFrame | None],
        *,
        basename: str = "enriched",
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.frame = frame
        self.basename = basename
        self.chunk_bytes = chunk_bytes
        #: what was sent last: (file name, bytes) — for code and tests
        self.last_sent: tuple[str, bytes] | None = None
        self.on_msg(self._on_custom_msg)

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Sequence[Any]) -> None:
        if isinstance(content, dict) and content.get("kind") == "request":
            self.download(str(content.get("format")))

    def download(self, fmt: str) -> None:
        """Build the file in format ``fmt`` and send it to the browser."""
        frame = self.frame()
        if frame is None:
            self.note = "Nothing to download yet: run the waterfall first."
            return
        if fmt not in FORMATS:
            self.note = f"Unknown format {fmt!r}; use one of {', '.join(FORMATS)}."
            return
        data = result_bytes(frame, fmt)  # type: ignore[arg-type]
        name = f"{self.basename}.{fmt}"
        file_id = uuid.uuid4().hex
        self.send({"kind": "file", "id": file_id, "name": name, "mime": MIME_TYPES[fmt],
                   "size": len(data)})  # fmt: skip
        for start in range(0, len(data), self.chunk_bytes):
            part = data[start : start + self.chunk_bytes]
            self.send({"kind": "chunk", "id": file_id}, buffers=[part])
        self.send({"kind": "end", "id": file_id})
        self.last_sent = (name, data)
        self.note = f"{name}: {counted(frame.height, 'row')}, {len(data) / 1024:,.0f} KB."
