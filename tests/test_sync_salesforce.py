"""Salesforce through its simulated twin: the dry run with its field diffs, dedupe against the
org's Leads, the merge policy, idempotent re-sync, per-record failures from sObject collections
(``allOrNone=false``) kept for retry, the ``Sforce-Limit-Info`` API-usage header, and the Bulk
API 2.0 path above the threshold."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from gtmkit.sync.ledger import SyncLedger
from tests._sync_helpers import clear_destination_tokens, people


@pytest.fixture(autouse=True)
def _no_destination_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_destination_tokens(monkeypatch)


def _leads(twin: CrmTransport) -> dict[str, dict]:
    return twin.app.apis["salesforce"].records["Lead"]  # type: ignore[attr-defined, no-any-return]


def _as_lead(i: int, title: str) -> dict[str, str]:
    """Row ``i`` of :func:`people` as the org already holds it, with ``title``."""
    row = people(i + 1).row(i, named=True)
    return {"Email": row["email"], "FirstName": row["first_name"], "LastName": row["last_name"],
            "Company": row["company_name"], "Website": row["company_domain"],
            "Email_Status__c": "valid", "Email_Source__c": "hunter", "Title": title}  # fmt: skip


def _writes(twin: CrmTransport, start: int = 0) -> list[tuple[str, str]]:
    return [(m, p) for v, m, p in twin.app.requests[start:] if v == "salesforce" and m != "GET"]


def test_the_dry_run_shows_create_update_skip_with_field_diffs_and_writes_nothing(
    tmp_path: Path,
) -> None:
    twin = CrmTransport()
    api = twin.app.apis["salesforce"]
    # one Lead already right, one with a stale title, the third person is new
    same = api.add("Lead", _as_lead(0, "CEO"))  # type: ignore[attr-defined]
    stale = api.add("Lead", _as_lead(1, "Intern"))  # type: ignore[attr-defined]
    rows = people(3).with_columns(pl.Series("title", ["CEO", "VP Sales", "CTO"]))
    sf = sync.destination("salesforce", transport=twin)
    p = sync.plan(rows, sf, ledger=tmp_path / "s.sqlite")
    assert p.frame.select("row_id", "action", "matched_by", "destination_id").rows() == [
        (0, "skip", "email", same),
        (1, "update", "email", stale),
        (2, "create", None, None),
    ]
    assert p.diff.filter(pl.col("row_id") == 1).select("property", "from", "to").rows() == [
        ("Title", "Intern", "VP Sales")
    ]
    created = dict(p.diff.filter(pl.col("row_id") == 2).select("property", "to").iter_rows())
    assert created["Email"] == "p2@acme2.io" and created["Company"] == "Acme 2"
    assert created["Title"] == "CTO" and created["LastName"] == "Last2"
    assert _writes(twin) == []  # describe and SOQL queries only
    assert _leads(twin)[stale]["Title"] == "Intern" and len(_leads(twin)) == 2

    done = sync.write(p)
    assert done.counts() == {"created": 1, "updated": 1, "failed": 0, "skipped": 1}
    assert _leads(twin)[stale]["Title"] == "VP Sales"
    assert len(_leads(twin)) == 3


def test_existing_leads_are_matched_not_duplicated(tmp_path: Path) -> None:
    twin = CrmTransport()
    api = twin.app.apis["salesforce"]
    by_email = api.add("Lead", {"Email": "P0@Acme0.io", "LastName": "Last0", "Company": "Acme 0"})  # type: ignore[attr-defined]
    by_linkedin = api.add(  # type: ignore[attr-defined]
        "Lead",
        {"Email": "old@elsewhere.io", "LastName": "Last1", "Company": "Acme 1",
         "LinkedIn_URL__c": "https://www.linkedin.com/in/first1"},
    )  # fmt: skip
    rows = people(3).with_columns(
        pl.Series("linkedin_url", [None, "https://linkedin.com/in/first1/", None])
    )
    sf = sync.destination("salesforce", transport=twin)
    led = tmp_path / "s.sqlite"
    p = sync.plan(rows, sf, ledger=led)
    assert p.frame.select("action", "matched_by", "destination_id").rows() == [
        ("update", "email", by_email),
        ("update", "linkedin", by_linkedin),
        ("create", None, None),
    ]
    done = sync.write(p)
    assert done.counts() == {"created": 1, "updated": 2, "failed": 0, "skipped": 0}
    assert len(_leads(twin)) == 3
    assert _leads(twin)[by_email]["FirstName"] == "First0"


def test_the_merge_policy_keeps_a_verified_email_and_never_blanks_a_field(tmp_path: Path) -> None:
    twin = CrmTransport()
    lead = twin.app.apis["salesforce"].add(  # type: ignore[attr-defined]
        "Lead",
        {"Email": "ada@acme.io", "Email_Status__c": "valid", "LastName": "Lovelace",
         "Company": "Acme", "Title": "CTO", "LinkedIn_URL__c": "https://linkedin.com/in/ada"},
    )  # fmt: skip
    rows = pl.DataFrame(
        {
            "row_id": [0],
            "email": ["a.lovelace@acme.io"],
            "email_status": ["risky"],
            "first_name": ["Ada"],
            "last_name": ["Lovelace"],
            "title": [""],
            "linkedin_url": ["https://linkedin.com/in/ada"],
        }
    )
    sf = sync.destination("salesforce", transport=twin)
    p = sync.plan(rows, sf, ledger=tmp_path / "s.sqlite")
    assert p.frame.select("action", "matched_by").row(0) == ("update", "linkedin")
    assert p.diff.select("property", "from", "to").rows() == [("FirstName", None, "Ada")]
    sync.write(p)
    stored = _leads(twin)[lead]
    assert (stored["Email"], stored["Email_Status__c"]) == ("ada@acme.io", "valid")
    assert stored["Title"] == "CTO" and stored["FirstName"] == "Ada"

    # told to, the risky email goes through; the empty title still does not blank the field
    told = sync.plan(rows, sf, ledger=tmp_path / "s.sqlite", overwrite=True)
    assert dict(told.diff.select("property", "to").iter_rows()) == {
        "Email": "a.lovelace@acme.io",
        "Email_Status__c": "risky",
    }
    sync.write(told)
    assert _leads(twin)[lead]["Email"] == "a.lovelace@acme.io"
    assert _leads(twin)[lead]["Title"] == "CTO"


def test_a_second_identical_sync_writes_nothing_and_a_changed_value_is_one_update(
    tmp_path: Path,
) -> None:
    twin = CrmTransport()
    sf = sync.destination("salesforce", transport=twin)
    led = tmp_path / "s.sqlite"
    rows = people(5)
    first = sync.write(sync.plan(rows, sf, ledger=led))
    assert first.counts() == {"created": 5, "updated": 0, "failed": 0, "skipped": 0}
    assert _writes(twin) == [("POST", "/services/data/v60.0/composite/sobjects")]
    before = len(twin.app.requests)

    again = sync.plan(rows, sf, ledger=led)
    assert again.counts() == {"create": 0, "update": 0, "skip": 5}
    assert sync.write(again).counts()["skipped"] == 5
    assert _writes(twin, before) == []

    changed = rows.with_columns(
        pl.when(pl.col("row_id") == 3).then(pl.lit("VP Sales")).otherwise(None).alias("title")
    )
    p = sync.plan(changed, sf, ledger=led)
    assert p.counts() == {"create": 0, "update": 1, "skip": 4}
    assert p.diff.select("property", "from", "to").rows() == [("Title", None, "VP Sales")]
    done = sync.write(p)
    assert done.counts()["updated"] == 1
    assert _writes(twin, before) == [("PATCH", "/services/data/v60.0/composite/sobjects")]
    updated = done.frame.filter(pl.col("action") == "update")["destination_id"].item()
    assert _leads(twin)[updated]["Title"] == "VP Sales"
    assert len(_leads(twin)) == 5


def test_per_record_errors_are_reported_with_their_reason_and_kept_for_retry(
    tmp_path: Path,
) -> None:
    twin = CrmTransport()
    api = twin.app.apis["salesforce"]
    # the org's duplicate rule: same first + last name at the same company (other website)
    api.add(  # type: ignore[attr-defined]
        "Lead", {"FirstName": "First4", "LastName": "Last4", "Company": "Acme 1",
                 "Website": "other.io", "Email": "someone@other.io"},
    )  # fmt: skip
    rows = people(6, bad={1}).with_columns(
        pl.when(pl.col("row_id") == 2).then(None).otherwise(pl.col("last_name")).alias("last_name")
    )
    sf = sync.destination("salesforce", transport=twin)
    led = tmp_path / "s.sqlite"
    done = sync.write(sync.plan(rows, sf, ledger=led))
    # allOrNone=false: the three good records went through in the same call
    assert _writes(twin) == [("POST", "/services/data/v60.0/composite/sobjects")]
    assert done.counts() == {"created": 3, "updated": 0, "failed": 3, "skipped": 0}
    reasons = dict(done.failures().select("row_id", "reason").iter_rows())
    assert reasons[1].startswith("INVALID_EMAIL_ADDRESS")
    assert reasons[2].startswith("REQUIRED_FIELD_MISSING") and "LastName" in reasons[2]
    assert reasons[4].startswith("DUPLICATES_DETECTED")
    with SyncLedger(led) as ledger:
        kept = ledger.failed("salesforce")
    assert dict(kept.select("record_key", "kind").iter_rows()) == {
        "email:bad-email-1": "rejected",
        "email:p2@acme2.io": "rejected",
        "email:p4@acme1.io": "duplicate",
    }
    assert len(_leads(twin)) == 4

    # fixed at the source, the retry sends those three alone
    fixed = people(6).with_columns(
        pl.when(pl.col("row_id") == 4).then(pl.lit("Acme 4")).otherwise(pl.col("company_name"))
        .alias("company_name")
    )  # fmt: skip
    retry = sync.plan(fixed, sf, ledger=led)
    assert retry.frame.filter(pl.col("action") == "create")["row_id"].to_list() == [1, 2, 4]
    assert sync.write(retry).counts()["created"] == 3
    assert len(_leads(twin)) == 7
    with SyncLedger(led) as ledger:
        # all three are cleared, the bad email's too: the record written under its fixed
        # email is the same record (its name + company domain key)
        assert ledger.failed("salesforce").height == 0


def test_api_usage_above_the_pace_share_spaces_the_calls(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"salesforce": {"api_allocation": 100}})
    twin.app.apis["salesforce"].used = 85  # type: ignore[attr-defined]  # other integrations
    sf = sync.destination("salesforce", transport=twin)
    done = sync.write(sync.plan(people(3), sf, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 3 and done.stopped is None
    # describe, a query by email and one by website, one POST
    assert sf.usage == (89, 100)  # type: ignore[attr-defined]
    # the first call saw no header yet; the next three waited half a second each (the write's
    # session: its one POST)
    assert twin.clock.now() == pytest.approx(1.5) and done.waited_s == pytest.approx(0.5)


def test_the_write_stops_before_the_orgs_last_reserve_and_keeps_the_rest(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"salesforce": {"api_allocation": 100}})
    twin.app.apis["salesforce"].used = 90  # type: ignore[attr-defined]
    sf = sync.destination("salesforce", transport=twin)
    sf.batch_size = 2  # type: ignore[misc]
    led = tmp_path / "s.sqlite"
    rows = people(6)
    # describe 91, two queries 93, two batches 95: the third batch would eat into the reserve
    done = sync.write(sync.plan(rows, sf, ledger=led))
    assert done.stopped is not None and "95/100" in done.stopped
    assert done.counts() == {"created": 4, "updated": 0, "failed": 2, "skipped": 0}
    assert twin.app.apis["salesforce"].used == 95  # type: ignore[attr-defined]
    with SyncLedger(led) as ledger:
        assert ledger.failed("salesforce")["kind"].to_list() == ["daily_limit"] * 2
    assert len(_leads(twin)) == 4

    twin.app.apis["salesforce"].used = 0  # type: ignore[attr-defined]  # a new 24-hour window
    sf.usage = None  # type: ignore[attr-defined]
    retry = sync.plan(rows, sf, ledger=led)
    assert retry.counts() == {"create": 2, "update": 0, "skip": 4}
    assert sync.write(retry).counts()["created"] == 2
    assert len(_leads(twin)) == 6


def test_request_limit_exceeded_stops_without_retrying(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"salesforce": {"api_allocation": 3}})  # describe, query, …
    sf = sync.destination("salesforce", transport=twin)
    sf.observe = lambda response: None  # type: ignore[method-assign]  # ignore the header
    done = sync.write(sync.plan(people(2), sf, ledger=tmp_path / "s.sqlite"))
    assert done.counts() == {"created": 0, "updated": 0, "failed": 2, "skipped": 0}
    assert twin.app.refused["salesforce"] == 1  # no retry of a limit that does not lift soon
    assert "TotalRequests Limit exceeded" in (done.stopped or "")


def test_above_the_threshold_one_bulk_api_2_job_takes_the_records(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"salesforce": {"bulk_polls": 2}})
    sf = sync.destination("salesforce", transport=twin, bulk_threshold=5, poll_s=3.0)
    led = tmp_path / "s.sqlite"
    rows = people(8, bad={6})
    done = sync.write(sync.plan(rows, sf, ledger=led))
    assert done.counts() == {"created": 7, "updated": 0, "failed": 1, "skipped": 0}
    reason = done.failures()["reason"].item()
    assert reason.startswith("INVALID_EMAIL_ADDRESS") and "bad-email-6" in reason
    jobs = twin.app.apis["salesforce"].jobs  # type: ignore[attr-defined]
    assert len(jobs) == 1
    (job,) = jobs.values()
    assert (job["operation"], job["state"], job["numberRecordsFailed"]) == (
        "insert",
        "JobComplete",
        1,
    )
    assert not any(p.endswith("/composite/sobjects") for _, p in _writes(twin))
    assert twin.clock.now() == pytest.approx(6.0)  # two polls answered InProgress
    ids = set(done.frame.filter(pl.col("status") == "written")["destination_id"].to_list())
    assert ids == set(_leads(twin))

    # the ledger has the bulk job's ids: an identical sync writes nothing; changes go by bulk too
    assert sync.plan(rows, sf, ledger=led).counts() == {"create": 1, "update": 0, "skip": 7}
    changed = rows.with_columns(pl.lit("VP").alias("title")).filter(pl.col("row_id") != 6)
    p = sync.plan(changed, sf, ledger=led)
    assert p.counts() == {"create": 0, "update": 7, "skip": 0}
    assert sync.write(p).counts()["updated"] == 7
    assert [j["operation"] for j in jobs.values()] == ["insert", "update"]
    assert {lead["Title"] for lead in _leads(twin).values()} == {"VP"}


def test_upsert_by_external_id_creates_once_even_when_resent(tmp_path: Path) -> None:
    twin = CrmTransport()
    sf = sync.destination("salesforce", transport=twin, external_id_field="Gtmkit_Key__c")
    done = sync.write(sync.plan(people(3), sf, ledger=tmp_path / "a.sqlite"))
    assert done.counts()["created"] == 3
    assert _writes(twin) == [
        ("PATCH", "/services/data/v60.0/composite/sobjects/Lead/Gtmkit_Key__c")
    ]
    keys = sorted(lead["Gtmkit_Key__c"] for lead in _leads(twin).values())
    assert keys == ["email:p0@acme0.io", "email:p1@acme1.io", "email:p2@acme2.io"]
    with pytest.raises(sync.MappingError, match="External ID"):
        sync.plan(
            people(1),
            sync.destination("salesforce", transport=twin, external_id_field="Nope__c"),
            ledger=tmp_path / "b.sqlite",
        )


def test_contacts_map_to_the_contact_object(tmp_path: Path) -> None:
    twin = CrmTransport()
    sf = sync.destination("salesforce", transport=twin, object_type="Contact")
    rows = (
        people(2).drop("company_name", "company_domain").with_columns(pl.lit("DE").alias("country"))
    )
    assert sync.write(sync.plan(rows, sf, ledger=tmp_path / "s.sqlite")).counts()["created"] == 2
    contacts = twin.app.apis["salesforce"].records["Contact"]  # type: ignore[attr-defined]
    assert {c["MailingCountry"] for c in contacts.values()} == {"DE"} and not _leads(twin)


def test_a_revoked_token_is_a_clear_error_that_never_shows_the_token(tmp_path: Path) -> None:
    revoked = CrmTransport(limits={"salesforce": {"tokens": {"the-valid-one"}}})
    sf = sync.destination("salesforce", transport=revoked, token="a-revoked-sf-token-9")
    with pytest.raises(sync.DestinationError, match="SALESFORCE_ACCESS_TOKEN") as info:
        sync.plan(people(1), sf, ledger=tmp_path / "s.sqlite")
    assert info.value.kind == "auth" and info.value.http_status == 401
    assert "a-revoked-sf-token-9" not in str(info.value) + repr(sf)
    assert "Session expired or invalid" in str(info.value)
