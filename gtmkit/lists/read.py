"""Read a lead-list file or upload into an all-text polars frame.

One job: bytes in, a table of strings out, plus a report of how the bytes were read (format,
encoding, delimiter, sheets). The format is decided by the bytes themselves (magic numbers),
not trusted from the file name, so a PDF renamed ``.csv`` or an encrypted workbook saved as
``.xlsx`` gets a clear :class:`~gtmkit.lists.errors.ListError` instead of a parser traceback.
Every cell is read as text: phone numbers, ZIP codes and IDs keep their leading zeros.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
import zipfile
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import polars as pl

from gtmkit.errors import ArgumentError
from gtmkit.lists.errors import ListError
from gtmkit.lists.headers import header_key, is_known_header, unique_headers

if TYPE_CHECKING:  # pragma: no cover
    from polars._typing import PolarsDataType

Format = Literal["csv", "xlsx", "xls", "parquet"]

#: Default cap on the size of a file or upload (bytes).
DEFAULT_MAX_BYTES = 512 * 1024 * 1024
#: Default cap on what a workbook may inflate to (sum of the uncompressed parts, bytes).
#: Reading a sheet costs a few times its inflated XML in memory, so this keeps intake near
#: its 1 GB budget.
DEFAULT_MAX_UNZIPPED_BYTES = 1024 * 1024 * 1024
#: A workbook part inflating more than this many times its compressed size, past
#: :data:`_RATIO_FLOOR` bytes, is a zip bomb: real sheets compress 5-30:1, rarely past 100:1.
MAX_INFLATE_RATIO = 200
_RATIO_FLOOR = 8 * 1024 * 1024

_DELIMITERS = (",", ";", "\t", "|")
_SNIFF_CHARS = 64 * 1024
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Binary formats people mistake for lists; named so the error can say what the file really is.
_FOREIGN_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
    (b"\x7fELF", "a program (ELF binary)"),
    (b"MZ", "a Windows program"),
    (b"SQLite format 3", "an SQLite database"),
    (b"{\\rtf", "an RTF document"),
)
_WORKBOOK_EXTENSIONS = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
_EXPORT_HINT = "Export the list as CSV or XLSX from the tool it came from and load that file."


@dataclass(frozen=True)
class SourceInfo:
    """How a list was read.

    Attributes:
        format: ``"csv"`` (also TSV/TXT), ``"xlsx"``, ``"xls"`` or ``"parquet"``.
        filename: The file name given or taken from the path, if any.
        size_bytes: Size of the file or upload.
        encoding: Text encoding detected (text files only), e.g. ``"utf-8"``, ``"utf-8-sig"``,
            ``"utf-16-le"``, ``"cp1252"``, ``"latin-1"``.
        delimiter: Field delimiter sniffed (text files only).
        sheet: Sheet read (workbooks only).
        sheets: Every sheet in the workbook, in order (workbooks only).
        data_rows: Data rows in the source: every row after the header up to the last row
            with a value (blank rows in between count and are rejected as empty).
        notes: Anything the reader had to decide that a person should know.
    """

    format: Format
    filename: str | None
    size_bytes: int
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    sheets: tuple[str, ...] = ()
    data_rows: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RawTable:
    """A source table before mapping: every column is text.

    Attributes:
        frame: One column per source header (names made unique), then any overflow columns.
        headers: The unique header names in source order.
        overflow: Columns holding values found past the header's width (ragged rows).
        info: How the source was read.
    """

    frame: pl.DataFrame
    headers: list[str]
    overflow: list[str]
    info: SourceInfo


def read_source(
    source: str | Path | bytes | bytearray | memoryview,
    *,
    filename: str | None = None,
    sheet: str | int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES,
) -> RawTable:
    """Read a path or uploaded bytes into a :class:`RawTable`.

    Raises:
        ListError: The file is missing, too large, empty, not a list, or cannot be parsed.
    """
    data, name = _load_bytes(source, filename=filename, max_bytes=max_bytes)
    if not data.strip(b" \t\r\n\x00"):
        raise ListError(
            f"{_label(name)} is empty. Export the list again and make sure it has a header "
            "row and at least one data row."
        )
    ext = Path(name).suffix.lower() if name else ""
    head = data[:16]
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _read_xlsx(data, name, sheet=sheet, max_unzipped_bytes=max_unzipped_bytes)
    if head.startswith(_OLE_MAGIC):
        return _read_ole(data, name, ext, sheet=sheet)
    if head.startswith(b"PAR1"):
        return _read_parquet(data, name)
    for magic, what in _FOREIGN_MAGIC:
        if head.startswith(magic):
            raise ListError(f"{_label(name)} is {what}, not a lead list. {_EXPORT_HINT}")
    return _read_text(data, name, ext)


# --------------------------------------------------------------------------- bytes in


def _load_bytes(
    source: str | Path | bytes | bytearray | memoryview, *, filename: str | None, max_bytes: int
) -> tuple[bytes, str | None]:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise ListError(
                f"The upload {_label(filename)} is {_size(len(data))}, over the "
                f"{_size(max_bytes)} limit. Pass the file's path instead of uploading it, or "
                "raise max_bytes if the file is expected to be this large."
            )
        return data, filename
    if not isinstance(source, str | Path):
        raise ArgumentError(f"source must be a path or bytes, not {type(source).__name__}")
    if isinstance(source, str) and ("\n" in source or len(source) > 4096):
        raise ListError(
            "source looks like the list's contents, not a path. Pass the file's path, or the "
            "contents as bytes with a filename: load_list(text.encode(), filename='leads.csv')."
        )
    path = Path(source).expanduser()
    name = filename or path.name
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise ListError(f"No file at {str(path)!r}. Check the path and try again.") from exc
    except OSError as exc:
        raise ListError(f"Cannot open {str(path)!r}: {exc.strerror or exc}.") from exc
    if path.is_dir():
        raise ListError(f"{str(path)!r} is a folder, not a file. Pass the list file itself.")
    if size > max_bytes:
        raise ListError(
            f"{_label(name)} is {_size(size)}, over the {_size(max_bytes)} limit. Split the "
            "list, or raise max_bytes if the file is expected to be this large."
        )
    try:
        return path.read_bytes(), name
    except OSError as exc:
        raise ListError(f"Cannot read {str(path)!r}: {exc.strerror or exc}.") from exc


def _label(name: str | None) -> str:
    return repr(name) if name else "The file"


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    size = n / 1024
    for unit in ("KB", "MB"):
        if size < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


# --------------------------------------------------------------------------- text files


def _decode(data: bytes) -> tuple[str, str, list[str], bytes]:
    """Return (text sample, encoding name, notes, UTF-8 payload for the CSV parser).

    UTF-8 files are not decoded in full here: only a sample is, and the parser checks the
    rest (see :func:`_read_text`), which saves a pass and a copy of the whole file.
    """
    notes: list[str] = []
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return _transcoded(data.decode("utf-32"), "utf-32", notes)
    if data.startswith(b"\xff\xfe"):
        return _transcoded(data[2:].decode("utf-16-le"), "utf-16-le", notes)
    if data.startswith(b"\xfe\xff"):
        return _transcoded(data[2:].decode("utf-16-be"), "utf-16-be", notes)
    head = data[:4096]
    # UTF-16 without a BOM: ASCII text leaves a NUL in every other byte.
    even_nuls, odd_nuls = head[0::2].count(0), head[1::2].count(0)
    half = max(len(head) // 2, 1)
    if odd_nuls > 0.4 * half and even_nuls < 0.05 * half:
        notes.append("No byte-order mark; the NUL pattern says UTF-16 little-endian.")
        return _transcoded(data.decode("utf-16-le"), "utf-16-le", notes)
    if even_nuls > 0.4 * half and odd_nuls < 0.05 * half:
        notes.append("No byte-order mark; the NUL pattern says UTF-16 big-endian.")
        return _transcoded(data.decode("utf-16-be"), "utf-16-be", notes)
    bom = data.startswith(b"\xef\xbb\xbf")
    payload = data[3:] if bom else data
    decoder = codecs.getincrementaldecoder("utf-8")(errors="strict")
    try:
        sample = decoder.decode(payload[:_SNIFF_CHARS], final=len(payload) <= _SNIFF_CHARS)
    except UnicodeDecodeError:
        return _not_utf8(data, notes)
    return sample, "utf-8-sig" if bom else "utf-8", notes, payload


def _not_utf8(data: bytes, notes: list[str]) -> tuple[str, str, list[str], bytes]:
    """Bytes that are not all UTF-8: Western text, or UTF-8 with a few pasted lines that are.

    The file is decoded as UTF-8 with every invalid byte decoded as Windows-1252 instead
    (ISO-8859-1 for the five bytes cp1252 leaves undefined). If no valid multi-byte UTF-8
    sequence is left, the file was never UTF-8: it is decoded whole as Western (or another
    code page). Otherwise only the bad bytes are repaired, and the lines that held them are
    named in a note, so one line pasted from an old export cannot mojibake every other row.
    """
    bom = data.startswith(b"\xef\xbb\xbf")
    payload = data[3:] if bom else data
    with _REPAIR_LOCK:
        _REPAIRS.clear()
        text = payload.decode("utf-8", errors=_CP1252_REPAIR)
        starts = list(_REPAIRS)
        _REPAIRS.clear()
    # Each valid multi-byte UTF-8 sequence makes the text shorter than its bytes; a repaired
    # byte decodes to one character.
    if len(payload) == len(text):
        return _western(data, notes)
    repaired: list[int] = []
    line, last = 1, 0
    for start in starts:  # in file order: count the newlines once, between repairs
        line += payload.count(b"\n", last, start)
        last = start
        if not repaired or repaired[-1] != line:
            repaired.append(line)
    lines = ", ".join(str(n) for n in repaired[:10]) + (" ..." if len(repaired) > 10 else "")
    notes.append(
        f"The file is UTF-8 except {len(repaired):,} line(s) (line {lines}) holding "
        "Windows-1252 bytes (text pasted from another export): those bytes were decoded as "
        "Windows-1252 and the rest of the file as UTF-8. Check the accents on those lines."
    )
    return _transcoded(text, "utf-8-sig" if bom else "utf-8", notes)


_REPAIRS: list[int] = []
_REPAIR_LOCK = threading.Lock()
_CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")


def _cp1252_repair(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):  # pragma: no cover - decode-only handler
        raise error
    chunk = error.object[error.start : error.end]
    _REPAIRS.append(error.start)
    text = "".join(
        bytes([b]).decode("latin-1" if b in _CP1252_UNDEFINED else "cp1252") for b in chunk
    )
    return text, error.end


_CP1252_REPAIR = "gtmkit-cp1252-repair"
codecs.register_error(_CP1252_REPAIR, _cp1252_repair)


def _transcoded(text: str, encoding: str, notes: list[str]) -> tuple[str, str, list[str], bytes]:
    text = text.removeprefix("\ufeff")
    return text[:_SNIFF_CHARS], encoding, notes, text.encode("utf-8")


def _western(data: bytes, notes: list[str]) -> tuple[str, str, list[str], bytes]:
    # Not UTF-8: Western exports (Excel "CSV" on Windows) are Windows-1252; five byte values
    # are undefined there, and a file that uses them can only be ISO-8859-1.
    if any(b in data for b in (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")):
        encoding = "latin-1"
    else:
        encoding = "cp1252"
    text = data.decode(encoding)
    # Western names have an accent here and there; runs of accented capitals-and-smalls
    # ("Èâàí Ïåòðîâ") mean the bytes are another code page (Cyrillic, Greek, ...).
    binary = _looks_binary(text)  # refused by the caller; no code page to guess
    if not binary and len(_ACCENTED_RUN.findall(text, 0, 256 * 1024)) >= 3:
        return _other_code_page(data, notes)
    notes.append(
        f"The file is not valid UTF-8; it was decoded as {encoding} (Western European). "
        "If accented letters look wrong, re-export the list as UTF-8."
    )
    return _transcoded(text, encoding, notes)


_ACCENTED_RUN = re.compile(r"[\u00c0-\u00ff]{4,}")
_OTHER_CODE_PAGES = (
    "cp1251", "koi8_r", "cp1250", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
    "mac_roman", "shift_jis", "gb18030", "big5", "euc_kr",
)  # fmt: skip


def _other_code_page(data: bytes, notes: list[str]) -> tuple[str, str, list[str], bytes]:
    import charset_normalizer

    best = charset_normalizer.from_bytes(
        data[: 256 * 1024], cp_isolation=list(_OTHER_CODE_PAGES)
    ).best()
    if best is None:
        raise ListError(
            "The file is neither UTF-8 nor Western European text, and its encoding cannot be "
            "told reliably. Re-export the list as UTF-8 (Excel: 'CSV UTF-8') and load that."
        )
    try:
        text = data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError) as exc:
        raise ListError(
            f"The file looks like {best.encoding} text but does not decode as it. Re-export "
            "the list as UTF-8 (Excel: 'CSV UTF-8') and load that."
        ) from exc
    notes.append(
        f"The file is not valid UTF-8 and not Western European; its encoding was detected as "
        f"{best.encoding}. If letters look wrong, re-export the list as UTF-8."
    )
    return _transcoded(text, best.encoding, notes)


def _looks_binary(text: str) -> bool:
    sample = text[:_SNIFF_CHARS]
    if not sample:
        return False
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\r\n\f")
    controls += sample.count("\ufffd")
    return "\x00" in sample or controls > 0.01 * len(sample)


def sniff_delimiter(text: str, *, prefer: str | None = None) -> str:
    """Pick the delimiter (``,`` ``;`` tab ``|``) that splits the sample into steady columns.

    Quoted fields are honoured, so commas inside ``"Acme, Inc."`` do not count.

    Example:
        >>> sniff_delimiter("name;email\\nAnn;ann@acme.com\\n")
        ';'
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and "\n" in sample:
        sample = sample[: sample.rfind("\n")]  # drop the cut-off last line
    best: tuple[float, int, int] | None = None
    choice = prefer or ","
    for rank, delim in enumerate(_DELIMITERS):
        try:
            rows = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delim) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        width, count = Counter(rows).most_common(1)[0]
        if width < 2:
            continue
        steady = count / len(rows)
        # steady width first, then agreement with the header row, then preference order
        score = (steady + (0.5 if rows[0] == width else 0.0), width, -rank)
        if delim == prefer:
            score = (score[0] + 0.01, score[1], score[2])
        if best is None or score > best:
            best, choice = score, delim
    return choice


