"""Real export shapes (generated): Excel's ``sep=`` line, Salesforce and LinkedIn headers,
social URLs that are never a company domain, mixed encodings, CR-only lines, BOM-only files."""

from __future__ import annotations

import pytest
from _lists_helpers import (
    PEOPLE,
    connections_csv,
    excel_sep_csv,
    mixed_encoding_csv,
    sales_navigator_csv,
    salesforce_report_csv,
)

from gtmkit import ListError, load_list

FIRST_NAMES = [p[0] for p in PEOPLE]


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
@pytest.mark.parametrize("bom", [False, True])
def test_excel_sep_directive_is_honoured(delimiter: str, bom: bool) -> None:
    leads = load_list(excel_sep_csv(delimiter, bom=bom), filename="excel.csv")
    assert leads.source_info.delimiter == delimiter
    assert list(leads.mapping) == ["First Name", "Last Name", "Email", "Company"]
    assert leads.records["first_name"].to_list() == FIRST_NAMES
    assert any("sep=" in note for note in leads.source_info.notes)


def test_a_sep_line_alone_is_a_list_error() -> None:
    with pytest.raises(ListError, match="sep="):
        load_list(b"sep=;\r\n", filename="x.csv")


def test_salesforce_company_account_header() -> None:
    leads = load_list(salesforce_report_csv(), filename="report.csv")
    assert leads.mapping["Company / Account"] == "company_name"
    assert leads.mapping["Mailing Country"] == "country"
    assert leads.records["company_name"].to_list() == [p[3] for p in PEOPLE]
    assert "Lead Owner" in leads.unmapped


def test_connections_url_is_the_linkedin_profile_not_a_website() -> None:
    leads = load_list(connections_csv(), filename="Connections.csv")
    assert leads.mapping["URL"] == "linkedin_url"
    assert leads.records.height == len(PEOPLE)  # the profile makes every row findable
    assert leads.records["linkedin_url"].str.starts_with("https://www.linkedin.com/in/").all()
    assert "linkedin.com" not in leads.records["company_domain"].drop_nulls().to_list()


def test_sales_navigator_company_url_is_never_the_domain() -> None:
    leads = load_list(sales_navigator_csv(), filename="sn.csv")
    assert leads.mapping["companyUrl"] == "website"
    assert leads.mapping["profileUrl"] == "linkedin_url"
    assert leads.records["company_domain"].null_count() == len(PEOPLE)
    assert leads.records["website"].null_count() == len(PEOPLE)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.linkedin.com/company/acme",
        "linkedin.com/in/ann-lee",
        "https://de.linkedin.com/in/ann-lee?trk=x",
        "https://twitter.com/acme",
        "https://x.com/acme",
        "https://www.facebook.com/acme",
        "https://www.crunchbase.com/organization/acme",
        "https://angel.co/company/acme",
        "https://bit.ly/3xyz",
    ],
)
def test_social_and_aggregator_urls_never_give_a_company_domain(url: str) -> None:
    data = f"First Name,Last Name,Company,Website\nAnn,Lee,Acme,{url}\n".encode()
    row = load_list(data, filename="s.csv").records.row(0, named=True)
    assert row["company_domain"] is None
    assert row["website"] is None
    if "/in/" in url:
        assert row["linkedin_url"] == "https://www.linkedin.com/in/ann-lee"
    else:
        assert row["linkedin_url"] is None


def test_a_real_website_beside_a_social_one_still_gives_its_domain() -> None:
    data = (
        b"Name,Company,Website\nAnn Lee,Acme,https://acme.com\n"
        b"Bo Ray,Globex,linkedin.com/company/globex\n"
    )
    leads = load_list(data, filename="s.csv")
    assert leads.records["company_domain"].to_list() == ["acme.com", None]


def test_an_email_at_linkedin_still_gives_linkedin_as_the_domain() -> None:
    # LinkedIn's own staff work at linkedin.com: only URLs are refused, not mailboxes.
    data = (
        b"Name,Email,Website\nAnn Lee,ann@linkedin.com,https://www.linkedin.com/company/linkedin\n"
    )
    assert load_list(data, filename="s.csv").records["company_domain"].to_list() == ["linkedin.com"]


@pytest.mark.parametrize("bad_line", [2, 3, 5])
def test_one_cp1252_line_in_a_utf8_file_is_repaired_alone(bad_line: int) -> None:
    leads = load_list(mixed_encoding_csv(bad_line), filename="mixed.csv")
    assert leads.records["first_name"].to_list() == FIRST_NAMES  # no mojibake anywhere
    assert leads.records["last_name"].to_list() == [p[1] for p in PEOPLE]
    assert leads.source_info.encoding == "utf-8"
    (note,) = [n for n in leads.source_info.notes if "Windows-1252" in n]
    assert f"1 line(s) (line {bad_line})" in note


def test_mostly_cp1252_stays_cp1252() -> None:
    data = "First Name,Email\n" + "".join(f"{p[0]},{p[2]}\n" for p in PEOPLE)
    leads = load_list(data.encode("cp1252"), filename="w.csv")
    assert leads.source_info.encoding == "cp1252"
    assert leads.records["first_name"].to_list() == FIRST_NAMES


def test_a_late_cp1252_line_past_the_sample_is_repaired_alone() -> None:
    good = "".join(f"{p[0]},{p[1]},{p[2]},{p[3]}\n" for p in PEOPLE) * 5000
    data = (
        b"First Name,Last Name,Email,Company\n"
        + good.encode()
        + "Renée,Ünal,r@x.com,X\n".encode("cp1252")
    )
    leads = load_list(data, filename="late.csv")
    assert leads.records["first_name"].tail(1).item() == "Renée"
    assert leads.records["first_name"].head(4).to_list() == FIRST_NAMES
    assert any(f"line {len(PEOPLE) * 5000 + 2}" in n for n in leads.source_info.notes)


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_every_line_ending_loads(ending: str) -> None:
    text = ending.join(["Email,Company", "ann@acme.com,Acme", "bob@globex.com,Globex"]) + ending
    leads = load_list(text.encode(), filename="mac.csv")
    assert leads.records["email"].to_list() == ["ann@acme.com", "bob@globex.com"]


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf\r\n"])
def test_a_bom_only_file_is_a_list_error(bom: bytes) -> None:
    with pytest.raises(ListError, match=r"byte-order mark|is empty"):
        load_list(bom, filename="bom.csv")
