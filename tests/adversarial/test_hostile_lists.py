"""Hostile lists: generated files, each with its expected outcome, each loaded in a fresh
process that measures its wall time and peak memory.

Every file either loads with every source row accounted for (``records + rejected`` equals
the rows the generator wrote, and the ``row_id`` values are exactly ``0..n-1``) or raises
:class:`~gtmkit.ListError` with a message a GTM engineer can act on -- within 30 s and 1 GB.
Nothing here is a copy of a real export: every file is written by a generator below.

The table is :data:`CASES`; the figures (worst time, worst peak memory) are printed by
``test_every_case_is_within_its_budget`` and quoted in the README's Reliability section.
"""

from __future__ import annotations

import io
import json
import random
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from tests._lists_helpers import (
    apollo_phones_csv,
    connections_csv,
    csv_text,
    docx_bytes,
    encrypted_ooxml_bytes,
    excel_sep_csv,
    grouped_xlsx,
    max_sheet_bomb_xlsx_bytes,
    mixed_encoding_csv,
    ragged_csv,
    sales_navigator_csv,
    salesforce_report_csv,
    xlsx_bytes,
    zip_bomb_xlsx_bytes,
)

SECONDS = 30.0
PEAK_MB = 1024
HEADER = ["First Name", "Last Name", "Email", "Company"]
PEOPLE = [
    ["Ann", "Lee", "ann@acme.com", "Acme"],
    ["José", "García", "jose@globex.es", "Globex"],
    ["Zoë", "Brontë", "zoe@initech.co.uk", "Initech"],
]

# Runs in a fresh interpreter: load each file given, report what happened and what it cost.
# A process loads several small files in turn; its peak memory (a high-water mark) after each
# file bounds that file's own. Heavy files get a process of their own.
_RUNNER = r"""
import json, resource, sys, time
import polars as pl
from gtmkit import ListError, load_list

def one(kwargs):
    started = time.perf_counter()
    try:
        leads = load_list(**kwargs)
    except ListError as exc:
        out = {"error": str(exc)}
    except Exception as exc:  # anything else is a leak the suite reports
        out = {"leak": f"{type(exc).__module__}.{type(exc).__name__}: {exc}"[:500]}
    else:
        records = leads.records
        ids = sorted(records["row_id"].to_list() + leads.rejected["row_id"].to_list())
        text = [c for c in records.columns if records.schema[c] == pl.String]
        out = {
            "records": records.height,
            "rejected": leads.rejected.height,
            "data_rows": leads.source_info.data_rows,
            "ids_ok": ids == list(range(leads.source_info.data_rows)),
            "mapping": leads.mapping,
            "notes": list(leads.source_info.notes),
            "encoding": leads.source_info.encoding,
            "delimiter": leads.source_info.delimiter,
            "sheet": leads.source_info.sheet,
            "columns": records.columns,
            "head": records.head(5).select(
                "first_name", "last_name", "email", "company_name", "company_domain",
                "linkedin_url", "phone", "phone_type",
            ).rows(),
            "cell_bytes": max(
                (int(records[c].str.len_bytes().max() or 0) for c in text), default=0
            ),
        }
    out["seconds"] = time.perf_counter() - started
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out

print(json.dumps([one(kwargs) for kwargs in json.loads(sys.argv[1])], default=str))
"""


@dataclass(frozen=True)
class Case:
    """One hostile file and what intake must do with it.

    ``rows``: the data rows the generator wrote (loads: ``records + rejected`` must equal it);
    ``records``: how many of them are accepted; ``error``: a fragment of the ListError message
    (the file must be refused); ``check``: more assertions on the child's report.
    """

    name: str
    make: Callable[[], bytes]
    filename: str
    rows: int | None = None
    records: int | None = None
    error: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    check: Callable[[dict[str, Any]], object] | None = None
    alone: bool = False  # heavy: loaded in a process of its own


def _csv(
    rows: list[list[str]], delimiter: str = ",", encoding: str = "utf-8"
) -> Callable[[], bytes]:
    return lambda: csv_text(rows, delimiter=delimiter).encode(encoding)


def _people_csv(**kwargs: Any) -> Callable[[], bytes]:
    return _csv([HEADER, *PEOPLE], **kwargs)