def _read_text(data: bytes, name: str | None, ext: str) -> RawTable:
    if ext in _WORKBOOK_EXTENSIONS:
        snippet = data[:512].lstrip().lower()
        if snippet.startswith((b"<!doctype html", b"<html", b"<?xml", b"<table")):
            raise ListError(
                f"{_label(name)} is named like a workbook but is an HTML/XML page (some tools "
                "export these as .xls). Open it in Excel and save it as .xlsx or .csv."
            )
    try:
        text, encoding, notes, payload = _decode(data)
    except UnicodeDecodeError as exc:
        raise ListError(
            f"{_label(name)} could not be decoded as text ({exc.reason}). {_EXPORT_HINT}"
        ) from exc
    if _looks_binary(text):
        raise ListError(f"{_label(name)} is binary data, not a text or Excel list. {_EXPORT_HINT}")
    if ext in _WORKBOOK_EXTENSIONS or ext == ".parquet":
        notes.append(f"The file is named {ext} but holds delimited text; it was read as CSV.")
    text, payload, directed = _directive(text, payload, name, notes)
    prefer = "\t" if ext == ".tsv" else None
    delimiter = directed or sniff_delimiter(text, prefer=prefer)
    header_width = _header_width(text, delimiter)
    try:
        frame = _parse_csv(payload, delimiter, name)
    except _NotUtf8:
        # The sample was UTF-8 but a later byte is not: the whole file is Western text.
        text, encoding, notes, payload = _not_utf8(data, notes)
        text, payload, _ = _directive(text, payload, name, notes)
        frame = _parse_csv(payload, delimiter, name)
    info = SourceInfo(
        format="csv",
        filename=name,
        size_bytes=len(data),
        encoding=encoding,
        delimiter=delimiter,
        notes=tuple(notes),
    )
    return _split_header(frame, info, header_width=header_width)


