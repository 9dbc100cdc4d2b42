"""The chunked upload without a browser: the assembler puts chunks back together in a temp
file, refuses what does not fit, and the widget speaks the protocol ``upload.js`` speaks."""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import pytest

from gtmkit.errors import GtmkitError
from gtmkit.lists import ListError
from gtmkit.panel.chunks import (
    DEFAULT_CHUNK_BYTES,
    DEFAULT_UPLOAD_LIMIT_BYTES,
    ChunkAssembler,
    UploadError,
    UploadTooLarge,
    safe_name,
)
from gtmkit.panel.upload import ChunkedUpload


def _chunks(data: bytes, seed: int) -> list[tuple[int, bytes]]:
    rng = random.Random(seed)
    out, offset = [], 0
    while offset < len(data):
        size = rng.randint(1, 5000)
        out.append((offset, data[offset : offset + size]))
        offset += size
    return out


@pytest.mark.parametrize("seed", range(5))
def test_chunks_reassemble_into_the_same_bytes(tmp_path: Path, seed: int) -> None:
    data = random.Random(seed).randbytes(random.Random(seed).randint(0, 60_000))
    assembler = ChunkAssembler(limit_bytes=100_000, directory=tmp_path)
    ticket = assembler.start("leads.csv", len(data))
    for offset, part in _chunks(data, seed):
        assert assembler.add(ticket.upload_id, offset, memoryview(part)) == offset + len(part)
    done = assembler.finish(ticket.upload_id)
    assert done.path.read_bytes() == data and done.size == len(data) and done.name == "leads.csv"
    assert done.path.suffix == ".csv"  # the format hint survives
    assembler.close()
    assert not done.path.exists() and list(tmp_path.iterdir()) == []


def test_chunks_go_to_disk_as_they_arrive(tmp_path: Path) -> None:
    assembler = ChunkAssembler(limit_bytes=10 * 1024**2, directory=tmp_path)
    ticket = assembler.start("big.csv", 3 * 1024**2)
    for i in range(3):
        assembler.add(ticket.upload_id, i * 1024**2, b"x" * 1024**2)
        (part,) = assembler.folder.iterdir()
        assert part.stat().st_size >= i * 1024**2  # written, not held in memory
    assembler.finish(ticket.upload_id)
    assembler.close()


def test_over_the_limit_is_refused_before_anything_is_sent() -> None:
    assert DEFAULT_UPLOAD_LIMIT_BYTES == 200 * 1024**2 and DEFAULT_CHUNK_BYTES < 10 * 1024**2
    assembler = ChunkAssembler(limit_bytes=DEFAULT_UPLOAD_LIMIT_BYTES)
    with pytest.raises(UploadTooLarge) as info:
        assembler.start("huge.csv", DEFAULT_UPLOAD_LIMIT_BYTES + 1)
    message = str(info.value)
    assert "over the 200 MB upload limit" in message and "Server file" in message
    assert "-p path data/raw/huge.csv" in message
    assert assembler.in_progress is None and assembler._folder is None  # nothing written
    assert issubclass(UploadTooLarge, ListError) and issubclass(UploadError, GtmkitError)
    assert issubclass(UploadError, ValueError)
    ticket = assembler.start("ok.csv", DEFAULT_UPLOAD_LIMIT_BYTES)  # the limit itself is fine
    assert ticket.size == DEFAULT_UPLOAD_LIMIT_BYTES
    assembler.close()


@pytest.mark.parametrize(
    ("offset", "extra", "message"),
    [(3, b"abc", "where byte 0 was expected"), (0, b"abcdefgh", "more bytes arrived")],
)
def test_a_chunk_that_does_not_fit_abandons_the_upload(
    offset: int, extra: bytes, message: str
) -> None:
    assembler = ChunkAssembler(limit_bytes=100)
    ticket = assembler.start("l.csv", 5)
    with pytest.raises(UploadError, match=message):
        assembler.add(ticket.upload_id, offset, extra)
    assert assembler.in_progress is None and list(assembler.folder.iterdir()) == []
    with pytest.raises(UploadError, match="no longer in progress"):
        assembler.add(ticket.upload_id, 0, b"a")


def test_missing_bytes_and_replaced_uploads_are_errors() -> None:
    assembler = ChunkAssembler(limit_bytes=100)
    first = assembler.start("a.csv", 4)
    assembler.add(first.upload_id, 0, b"ab")
    with pytest.raises(UploadError, match="2 of 4 bytes arrived"):
        assembler.finish(first.upload_id)
    old = assembler.start("b.csv", 2)
    new = assembler.start("c.csv", 2)  # picking another file abandons the one in progress
    with pytest.raises(UploadError, match="no longer in progress"):
        assembler.add(old.upload_id, 0, b"xy")
    assembler.add(new.upload_id, 0, b"xy")
    kept = assembler.finish(new.upload_id)
    again = assembler.start("d.csv", 1)
    assembler.add(again.upload_id, 0, b"z")
    latest = assembler.finish(again.upload_id)
    assert not kept.path.exists() and latest.path.read_bytes() == b"z"  # one file kept
    assert sorted(p.name for p in assembler.folder.iterdir()) == [latest.path.name]
    assembler.close()


