"""A corpus of hostile files, generated at test time, each with its expected outcome.

Every bad file must raise one ``ListError`` with a message that names the problem (checked
by fragment) and chains the parser's error rather than leaking it; every survivable file must
come back with an exact records/rejected split that accounts for every data row.
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from _lists_helpers import (
    csv_text,
    docx_bytes,
    encrypted_ooxml_bytes,
    parquet_bytes,
    real_zip_bomb_xlsx_bytes,
    write,
    xlsx_bytes,
    zip_bomb_xlsx_bytes,
)

from gtmkit import ListError, load_list

HEADER = ["First Name", "Last Name", "Email", "Company"]
GOOD = ["Ann", "Lee", "ann@acme.com", "Acme"]


@dataclass(frozen=True)
class Case:
    """One hostile file: how to make it, and what intake must do with it."""

    name: str
    make: Callable[[Path], dict[str, Any]]  # returns load_list kwargs (source=... etc.)
    error: str | None = None  # expected ListError message fragment
    records: int | None = None
    rejected: int | None = None
    reasons: dict[int, str] = field(default_factory=dict)  # row_id -> reason fragment


def _path(name: str, data: bytes | str, encoding: str = "utf-8") -> Callable[[Path], dict]:
    def make(tmp: Path) -> dict[str, Any]:
        return {"source": write(tmp / name, data, encoding)}

    return make


def _upload(name: str, data: bytes, **extra: Any) -> Callable[[Path], dict]:
    def make(tmp: Path) -> dict[str, Any]:
        return {"source": data, "filename": name, **extra}

    return make


def _truncated_xlsx() -> bytes:
    data = xlsx_bytes({"Leads": [HEADER, GOOD] * 50})
    return data[: len(data) // 2]


def _corrupt_xlsx() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types")
        archive.writestr("xl/workbook.xml", "this is not xml at all <<<")
    return buffer.getvalue()


def _plain_zip() -> bytes:
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("leads.csv", csv_text([HEADER, GOOD]))
    return buffer.getvalue()


CASES: list[Case] = [
    Case("empty file", _path("empty.csv", b""), error="is empty"),
    Case("only blank lines", _path("blank.csv", "\n \r\n\t\n"), error="is empty"),
    Case("header only", _path("header.csv", csv_text([HEADER])), error="only a header row"),
    Case(
        "header then empty rows",
        _path("header_commas.csv", csv_text([HEADER]) + ",,,\n,,,\n"),
        error="only a header row",
    ),
    Case(
        "header-only workbook",
        _upload("header.xlsx", xlsx_bytes({"Leads": [HEADER]})),
        error="only a header row",
    ),
    Case(
        "binary garbage",
        _path("garbage.csv", random.Random(3).randbytes(4000)),
        error="binary data",
    ),
    Case(
        "NUL-laced text",
        _path("nul.csv", b"a,b\n" + b"x\x00y\x00z\x00," * 200),
        error="binary data",
    ),
    Case("PDF named .csv", _path("leads.csv", b"%PDF-1.7\n%\xe2\xe3\n1 0 obj"), error="PDF"),
    Case("PNG named .xlsx", _upload("leads.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64), error="PNG"),
    Case(
        "password-protected workbook",
        _upload("locked.xlsx", encrypted_ooxml_bytes()),
        error="password-protected",
    ),
    Case("corrupt workbook", _upload("bad.xlsx", _corrupt_xlsx()), error="damaged"),
    Case("truncated workbook", _upload("cut.xlsx", _truncated_xlsx()), error="damaged"),
    Case(
        "zip bomb (declared size)",
        _upload("bomb.xlsx", zip_bomb_xlsx_bytes()),
        error="inflate",
    ),
    Case(
        "zip bomb (real inflation, lowered limit)",
        _upload(
            "bomb2.xlsx",
            real_zip_bomb_xlsx_bytes(8 * 1024 * 1024),
            max_unzipped_bytes=1024 * 1024,
        ),
        error="safety limit",
    ),
    Case("Word document named .xlsx", _upload("leads.xlsx", docx_bytes()), error="Word document"),
    Case("zip archive named .csv", _upload("leads.csv", _plain_zip()), error="zip archive"),
    Case(
        "HTML saved as .xls",
        _upload("export.xls", b"<html><body><table><tr><td>a</td></tr></table></body></html>"),
        error="HTML",
    ),
    Case(
        "upload over max_bytes",
        _upload("big.csv", csv_text([HEADER] + [GOOD] * 100).encode(), max_bytes=1000),
        error="over the",
    ),
    Case(
        "every sheet empty",
        _upload("empty.xlsx", xlsx_bytes({"One": [], "Two": []})),
        error="is empty",
    ),
    Case(
        "missing sheet asked for",
        _upload("two.xlsx", xlsx_bytes({"Leads": [HEADER, GOOD]}), sheet="Contacts"),
        error="no sheet named 'Contacts'",
    ),
    Case(
        "nested parquet",
        _upload(
            "nested.parquet",
            parquet_bytes(pl.DataFrame({"email": ["a@b.co"], "tags": [["x", "y"]]})),
        ),
        error="nested columns",
    ),
    Case(
        "no header row (first row is data)",
        _path("headless.csv", csv_text([GOOD, GOOD])),
        error="first row is the header",
    ),
    Case("path that does not exist", lambda tmp: {"source": tmp / "nope.csv"}, error="No file"),
    # --- survivable files: exact split -----------------------------------------------------
    Case(
        "ragged rows (more fields than the header)",
        _path("ragged.csv", csv_text([HEADER, GOOD, [*GOOD, "spill", "more"], GOOD])),
        records=3,  # kept: the person is plainly there; the extra values are kept too
        rejected=0,
    ),
    Case(
        "blank rows inside and after the data",
        _path("gaps.csv", csv_text([HEADER, GOOD, [], ["", "", "", ""], GOOD, [], []])),
        records=2,
        rejected=2,
        reasons={1: "empty row", 2: "empty row"},
    ),
    Case(
        "rows nobody could look up",
        _path(
            "thin.csv",
            csv_text(
                [
                    HEADER,
                    ["Ann", "", "", ""],
                    ["Ann", "Lee", "", ""],
                    ["", "", "not-an-email", ""],
                    ["Bob", "Ray", "", "Ray Co"],
                ]
            ),
        ),
        records=1,
        rejected=3,
        reasons={0: "nothing to look", 1: "no company", 2: "invalid email 'not-an-email'"},
    ),
    Case(
        "formula injection in cells",
        _path(
            "formulas.csv",
            csv_text([[*HEADER, "Notes"], [*GOOD, '=HYPERLINK("http://evil","x")']]),
        ),
        records=1,
        rejected=0,
    ),
    Case(
        "semicolons, quoted delimiters and quoted newlines",
        _path(
            "semi.csv",
            csv_text(
                [HEADER, ["Ann", "Lee", "ann@acme.com", "Acme; Inc.\nEMEA"], GOOD],
                delimiter=";",
            ),
        ),
        records=2,
        rejected=0,
    ),
    Case(
        "cp1252 bytes from old Excel",
        _path("latin.csv", csv_text([HEADER, ["José", "Müller", "jm@acme.de", "Acme"]]), "cp1252"),
        records=1,
        rejected=0,
    ),
    Case(
        "UTF-16 tab-separated (Excel 'Unicode text')",
        _path(
            "unicode.txt",
            "\ufeff" + csv_text([HEADER, ["Zoë", "Brontë", "z@b.co.uk", "B"]], delimiter="\t"),
            "utf-16-le",
        ),
        records=1,
        rejected=0,
    ),
    Case(
        "duplicate and blank headers",
        _path(
            "dupes.csv",
            csv_text([["Email", "Email", "", "Company"], ["a@x.com", "b@y.com", "z", "X"]]),
        ),
        records=1,
        rejected=0,
    ),
]


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20
    assert sum(case.error is not None for case in CASES) >= 15


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_file(case: Case, tmp_path: Path) -> None:
    kwargs = case.make(tmp_path)
    if case.error is not None:
        with pytest.raises(ListError) as caught:
            load_list(**kwargs)
        message = str(caught.value)
        assert case.error in message
        # the message says what to do, not just what went wrong
        assert len(message) > 40
        assert "Traceback" not in message
        return
    leads = load_list(**kwargs)
    assert leads.records.height == case.records
    assert leads.rejected.height == case.rejected
    assert leads.records.height + leads.rejected.height == leads.source_info.data_rows
    ids = sorted(leads.records["row_id"].to_list() + leads.rejected["row_id"].to_list())
    assert ids == list(range(leads.source_info.data_rows))
    reasons = dict(zip(leads.rejected["row_id"], leads.rejected["reason"], strict=True))
    for row_id, fragment in case.reasons.items():
        assert fragment in reasons[row_id]


def test_parser_errors_are_chained_not_leaked(tmp_path: Path) -> None:
    with pytest.raises(ListError) as caught:
        load_list(b"PK\x03\x04" + b"\x00" * 100, filename="broken.xlsx")
    assert caught.value.__cause__ is not None


def test_ragged_row_keeps_its_extra_values(tmp_path: Path) -> None:
    path = write(tmp_path / "r.csv", csv_text([HEADER, GOOD, [*GOOD, "spill", "more"]]))
    leads = load_list(path)
    row = leads.records.row(1, named=True)
    assert (row["extra_field_1"], row["extra_field_2"]) == ("spill", "more")
    assert row["email"] == "ann@acme.com"
    assert any("extra_field_*" in note for note in leads.source_info.notes)


def test_cp1252_is_detected_and_reported(tmp_path: Path) -> None:
    text = csv_text([HEADER, ["José", "Müller", "jm@acme.de", "Acme € Ltd"]])
    leads = load_list(write(tmp_path / "w.csv", text, "cp1252"))
    assert leads.source_info.encoding == "cp1252"
    assert leads.records.row(0, named=True)["first_name"] == "José"
    assert leads.records.row(0, named=True)["company_name"] == "Acme € Ltd"
    assert any("not valid UTF-8" in note for note in leads.source_info.notes)


def test_latin1_only_bytes_are_reported_as_latin1(tmp_path: Path) -> None:
    # 0x81 is undefined in cp1252, so only ISO-8859-1 decodes this file faithfully.
    data = csv_text([HEADER, ["Ann", "Lee", "ann@acme.com", "Acme"]]).encode("latin-1")
    leads = load_list(data.replace(b"Acme\n", b"Acme\x81\n"), filename="l.csv")
    assert leads.source_info.encoding == "latin-1"
    assert leads.records.height == 1


def test_max_sheet_zip_bomb_is_refused_before_inflating() -> None:
    import io
    import time
    import zipfile as zf

    from _lists_helpers import max_sheet_bomb_xlsx_bytes

    from gtmkit.lists.read import MAX_INFLATE_RATIO

    data = max_sheet_bomb_xlsx_bytes()
    sheet = zf.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    assert sheet.file_size / sheet.compress_size > MAX_INFLATE_RATIO  # the attack's shape
    started = time.perf_counter()
    with pytest.raises(ListError, match="zip bomb") as caught:
        load_list(data, filename="bomb.xlsx")
    assert time.perf_counter() - started < 1.0  # refused from the directory, not inflated
    assert "export the sheet as CSV" in str(caught.value)


def test_a_real_workbook_is_not_taken_for_a_bomb() -> None:
    rows = [HEADER] + [
        [f"P{i}", "Lee", f"p{i}@acme{i % 50}.com", f"Acme {i % 50}"] for i in range(20_000)
    ]
    leads = load_list(xlsx_bytes({"Leads": rows}), filename="big.xlsx")
    assert leads.records.height == 20_000