_SEP_DIRECTIVE = re.compile(r'^"?sep=(.)"?[ \t]*\r?\n')


def _directive(
    text: str, payload: bytes, name: str | None, notes: list[str]
) -> tuple[str, bytes, str | None]:
    """Honour Excel's ``sep=;`` first line, old Mac CR-only line ends, and refuse a file that
    holds nothing but a byte-order mark or the directive.

    Returns the sample and payload without the directive line, and the delimiter it names.
    """
    delimiter: str | None = None
    found = _SEP_DIRECTIVE.match(text)
    if found:
        delimiter = found.group(1)
        text = text[found.end() :]
        cut = payload.find(b"\n") + 1
        payload = payload[cut:]
        notes.append(f"The first line is Excel's delimiter directive 'sep={delimiter}'; honoured.")
    if b"\r" in payload[:_SNIFF_CHARS] and b"\n" not in payload:
        payload = payload.replace(b"\r", b"\n")
        text = text.replace("\r", "\n")
        notes.append("Lines end with CR only (old Mac format); read as ordinary lines.")
    if not payload.strip(b" \t\r\n\x00"):
        what = "Excel's 'sep=' line" if found else "a byte-order mark"
        raise ListError(
            f"{_label(name)} holds nothing but {what}: it has no header row and no data. "
            "Export the list again and make sure it has a header row and data rows."
        )
    return text, payload, delimiter


