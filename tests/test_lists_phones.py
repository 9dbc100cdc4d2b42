"""Several phone columns: each row's phone is chosen by a documented precedence, its type is
kept, and Excel's leading apostrophe is a text marker, not part of the number."""

from __future__ import annotations

import pytest
from _lists_helpers import APOLLO_PHONES, apollo_phones_csv, csv_text, xlsx_bytes

from gtmkit import load_list
from gtmkit.lists.headers import PHONE_PRECEDENCE, phone_type

DIRECT, MOBILE, CORP, HOME, OTHER = (
    "+1 646 555 0101", "+1 (415) 555-0102", "+1 212 555 0103", "+1 303 555 0104",
    "+1 503 555 0105",
)  # fmt: skip


def test_each_row_gets_its_own_best_phone() -> None:
    rows = [
        {"Mobile Phone": MOBILE, "Corporate Phone": CORP},  # mobile over corporate
        {"Work Direct Phone": DIRECT, "Corporate Phone": CORP},  # empty mobile: direct
        {"Corporate Phone": CORP, "Home Phone": HOME},  # corporate over home
        {"Other Phone": OTHER},
        {"Home Phone": HOME},
        {},
        {"Work Direct Phone": DIRECT, "Mobile Phone": MOBILE, "First Phone": CORP},
    ]
    leads = load_list(apollo_phones_csv(rows), filename="apollo.csv")
    got = leads.records.select("phone", "phone_type").rows()
    assert got == [
        ("+14155550102", "mobile"),
        ("+16465550101", "direct"),
        ("+12125550103", "corporate"),
        ("+15035550105", "other"),
        ("+13035550104", "home"),
        (None, None),
        ("+16465550101", "direct"),
    ]
    assert all(leads.mapping[h] == "phone" for h in APOLLO_PHONES)
    # the numbers not chosen are still there, as the file had them
    assert set(APOLLO_PHONES) <= set(leads.unmapped)
    assert leads.records.row(0, named=True)["Corporate Phone"] == CORP


def test_a_blank_or_digitless_phone_cell_is_skipped() -> None:
    rows = [{"Work Direct Phone": "  ", "Mobile Phone": "n/a", "Corporate Phone": CORP}]
    leads = load_list(apollo_phones_csv(rows), filename="apollo.csv")
    assert leads.records.select("phone", "phone_type").row(0) == ("+12125550103", "corporate")


def test_zoominfo_direct_phone_number_beats_mobile_and_hq() -> None:
    header = ["First Name", "Last Name", "Email", "Direct Phone Number", "Mobile phone",
              "Company HQ Phone"]  # fmt: skip
    rows = [
        ["Ann", "Lee", "ann@acme.com", DIRECT, MOBILE, CORP],
        ["Bo", "Ray", "bo@acme.com", "", MOBILE, CORP],
        ["Cy", "Dee", "cy@acme.com", "", "", CORP],
    ]
    leads = load_list(csv_text([header, *rows]).encode(), filename="zoominfo.csv")
    assert leads.records["phone_type"].to_list() == ["direct", "mobile", "corporate"]


def test_a_single_phone_column_keeps_its_type() -> None:
    data = csv_text([["Email", "Mobile"], ["ann@acme.com", MOBILE], ["bo@acme.com", ""]])
    leads = load_list(data.encode(), filename="one.csv")
    assert leads.records.select("phone", "phone_type").rows() == [
        ("+14155550102", "mobile"),
        (None, None),
    ]
    assert leads.unmapped == []


def test_mapping_naming_the_phone_column_wins() -> None:
    rows = [{"Mobile Phone": MOBILE, "Home Phone": HOME}]
    leads = load_list(apollo_phones_csv(rows), filename="a.csv", mapping={"Home Phone": "phone"})
    assert leads.records.select("phone", "phone_type").row(0) == ("+13035550104", "home")
    assert [h for h, f in leads.mapping.items() if f == "phone"] == ["Home Phone"]


@pytest.mark.parametrize("cell", ["'+1 415-555-0134", "' +1 415-555-0134", "'4155550134"])
def test_excel_apostrophe_is_a_text_marker(cell: str) -> None:
    data = csv_text([["Email", "Phone"], ["ann@acme.com", cell]]).encode()
    leads = load_list(data, filename="a.csv", default_country="US")
    assert leads.records["phone"].item() == "+14155550134"


def test_apostrophe_phone_in_a_workbook_stays_text() -> None:
    book = xlsx_bytes({"Leads": [["Email", "Work Direct Phone", "Zip"],
                                 ["ann@acme.com", "'+1 415-555-0134", "02134"]]})  # fmt: skip
    row = load_list(book, filename="a.xlsx").records.row(0, named=True)
    assert (row["phone"], row["phone_type"], row["Zip"]) == ("+14155550134", "direct", "02134")


@pytest.mark.parametrize(
    ("header", "kind"),
    [("Work Direct Phone", "direct"), ("Direct Dial", "direct"), ("Cell", "mobile"),
     ("Mobile phone", "mobile"), ("Phone", "phone"), ("First Phone", "phone"),
     ("Work Phone", "work"), ("Corporate Phone", "corporate"), ("Company HQ Phone", "corporate"),
     ("Other Phone", "other"), ("Home Phone", "home")],
)  # fmt: skip
def test_phone_type_of_each_header(header: str, kind: str) -> None:
    assert phone_type(header) == kind
    assert kind in PHONE_PRECEDENCE
