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


def docx_bytes() -> bytes:
    """A zip shaped like a Word document (what a .docx renamed .xlsx holds)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
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


# --------------------------------------------------------------------------- real export shapes
# Generators of the header rows and value shapes real tools export (written from their
# documented column names, with made-up people): nothing here is a copy of a real file.

PEOPLE = [
    ("José", "García", "jose.garcia@acme.com", "Acme"),
    ("Zoë", "Brontë", "zoe@globex.co.uk", "Globex"),
    ("Søren", "Kierkegaard", "soren@initech.dk", "Initech"),
    ("Chloé", "Lefèvre", "chloe@umbrella.fr", "Umbrella"),
]


def excel_sep_csv(delimiter: str = ";", *, bom: bool = False, crlf: bool = True) -> bytes:
    """Excel's ``sep=<d>`` directive line, then a ``<d>``-delimited list."""
    end = "\r\n" if crlf else "\n"
    rows = [["First Name", "Last Name", "Email", "Company"], *PEOPLE]
    text = f"sep={delimiter}{end}" + "".join(delimiter.join(r) + end for r in rows)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def salesforce_report_csv() -> bytes:
    """A Salesforce report export: ``Company / Account``, ``Mailing Country``..."""
    rows = [["Lead Owner", "First Name", "Last Name", "Title", "Company / Account", "Email",
             "Mailing Country"]]  # fmt: skip
    for first, last, email, company in PEOPLE:
        rows.append(["Sam Seller", first, last, "VP Sales", company, email, "United States"])
    return csv_text(rows).encode("utf-8")


def connections_csv() -> bytes:
    """LinkedIn's own ``Connections.csv`` shape: the profile is in ``URL``, the email is often
    blank, and a notes preamble sits above the header."""
    rows = [["First Name", "Last Name", "URL", "Email Address", "Company", "Position",
             "Connected On"]]  # fmt: skip
    for n, (first, last, email, company) in enumerate(PEOPLE):
        slug = f"{first}-{last}-{n}".lower().encode("ascii", "ignore").decode()
        rows.append([first, last, f"https://www.linkedin.com/in/{slug}",
                     email if n % 2 else "", company, "Engineer", "01 Jan 2026"])  # fmt: skip
    return csv_text(rows).encode("utf-8")


def sales_navigator_csv() -> bytes:
    """A Sales Navigator scrape: ``companyUrl`` is a LinkedIn company page, never a site."""
    rows = [["firstName", "lastName", "companyName", "title", "companyUrl", "profileUrl"]]
    for n, (first, last, _, company) in enumerate(PEOPLE):
        company_url = f"https://www.linkedin.com/sales/company/{1000 + n}"
        rows.append([first, last, company, "CTO", company_url, f"https://www.linkedin.com/in/p{n}"])
    return csv_text(rows).encode("utf-8")


def mixed_encoding_csv(bad_line: int = 3) -> bytes:
    """UTF-8 with one row pasted from a Windows-1252 source (line ``bad_line``, 1-based)."""
    lines = ["First Name,Last Name,Email,Company", *(",".join(p) for p in PEOPLE)]
    out = b""
    for n, line in enumerate(lines, start=1):
        out += line.encode("cp1252" if n == bad_line else "utf-8") + b"\n"
    return out


APOLLO_PHONES = ["First Phone", "Work Direct Phone", "Mobile Phone", "Corporate Phone",
                 "Home Phone", "Other Phone"]  # fmt: skip


def apollo_phones_csv(rows: Sequence[dict[str, str]]) -> bytes:
    """An Apollo-shaped export with its six phone columns; ``rows`` give the filled ones."""
    header = ["First Name", "Last Name", "Email", "Company", *APOLLO_PHONES]
    body = [
        [f"P{n}", "Lee", f"p{n}@acme.com", "Acme", *(row.get(h, "") for h in APOLLO_PHONES)]
        for n, row in enumerate(rows)
    ]
    return csv_text([header, *body]).encode("utf-8")


def ragged_csv(
    rows: Sequence[str], header: str = "First Name,Last Name,Email,Company,Title"
) -> bytes:
    """A CSV written by hand, unquoted: each row exactly as given (ragged on purpose)."""
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


GROUPED_HEADER = [
    ["Contact", None, None, "Company", None, "Engagement", None],
    ["First Name", "Last Name", "Email", "Company", "Website", "Last Touch", "Owner"],
]


def grouped_xlsx(rows: Rows, *, merged: bool = True) -> bytes:
    """A workbook whose real header is on row 2, under group cells merged across columns."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Leads")
    if merged:
        sheet.merge_range(0, 0, 0, 2, "Contact")
        sheet.merge_range(0, 3, 0, 4, "Company")
        sheet.merge_range(0, 5, 0, 6, "Engagement")
    else:
        for c, value in enumerate(GROUPED_HEADER[0]):
            if value:
                sheet.write_string(0, c, value)
    for c, value in enumerate(GROUPED_HEADER[1]):
        sheet.write_string(1, c, str(value))
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write_string(r, c, str(value))
    book.close()
    return buffer.getvalue()


def max_sheet_bomb_xlsx_bytes(rows: int = 1_048_575) -> bytes:
    """A structurally valid workbook whose one sheet has Excel's maximum row count of
    identical rows: it inflates several hundred times (streamed, so making it is cheap)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        )
        archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/'
            'spreadsheetml/2006/main"><sheets><sheet name="Leads" sheetId="1" r:id="rId1" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>'
            "</sheets></workbook>",
        )
        row = b'<row><c t="inlineStr"><is><t>ann@acme.com</t></is></c></row>'
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
                b'spreadsheetml/2006/main"><dimension ref="A1:A1048576"/><sheetData>'
            )
            chunk = row * 4096
            for _ in range(rows // 4096):
                sheet.write(chunk)
            sheet.write(row * (rows % 4096) + b"</sheetData></worksheet>")
    return buffer.getvalue()
