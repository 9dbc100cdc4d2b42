"""A manual find that is only a LinkedIn profile (no email) is still work a person did: it is one
``manual`` attempt in the result and in the ledger (the hand-off's declared cost, 0 credits),
``outcome="miss"`` because the row still has no email, the profile kept in ``fields_json``."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

import gtmkit
from gtmkit.integrations.linkedin_handoff import task_list
from gtmkit.providers.manual import ManualHandoff
from gtmkit.waterfall.ledger import Ledger
from gtmkit.waterfall.manual import import_manual_finds

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    from gtmkit.reports import engagement as er

    leads = gtmkit.load_list(ROOT / "data" / "samples" / "leads_small.csv")
    path = tmp_path_factory.mktemp("manual-profiles") / "ledger.sqlite"
    wf = er.find_pattern("enterprise-contact-enrichment").to_waterfall()
    result = wf.run(leads, ledger=path, mode="sandbox", progress=False, resume=False)
    return result, path


def test_profile_only_and_email_finds_are_all_booked_in_the_ledger(run: tuple) -> None:
    result, path = run
    no_profile = set(result.records.filter(pl.col("linkedin_url").is_null())["row_id"].to_list())
    ids = [i for i in task_list(result)["row_id"].to_list() if i in no_profile][:3]
    assert len(ids) == 3
    body = "\n".join([
        "row_id,found_email,found_linkedin_url",
        f"{ids[0]},,https://www.linkedin.com/in/grace-h",  # only the profile
        f"{ids[1]},,linkedin.com/in/alan-t/",  # only the profile
        f"{ids[2]},ada@x.io,",  # only the email
    ]) + "\n"  # fmt: skip
    with Ledger(path) as ledger:
        before = ledger.attempts()
        done = import_manual_finds(body.encode(), result, ledger=ledger)
        after = ledger.attempts()
        runs = ledger.runs().filter(pl.col("name") == "manual import")
        assert runs.height == 1
        booked = ledger.attempts(runs["run_id"][0])
    # every find is one attempt, in the ledger and in the result, nothing more
    assert after.height == before.height + 3 and booked.height == 3
    assert sorted(booked["row_id"].to_list()) == sorted(ids)
    assert set(booked["provider"].to_list()) == {"manual"}
    by_row = {r["row_id"]: r for r in booked.iter_rows(named=True)}
    for rid, slug in ((ids[0], "grace-h"), (ids[1], "alan-t")):
        row = by_row[rid]
        assert row["outcome"] == "miss" and row["email"] is None
        assert json.loads(row["fields_json"]) == {
            "linkedin_url": f"https://www.linkedin.com/in/{slug}"
        }
    assert by_row[ids[2]]["outcome"] == "hit" and by_row[ids[2]]["email"] == "ada@x.io"
    # at the hand-off's declared cost (0 today): no money moved
    declared = ManualHandoff.credits_per_lookup * ManualHandoff.price_per_credit
    assert booked["credits"].to_list() == [ManualHandoff.credits_per_lookup] * 3
    assert booked["cost_usd"].sum() == pytest.approx(3 * declared) == 0
    assert done.result.totals["credits"] == result.totals["credits"]
    # the result carries the same three attempts (what compare and the report read)
    assert done.result.attempts.height == result.attempts.height + 3
    mine = done.result.attempts.tail(3)
    assert sorted(mine["row_id"].to_list()) == sorted(ids)
    assert mine.filter(pl.col("outcome") == "miss").height == 2
    # the profile-only rows keep their task open; the email row is done
    rows = {r["row_id"]: r for r in done.result.records.iter_rows(named=True)}
    assert rows[ids[0]]["status"] == "manual" and rows[ids[2]]["status"] == "enriched"
    assert done.result.totals["manual_profiles"] == 2 and done.result.totals["manual_found"] == 1


def test_a_profile_only_import_alone_is_still_booked(run: tuple, tmp_path: Path) -> None:
    result, _ = run
    (rid,) = [i for i in task_list(result)["row_id"].to_list()][:1]
    ledger_path = tmp_path / "other.sqlite"
    with Ledger(ledger_path) as ledger:
        done = import_manual_finds(
            f"row_id,found_email,found_linkedin_url\n{rid},,linkedin.com/in/x-y\n".encode(),
            result, ledger=ledger, overwrite=True,
        )  # fmt: skip
        booked = ledger.attempts().filter(pl.col("provider") == "manual")
    assert booked["row_id"].to_list() == [rid] and booked["outcome"].to_list() == ["miss"]
    assert done.result.attempts.height == result.attempts.height + 1