def _raw(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def _xlsx(sheets: dict[str, list[list[object]]]) -> Callable[[], bytes]:
    return lambda: xlsx_bytes(sheets)


def _big_cell() -> bytes:
    cell = "x" * (10 * 1024 * 1024)
    return csv_text([[*HEADER, "Notes"], [*PEOPLE[0], cell], [*PEOPLE[1], "short"]]).encode()


def _wide() -> bytes:
    header = [*HEADER, *(f"Custom Field {i}" for i in range(196))]
    rows = [[*p, *(f"v{i}" for i in range(196))] for p in PEOPLE]
    return csv_text([header, *rows]).encode()


def _formulas() -> bytes:
    rows = [[*HEADER, "Notes"]]
    for n, formula in enumerate(
        ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)"]
    ):
        rows.append([f"P{n}", "Lee", f"p{n}@acme.com", formula, formula])
    return csv_text(rows).encode()


def _emoji_rtl() -> bytes:
    rows = [
        HEADER,
        ["😀 Ann", "Lee 🚀", "ann@acme.com", "Acme ✨"],
        ["محمد", "العلي", "m@acme.sa", "شركة أكمي"],
        ["יעל", "כהן", "y@acme.co.il", "\u202eemca"],
    ]
    return csv_text(rows).encode()


def _dates_ids_xlsx() -> bytes:
    import datetime as dt

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Leads")
    dates = book.add_format({"num_format": "yyyy-mm-dd"})
    for c, name in enumerate(["Email", "Company", "Lead ID", "Created", "Zip", "Amount"]):
        sheet.write_string(0, c, name)
    for r in range(1, 4):
        sheet.write_string(r, 0, f"p{r}@acme.com")
        sheet.write_string(r, 1, "Acme")
        sheet.write_string(r, 2, f"{r:020d}")  # a 20-digit ID, as text
        sheet.write_datetime(r, 3, dt.datetime(2026, 1, r), dates)
        sheet.write_string(r, 4, "02134")
        sheet.write_number(r, 5, 1234567890123.0)
    book.close()
    return buffer.getvalue()


def _renamed_png() -> bytes:
    return b"\x89PNG\r\n\x1a\n" + random.Random(5).randbytes(2048)


