"""Builders for list-intake tests: small CSV/XLSX/Parquet files and hostile files, made at
test time (nothing binary is committed)."""

from __future__ import annotations

import io
import random
import struct
import zipfile
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import xlsxwriter

from gtmkit.schema import CANONICAL_FIELDS

Rows = Sequence[Sequence[object]]


def csv_text(rows: Rows, delimiter: str = ",") -> str:
    """Rows as delimited text, quoting fields that need it (RFC 4180)."""

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        if any(ch in text for ch in (delimiter, '"', "\n", "\r")):
            return '"' + text.replace('"', '""') + '"'
        return text

    return "".join(delimiter.join(cell(v) for v in row) + "\n" for row in rows)


def xlsx_bytes(sheets: dict[str, Rows]) -> bytes:
    """A real workbook (xlsxwriter); every value is written as the Python type given."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, rows in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, c, value)  # text stays text: leading zeros survive
                else:
                    sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def encrypted_ooxml_bytes() -> bytes:
    """An OLE/CFB container shaped like Excel's password-protected .xlsx.

    Excel stores an encrypted workbook as a compound file holding ``EncryptionInfo`` and
    ``EncryptedPackage`` streams; this builds the header and a directory sector naming those
    streams, which is what intake inspects (a real encryptor is not a test dependency).
    """
    header = bytearray(512)
    header[:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    header[24:26] = struct.pack("<H", 0x3E)  # minor version
    header[26:28] = struct.pack("<H", 3)  # major version 3 (512-byte sectors)
    header[28:30] = b"\xfe\xff"  # byte order mark
    header[30:32] = struct.pack("<H", 9)  # sector shift
    directory = bytearray(512)
    for slot, name in enumerate(("Root Entry", "EncryptionInfo", "EncryptedPackage")):
        raw = name.encode("utf-16-le") + b"\x00\x00"
        entry = bytearray(128)
        entry[: len(raw)] = raw
        entry[64:66] = struct.pack("<H", len(raw))
        entry[66] = 5 if slot == 0 else 2
        directory[slot * 128 : (slot + 1) * 128] = entry
    return bytes(header + directory + bytes(random.Random(1).randbytes(1024)))


def zip_bomb_xlsx_bytes(declared: int = 3 * 1024**3) -> bytes:
    """A workbook-shaped zip whose central directory declares ``declared`` inflated bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * 4096)
    data = bytearray(buffer.getvalue())
    # Patch the uncompressed-size field (offset 24) of the last central directory entry.
    entry = data.rfind(b"PK\x01\x02")
    data[entry + 24 : entry + 28] = struct.pack("<I", declared)
    return bytes(data)


def real_zip_bomb_xlsx_bytes(inflated: int) -> bytes:
    """A workbook-shaped zip with a part that really inflates to ``inflated`` zero bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\x00" * inflated)
    return buffer.getvalue()


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def write(path: Path, data: bytes | str, encoding: str = "utf-8") -> Path:
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


def canonical_row(**values: str | None) -> dict[str, str | None]:
    """One row with every canonical field (None unless given)."""
    unknown = set(values) - set(CANONICAL_FIELDS)
    if unknown:
        raise ValueError(f"not canonical: {unknown}")
    return {name: values.get(name) for name in CANONICAL_FIELDS}


def canonical_frame(rows: Sequence[dict[str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema={name: pl.String for name in CANONICAL_FIELDS})
