"""Reading: formats, encodings, delimiters, sheets, text-only cells, header mapping."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from _lists_helpers import csv_text, parquet_bytes, write, xlsx_bytes

from gtmkit import ListError, load_list
from gtmkit.lists.headers import header_key, map_headers, unique_headers
from gtmkit.lists.read import sniff_delimiter

HEADER = ["First Name", "Last Name", "E-mail", "Company", "Phone", "ZIP"]
ROW = ["José", "van der Berg", "jose@acme.com", "Acme", "0612345678", "01234"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(delimiter: str, tmp_path: Path) -> None:
    path = write(tmp_path / "l.txt", csv_text([HEADER, ROW, ROW], delimiter=delimiter))
    leads = load_list(path)
    assert leads.source_info.delimiter == delimiter
    assert leads.records.height == 2
    assert leads.records["last_name"].to_list() == ["van der Berg"] * 2


def test_sniffer_ignores_delimiters_inside_quotes() -> None:
    text = 'name;company\n"Lee, Ann";"Acme, Inc."\n"Ray, Bob";"B, C, D"\n'
    assert sniff_delimiter(text) == ";"


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("utf-16", "utf-16-le"),  # Python writes a little-endian BOM
        ("utf-16-be", "utf-16-be"),
        ("cp1252", "cp1252"),
    ],
)
def test_encodings_are_detected(encoding: str, reported: str, tmp_path: Path) -> None:
    text = csv_text([HEADER, ROW, ["Zoë", "Brontë", "z@b.co", "Bé", "1", "2"]])
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + text.encode("utf-16-be")
    else:
        data = text.encode(encoding)
    leads = load_list(write(tmp_path / "e.csv", data))
    assert leads.source_info.encoding == reported
    assert leads.records["first_name"].to_list() == ["José", "Zoë"]
    assert list(leads.mapping) == HEADER[:5]  # the BOM never sticks to the first header


def test_quoted_newlines_stay_in_one_cell(tmp_path: Path) -> None:
    rows = [[*HEADER, "Notes"], [*ROW, "line one\nline two, with comma"], [*ROW, "x"]]
    leads = load_list(write(tmp_path / "q.csv", csv_text(rows)))
    assert leads.source_info.data_rows == 2
    assert leads.records["Notes"].to_list() == ["line one\nline two, with comma", "x"]


def test_leading_zeros_survive_csv(tmp_path: Path) -> None:
    leads = load_list(write(tmp_path / "z.csv", csv_text([HEADER, ROW])))
    assert leads.records["ZIP"].to_list() == ["01234"]


def test_xlsx_first_non_empty_sheet_and_text_cells() -> None:
    data = xlsx_bytes({"Cover": [], "Leads": [HEADER, ROW], "Other": [["a"], ["b"]]})
    leads = load_list(data, filename="leads.xlsx")
    info = leads.source_info
    assert (info.format, info.sheet, info.sheets) == ("xlsx", "Leads", ("Cover", "Leads", "Other"))
    assert leads.records["ZIP"].to_list() == ["01234"]
    assert leads.records["phone"].to_list() == ["0612345678"]  # no country: left as text
    assert "Cover, Leads, Other" in leads.summary()


def test_xlsx_numeric_cells_become_text_without_float_noise() -> None:
    data = xlsx_bytes({"S": [["Email", "Employees"], ["a@acme.com", 250]]})
    leads = load_list(data, filename="n.xlsx")
    assert leads.records["Employees"].to_list() == ["250"]


@pytest.mark.parametrize("sheet", ["Second", 1])
def test_xlsx_sheet_choice(sheet: str | int) -> None:
    data = xlsx_bytes({"First": [["Email"], ["a@acme.com"]], "Second": [["Email"], ["b@beta.com"]]})
    leads = load_list(data, filename="s.xlsx", sheet=sheet)
    assert leads.records["email"].to_list() == ["b@beta.com"]
    assert leads.source_info.sheet == "Second"


def test_xlsx_sheet_index_out_of_range() -> None:
    data = xlsx_bytes({"Only": [["Email"], ["a@acme.com"]]})
    with pytest.raises(ListError, match="no sheet number 3"):
        load_list(data, filename="s.xlsx", sheet=3)


def test_parquet_is_read_as_text() -> None:
    frame = pl.DataFrame({"email": ["a@acme.com"], "employees": [12], "zip": ["01234"]})
    leads = load_list(parquet_bytes(frame), filename="p.parquet")
    assert leads.source_info.format == "parquet"
    assert leads.records.select("email", "employees", "zip").row(0) == ("a@acme.com", "12", "01234")


def test_format_comes_from_bytes_not_the_name() -> None:
    data = xlsx_bytes({"Leads": [["Email"], ["a@acme.com"]]})
    leads = load_list(data, filename="mislabelled.csv")
    assert leads.source_info.format == "xlsx"


def test_upload_needs_no_filename() -> None:
    leads = load_list(b"Email\na@acme.com\n")
    assert leads.records.height == 1
    assert "upload" in repr(leads)


def test_path_under_limit_but_upload_over_limit() -> None:
    data = csv_text([HEADER] + [ROW] * 20).encode()
    with pytest.raises(ListError, match="over the"):
        load_list(data, filename="x.csv", max_bytes=len(data) - 1)
    assert load_list(data, filename="x.csv", max_bytes=len(data)).records.height == 20


# ----------------------------------------------------------------------------- headers


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("First Name", "first_name"),
        ("given name", "first_name"),
        ("FIRSTNAME", "first_name"),
        ("Surname", "last_name"),
        ("E-mail", "email"),
        ("Work Email", "email"),
        ("Email Address", "email"),
        ("Company", "company_name"),
        ("Account Name", "company_name"),
        ("Company Domain", "company_domain"),
        ("Website", "website"),
        ("Person Linkedin Url", "linkedin_url"),
        ("LinkedIn Profile", "linkedin_url"),
        ("Job Title", "title"),
        ("Mobile", "phone"),
        ("Phone Number", "phone"),
        ("Country", "country"),
        ("Full Name", "full_name"),
        ("  job_title  ", "title"),
        ("Prénom", "first_name"),
    ],
)
def test_header_synonyms(header: str, field: str) -> None:
    assert map_headers([header]) == {header: field}


def test_header_key_ignores_case_space_punctuation_accents() -> None:
    assert header_key("E-Mail Address") == header_key("email_address") == "emailaddress"
    assert header_key("Téléphone") == "telephone"


def test_unmapped_and_second_best_columns_are_left_alone() -> None:
    mapping = map_headers(["Work Email", "Email", "Notes", "Lead ID"])
    assert mapping == {"Email": "email"}  # the better synonym wins; the other stays as-is


def test_user_mapping_overrides_and_blocks() -> None:
    headers = ["Email", "Personal", "Org"]
    mapping = map_headers(headers, {"Personal": "email", "Org": "company_name"})
    assert mapping == {"Personal": "email", "Org": "company_name"}
    assert map_headers(headers, {"Email": None}) == {}


def test_user_mapping_errors_are_clear() -> None:
    with pytest.raises(ListError, match="not in the file"):
        map_headers(["Email"], {"Mail": "email"})
    with pytest.raises(ListError, match="not canonical"):
        map_headers(["Email"], {"Email": "e_mail"})
    with pytest.raises(ListError, match="same field"):
        map_headers(["A", "B"], {"A": "email", "B": "email"})


def test_duplicate_and_blank_headers_are_disambiguated(tmp_path: Path) -> None:
    assert unique_headers(["Email", "Email", "", None, "Email"]) == [
        "Email",
        "Email (2)",
        "column_3",
        "column_4",
        "Email (3)",
    ]
    rows = [["Email", "Email", "", "Company"], ["a@x.com", "b@y.com", "z", "X"]]
    leads = load_list(write(tmp_path / "d.csv", csv_text(rows)))
    assert leads.mapping == {"Email": "email", "Company": "company_name"}
    record = leads.records.row(0, named=True)
    assert (record["email"], record["Email (2)"], record["column_3"]) == (
        "a@x.com",
        "b@y.com",
        "z",
    )


def test_load_list_mapping_argument(tmp_path: Path) -> None:
    rows = [["Contact", "Mail", "Org"], ["Ann Lee", "ann@acme.com", "Acme"]]
    leads = load_list(
        write(tmp_path / "m.csv", csv_text(rows)),
        mapping={"Mail": "email", "Org": "company_name"},
    )
    assert leads.mapping == {"Contact": "full_name", "Mail": "email", "Org": "company_name"}
    row = leads.records.row(0, named=True)
    assert (row["first_name"], row["last_name"], row["company_domain"]) == (
        "Ann",
        "Lee",
        "acme.com",
    )


def test_unmapped_column_named_like_an_output_column_is_kept(tmp_path: Path) -> None:
    rows = [["Email", "row_id", "email_valid"], ["a@acme.com", "77", "maybe"]]
    leads = load_list(write(tmp_path / "c.csv", csv_text(rows)))
    row = leads.records.row(0, named=True)
    assert row["row_id"] == 0
    assert (row["row_id (source)"], row["email_valid (source)"]) == ("77", "maybe")


def test_non_utf8_byte_after_the_sample_is_still_detected(tmp_path: Path) -> None:
    rows = [HEADER] + [["Ann", "Lee", f"a{i}@acme.com", "Acme", "1", "2"] for i in range(3000)]
    text = csv_text(rows) + "José,Müller,jm@acme.de,Acme,1,2\n"
    assert len(text) > 70_000  # the odd byte sits past the sniffed sample
    leads = load_list(write(tmp_path / "late.csv", text, "cp1252"))
    assert leads.source_info.encoding == "cp1252"
    assert leads.records["first_name"].to_list()[-1] == "José"


def test_xlsx_date_cells_become_iso_text() -> None:
    import datetime
    import io

    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("Leads")
    sheet.write_row(0, 0, ["Email", "Created"])
    sheet.write_string(1, 0, "a@acme.com")
    sheet.write_datetime(
        1, 1, datetime.datetime(2024, 1, 2), book.add_format({"num_format": "yyyy-mm-dd"})
    )
    book.close()
    leads = load_list(buffer.getvalue(), filename="d.xlsx")
    assert leads.records["Created"].to_list() == ["2024-01-02 00:00:00"]


@pytest.mark.parametrize("encoding", ["cp1251", "koi8_r"])
def test_cyrillic_code_pages_are_detected_not_read_as_western(
    encoding: str, tmp_path: Path
) -> None:
    rows = [["Имя", "Фамилия", "Email", "Компания"]] + [
        [f"Иван{i}", "Петров", f"ivan{i}@firma.ru", "ООО Ромашка"] for i in range(30)
    ]
    leads = load_list(write(tmp_path / "ru.csv", csv_text(rows, delimiter=";"), encoding))
    assert leads.source_info.encoding == encoding
    assert leads.records["Имя"].to_list()[0] == "Иван0"
    assert leads.records["email"].to_list()[0] == "ivan0@firma.ru"