def _truncated_xlsx() -> bytes:
    data = xlsx_bytes({"Leads": [HEADER, *PEOPLE] * 40})
    return data[: len(data) // 2]


def _quoted_newlines() -> bytes:
    rows = [
        [*HEADER, "Notes"],
        [*PEOPLE[0], 'said "call me"\nnext quarter\r\nreally'],
        [*PEOPLE[1], "line one\nline two"],
        [*PEOPLE[2], ""],
    ]
    return csv_text(rows).encode()


def _head(report: dict[str, Any], column: int) -> list[object]:
    return [row[column] for row in report["head"]]


def _no_mojibake(report: dict[str, Any]) -> bool:
    return _head(report, 0)[:3] == ["Ann", "José", "Zoë"]


CASES: list[Case] = [
    # --- encodings and byte-order marks ---------------------------------------------------
    Case("utf-8", _people_csv(), "utf8.csv", rows=3, records=3, check=_no_mojibake),
    Case(
        "utf-8 with BOM",
        lambda: b"\xef\xbb\xbf" + _people_csv()(),
        "bom.csv",
        rows=3,
        records=3,
        check=_no_mojibake,
    ),
    Case(
        "utf-16 LE with BOM, tabs",
        lambda: b"\xff\xfe" + csv_text([HEADER, *PEOPLE], "\t").encode("utf-16-le"),
        "unicode.txt",
        rows=3,
        records=3,
        check=_no_mojibake,
    ),
    Case(
        "utf-16 BE with BOM",
        lambda: b"\xfe\xff" + csv_text([HEADER, *PEOPLE]).encode("utf-16-be"),
        "be.csv",
        rows=3,
        records=3,
        check=_no_mojibake,
    ),
    Case(
        "utf-16 without BOM",
        _people_csv(encoding="utf-16-le"),
        "nobom.csv",
        rows=3,
        records=3,
        check=_no_mojibake,
    ),
    Case(
        "cp1252",
        _people_csv(encoding="cp1252"),
        "win.csv",
        rows=3,
        records=3,
        check=lambda r: _no_mojibake(r) and r["encoding"] == "cp1252",
    ),
    Case(
        "mixed: UTF-8 with one cp1252 line",
        lambda: mixed_encoding_csv(3),
        "mixed.csv",
        rows=4,
        records=4,
        check=lambda r: [n for n in r["notes"] if "line 3" in n] and _head(r, 1)[1] == "Brontë",
    ),
    Case("BOM only", _raw(b"\xef\xbb\xbf"), "bom_only.csv", error="byte-order mark"),
    Case("UTF-16 BOM only", _raw(b"\xff\xfe"), "bom16.csv", error="byte-order mark"),
    # --- delimiters and line endings ------------------------------------------------------
    Case(
        "semicolon",
        _people_csv(delimiter=";"),
        "semi.csv",
        rows=3,
        records=3,
        check=lambda r: r["delimiter"] == ";",
    ),
    Case(
        "tab",
        _people_csv(delimiter="\t"),
        "tab.tsv",
        rows=3,
        records=3,
        check=lambda r: r["delimiter"] == "\t",
    ),
    Case(
        "pipe",
        _people_csv(delimiter="|"),
        "pipe.txt",
        rows=3,
        records=3,
        check=lambda r: r["delimiter"] == "|",
    ),
    Case(
        "Excel sep=; directive",
        lambda: excel_sep_csv(";"),
        "sep.csv",
        rows=4,
        records=4,
        check=lambda r: r["delimiter"] == ";" and "First Name" in r["mapping"],
    ),
    Case(
        "Excel sep=, directive with BOM",
        lambda: excel_sep_csv(",", bom=True),
        "sep2.csv",
        rows=4,
        records=4,
    ),
    Case(
        "CR-only line ends",
        lambda: _people_csv()().replace(b"\n", b"\r"),
        "mac.csv",
        rows=3,
        records=3,
        check=_no_mojibake,
    ),
    Case(
        "CRLF line ends",
        lambda: _people_csv()().replace(b"\n", b"\r\n"),
        "win.csv",
        rows=3,
        records=3,
    ),
    Case("quoted newlines", _quoted_newlines, "notes.csv", rows=3, records=3),
    # --- headers ---------------------------------------------------------------------------
    Case(
        "duplicate headers",
        _csv(
            [
                ["Email", "Email", "Company", "Company"],
                ["a@acme.com", "b@acme.com", "Acme", "Acme2"],
            ]
        ),
        "dupes.csv",
        rows=1,
        records=1,
        check=lambda r: "Email (2)" in r["columns"],
    ),
    Case(
        "blank headers",
        _csv([["Email", "", "Company", ""], ["a@acme.com", "x", "Acme", "y"]]),
        "blank.csv",
        rows=1,
        records=1,
        check=lambda r: "column_2" in r["columns"],
    ),
    Case("header only", _csv([HEADER]), "header.csv", error="only a header row"),
    Case(
        "header then blank rows",
        lambda: (csv_text([HEADER]) + ",,,\n\n,,,\n").encode(),
        "header2.csv",
        error="only a header row",
    ),
    Case("empty file", _raw(b""), "empty.csv", error="is empty"),
    Case("whitespace only", _raw(b" \r\n\t\n"), "ws.csv", error="is empty"),
    Case("no header row", _csv(PEOPLE), "headless.csv", error="first row is the header"),
    Case(
        "preamble above the header",
        lambda: b"Leads export\nby Sam\n\n" + _people_csv()(),
        "pre.csv",
        rows=3,
        records=3,
        check=lambda r: any("row 4" in n for n in r["notes"]),
    ),
    # --- sizes -----------------------------------------------------------------------------
    Case(
        "10 MB single cell",
        _big_cell,
        "big_cell.csv",
        rows=2,
        records=2,
        check=lambda r: r["cell_bytes"] == 10 * 1024 * 1024,
    ),
    Case(
        "200 columns",
        _wide,
        "wide.csv",
        rows=3,
        records=3,
        check=lambda r: len(r["columns"]) >= 196 + 16,
    ),
    # --- cell content ----------------------------------------------------------------------
    Case("formula-injection cells", _formulas, "formulas.csv", rows=4, records=4),
    Case(
        "emoji and right-to-left names",
        _emoji_rtl,
        "intl.csv",
        rows=3,
        records=3,
        check=lambda r: _head(r, 0)[1] == "محمد",
    ),
    Case(
        "long numeric IDs and ZIPs (CSV)",
        _csv([["Email", "Lead ID", "Zip"], ["a@acme.com", "00012345678901234567890", "02134"]]),
        "ids.csv",
        rows=1,
        records=1,
    ),
    Case("dates and long numeric IDs (xlsx)", _dates_ids_xlsx, "dates.xlsx", rows=3, records=3),
    Case(
        "Excel apostrophe phones",
        _csv([["Email", "Phone"], ["a@acme.com", "'+1 415-555-0134"]]),
        "apos.csv",
        rows=1,
        records=1,
        check=lambda r: _head(r, 6) == ["+14155550134"],
    ),
    # --- ragged rows -----------------------------------------------------------------------
    Case(
        "unquoted comma in a company name",
        lambda: ragged_csv(["Ann,Lee,ann@acme.com,Acme, Inc.,VP", "Bo,Ray,bo@x.com,X,CTO"]),
        "ragged.csv",
        rows=2,
        records=2,
        check=lambda r: _head(r, 3)[0] == "Acme, Inc.",
    ),
    Case(
        "more fields than the header",
        lambda: ragged_csv(["Ann,Lee,ann@acme.com,Acme,VP,spill,more", "Bo,Ray,bo@x.com,X,CTO"]),
        "long.csv",
        rows=2,
        records=2,
        check=lambda r: "extra_field_2" in r["columns"],
    ),
    Case(
        "fewer fields than the header",
        lambda: ragged_csv(["Cy,cy@initech.com,Initech,CEO", "Ann,Lee", "Bo,Ray,bo@x.com,X,CTO"]),
        "short.csv",
        rows=3,
        records=2,
        check=lambda r: _head(r, 2)[0] == "cy@initech.com",
    ),
    # --- real export headers ---------------------------------------------------------------
    Case(
        "Salesforce 'Company / Account'",
        salesforce_report_csv,
        "sfdc.csv",
        rows=4,
        records=4,
        check=lambda r: r["mapping"]["Company / Account"] == "company_name",
    ),
    Case(
        "LinkedIn Connections.csv URL",
        connections_csv,
        "Connections.csv",
        rows=4,
        records=4,
        check=lambda r: r["mapping"]["URL"] == "linkedin_url" and "linkedin.com" not in _head(r, 4),
    ),
    Case(
        "Sales Navigator companyUrl",
        sales_navigator_csv,
        "sn.csv",
        rows=4,
        records=4,
        check=lambda r: _head(r, 4) == [None] * 4,
    ),
    Case(
        "Apollo phone columns",
        lambda: apollo_phones_csv(
            [
                {"Mobile Phone": "", "Corporate Phone": "+1 212 555 0103"},
                {"Work Direct Phone": "+1 646 555 0101", "Mobile Phone": "+1 415 555 0102"},
            ]
        ),
        "apollo.csv",
        rows=2,
        records=2,
        check=lambda r: _head(r, 7) == ["corporate", "direct"],
    ),
    # --- workbooks -------------------------------------------------------------------------
    Case(
        "several sheets, the first empty",
        _xlsx({"Cover": [], "Leads": [HEADER, *PEOPLE]}),
        "sheets.xlsx",
        rows=3,
        records=3,
        check=lambda r: r["sheet"] == "Leads",
    ),
    Case(
        "several sheets, one asked for",
        _xlsx({"A": [HEADER, PEOPLE[0]], "B": [HEADER, *PEOPLE]}),
        "two.xlsx",
        rows=3,
        records=3,
        kwargs={"sheet": "B"},
    ),
    Case(
        "merged group cells above the header",
        lambda: grouped_xlsx([["Ann", "Lee", "ann@acme.com", "Acme", "acme.com", "x", "y"]]),
        "grouped.xlsx",
        rows=1,
        records=1,
        check=lambda r: r["mapping"].get("Email") == "email",
    ),
    Case(
        "password-protected workbook",
        encrypted_ooxml_bytes,
        "locked.xlsx",
        error="password-protected",
    ),
    Case(
        "zip bomb: Excel's maximum sheet", max_sheet_bomb_xlsx_bytes, "bomb.xlsx", error="zip bomb"
    ),
    Case("zip bomb: declared 3 GB", zip_bomb_xlsx_bytes, "bomb3.xlsx", error="inflate"),
    Case("truncated workbook", _truncated_xlsx, "cut.xlsx", error="damaged"),
    Case("Word document named .xlsx", docx_bytes, "leads.xlsx", error="Word document"),
    # --- not lists at all ------------------------------------------------------------------
    Case("renamed binary (PNG as .csv)", _renamed_png, "leads.csv", error="PNG image"),
    Case("random bytes", _raw(random.Random(9).randbytes(5000)), "noise.csv", error="binary"),
    Case(
        "NUL-laced text", _raw(b"Email,Company\n" + b"a\x00b\x00," * 300), "nul.csv", error="binary"
    ),
    Case(
        "HTML saved as .xls",
        _raw(b"<html><body><table><tr><td>x</td></tr></table></body></html>"),
        "export.xls",
        error="HTML",
    ),
]


def load_in_child(group: list[Case], folder: Path) -> list[tuple[Case, dict[str, Any]]]:
    """Write each case's file into ``folder`` and load them all in one fresh process."""
    batch = []
    for case in group:
        path = folder / f"{CASES.index(case):02d}-{case.filename}"
        path.write_bytes(case.make())
        batch.append({"source": str(path), "filename": case.filename, **case.kwargs})
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER, json.dumps(batch)],
            cwd=Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=SECONDS * len(group),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [(case, {"timeout": True}) for case in group]
    if done.returncode != 0 or not done.stdout.strip():
        return [(case, {"crash": done.stderr[-2000:]}) for case in group]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    return list(zip(group, results, strict=True))


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every case loaded in a fresh process (heavy cases alone, the rest in a few groups),
    two processes at a time."""
    folder = tmp_path_factory.mktemp("hostile")
    light = [case for case in CASES if not case.alone]
    groups = [[case] for case in CASES if case.alone] + [light[i::4] for i in range(4)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        batches = pool.map(lambda group: load_in_child(group, folder), groups)
        return {case.name: out for batch in batches for case, out in batch}


def test_the_table_is_big_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)
    assert sum(case.error is not None for case in CASES) >= 12
    assert sum(case.error is None for case in CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_list(case: Case, reports: dict[str, dict[str, Any]]) -> None:
    report = reports[case.name]
    assert "leak" not in report, f"not a ListError: {report.get('leak')}"
    assert "crash" not in report and "timeout" not in report, report
    if case.error is not None:
        assert "error" in report, f"expected a ListError, got {report}"
        message = report["error"]
        assert case.error in message, message
        assert len(message) > 40 and "Traceback" not in message, message
    else:
        assert "error" not in report, report.get("error")
        assert report["data_rows"] == case.rows, report
        assert report["records"] + report["rejected"] == case.rows  # every row accounted for
        assert report["ids_ok"]
        assert report["records"] == case.records, report
        if case.check is not None:
            assert case.check(report) not in (False, None, [], ()), report
    assert report["seconds"] < SECONDS, report["seconds"]
    assert report["peak_mb"] < PEAK_MB, report["peak_mb"]


def test_every_case_is_within_its_budget(reports: dict[str, dict[str, Any]]) -> None:
    worst_time = max(reports.items(), key=lambda item: item[1]["seconds"])
    worst_memory = max(reports.items(), key=lambda item: item[1]["peak_mb"])
    print(
        f"\nhostile lists: {len(reports)} files; slowest {worst_time[0]!r} "
        f"{worst_time[1]['seconds']:.2f} s; most memory {worst_memory[0]!r} "
        f"{worst_memory[1]['peak_mb']:.0f} MB"
    )
    assert worst_time[1]["seconds"] < SECONDS
    assert worst_memory[1]["peak_mb"] < PEAK_MB