class _NotUtf8(Exception):
    """The CSV parser met bytes that are not UTF-8."""


def _header_width(text: str, delimiter: str) -> int:
    """Fields in the first record (quote-aware: a quoted header may span lines)."""
    sample = text[:_SNIFF_CHARS]
    for row in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
        return max(len(row), 1)
    return 1


def _read_text_cells(
    payload: bytes, delimiter: str, schema: dict[str, PolarsDataType] | None = None
) -> pl.DataFrame:
    """Every cell as text, no header row; ``schema`` names the columns of a ragged file."""
    return pl.read_csv(
        payload,
        has_header=False,
        separator=delimiter,
        infer_schema=False,
        quote_char='"',
        encoding="utf8",
        schema=schema,
        missing_columns="insert",
    )


def _parse_csv(payload: bytes, delimiter: str, name: str | None) -> pl.DataFrame:
    try:
        return _read_text_cells(payload, delimiter)
    except pl.exceptions.ComputeError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise _NotUtf8 from exc
        if "more fields" not in str(exc):
            raise ListError(
                f"{_label(name)} could not be parsed as delimited text ({_first_line(exc)}). "
                "Check that quotes are balanced, or re-export the list as CSV."
            ) from exc
    # Ragged rows: some rows have more fields than the header. Read them wide so the extra
    # values are kept (those rows are rejected later with the values attached).
    width = _max_fields(payload, delimiter)
    schema: dict[str, PolarsDataType] = {f"column_{i}": pl.String for i in range(width)}
    try:
        return _read_text_cells(payload, delimiter, schema)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise ListError(
            f"{_label(name)} has rows with more fields than the header and could not be "
            f"parsed ({_first_line(exc)}). Check the delimiter and quoting."
        ) from exc


