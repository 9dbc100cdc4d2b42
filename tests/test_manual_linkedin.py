"""The manual LinkedIn hand-off on a real sandbox run: the task list (search links, what was
tried from the ledger), and the re-import (validation, overwrite refusal, source ``manual`` in
the result, the ledger and the engagement report)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest

import gtmkit
from gtmkit.integrations.linkedin_handoff import export_tasks, linkedin_search_url, task_list
from gtmkit.waterfall.ledger import Ledger
from gtmkit.waterfall.manual import ManualImportError, import_manual_finds

ROOT = Path(__file__).resolve().parents[1]
#: the seed's enterprise waterfall, which ends "Manual LinkedIn (final 2%)"
PATTERN = "enterprise-contact-enrichment"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    leads = gtmkit.load_list(ROOT / "data" / "samples" / "leads_small.csv")
    path = tmp_path_factory.mktemp("manual") / "ledger.sqlite"
    from gtmkit.reports import engagement as er

    wf = er.find_pattern(PATTERN).to_waterfall()
    assert wf.steps[-1].provider == "manual"
    result = wf.run(leads, ledger=path, mode="sandbox", progress=False, resume=False)
    return result, path


def test_search_link_is_properly_encoded() -> None:
    url = linkedin_search_url("Zoë O'Neil-Smith", "AT&T #1 + Co")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "https", "www.linkedin.com", "/search/results/people/",
    )  # fmt: skip
    assert parse_qs(parts.query) == {"keywords": ["Zoë O'Neil-Smith AT&T #1 + Co"]}
    assert " " not in url and "&T" not in url and "#" not in url and "+" not in url


def test_task_list_has_the_missing_rows_and_what_was_tried(run: tuple) -> None:
    result, path = run
    with Ledger(path) as ledger:
        tasks = task_list(result, ledger=ledger)
    missing = result.records.filter(pl.col("status") == "manual")
    assert sorted(tasks["row_id"].to_list()) == sorted(missing["row_id"].to_list())
    assert tasks.height > 0
    row = tasks.row(0, named=True)
    source = result.records.filter(pl.col("row_id") == row["row_id"]).row(0, named=True)
    assert row["company"] == source["company_name"] or row["company"] == source["company_domain"]
    assert row["title"] == source["title"]
    assert parse_qs(urlsplit(row["linkedin_search"]).query)["keywords"][0].startswith(row["name"])
    # what was tried matches the attempts the run booked for that row, per provider
    booked = result.attempts.filter(pl.col("row_id") == row["row_id"])
    for provider in booked["provider"].unique().to_list():
        assert f"{provider}: " in row["tried"]
    assert {"found_email", "found_linkedin_url", "notes"} <= set(tasks.columns)
    assert task_list(result)["tried"].to_list() == tasks["tried"].to_list()


def test_export_is_a_csv_a_person_can_fill_in(run: tuple, tmp_path: Path) -> None:
    result, _ = run
    out = export_tasks(result, tmp_path / "tasks" / "manual.csv")
    back = pl.read_csv(out, infer_schema=False)
    assert back.height == task_list(result).height
    assert not list(out.parent.glob(".*.tmp"))


def _fill(result: object, rows: list[tuple[str, str]]) -> bytes:
    lines = ["row_id,name,found_email,notes"]
    lines += [f"{rid},someone,{email}," for rid, email in rows]
    return ("\n".join(lines) + "\n").encode()


def test_reimport_applies_valid_finds_with_source_manual(run: tuple, tmp_path: Path) -> None:
    result, path = run
    tasks = task_list(result)
    ids = tasks["row_id"].to_list()[:3]
    body = _fill(result, [(str(ids[0]), "Jane.Doe@Example.com"), (str(ids[1]), "'ok@x.io"),
                          (str(ids[2]), "")])  # fmt: skip
    with Ledger(path) as ledger:
        before = ledger.attempts().height
        done = import_manual_finds(body, result, ledger=ledger)
        booked = ledger.attempts().filter(pl.col("provider") == "manual")
        assert ledger.attempts().height == before + 2
        runs = ledger.runs().filter(pl.col("name") == "manual import")
        assert runs["chain_id"].to_list() == [result.totals["chain_id"]]
    assert done.accepted["email"].to_list() == ["jane.doe@example.com", "ok@x.io"]
    assert done.rejected.height == 0  # the blank find is a task not done, not an error
    assert booked["credits"].to_list() == [0.0, 0.0] and booked["cost_usd"].sum() == 0
    assert set(booked["row_id"].to_list()) == set(ids[:2])
    rows = done.result.records.filter(pl.col("row_id").is_in(ids[:2]))
    assert rows["email_source"].to_list() == ["manual", "manual"]
    assert rows["status"].to_list() == ["enriched", "enriched"]
    assert rows["email_verified"].to_list() == [False, False]
    manual_attempts = done.result.attempts.filter(pl.col("provider") == "manual")
    assert manual_attempts.height == 2 and manual_attempts["credits"].sum() == 0
    t = done.result.totals
    assert t["manual"] == result.totals["manual"] - 2
    assert t["enriched"] == result.totals["enriched"] + 2
    assert t["manual_found"] == 2
    step = done.result.summary.filter(pl.col("provider") == "manual").row(0, named=True)
    assert step["hits"] == 2 and step["incremental_coverage"] > 0
    original = result.records.filter(pl.col("row_id") == ids[0]).row(0, named=True)
    assert original["status"] == "manual"  # the result imported into is left as it was
    assert done.accepted["replaced"][0] == original["email"]  # a personal address, kept
    assert done.result.totals["credits"] == result.totals["credits"]  # no money moved


def test_reimport_rejects_bad_lines_with_reasons(run: tuple) -> None:
    result, _ = run
    manual_ids = task_list(result)["row_id"].to_list()
    paid = result.records.filter(
        ~pl.col("email_source").is_in(["input", "manual"]) & (pl.col("status") == "enriched")
    )["row_id"].to_list()
    dup = result.records.filter(pl.col("status") == "duplicate")["row_id"].to_list()
    body = _fill(result, [
        (str(manual_ids[0]), "not-an-email"),
        (str(manual_ids[1]), "a@@b.io"),
        ("99999", "ghost@x.io"),
        ("abc", "x@x.io"),
        (str(paid[0]), "better@x.io"),
        (str(dup[0]), "dup@x.io"),
        (str(manual_ids[2]), "first@x.io"),
        (str(manual_ids[2]), "second@x.io"),
    ])  # fmt: skip
    done = import_manual_finds(body, result)
    reasons = dict(zip(done.rejected["line"].to_list(), done.rejected["reason"].to_list(),
                       strict=True))  # fmt: skip
    assert "not a valid email" in reasons[2] and "not a valid email" in reasons[3]
    assert "not a row of this run's list" in reasons[4]
    assert "not a row number" in reasons[5]
    assert "already has an email from" in reasons[6] and "overwrite=True" in reasons[6]
    assert "duplicate row" in reasons[7]
    assert "more than once" in reasons[9]
    assert done.accepted["email"].to_list() == ["first@x.io"]
    kept = done.result.records.filter(pl.col("row_id") == paid[0]).row(0, named=True)
    original = result.records.filter(pl.col("row_id") == paid[0]).row(0, named=True)
    assert kept["email"] == original["email"] and kept["email_source"] == original["email_source"]


def test_overwrite_when_told(run: tuple) -> None:
    result, _ = run
    paid = result.records.filter(
        ~pl.col("email_source").is_in(["input", "manual"]) & (pl.col("status") == "enriched")
    )["row_id"].to_list()[0]
    done = import_manual_finds(_fill(result, [(str(paid), "right@x.io")]), result, overwrite=True)
    row = done.result.records.filter(pl.col("row_id") == paid).row(0, named=True)
    assert (row["email"], row["email_source"]) == ("right@x.io", "manual")
    assert (
        done.accepted["replaced"][0] == result.records.filter(pl.col("row_id") == paid)["email"][0]
    )


def test_import_without_the_columns_says_what_to_do(run: tuple) -> None:
    result, _ = run
    with pytest.raises(ManualImportError, match="found_email"):
        import_manual_finds(b"id,mail\n1,a@b.io\n", result)


def test_engagement_report_says_what_was_found_by_hand(run: tuple) -> None:
    from gtmkit.reports import engagement as er
    from gtmkit.reports.engagement import sections

    result, _ = run
    ids = task_list(result)["row_id"].to_list()[:4]
    done = import_manual_finds(_fill(result, [(str(i), f"p{i}@x.io") for i in ids]), result)
    pattern = er.find_pattern(PATTERN)
    e = er.measure_engagement(
        done.result, pattern=pattern, check=pattern.check(done.result), client="Acme",
        report_date=__import__("datetime").date(2026, 1, 1), data_source="simulated",
    )  # fmt: skip
    assert e.found_manual == 4 and e.figures()["found_manual"] == 4
    html = sections.summary(e).html
    assert 'data-figure="found_manual"' in html and "manual LinkedIn research" in html
    plain = er.measure_engagement(
        result, pattern=pattern, check=pattern.check(result), client="Acme",
        report_date=__import__("datetime").date(2026, 1, 1), data_source="simulated",
    )  # fmt: skip
    assert (
        plain.found_manual == 0 and "manual LinkedIn research" not in sections.summary(plain).html
    )


def test_reimport_keeps_the_linkedin_profile_found(run: tuple) -> None:
    result, _ = run
    no_profile = result.records.filter(pl.col("linkedin_url").is_null())["row_id"].to_list()
    ids = [i for i in task_list(result)["row_id"].to_list() if i in no_profile][:4]
    assert len(ids) == 4
    lines = [
        "row_id,found_email,found_linkedin_url",
        f"{ids[0]},ada@x.io,https://uk.linkedin.com/in/Ada-L/?trk=x",  # both found
        f"{ids[1]},,linkedin.com/in/grace-h",  # only the profile: the task is not done
        f"{ids[2]},,https://www.linkedin.com/sales/lead/ACwAA123",  # Sales Navigator link
        f"{ids[3]},bob@x.io,https://www.linkedin.com/company/acme",  # a company page
    ]
    done = import_manual_finds(("\n".join(lines) + "\n").encode(), result)
    assert done.accepted["row_id"].to_list() == ids[:2]
    assert done.accepted["linkedin_url"].to_list() == [
        "https://www.linkedin.com/in/ada-l", "https://www.linkedin.com/in/grace-h",
    ]  # fmt: skip
    reasons = done.rejected["reason"].to_list()
    assert len(reasons) == 2 and all("not a LinkedIn person profile" in r for r in reasons)
    rows = {r["row_id"]: r for r in done.result.records.iter_rows(named=True)}
    assert rows[ids[0]]["linkedin_url"] == "https://www.linkedin.com/in/ada-l"
    assert rows[ids[0]]["status"] == "enriched" and rows[ids[0]]["email"] == "ada@x.io"
    assert rows[ids[1]]["linkedin_url"] == "https://www.linkedin.com/in/grace-h"
    assert rows[ids[1]]["status"] == "manual"  # still no email: the task stays open
    assert rows[ids[3]]["email"] != "bob@x.io"  # a rejected line is not half-applied
    assert done.result.totals["manual_found"] == 1
    assert done.result.totals["manual_profiles"] == 2
    # a different profile already on the row is kept unless overwrite=True
    again = f"row_id,found_email,found_linkedin_url\n{ids[0]},,linkedin.com/in/someone-else\n"
    kept = import_manual_finds(again.encode(), done.result)
    assert "already has the profile" in kept.rejected["reason"][0]
    replaced = import_manual_finds(again.encode(), done.result, overwrite=True)
    assert replaced.result.records.filter(pl.col("row_id") == ids[0])["linkedin_url"][0] == (
        "https://www.linkedin.com/in/someone-else"
    )
