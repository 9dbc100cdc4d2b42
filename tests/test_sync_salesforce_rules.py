"""Salesforce through its twin, the parts an org's own rules and sessions decide: a duplicate
rule's ``DUPLICATES_DETECTED`` names the record it matched and the record is kept for retry;
Bulk API 2.0 results come in any order and still land on the right records; an expired access
token is renewed once through the OAuth refresh-token flow (or a sync starts from the refresh
credentials alone), a refused renewal is a clear error, and no credential shows anywhere.
(The sObject-collection, API-usage and bulk-job basics are in ``test_sync_salesforce.py``.)"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from gtmkit.sync.ledger import SyncLedger
from tests._sync_helpers import people

CLIENT_ID, CLIENT_SECRET, REFRESH = "3MVG9-client-id", "client-secret-4c1e", "5Aep-refresh-77aa"


def _leads(twin: CrmTransport) -> dict[str, dict]:
    return twin.app.apis["salesforce"].records["Lead"]


def test_a_duplicate_rule_names_the_record_it_matched_and_the_lead_waits_for_retry(
    tmp_path: Path,
) -> None:
    twin = CrmTransport()
    api = twin.app.apis["salesforce"]
    # the same person at the same company under another email: the sync's keys (email, then
    # name + website) do not find them, the org's standard lead rule (name + company) does
    existing = api.add("Lead", {"FirstName": "First1", "LastName": "Last1", "Company": "Acme 1",
                                "Email": "f.last@old-acme1.io"})  # fmt: skip
    sf = sync.destination("salesforce", transport=twin)
    led = tmp_path / "s.sqlite"
    done = sync.write(sync.plan(people(3), sf, ledger=led))
    assert done.counts() == {"created": 2, "updated": 0, "failed": 1, "skipped": 0}
    failed = done.failures().row(0, named=True)
    assert failed["row_id"] == 1
    assert failed["reason"] == (
        f"DUPLICATES_DETECTED: Use one of these records? (rule Standard_Lead_Duplicate_Rule: "
        f"matches {existing})"
    )
    with SyncLedger(led) as ledger:
        assert ledger.failed("salesforce").select("record_key", "kind").rows() == [
            ("email:p1@acme1.io", "duplicate")
        ]
    assert len(_leads(twin)) == 3  # two new, the existing one untouched
    assert _leads(twin)[existing]["Email"] == "f.last@old-acme1.io"


def test_bulk_results_in_any_order_land_on_their_own_records(tmp_path: Path) -> None:
    twin = CrmTransport()
    sf = sync.destination("salesforce", transport=twin, bulk_threshold=5)
    rows = people(12, bad={3, 8})
    done = sync.write(sync.plan(rows, sf, ledger=tmp_path / "s.sqlite"))
    assert any(p.endswith("/jobs/ingest") for _, _, p in twin.app.requests)
    assert done.counts() == {"created": 10, "updated": 0, "failed": 2, "skipped": 0}
    assert done.failures()["row_id"].to_list() == [3, 8]
    assert all("INVALID_EMAIL_ADDRESS" in r for r in done.failures()["reason"].to_list())
    # the twin answered the job's rows reversed: each id still belongs to its own record
    leads = _leads(twin)
    for row in done.frame.filter(pl.col("status") == "written").iter_rows(named=True):
        assert f"email:{leads[row['destination_id']]['Email'].lower()}" == row["record_key"]


# ------------------------------------------------------------------ sessions and credentials


@pytest.fixture
def oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SALESFORCE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("SALESFORCE_REFRESH_TOKEN", REFRESH)


def _org(**extra: object) -> CrmTransport:
    limits = {"tokens": set(), "refresh_tokens": {REFRESH: CLIENT_ID}, **extra}
    return CrmTransport(limits={"salesforce": limits})


def test_an_expired_access_token_is_renewed_once_and_the_sync_goes_on(
    oauth: None, tmp_path: Path
) -> None:
    twin = _org()
    sf = sync.destination("salesforce", transport=twin, token="00D-expired-session-9f2")
    done = sync.run(people(3), sf, confirm=True, ledger=tmp_path / "s.sqlite")
    assert done.counts()["created"] == 3
    token_calls = [p for v, _, p in twin.app.requests if p == "/services/oauth2/token"]
    assert len(token_calls) == 1 and twin.app.apis["salesforce"].grants == 1
    # the renewal is not an API call: it counts nowhere against the org's allocation
    assert twin.app.apis["salesforce"].used == len(twin.app.requests) - 2  # minus 401, token


def test_the_refresh_credentials_alone_start_a_sync(oauth: None, tmp_path: Path) -> None:
    twin = _org()
    sf = sync.destination("salesforce", transport=twin, token="")
    done = sync.run(people(2), sf, confirm=True, ledger=tmp_path / "s.sqlite")
    assert done.counts()["created"] == 2
    assert twin.app.requests[0][2] == "/services/oauth2/token"  # before anything else


def test_a_refused_renewal_is_a_clear_error_that_shows_no_credential(
    oauth: None, tmp_path: Path
) -> None:
    twin = CrmTransport(limits={"salesforce": {"tokens": set(), "refresh_tokens": {}}})
    sf = sync.destination("salesforce", transport=twin, token="00D-expired-session-9f2")
    with pytest.raises(sync.DestinationError) as info:
        sync.plan(people(1), sf, ledger=tmp_path / "s.sqlite")
    err = info.value
    assert err.kind == "auth" and err.http_status == 400
    assert "invalid_grant" in str(err) and "SALESFORCE_REFRESH_TOKEN" in str(err)
    for secret in (CLIENT_ID, CLIENT_SECRET, REFRESH, "00D-expired-session-9f2"):
        assert secret not in f"{err!s} {err!r} {sf!r}"


def test_without_a_token_or_refresh_credentials_the_error_names_the_variable() -> None:
    with pytest.raises(sync.MissingDestinationCredentials, match="SALESFORCE_ACCESS_TOKEN"):
        sync.destination("salesforce")


def test_a_twin_ignores_the_orgs_url_in_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SALESFORCE_INSTANCE_URL", "https://acme.my.salesforce.com")
    sf = sync.destination("salesforce", transport=CrmTransport())
    assert sf.base.startswith("https://gtmkit-sandbox.my.salesforce.com/")
    assert sync.plan(people(1), sf, ledger=tmp_path / "s.sqlite").counts()["create"] == 1
