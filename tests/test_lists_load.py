"""load_list end to end: row ids, row accounting, rejects, duplicates, summary, export."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from _lists_helpers import csv_text, write

import gtmkit
from gtmkit import ListError, LoadedList, export_csv, load_list
from gtmkit.lists.export import neutralize_formulas
from gtmkit.schema import CANONICAL_FIELDS, ROW_ID

HEADER = ["First Name", "Last Name", "Work Email", "Company", "Website", "LinkedIn", "Notes"]


def _load(tmp_path: Path, rows: list[list[str]], **kwargs: object) -> LoadedList:
    return load_list(write(tmp_path / "leads.csv", csv_text([HEADER, *rows])), **kwargs)


def test_public_names_are_exported() -> None:
    assert gtmkit.load_list is load_list
    assert gtmkit.LoadedList is LoadedList
    assert gtmkit.ListError is ListError
    assert gtmkit.export_csv is export_csv


def test_record_columns_in_contract_order(tmp_path: Path) -> None:
    leads = _load(tmp_path, [["Ann", "Lee", "ann@acme.com", "Acme", "", "", "vip"]])
    expected = [
        ROW_ID,
        *CANONICAL_FIELDS,
        "email_valid",
        "email_is_personal",
        "country_code",
        "phone_type",
        "dedupe_key",
        "duplicate_of",
        "Notes",
    ]
    assert leads.records.columns == expected
    assert leads.records.schema[ROW_ID] == pl.Int64
    assert leads.unmapped == ["Notes"]
    assert leads.rejected.columns[:2] == [ROW_ID, "reason"]


def test_row_ids_are_source_positions_and_every_row_is_accounted(tmp_path: Path) -> None:
    rows = [
        ["Ann", "Lee", "ann@acme.com", "Acme", "", "", ""],  # 0 ok
        ["", "", "", "", "", "", "just a note"],  # 1 rejected
        ["Bob", "Ray", "", "", "", "linkedin.com/in/bobray", ""],  # 2 ok (LinkedIn)
        ["Cy", "Dee", "", "", "cydee.io", "", ""],  # 3 ok (name + domain)
        ["", "", "", "", "", "", ""],  # 4 empty
        ["Eve", "", "", "Acme", "", "", ""],  # 5 rejected (no last name)
    ]
    leads = _load(tmp_path, rows)
    assert leads.records[ROW_ID].to_list() == [0, 2, 3]
    assert leads.rejected[ROW_ID].to_list() == [1, 4, 5]
    assert leads.records.height + leads.rejected.height == leads.source_info.data_rows == 6
    reasons = dict(leads.rejected.select(ROW_ID, "reason").iter_rows())
    assert reasons[4] == "empty row"
    assert "nothing to look the person up by" in reasons[1]
    assert "nothing to look the person up by" in reasons[5]
    # the raw values of a rejected row are all there
    assert leads.rejected.filter(pl.col(ROW_ID) == 1)["Notes"].item() == "just a note"


def test_rejected_rows_keep_raw_values_untouched(tmp_path: Path) -> None:
    leads = _load(tmp_path, [["  Ann ", "", " NOT-AN-EMAIL ", "", "", "", ""]])
    row = leads.rejected.row(0, named=True)
    assert row["First Name"] == "  Ann "
    assert row["Work Email"] == " NOT-AN-EMAIL "
    assert row["reason"].startswith("invalid email 'not-an-email'")


def test_duplicates_marked_and_linked_never_dropped(tmp_path: Path) -> None:
    rows = [
        ["Ann", "Lee", "ann@acme.com", "Acme", "", "", ""],  # 0
        ["ANN", "LEE", " Ann@ACME.com ", "Acme", "", "", ""],  # 1 -> 0 (email)
        ["Bob", "Ray", "", "", "", "https://www.linkedin.com/in/bobray", ""],  # 2
        ["Bob", "Ray", "", "", "", "http://de.linkedin.com/in/BobRay/", ""],  # 3 -> 2 (LinkedIn)
        ["Jan", "van der Berg", "", "", "https://berg.nl", "", ""],  # 4
        ["jan", "Vander  berg", "", "", "www.berg.nl/about", "", ""],  # 5 -> 4 (name+domain)
        ["Jan", "van der Berg", "", "Other BV", "", "", ""],  # 6 different company
        ["Cy", "Dee", "", "Dee & Co", "", "", ""],  # 7
        ["cy", "dee", "", "DEE & co", "", "", ""],  # 8 -> 7 (name+company)
        ["Ann", "Lee", "ann@acme.com", "Acme", "", "", ""],  # 9 -> 0
    ]
    leads = _load(tmp_path, rows)
    links = dict(leads.records.select(ROW_ID, "duplicate_of").iter_rows())
    assert links == {0: None, 1: 0, 2: None, 3: 2, 4: None, 5: 4, 6: None, 7: None, 8: 7, 9: 0}
    assert leads.duplicates == 5
    assert leads.records.height == 10
    keys = dict(leads.records.select(ROW_ID, "dedupe_key").iter_rows())
    assert keys[0] == "email:ann@acme.com"
    assert keys[2] == "linkedin:https://www.linkedin.com/in/bobray"
    assert keys[4] == "name:jan|vanderberg|berg.nl"


def test_invalid_email_does_not_count_as_a_lookup_key(tmp_path: Path) -> None:
    rows = [
        ["Ann", "Lee", "ann@", "Acme", "", "", ""],
        ["Ann", "Lee", "ann@", "Acme", "", "", ""],
    ]
    leads = _load(tmp_path, rows)
    assert leads.records["email_valid"].to_list() == [False, False]
    assert leads.records["dedupe_key"].to_list() == ["name:ann|lee|company=acme"] * 2
    assert leads.records["duplicate_of"].to_list() == [None, 0]


def test_default_country_places_phones(tmp_path: Path) -> None:
    data = b"Email,Phone,Country\na@acme.com,020 7946 0958,\nb@acme.com,01 42 68 53 00,FR\n"
    leads = load_list(data, filename="p.csv", default_country="GB")
    assert leads.records["phone"].to_list() == ["+442079460958", "+33142685300"]
    with pytest.raises(ValueError, match="not a known country"):
        load_list(data, filename="p.csv", default_country="Atlantis")


def test_summary_and_repr_are_short_and_useful(tmp_path: Path) -> None:
    leads = _load(
        tmp_path,
        [
            ["Ann", "Lee", "ann@acme.com", "Acme", "", "", ""],
            ["Ann", "Lee", "ann@acme.com", "Acme", "", "", ""],
            ["", "", "", "", "", "", "x"],
        ],
    )
    text = repr(leads)
    assert text.startswith("<LoadedList 'leads.csv'")
    assert "3 rows -> 2 records (1 duplicates linked), 1 rejected" in text
    assert len(text) < 200
    summary = leads.summary()
    assert "'Work Email' -> email" in summary
    assert "kept as-is: Notes" in summary
    assert "rejected 1x: nothing to look" in summary
    assert "- " in leads._repr_markdown_()


def test_unbalanced_quote_is_refused_clearly(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.csv", b'a,b\n"unterminated,1\n2,3\n')
    with pytest.raises(ListError, match="quotes are balanced") as caught:
        load_list(bad)
    assert caught.value.__cause__ is not None


# ----------------------------------------------------------------------------- export


@pytest.mark.parametrize("trigger", ["=", "+", "-", "@", "\t", "\r"])
def test_export_neutralizes_formula_triggers(trigger: str, tmp_path: Path) -> None:
    frame = pl.DataFrame({"cell": [f"{trigger}SUM(A1:A9)", "plain", None], "n": [-1, 2, 3]})
    path = export_csv(frame, tmp_path / "out" / "x.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["cell"] == f"'{trigger}SUM(A1:A9)"  # still readable, no longer a formula
    assert rows[1]["cell"] == "plain"
    assert rows[0]["n"] == "-1"  # numbers are data, not formulas


def test_export_of_loaded_list_writes_records(tmp_path: Path) -> None:
    leads = _load(tmp_path, [["Ann", "Lee", "ann@acme.com", "Acme", "", "", '=HYPERLINK("x")']])
    path = export_csv(leads, tmp_path / "clean.csv", bom=True)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pl.read_csv(path, infer_schema=False)
    assert back["Notes"].to_list() == ['\'=HYPERLINK("x")']
    assert back["email"].to_list() == ["ann@acme.com"]


def test_neutralize_leaves_safe_cells_alone() -> None:
    frame = pl.DataFrame({"a": ["ann@acme.com", "a=b", "Acme - EMEA", ""]})
    assert neutralize_formulas(frame).equals(frame)


def test_text_passed_as_path_gets_a_hint() -> None:
    with pytest.raises(ListError, match="contents as bytes"):
        load_list("Email\nann@acme.com\n")
