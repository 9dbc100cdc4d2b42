"""HubSpot through its simulated twin: the dry run, create/update/skip, idempotent re-sync,
multi-status partial failures and the retry of only those, the burst and daily limits, and
contacts associated with their domain's company."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from gtmkit.sync.ledger import SyncLedger
from tests._sync_helpers import people as _people


@pytest.fixture(autouse=True)
def _no_destination_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in sync.SECRET_ENV_VARS:
        monkeypatch.delenv(var, raising=False)


def _contacts(twin: CrmTransport) -> dict[str, dict]:
    return twin.app.apis["hubspot"].objects["contacts"]


def test_a_second_identical_sync_writes_nothing_and_a_changed_value_is_one_update(
    tmp_path: Path,
) -> None:
    twin = CrmTransport()
    hs = sync.destination("hubspot", transport=twin)
    led = tmp_path / "s.sqlite"
    rows = _people(5)
    first = sync.write(sync.plan(rows, hs, ledger=led))
    assert first.counts() == {"created": 5, "updated": 0, "failed": 0, "skipped": 0}
    before = len(twin.app.requests)

    again = sync.plan(rows, hs, ledger=led)
    assert again.counts() == {"create": 0, "update": 0, "skip": 5}
    assert sync.write(again).counts()["skipped"] == 5
    # the second plan and write made only reads: searches (a POST) and no batch call
    posts = [p for _, m, p in twin.app.requests[before:] if m == "POST"]
    assert posts and all(p.endswith("/search") for p in posts)

    changed = rows.with_columns(
        pl.when(pl.col("row_id") == 3).then(pl.lit("VP Sales")).otherwise(None).alias("title")
    )
    p = sync.plan(changed, hs, ledger=led)
    assert p.counts() == {"create": 0, "update": 1, "skip": 4}
    assert p.diff.select("property", "from", "to").rows() == [("jobtitle", None, "VP Sales")]
    done = sync.write(p)
    assert done.counts()["updated"] == 1
    updated = done.frame.filter(pl.col("action") == "update")["destination_id"].item()
    assert _contacts(twin)[updated]["jobtitle"] == "VP Sales"
    assert len(_contacts(twin)) == 5


def test_an_existing_contact_is_updated_not_duplicated(tmp_path: Path) -> None:
    twin = CrmTransport()
    existing = twin.app.apis["hubspot"].add("contacts", {"email": "P0@acme0.io"})
    hs = sync.destination("hubspot", transport=twin)
    p = sync.plan(_people(2), hs, ledger=tmp_path / "s.sqlite")
    assert p.frame.select("action", "matched_by", "destination_id").rows() == [
        ("update", "email", existing),
        ("create", None, None),
    ]
    sync.write(p)
    assert len(_contacts(twin)) == 2


def test_partial_failures_are_kept_and_only_they_are_retried(tmp_path: Path) -> None:
    twin = CrmTransport()
    hs = sync.destination("hubspot", transport=twin)
    led = tmp_path / "s.sqlite"
    rows = _people(6, bad={1, 4})
    done = sync.write(sync.plan(rows, hs, ledger=led))
    assert done.counts() == {"created": 4, "updated": 0, "failed": 2, "skipped": 0}
    failed = done.failures()
    assert failed["row_id"].to_list() == [1, 4]
    assert all("INVALID_EMAIL" in r for r in failed["reason"].to_list())
    with SyncLedger(led) as ledger:
        kept = ledger.failed("hubspot")
    assert kept["record_key"].to_list() == ["email:bad-email-1", "email:bad-email-4"]
    assert kept["kind"].to_list() == ["rejected", "rejected"]

    # the list is fixed; the retry sends only the two that failed
    fixed = rows.with_columns(
        pl.col("email").str.replace(r"^bad-email-(\d)$", "fixed$1@acme.io")
    ).filter(pl.col("row_id").is_in([1, 4]))
    fixed_rows = pl.concat([rows.filter(~pl.col("row_id").is_in([1, 4])), fixed])
    # a retry of failures only finds them under their new email (by their other keys)
    only = sync.plan(fixed_rows, hs, ledger=led, only_failed=True)
    assert sorted(only.frame.filter(pl.col("action") == "create")["row_id"].to_list()) == [1, 4]
    retry = sync.plan(fixed_rows, hs, ledger=led)
    assert sorted(retry.frame.filter(pl.col("action") == "create")["row_id"].to_list()) == [1, 4]
    assert sync.write(retry).counts()["created"] == 2
    assert len(_contacts(twin)) == 6
    with SyncLedger(led) as ledger:  # written under the fixed email: the old failures are gone
        assert ledger.failed("hubspot").height == 0


def test_only_failed_replans_the_failed_records_alone(tmp_path: Path) -> None:
    twin = CrmTransport()
    hs = sync.destination("hubspot", transport=twin)
    led = tmp_path / "s.sqlite"
    rows = _people(4, bad={2})
    sync.write(sync.plan(rows, hs, ledger=led))
    p = sync.plan(rows.with_columns(pl.lit("CEO").alias("title")), hs, ledger=led,
                  only_failed=True)  # fmt: skip
    assert p.frame.filter(pl.col("action") != "skip")["row_id"].to_list() == [2]
    assert "retry of failures only" in p.frame.filter(pl.col("row_id") == 0)["reason"].item()


def test_the_burst_limit_is_paced_and_nothing_is_lost(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"hubspot": {"burst": 3}})
    hs = sync.destination("hubspot", transport=twin, associate_companies=False)
    hs.batch_size = 2  # type: ignore[misc]  # many small batches: more calls than the window
    done = sync.write(sync.plan(_people(12), hs, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 12 and done.stopped is None
    assert len(_contacts(twin)) == 12
    # the window allows 3 calls per 10 s: 1 schema + 1 search + 6 batches need two waits
    assert twin.clock.now() >= 20.0
    assert done.waited_s >= 20.0


def test_a_429_burst_answer_is_waited_out_and_retried(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"hubspot": {"burst": 2}})
    hs = sync.destination("hubspot", transport=twin, associate_companies=False)
    hs.observe = lambda response: None  # type: ignore[method-assign]  # ignore the headers
    done = sync.write(sync.plan(_people(3), hs, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 3
    assert twin.app.refused["hubspot"] >= 1 and twin.clock.now() >= 10.0


def test_the_daily_limit_stops_the_write_and_keeps_the_rest_for_tomorrow(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"hubspot": {"daily": 5}})
    hs = sync.destination("hubspot", transport=twin, associate_companies=False)
    hs.batch_size = 2  # type: ignore[misc]
    led = tmp_path / "s.sqlite"
    rows = _people(6)
    done = sync.write(sync.plan(rows, hs, ledger=led))  # schema, 2 searches, 2 batches
    assert done.stopped is not None and "daily limit" in done.stopped
    assert done.counts() == {"created": 4, "updated": 0, "failed": 2, "skipped": 0}
    with SyncLedger(led) as ledger:
        assert ledger.failed("hubspot")["kind"].to_list() == ["daily_limit", "daily_limit"]
    twin.clock.advance(86_400)
    retry = sync.plan(rows, hs, ledger=led)
    assert retry.counts() == {"create": 2, "update": 0, "skip": 4}
    assert sync.write(retry).counts()["created"] == 2
    assert len(_contacts(twin)) == 6
    with SyncLedger(led) as ledger:
        assert ledger.failed("hubspot").is_empty()


def test_contacts_are_associated_with_their_domains_company(tmp_path: Path) -> None:
    twin = CrmTransport()
    api = twin.app.apis["hubspot"]
    acme0 = api.add("companies", {"domain": "acme0.io", "name": "Acme 0"})
    hs = sync.destination("hubspot", transport=twin)
    sync.write(sync.plan(_people(6), hs, ledger=tmp_path / "s.sqlite"))
    companies = api.objects["companies"]
    assert sorted(c["domain"] for c in companies.values()) == ["acme0.io", "acme1.io", "acme2.io"]
    assert len(api.associations) == 6 and hs.associations_made == 6
    by_email = {c["email"]: cid for cid, c in _contacts(twin).items()}
    assert (by_email["p0@acme0.io"], acme0) in api.associations
    assert (by_email["p3@acme0.io"], acme0) in api.associations


def test_a_batch_above_100_inputs_is_split(tmp_path: Path) -> None:
    twin = CrmTransport()
    hs = sync.destination("hubspot", transport=twin, associate_companies=False)
    done = sync.write(sync.plan(_people(230), hs, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 230
    upserts = [p for v, _, p in twin.app.requests if p.endswith("/batch/upsert")]
    assert len(upserts) == 3


def test_a_refused_token_is_a_clear_error_naming_the_variable(tmp_path: Path) -> None:
    twin = CrmTransport()
    with pytest.raises(sync.MissingDestinationCredentials, match="HUBSPOT_ACCESS_TOKEN"):
        sync.destination("hubspot", transport=twin, token="")
    revoked = CrmTransport(limits={"hubspot": {"tokens": {"the-valid-one"}}})
    hs = sync.destination("hubspot", transport=revoked, token="a-revoked-token-123")
    with pytest.raises(sync.DestinationError, match="HUBSPOT_ACCESS_TOKEN") as info:
        sync.plan(_people(1), hs, ledger=tmp_path / "s.sqlite")
    assert info.value.kind == "auth" and info.value.http_status == 401
    assert "a-revoked-token-123" not in str(info.value)
