"""gtmkit.sync's own rules, independent of any vendor: the field mapping and its schema check,
de-duplication keys and matching, the merge policy, the plan-before-write contract, the sync
ledger and the summary. Through the HubSpot twin where a destination is needed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from gtmkit.sync.dedupe import Existing, Matcher, record_keys
from gtmkit.sync.ledger import SyncLedger, sync_ledger_path
from gtmkit.sync.merge import merge
from gtmkit.sync.summary import SUMMARY_SCHEMA


@pytest.fixture(autouse=True)
def _no_destination_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in sync.SECRET_ENV_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def twin() -> CrmTransport:
    return CrmTransport()


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    return tmp_path / "run.sync.sqlite"


def _rows(**cols: list[object]) -> pl.DataFrame:
    return pl.DataFrame(cols)


# ---------------------------------------------------------------- mapping


def test_an_unknown_property_is_refused_before_anything_is_written(
    twin: CrmTransport, ledger: Path
) -> None:
    hs = sync.destination("hubspot", transport=twin)
    fields = sync.FieldMap({"email": "email", "first_name": "firstnme"})
    with pytest.raises(sync.MappingError) as info:
        sync.plan(_rows(email=["a@x.io"], first_name=["A"]), hs, fields, ledger=ledger)
    assert "'firstnme'" in str(info.value) and "did you mean: firstname" in str(info.value)
    assert twin.app.writes("hubspot") == 0


def test_a_mapped_column_missing_from_the_records_is_named_with_a_close_match(
    twin: CrmTransport, ledger: Path
) -> None:
    hs = sync.destination("hubspot", transport=twin)
    with pytest.raises(sync.MappingError, match=r"'frist_name'.*first_name"):
        sync.plan(
            _rows(email=["a@x.io"], first_name=["A"]),
            hs,
            sync.FieldMap({"email": "email", "frist_name": "firstname"}),
            ledger=ledger,
        )


def test_fieldmap_refuses_two_columns_on_one_property() -> None:
    with pytest.raises(sync.MappingError, match="same property"):
        sync.FieldMap({"email": "email", "work_email": "email"})


def test_an_unknown_destination_suggests_the_close_one() -> None:
    with pytest.raises(sync.MappingError, match="did you mean 'hubspot'"):
        sync.destination("hubspt")


# ---------------------------------------------------------------- dedupe


def test_record_keys_are_strongest_first_and_normalized() -> None:
    keys = record_keys(
        {
            "email": " Ada@X.io ",
            "linkedin_url": "http://www.LinkedIn.com/in/Ada-L/?utm_source=share",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "website": "https://www.x.io/about",
        }
    )
    assert keys == ["email:ada@x.io", "linkedin:ada-l", "name:ada|lovelace|x.io"]
    assert record_keys({"first_name": "Ada"}) == []


def test_matching_falls_through_email_then_linkedin_then_name_and_domain() -> None:
    m = Matcher("email", "li", "fn", "ln", "web")
    by_email = Existing("1", {"email": "ada@x.io"})
    by_li = Existing("2", {"li": "https://linkedin.com/in/bob"})
    by_name = Existing("3", {"fn": "Cy", "ln": "Dee", "web": "z.io"})
    m.add([by_email, by_li, by_name])
    assert m.match(record_keys({"email": "ADA@x.io"})) == (by_email, "email")
    got = m.match(record_keys({"email": "new@x.io", "linkedin_url": "linkedin.com/in/bob/"}))
    assert got == (by_li, "linkedin")
    got = m.match(record_keys({"first_name": "cy", "last_name": "DEE", "company_domain": "z.io"}))
    assert got == (by_name, "name")
    assert m.match(record_keys({"email": "nobody@x.io"})) == (None, None)


def test_two_destination_records_on_one_key_are_ambiguous_not_guessed() -> None:
    m = Matcher("email")
    m.add([Existing("1", {"email": "a@x.io"}), Existing("2", {"email": "A@x.io"})])
    assert m.match(["email:a@x.io"]) == (None, "ambiguous:email")


def test_the_same_person_twice_in_the_records_is_one_record(
    twin: CrmTransport, ledger: Path
) -> None:
    hs = sync.destination("hubspot", transport=twin)
    rows = _rows(
        email=["a@x.io", None, "A@X.IO"],
        linkedin_url=["linkedin.com/in/ann", "https://www.linkedin.com/in/ann/", None],
        first_name=["Ann", "Ann", "Ann"],
    )
    p = sync.plan(rows, hs, ledger=ledger)
    assert p.frame["action"].to_list() == ["create", "skip", "skip"]
    assert p.frame["reason"].to_list()[1:] == ["duplicate of row 0 in these records"] * 2
    sync.write(p)
    assert len(twin.app.apis["hubspot"].objects["contacts"]) == 1


def test_rows_with_nothing_to_match_on_are_skipped_with_the_reason(
    twin: CrmTransport, ledger: Path
) -> None:
    hs = sync.destination("hubspot", transport=twin)
    p = sync.plan(_rows(first_name=["Ann"], email=[None]), hs, ledger=ledger)
    assert p.frame.row(0, named=True)["action"] == "skip"
    assert "no email, LinkedIn URL" in p.frame.row(0, named=True)["reason"]


# ---------------------------------------------------------------- merge policy

FIELDS = sync.FieldMap(
    {"email": "email", "email_status": "status", "title": "jobtitle", "phone": "phone"}
)


def test_an_empty_value_never_blanks_a_filled_one() -> None:
    got = merge({"jobtitle": "CTO", "phone": "+1 555"}, {"title": "", "phone": None}, FIELDS)
    assert got.changes == {}
    assert "jobtitle" in got.kept and "phone" in got.kept
    # not even with overwrite
    assert merge({"jobtitle": "CTO"}, {"title": " "}, FIELDS, overwrite=True).changes == {}


def test_an_unverified_email_does_not_replace_a_verified_one_unless_told_to() -> None:
    existing = {"email": "ada@x.io", "status": "valid"}
    incoming = {"email": "ada.l@x.io", "email_status": "risky", "title": "CTO"}
    got = merge(existing, incoming, FIELDS)
    assert got.changes == {"jobtitle": (None, "CTO")}
    assert "kept 'ada@x.io'" in got.kept["email"]
    forced = merge(existing, incoming, FIELDS, overwrite=True)
    assert forced.changes["email"] == ("ada@x.io", "ada.l@x.io")
    assert forced.changes["status"] == ("valid", "risky")


def test_a_better_graded_email_replaces_a_worse_one() -> None:
    got = merge(
        {"email": "old@x.io", "status": "risky"},
        {"email": "new@x.io", "email_status": "valid"},
        FIELDS,
    )
    assert got.changes == {"email": ("old@x.io", "new@x.io"), "status": ("risky", "valid")}


def test_the_same_email_graded_worse_keeps_its_better_grade() -> None:
    got = merge(
        {"email": "ada@x.io", "status": "valid"},
        {"email": "ADA@x.io", "email_status": "catch_all"},
        FIELDS,
    )
    assert got.changes == {}
    assert "kept grade 'valid'" in got.kept["status"]


def test_a_new_record_takes_every_non_empty_value() -> None:
    got = merge(None, {"email": "a@x.io", "email_status": "valid", "title": None}, FIELDS)
    assert got.changes == {"email": (None, "a@x.io"), "status": (None, "valid")}


def test_the_merge_policy_holds_through_a_real_plan(twin: CrmTransport, ledger: Path) -> None:
    api = twin.app.apis["hubspot"]
    cid = api.add("contacts", {"email": "ada@x.io", "jobtitle": "CTO", "gtm_email_status": "valid"})
    hs = sync.destination("hubspot", transport=twin)
    rows = _rows(email=["ada@x.io"], title=[None], email_status=["risky"], first_name=["Ada"])
    p = sync.plan(rows, hs, ledger=ledger)
    row = p.frame.row(0, named=True)
    assert (row["action"], row["destination_id"], row["n_changes"]) == ("update", cid, 1)
    assert p.diff.select("property", "from", "to").rows() == [("firstname", None, "Ada")]
    sync.write(p)
    stored = api.objects["contacts"][cid]
    assert (stored["jobtitle"], stored["gtm_email_status"], stored["firstname"]) == (
        "CTO",
        "valid",
        "Ada",
    )


# ---------------------------------------------------------------- plan before write


def test_a_dry_run_writes_nothing(twin: CrmTransport, ledger: Path) -> None:
    hs = sync.destination("hubspot", transport=twin)
    p = sync.plan(_rows(email=["a@x.io", "b@x.io"]), hs, ledger=ledger)
    assert p.counts() == {"create": 2, "update": 0, "skip": 0}
    assert twin.app.writes("hubspot") == 1  # the search is a POST, and the only one
    assert twin.app.requests[-1][2] == "/crm/v3/objects/contacts/search"
    assert api_contacts(twin) == 0
    with SyncLedger(ledger) as led:
        assert led.writes().is_empty()


def api_contacts(twin: CrmTransport) -> int:
    return len(twin.app.apis["hubspot"].objects["contacts"])


def test_write_needs_the_plan_and_takes_it_once(twin: CrmTransport, ledger: Path) -> None:
    hs = sync.destination("hubspot", transport=twin)
    rows = _rows(email=["a@x.io"])
    with pytest.raises(sync.PlanNotSeen, match="SyncPlan"):
        sync.write(rows)  # type: ignore[arg-type]
    with pytest.raises(sync.PlanNotSeen, match="confirm=True"):
        sync.run(rows, hs, ledger=ledger)
    assert api_contacts(twin) == 0
    p = sync.plan(rows, hs, ledger=ledger)
    sync.write(p)
    with pytest.raises(sync.PlanNotSeen, match="already written"):
        sync.write(p)
    assert api_contacts(twin) == 1


def test_a_batch_run_with_confirm_plans_and_writes(twin: CrmTransport, ledger: Path) -> None:
    hs = sync.destination("hubspot", transport=twin)
    done = sync.run(_rows(email=["a@x.io", "b@x.io"]), hs, confirm=True, ledger=ledger)
    assert done.counts() == {"created": 2, "updated": 0, "failed": 0, "skipped": 0}
    assert set(done.frame["destination_id"].to_list()) == set(
        twin.app.apis["hubspot"].objects["contacts"]
    )


def test_waterfall_statuses_rejected_and_duplicate_are_not_synced(
    twin: CrmTransport, ledger: Path
) -> None:
    hs = sync.destination("hubspot", transport=twin)
    rows = _rows(
        row_id=[0, 1, 2],
        email=["a@x.io", "b@x.io", "a@x.io"],
        status=["enriched", "rejected", "duplicate"],
    )
    p = sync.plan(rows, hs, ledger=ledger)
    assert p.frame["action"].to_list() == ["create", "skip", "skip"]
    assert p.frame["reason"].to_list()[1:] == ["rejected at intake", "a duplicate row of the list"]


# ---------------------------------------------------------------- ledger and summary


def test_the_sync_ledger_sits_beside_the_run_ledger() -> None:
    assert sync_ledger_path("data/runs/acme.ledger.sqlite") == Path(
        "data/runs/acme.ledger.sync.sqlite"
    )
    assert Path("data/ledger.sync.sqlite") == sync.DEFAULT_SYNC_LEDGER


def test_a_batch_lands_in_the_ledger_whole_or_not_at_all(ledger: Path) -> None:
    with SyncLedger(ledger) as led:
        rows = [("k1", "1", {"email": "a@x.io"}, "create"), ("k2", "2", object(), "create")]
        with pytest.raises(TypeError):  # the second row cannot be stored: nothing is
            led.record_success("hubspot", "contacts", rows)  # type: ignore[arg-type]
        assert led.synced("hubspot", "contacts") == {}
        assert led.writes().is_empty()


def test_summary_says_what_was_synced_where(twin: CrmTransport, ledger: Path) -> None:
    assert sync.summary(ledger).is_empty()
    hs = sync.destination("hubspot", transport=twin)
    sf = sync.destination("salesforce", transport=twin)
    rows = _rows(
        email=["a@x.io", "b@x.io", "bad"],
        last_name=["A", "B", "C"],
        company_name=["X", "X", "X"],
    )
    sync.run(rows, hs, confirm=True, ledger=ledger)
    sync.run(rows, sf, confirm=True, ledger=ledger)
    got = sync.summary(ledger)
    assert got.columns == list(SUMMARY_SCHEMA)
    table = {r["destination"]: r for r in got.iter_rows(named=True)}
    assert (table["hubspot"]["object"], table["hubspot"]["records"]) == ("contacts", 2)
    assert (table["hubspot"]["created"], table["hubspot"]["failed_pending"]) == (2, 1)
    assert (table["salesforce"]["object"], table["salesforce"]["records"]) == ("Lead", 2)
    assert table["salesforce"]["failed_pending"] == 1


def test_a_sync_ledger_from_before_match_keys_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sync.sqlite"
    with sqlite3.connect(path) as db:  # the failed table as the first release wrote it
        db.execute(
            "CREATE TABLE failed (destination TEXT NOT NULL, object TEXT NOT NULL, "
            "record_key TEXT NOT NULL, kind TEXT NOT NULL, reason TEXT NOT NULL, "
            "properties TEXT NOT NULL, attempts INTEGER NOT NULL, failed_at TEXT NOT NULL, "
            "PRIMARY KEY (destination, object, record_key))"
        )
        db.execute(
            "INSERT INTO failed VALUES ('hubspot', 'contacts', 'email:bad', 'rejected', "
            "'INVALID_EMAIL', '{}', 1, '2026-01-01')"
        )
    with SyncLedger(path) as led:
        assert led.failed_keys("hubspot", "contacts") == {"email:bad"}
        led.record_failure(
            "hubspot", "contacts", [("email:worse", "rejected", "INVALID_EMAIL", {})],
            match_keys={"email:worse": ["email:worse", "name:ada|lovelace|x.io"]},
        )  # fmt: skip
        assert led.failed_keys("hubspot", "contacts") == {
            "email:bad", "email:worse", "name:ada|lovelace|x.io",
        }  # fmt: skip
        led.record_success(
            "hubspot", "contacts", [("email:ada@x.io", "7", {"email": "ada@x.io"}, "create")],
            match_keys={"email:ada@x.io": ["email:ada@x.io", "name:ada|lovelace|x.io"]},
        )  # fmt: skip
        assert led.failed("hubspot")["record_key"].to_list() == ["email:bad"]
