"""Ragged rows are kept and aligned where their shapes say how; header rows are found below
titles, preambles and merged group cells."""

from __future__ import annotations

import pytest
from _lists_helpers import csv_text, grouped_xlsx, ragged_csv, xlsx_bytes

from gtmkit import load_list

COLUMNS = ["first_name", "last_name", "email", "company_name", "title"]


def _rows(data: bytes, name: str = "r.csv") -> list[tuple[object, ...]]:
    return load_list(data, filename=name).records.select(COLUMNS).rows()


def test_unquoted_comma_in_a_company_name_is_joined_back() -> None:
    data = ragged_csv(
        ["Ann,Lee,ann@acme.com,Acme, Inc.,VP Sales", "Bo,Ray,bo@globex.com,Globex,CTO"]
    )
    leads = load_list(data, filename="r.csv")
    assert leads.records.select(COLUMNS).row(0) == (
        "Ann", "Lee", "ann@acme.com", "Acme, Inc.", "VP Sales",
    )  # fmt: skip
    assert leads.rejected.height == 0
    assert "extra_field_1" not in leads.records.columns  # nothing left over
    (note,) = leads.source_info.notes
    assert "1 realigned by joining values split by an unquoted ','" in note
    assert "row_id 0" in note


def test_comma_in_the_last_column_is_joined_when_a_space_says_so() -> None:
    data = ragged_csv(
        ["Ann,Lee,ann@acme.com,Acme, LLC"], header="First Name,Last Name,Email,Company"
    )
    assert load_list(data, filename="r.csv").records["company_name"].item() == "Acme, LLC"


def test_comma_in_a_middle_column_before_the_email_is_joined() -> None:
    data = ragged_csv(
        ["Acme, Inc.,Ann,Lee,ann@acme.com"], header="Company,First Name,Last Name,Email"
    )
    row = load_list(data, filename="r.csv").records.row(0, named=True)
    assert (row["company_name"], row["first_name"], row["email"]) == (
        "Acme, Inc.",
        "Ann",
        "ann@acme.com",
    )


def test_extra_values_nobody_can_place_are_kept_in_extra_columns() -> None:
    data = ragged_csv(["Ann,Lee,ann@acme.com,Acme,CEO,spill,more", "Bo,Ray,bo@x.com,X,CTO"])
    leads = load_list(data, filename="r.csv")
    assert leads.records.height == 2 and leads.rejected.height == 0
    first = leads.records.row(0, named=True)
    assert (first["title"], first["extra_field_1"], first["extra_field_2"]) == (
        "CEO", "spill", "more",
    )  # fmt: skip
    assert leads.records.row(1, named=True)["extra_field_1"] is None
    assert "extra_field_1" in leads.unmapped
    assert any("kept with the values past the header" in n for n in leads.source_info.notes)


def test_a_row_missing_a_value_is_aligned_on_its_email() -> None:
    data = ragged_csv(["Cy,cy@initech.com,Initech,CEO", "Bo,Ray,bo@globex.com,Globex,CTO"])
    leads = load_list(data, filename="r.csv")
    assert leads.records.select(COLUMNS).rows() == [
        ("Cy", None, "cy@initech.com", "Initech", "CEO"),
        ("Bo", "Ray", "bo@globex.com", "Globex", "CTO"),
    ]
    assert any("fewer fields" in n and "row_id 0" in n for n in leads.source_info.notes)


def test_a_row_that_just_ends_early_is_kept_as_it_is_without_a_note() -> None:
    data = ragged_csv(["Ann,Lee,ann@acme.com", "Bo,Ray,bo@globex.com,Globex,CTO"])
    leads = load_list(data, filename="r.csv")
    assert leads.records.select(COLUMNS).row(0) == ("Ann", "Lee", "ann@acme.com", None, None)
    assert leads.source_info.notes == ()


def test_ragged_rows_are_accounted_for_and_rejected_only_when_unfindable() -> None:
    data = ragged_csv(["Ann,Lee,ann@acme.com,Acme, Inc.,VP", ",,,,,x,y", "Bo,Ray,bo@x.com,X,CTO"])
    leads = load_list(data, filename="r.csv")
    assert (leads.records.height, leads.rejected.height) == (2, 1)
    row = leads.rejected.row(0, named=True)
    assert (row["extra_field_1"], row["extra_field_2"]) == ("x", "y")


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_a_split_value_is_joined_with_the_file_delimiter(delimiter: str) -> None:
    header = delimiter.join(["First Name", "Last Name", "Email", "Company", "Title"])
    row = delimiter.join(["Ann", "Lee", "ann@acme.com", "Acme", " Inc.", "VP"])
    good = delimiter.join(["Bo", "Ray", "bo@x.com", "X", "CTO"])
    leads = load_list(ragged_csv([row, good, good], header=header), filename="r.csv")
    expected = " ".join(f"Acme{delimiter} Inc.".split())  # cells are whitespace-cleaned
    assert leads.records["company_name"].head(1).item() == expected


# --------------------------------------------------------------------------- header rows


@pytest.mark.parametrize("merged", [True, False])
def test_header_under_merged_group_cells_is_found(merged: bool) -> None:
    rows = [
        ["Ann", "Lee", "ann@acme.com", "Acme", "acme.com", "2026-11-01", "Sam"],
        ["Bo", "Ray", "bo@globex.com", "Globex", "globex.com", "2026-11-02", "Sam"],
    ]
    leads = load_list(grouped_xlsx(rows, merged=merged), filename="grouped.xlsx")
    assert leads.mapping == {
        "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Company": "company_name", "Website": "website",
    }  # fmt: skip
    assert leads.source_info.data_rows == 2
    assert leads.records["email"].to_list() == ["ann@acme.com", "bo@globex.com"]
    assert any("header is on row 2" in n and "'Contact'" in n for n in leads.source_info.notes)


def test_csv_preamble_above_the_header_is_skipped() -> None:
    preamble = "Leads export\nGenerated 2026-11-30 by Sam Seller\n\n"
    body = csv_text(
        [
            ["First Name", "Last Name", "Email", "Company"],
            ["Ann", "Lee", "ann@acme.com", "Acme"],
            ["Bo", "Ray", "bo@x.com", "X"],
        ]
    )
    leads = load_list((preamble + body).encode(), filename="report.csv")
    assert leads.source_info.data_rows == 2
    assert leads.records["first_name"].to_list() == ["Ann", "Bo"]
    assert leads.rejected.height == 0
    assert any("header is on row 4" in n for n in leads.source_info.notes)


def test_a_preamble_in_a_workbook_is_skipped() -> None:
    book = xlsx_bytes({"Report": [["Q3 pipeline"], [], ["Email", "Company", "Name"],
                                  ["ann@acme.com", "Acme", "Ann Lee"]]})  # fmt: skip
    leads = load_list(book, filename="r.xlsx")
    assert leads.records["email"].to_list() == ["ann@acme.com"]
    assert leads.source_info.data_rows == 1


def test_a_first_row_header_is_kept_even_if_a_data_row_names_fields() -> None:
    data = csv_text([["Email", "Company", "Notes"], ["a@b.co", "Company", "Email"]]).encode()
    leads = load_list(data, filename="r.csv")
    assert leads.mapping == {"Email": "email", "Company": "company_name"}
    assert leads.records.height == 1