def _max_fields(payload: bytes, delimiter: str) -> int:
    text = payload.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    return max((len(row) for row in reader), default=1)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _split_header(
    frame: pl.DataFrame, info: SourceInfo, *, header_width: int | None = None
) -> RawTable:
    """Use the first row as the header; columns past the header's width are overflow."""
    if frame.height == 0 or frame.width == 0:
        raise ListError(f"{_label(info.filename)} has no rows. Export the list again.")
    at = header_row_index(frame)
    if at:
        cells = [v for i in range(at) for v in frame.row(i) if v is not None and str(v).strip()]
        above = ", ".join(repr(str(v)) for v in cells[:4]) + (" ..." if len(cells) > 4 else "")
        info = replace(
            info,
            notes=(
                *info.notes,
                f"The header is on row {at + 1}: {at} row(s) above it ({above}) are a title "
                "or group cells, not data, and were skipped.",
            ),
        )
        row = frame.row(at)
        header_width = max((i + 1 for i, v in enumerate(row) if v is not None), default=1)
        frame = frame.slice(at)
    width = min(header_width or frame.width, frame.width)
    header_row = [None if v is None else str(v) for v in frame.row(0)][:width]
    # Trailing unnamed columns that are empty everywhere are artefacts (a trailing delimiter).
    body = frame.slice(1)
    named = len(header_row)
    while named > 1 and not (header_row[named - 1] or "").strip():
        if body.get_column(frame.columns[named - 1]).is_not_null().any():
            break
        named -= 1
    names = unique_headers(header_row[:named])
    overflow_src = frame.columns[named:]
    # Columns beyond the header that hold data are overflow; all-empty ones are dropped.
    overflow_src = [c for c in overflow_src if body.get_column(c).is_not_null().any()]
    overflow = [f"extra_field_{i + 1}" for i in range(len(overflow_src))]
    body = body.select(
        [pl.col(src).alias(dst) for src, dst in zip(frame.columns[:named], names, strict=True)]
        + [pl.col(src).alias(dst) for src, dst in zip(overflow_src, overflow, strict=True)]
    )
    return RawTable(frame=body, headers=names, overflow=overflow, info=info)


