"""Live smoke tests against the real CRMs and sequencers: a dry run only.

Skipped unless the destination's credential is in the environment (the only skips allowed).
Each one reads the destination's schema and searches for one made-up person at
``example.com``; it never writes (a sync's writes cannot be undone from here), so it is safe
against a production portal or org. Run with e.g.
``HUBSPOT_ACCESS_TOKEN=... .venv/bin/pytest -m live tests/test_sync_live.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl
import pytest

from gtmkit import sync

NOBODY = pl.DataFrame(
    {
        "email": ["gtmkit-live-check@example.com"],
        "first_name": ["Gtmkit"],
        "last_name": ["Live Check"],
        "company_name": ["Example"],
        "company_domain": ["example.com"],
    }
)


def _dry_run(destination: sync.Destination, key: str, tmp_path: Path) -> sync.SyncPlan:
    plan = sync.plan(NOBODY, destination, ledger=tmp_path / "live.sync.sqlite")
    assert destination.mode == "live"
    assert plan.counts() in ({"create": 1, "update": 0, "skip": 0},
                             {"create": 0, "update": 1, "skip": 0},
                             {"create": 0, "update": 0, "skip": 1})  # fmt: skip
    session = destination.last_session
    assert session is not None and session.calls >= 1
    assert key.strip() not in f"{plan!r} {plan.frame.write_csv()} {destination!r}"
    assert sync.summary(tmp_path / "live.sync.sqlite").is_empty()  # nothing was written
    return plan


@pytest.mark.live("HUBSPOT_ACCESS_TOKEN")
def test_hubspot_live_dry_run(live_key: str, tmp_path: Path) -> None:
    _dry_run(sync.destination("hubspot"), live_key, tmp_path)


@pytest.mark.live("SALESFORCE_ACCESS_TOKEN")
def test_salesforce_live_dry_run(live_key: str, tmp_path: Path) -> None:
    if not os.environ.get("SALESFORCE_INSTANCE_URL"):
        pytest.skip("live test: set SALESFORCE_INSTANCE_URL (the org's My Domain URL) too")
    _dry_run(sync.destination("salesforce", object_type="Lead"), live_key, tmp_path)


@pytest.mark.live("OUTREACH_ACCESS_TOKEN")
def test_outreach_live_dry_run(live_key: str, tmp_path: Path) -> None:
    _dry_run(sync.destination("outreach"), live_key, tmp_path)


@pytest.mark.live("SALESLOFT_API_KEY")
def test_salesloft_live_dry_run(live_key: str, tmp_path: Path) -> None:
    _dry_run(sync.destination("salesloft"), live_key, tmp_path)
