"""The panel's smaller parts: the mapping editor, the server-file picker's fence, the preview,
and the downloads (bytes built, and sent in chunks that reassemble)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import gtmkit
from gtmkit.lists import ListError
from gtmkit.panel.downloads import DownloadButtons, result_bytes
from gtmkit.panel.files import ServerFileError, list_data_files, resolve_data_file
from gtmkit.panel.mapping import MappingEditor, corrected, full_mapping, source_headers
from gtmkit.panel.preview import preview_html, status_counts
from tests._notebooks_helpers import ROOT

LIST = (
    b"Mail,Person,Org URL,row_id,reason\nann@acme.io,Ann Lee,acme.io,7,x\n,Bob Stone,stone.io,8,y\n"
)


def test_headers_and_mapping_come_from_the_source() -> None:
    loaded = gtmkit.load_list(LIST, filename="l.csv")
    assert source_headers(loaded) == ["Mail", "Person", "Org URL", "row_id", "reason"]
    mapping = full_mapping(loaded)
    assert mapping["Mail"] == "email" and mapping["Org URL"] is None
    # every header the editor offers is one load_list accepts in mapping=
    gtmkit.load_list(LIST, filename="l.csv", mapping={h: None for h in source_headers(loaded)}
                     | {"Mail": "email"})  # fmt: skip


def test_a_field_goes_to_one_column() -> None:
    assert corrected({}, "A", "email") == {"A": "email"}
    assert corrected({"A": "email", "B": "title"}, "B", "email") == {"A": None, "B": "email"}
    assert corrected({"A": "email"}, "A", None) == {"A": None}


def test_the_editor_sends_corrections_and_shows_what_intake_did() -> None:
    sent: list[dict[str, Any]] = []
    editor = MappingEditor(sent.append)
    loaded = gtmkit.load_list(LIST, filename="l.csv")
    editor.show(loaded)
    assert "2 rows: 1 accepted, 1 rejected" in editor.counts.value
    assert "name but no company" in editor.counts.value  # the reason, with its count
    assert list(editor.dropdowns) == source_headers(loaded) and sent == []  # show() is quiet
    editor.set("Org URL", "company_domain")
    assert sent == [{"Org URL": "company_domain"}]
    reloaded = gtmkit.load_list(LIST, filename="l.csv", mapping=sent[-1])
    editor.show(reloaded)
    assert editor.dropdowns["Org URL"].value == "company_domain" and len(sent) == 1
    assert "2 rows: 2 accepted, 0 rejected" in editor.counts.value
    editor.set("Person", "email")  # taken from Mail by hand
    assert sent[-1] == {"Org URL": "company_domain", "Person": "email"}


def test_the_picker_offers_lists_under_the_data_folder_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "raw").mkdir(parents=True)
    (data / "raw" / "client.xlsx").write_bytes(b"PK")
    (data / "raw" / "client.truth.csv").write_text("x")
    (data / ".hidden").mkdir()
    (data / ".hidden" / "x.csv").write_text("x")
    (data / "notes.md").write_text("x")
    outside = tmp_path / "secret.csv"
    outside.write_text("Email\nceo@x.io\n")
    (data / "link.csv").symlink_to(outside)
    assert [f.relative for f in list_data_files(data)] == ["raw/client.xlsx"]
    assert resolve_data_file(data, "raw/client.xlsx") == (data / "raw" / "client.xlsx").resolve()
    for name in ("../secret.csv", "link.csv", str(outside)):
        with pytest.raises(ServerFileError, match="outside the data folder"):
            resolve_data_file(data, name)
    with pytest.raises(ServerFileError, match="not a list gtmkit reads"):
        resolve_data_file(data, "notes.md")
    with pytest.raises(ServerFileError, match="not a file"):
        resolve_data_file(data, "raw/gone.csv")
    assert issubclass(ServerFileError, ListError)
    samples = [f.relative for f in list_data_files(ROOT / "data")]
    assert "samples/leads_small.csv" in samples and "samples/leads_events.xlsx" in samples


RECORDS = pl.DataFrame(
    {
        "row_id": [0, 1, 2],
        "email": ["ann@acme.io", None, None],
        "email_source": ["hunter", None, None],
        "email_status": ["valid", None, None],
        "credits": [1.0, 0.0, 0.0],
        "cost_usd": [0.1, 0.0, 0.0],
        "status": ["enriched", "budget_exhausted", "rejected"],
        "status_reason": [None, "budget spent", "=cmd|' /C calc'!A0"],
    }
)


def test_the_preview_counts_every_row_and_colours_statuses() -> None:
    assert status_counts(RECORDS) == {"enriched": 1, "budget_exhausted": 1, "rejected": 1}
    shown = preview_html(RECORDS, limit=2)
    assert "Showing 2 of 3 rows" in shown and "<b>3 rows</b>" in shown
    assert shown.count("class='gtmkit-status'") == 2 and "data-status='enriched'" in shown
    assert "#067647" in shown and "$0.10" in shown
    assert "rejected 1" in shown  # counted even when not among the rows shown


def test_downloads_are_formula_safe_and_complete() -> None:
    csv = pl.read_csv(io.BytesIO(result_bytes(RECORDS, "csv")), infer_schema_length=0)
    assert csv.height == 3 and csv["status_reason"][2] == "'=cmd|' /C calc'!A0"
    assert pl.read_parquet(io.BytesIO(result_bytes(RECORDS, "parquet"))).equals(RECORDS)
    xlsx = pl.read_excel(io.BytesIO(result_bytes(RECORDS, "xlsx")))
    assert xlsx.height == 3 and xlsx["status_reason"][2] == "=cmd|' /C calc'!A0"
    import zipfile

    sheet = zipfile.ZipFile(io.BytesIO(result_bytes(RECORDS, "xlsx"))).read(
        "xl/worksheets/sheet1.xml"
    )
    assert b"<f>" not in sheet  # text cells, never formulas
    with pytest.raises(ValueError, match="unknown download format"):
        result_bytes(RECORDS, "pdf")  # type: ignore[arg-type]


def test_the_download_widget_sends_the_file_in_chunks() -> None:
    frame = pl.DataFrame(
        {"row_id": list(range(3000)), "email": [f"p{i}@x.io" for i in range(3000)]}
    )
    current: list[pl.DataFrame | None] = [None]
    widget = DownloadButtons(lambda: current[0], basename="leads.enriched", chunk_bytes=4096)
    messages: list[tuple[dict[str, Any], list[bytes]]] = []
    widget.send = lambda content, buffers=None: messages.append((content, list(buffers or [])))
    widget._handle_custom_msg({"kind": "request", "format": "csv"}, [])
    assert messages == [] and "run the waterfall first" in widget.note
    current[0] = frame
    widget._handle_custom_msg({"kind": "request", "format": "csv"}, [])
    head, *chunks, end = messages
    assert head[0]["kind"] == "file" and head[0]["name"] == "leads.enriched.csv"
    assert end[0] == {"kind": "end", "id": head[0]["id"]}
    parts = [b for content, buffers in chunks for b in buffers]
    assert all(len(p) <= 4096 for p in parts) and len(parts) > 1
    data = b"".join(parts)
    assert len(data) == head[0]["size"] and data == result_bytes(frame, "csv")
    assert pl.read_csv(io.BytesIO(data)).equals(frame)
    widget._handle_custom_msg({"kind": "request", "format": "exe"}, [])
    assert "Unknown format" in widget.note