_HEADER_SCAN_ROWS = 20


def header_row_index(frame: pl.DataFrame) -> int:
    """The row (0-based) holding the header: the first row, unless a row among the first
    20 names more lead fields (a title line, a report preamble, or merged group cells such
    as "Contact" / "Company" / "Engagement" above the real header).

    Example:
        >>> rows = [["Leads export", None], ["Email", "Company"], ["a@b.co", "B"]]
        >>> header_row_index(pl.DataFrame(rows, orient="row", schema=["a", "b"]))
        1
    """
    scores = [_header_hits(frame.row(i)) for i in range(min(frame.height, _HEADER_SCAN_ROWS))]
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    return best if scores[best] >= 2 and scores[best] > scores[0] else 0


def _header_hits(row: tuple[object, ...]) -> int:
    keys = {header_key(str(v)) for v in row if v is not None and str(v).strip()}
    return sum(1 for key in keys if is_known_header(key))


# --------------------------------------------------------------------------- workbooks


def _read_xlsx(
    data: bytes, name: str | None, *, sheet: str | int | None, max_unzipped_bytes: int
) -> RawTable:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ListError(
            f"{_label(name)} is a damaged zip/Excel file and cannot be opened. Open it in "
            "Excel, save a new copy as .xlsx (or export CSV) and load that."
        ) from exc
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names and "xl/workbook.bin" not in names:
        what = "a Word document" if "word/document.xml" in names else "a zip archive"
        if "ppt/presentation.xml" in names:
            what = "a PowerPoint file"
        if "content.xml" in names:
            what = "an OpenDocument file (LibreOffice/Numbers)"
        raise ListError(
            f"{_label(name)} is {what}, not an Excel workbook. "
            "Save or export the list as CSV or XLSX and load that file."
        )
    # Zip bomb guard: the central directory declares every part's inflated size; refuse
    # before any part is inflated.
    inflated = sum(m.file_size for m in members)
    if inflated > max_unzipped_bytes:
        raise ListError(
            f"{_label(name)} would inflate to {_size(inflated)} when opened, over the "
            f"{_size(max_unzipped_bytes)} safety limit (a zip bomb or a huge workbook). Export "
            "the sheet you need as CSV, or raise max_unzipped_bytes if you trust the file."
        )
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR and ratio > MAX_INFLATE_RATIO:
            raise ListError(
                f"{_label(name)} looks like a zip bomb: its part {member.filename!r} would "
                f"inflate {ratio:,.0f} times, to {_size(member.file_size)}, when opened (real "
                f"sheets compress well under {MAX_INFLATE_RATIO}:1). It was not opened. If "
                "the file is genuine, open it in Excel and export the sheet as CSV."
            )
    # .xlsx, .xlsm and .xlsb all open with the same engine.
    return _read_workbook(data, name, "xlsx", sheet=sheet)


def _read_ole(data: bytes, name: str | None, ext: str, *, sheet: str | int | None) -> RawTable:
    # An OLE/CFB container holding an "EncryptionInfo" stream is an encrypted OOXML workbook:
    # Excel saves password-protected .xlsx files this way.
    if "EncryptionInfo".encode("utf-16-le") in data[:1_000_000] or ext == ".xlsx":
        raise ListError(
            f"{_label(name)} is a password-protected (encrypted) workbook. Open it in Excel, "
            "remove the password (File > Info > Protect Workbook) or export the sheet as CSV, "
            "and load that copy."
        )
    return _read_workbook(data, name, "xls", sheet=sheet)


