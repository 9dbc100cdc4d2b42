"""The engagement report's one line on what was synced where, read from a sync ledger: exact
counts per destination, what still waits for a retry, and nothing at all without a ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtmkit import sync
from gtmkit.reports import engagement as er
from gtmkit.sandbox.crm import CrmTransport
from tests._report_helpers import small_engagement
from tests._sync_helpers import people


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("synced") / "acme.sync.sqlite"
    twin = CrmTransport()
    rows = people(5, bad={4})
    sync.run(rows, sync.destination("hubspot", transport=twin), confirm=True, ledger=path)
    sync.run(rows.head(2), sync.destination("salesforce", transport=twin), confirm=True,
             ledger=path)  # fmt: skip
    return path


def test_the_sentence_counts_each_destination_and_what_waits(ledger: Path) -> None:
    day = sync.summary(ledger)["last_write"].max()[:10]  # type: ignore[index]
    assert sync.synced_sentence(ledger) == (
        f"Synced to HubSpot: 4 contacts created (last write {day}); "
        f"Salesforce: 2 Leads created (last write {day}); "
        "1 HubSpot contact waits for a retry."
    )
    assert sync.synced_sentence(None) is None
    assert sync.synced_sentence(ledger.with_name("nothing-here.sqlite")) is None


def test_the_report_summary_says_it_only_when_there_is_a_ledger(ledger: Path) -> None:
    _, _, engagement = small_engagement()
    with_sync = er.summary(engagement, sync_ledger=str(ledger))._repr_html_()
    assert "Synced to HubSpot: 4 contacts created" in with_sync
    assert "Synced to" not in er.summary(engagement)._repr_html_()