@pytest.mark.parametrize("size", [-1, 1.5, True, "10", None])
def test_a_size_that_is_not_bytes_is_refused(size: Any) -> None:
    with pytest.raises(UploadError, match="pick the file again"):
        ChunkAssembler(limit_bytes=100).start("l.csv", size)


def test_names_lose_any_folder() -> None:
    assert safe_name("../../x/leads.csv") == "leads.csv"
    assert safe_name("C:\\Users\\ann\\leads.xlsx") == "leads.xlsx"
    assert safe_name("") == "upload" and safe_name("..") == "upload"


# ------------------------------------------------------------------ the widget's protocol


class Recorder:
    """Stands in for the widget channel: what the kernel sent to the browser."""

    def __init__(self, widget: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        widget.send = lambda content, buffers=None: self.sent.append(content)

    def last(self) -> dict[str, Any]:
        return self.sent[-1]


def _send_file(widget: ChunkedUpload, channel: Recorder, name: str, data: bytes) -> None:
    """What upload.js does: start, chunks of the size the kernel asked for, end."""
    widget._handle_custom_msg({"kind": "start", "name": name, "size": len(data)}, [])
    reply = channel.last()
    if reply["kind"] != "accepted":
        return
    for offset in range(0, len(data), reply["chunk_bytes"]):
        part = data[offset : offset + reply["chunk_bytes"]]
        widget._handle_custom_msg({"kind": "chunk", "id": reply["id"], "offset": offset},
                                  [memoryview(part)])  # fmt: skip
        assert channel.last() == {"kind": "ack", "id": reply["id"], "received": offset + len(part)}
    widget._handle_custom_msg({"kind": "end", "id": reply["id"]}, [])


def test_the_widget_receives_a_file_and_hands_it_over() -> None:
    got: list[bytes] = []

    def on_file(done: Any) -> str:
        got.append(done.path.read_bytes())
        return "loaded"

    widget = ChunkedUpload(limit_bytes=10_000, chunk_bytes=100, window=2, on_file=on_file)
    channel = Recorder(widget)
    data = os.urandom(1234)
    _send_file(widget, channel, "leads.csv", data)
    assert got == [data]
    assert channel.sent[0]["kind"] == "accepted" and channel.sent[0]["window"] == 2
    assert len(channel.sent) == 1 + 13  # accepted, then one ack per 100-byte chunk
    assert (widget.status, widget.message, widget.filename) == ("done", "loaded", "leads.csv")
    assert widget.received_bytes == widget.total_bytes == 1234
    widget.close()


def test_over_the_limit_then_the_next_file_works() -> None:
    widget = ChunkedUpload(limit_bytes=1000, chunk_bytes=300)
    channel = Recorder(widget)
    _send_file(widget, channel, "big.csv", b"x" * 1001)
    assert channel.last()["kind"] == "refused" and widget.status == "refused"
    assert (
        "big.csv is 1001 bytes, over the 1000 bytes upload limit" in widget.message
        and "Server file" in widget.message
    )
    _send_file(widget, channel, "small.csv", b"Email\nann@acme.io\n")
    assert widget.status == "done" and widget.filename == "small.csv"
    widget.close()


def test_a_list_that_cannot_be_read_is_a_message_not_a_crash() -> None:
    def on_file(done: Any) -> str:
        raise ListError("not a lead list")

    widget = ChunkedUpload(limit_bytes=1000, on_file=on_file)
    channel = Recorder(widget)
    _send_file(widget, channel, "bad.csv", b"\x00\x01")
    assert widget.status == "failed" and "Could not load bad.csv: not a lead list" in widget.message


def test_a_lost_chunk_fails_the_upload_and_says_so() -> None:
    widget = ChunkedUpload(limit_bytes=1000)
    channel = Recorder(widget)
    widget._handle_custom_msg({"kind": "start", "name": "l.csv", "size": 10}, [])
    upload_id = channel.last()["id"]
    widget._handle_custom_msg({"kind": "chunk", "id": upload_id, "offset": 4}, [b"abc"])
    assert channel.last()["kind"] == "failed" and widget.status == "failed"
    assert "a message was lost" in widget.message
    widget._handle_custom_msg({"kind": "chunk", "id": upload_id, "offset": 0}, [])
    assert channel.last()["kind"] == "failed"
    widget._handle_custom_msg("not a message", [])  # ignored
    widget._handle_custom_msg({"kind": "end", "id": upload_id}, [])
    assert widget.status == "failed" and "no longer in progress" in widget.message