def _read_workbook(
    data: bytes, name: str | None, fmt: Format, *, sheet: str | int | None
) -> RawTable:
    import fastexcel

    try:
        reader = fastexcel.read_excel(data)
        sheets = tuple(reader.sheet_names)
    except Exception as exc:  # fastexcel raises its own hierarchy; any failure means unreadable
        text = str(exc).lower()
        if "password" in text or "encrypt" in text:
            raise ListError(
                f"{_label(name)} is a password-protected workbook. Remove the password in "
                "Excel or export the sheet as CSV, and load that copy."
            ) from exc
        raise ListError(
            f"{_label(name)} is a damaged or unsupported workbook and cannot be read "
            f"({_first_line(exc)}). Open it in Excel, save a new copy as .xlsx (or export "
            "CSV) and load that."
        ) from exc
    if not sheets:
        raise ListError(f"{_label(name)} has no sheets. Export the list again.")
    if sheet is not None:
        if isinstance(sheet, int) and not isinstance(sheet, bool):
            if not 0 <= sheet < len(sheets):
                raise ListError(
                    f"{_label(name)} has {len(sheets)} sheet(s) {list(sheets)}; there is no "
                    f"sheet number {sheet} (numbers start at 0)."
                )
            order = [sheets[sheet]]
        elif sheet in sheets:
            order = [sheet]
        else:
            raise ListError(
                f"{_label(name)} has no sheet named {sheet!r}. Its sheets are {list(sheets)}."
            )
    else:
        order = list(sheets)
    frame: pl.DataFrame | None = None
    chosen = order[0]
    for candidate in order:
        try:
            loaded = reader.load_sheet(
                candidate,
                header_row=None,
                dtypes="string",
                skip_whitespace_tail_rows=True,
            ).to_polars()
        except Exception as exc:
            raise ListError(
                f"Sheet {candidate!r} of {_label(name)} could not be read "
                f"({_first_line(exc)}). Open the workbook in Excel, save a new copy and retry."
            ) from exc
        loaded = _drop_empty_columns(loaded)
        if loaded.height > 0 and loaded.width > 0:
            frame, chosen = loaded, candidate
            break
    if frame is None:
        where = f"Sheet {order[0]!r}" if sheet is not None else "Every sheet"
        raise ListError(
            f"{where} of {_label(name)} is empty (sheets: {list(sheets)}). "
            "Pick the sheet that holds the list with sheet=..."
        )
    frame = frame.rename({c: f"column_{i}" for i, c in enumerate(frame.columns)})
    notes: list[str] = []
    if sheet is None and chosen != sheets[0]:
        notes.append(f"Read sheet {chosen!r}, the first non-empty one.")
    info = SourceInfo(
        format=fmt,
        filename=name,
        size_bytes=len(data),
        sheet=chosen,
        sheets=sheets,
        notes=tuple(notes),
    )
    return _split_header(frame, info)


def _drop_empty_columns(frame: pl.DataFrame) -> pl.DataFrame:
    if frame.width == 0:
        return frame
    keep = [c for c in frame.columns if frame.get_column(c).is_not_null().any()]
    # Keep interior empty columns (they may have a header on a later look); trim only the tail.
    if not keep:
        return frame.select([])
    last = frame.columns.index(keep[-1])
    return frame.select(frame.columns[: last + 1])


# --------------------------------------------------------------------------- parquet


def _read_parquet(data: bytes, name: str | None) -> RawTable:
    try:
        frame = pl.read_parquet(io.BytesIO(data))
    except Exception as exc:  # polars raises several types for a bad footer/page
        raise ListError(
            f"{_label(name)} is a damaged Parquet file ({_first_line(exc)}). Write it again."
        ) from exc
    nested = [c for c, t in frame.schema.items() if t.is_nested()]
    if nested:
        raise ListError(
            f"{_label(name)} has nested columns {nested}; a lead list needs flat columns. "
            "Flatten or drop them and write the file again."
        )
    if frame.width == 0:
        raise ListError(f"{_label(name)} has no columns.")
    names = unique_headers(list(frame.columns))
    frame = frame.select(
        [pl.col(c).cast(pl.String).alias(n) for c, n in zip(frame.columns, names, strict=True)]
    )
    info = SourceInfo(format="parquet", filename=name, size_bytes=len(data))
    return RawTable(frame=frame, headers=names, overflow=[], info=info)


def with_rows(table: RawTable, data_rows: int) -> RawTable:
    """Return ``table`` with its info's ``data_rows`` set."""
    return replace(table, info=replace(table.info, data_rows=data_rows))
