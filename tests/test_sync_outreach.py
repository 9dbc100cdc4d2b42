"""Outreach through its simulated twin: people already in an active sequence are refused at
plan time (and never enrolled twice), the others are written and added to the sequence, a
re-sync writes nothing, a validation error is kept with its reason, and the hourly limit is
waited out."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from gtmkit.sync.errors import MappingError
from gtmkit.sync.ledger import SyncLedger
from tests._sync_helpers import clear_destination_tokens, people


@pytest.fixture(autouse=True)
def _no_destination_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_destination_tokens(monkeypatch)


def _states(twin: CrmTransport) -> list[tuple[int, int, str]]:
    api = twin.app.apis["outreach"]
    return [(s["prospect"], s["sequence"], s["state"]) for s in api.sequence_states.values()]  # type: ignore[attr-defined]


def test_people_in_an_active_sequence_are_refused_and_the_rest_enrolled(tmp_path: Path) -> None:
    twin = CrmTransport()
    api = twin.app.apis["outreach"]
    busy = api.add({"emails": ["p0@acme0.io"], "lastName": "Last0"})  # type: ignore[attr-defined]
    api.add_state(busy, sequence_id=3, state="active")  # type: ignore[attr-defined]
    paused = api.add({"emails": ["p1@acme1.io"]})  # type: ignore[attr-defined]
    api.add_state(paused, sequence_id=3, state="paused")  # type: ignore[attr-defined]
    done_before = api.add({"emails": ["p2@acme2.io"]})  # type: ignore[attr-defined]
    api.add_state(done_before, sequence_id=3, state="finished")  # type: ignore[attr-defined]
    out = sync.destination("outreach", transport=twin, sequence_id=7, mailbox_id=1)
    led = tmp_path / "s.sqlite"
    p = sync.plan(people(4), out, ledger=led)
    assert p.frame.select("action", "destination_id").rows() == [
        ("skip", str(busy)),
        ("skip", str(paused)),
        ("update", str(done_before)),
        ("create", None),
    ]
    reasons = p.frame["reason"].to_list()
    assert "already in an active sequence (sequence 3)" in reasons[0]
    assert "already in an active sequence" in reasons[1]

    done = sync.write(p)
    assert done.counts() == {"created": 1, "updated": 1, "failed": 0, "skipped": 2}
    new = int(done.frame.filter(pl.col("action") == "create")["destination_id"].item())
    assert sorted(out.enrolled) == sorted([str(done_before), str(new)])  # type: ignore[attr-defined]
    assert _states(twin) == [
        (busy, 3, "active"),
        (paused, 3, "paused"),
        (done_before, 3, "finished"),
        (new, 7, "active"),  # creates are written before updates
        (done_before, 7, "active"),
    ]
    assert api.prospects[busy] == {"emails": ["p0@acme0.io"], "lastName": "Last0"}  # type: ignore[attr-defined]

    # once enrolled they are in an active sequence: an identical re-sync writes nothing
    before = twin.app.writes("outreach")
    again = sync.plan(people(4), out, ledger=led)
    assert again.counts() == {"create": 0, "update": 0, "skip": 4}
    assert sync.write(again).counts()["skipped"] == 4
    assert twin.app.writes("outreach") == before and len(_states(twin)) == 5


def test_without_a_sequence_a_changed_value_is_one_update(tmp_path: Path) -> None:
    twin = CrmTransport()
    out = sync.destination("outreach", transport=twin)
    led = tmp_path / "s.sqlite"
    first = sync.write(sync.plan(people(3), out, ledger=led))
    assert first.counts() == {"created": 3, "updated": 0, "failed": 0, "skipped": 0}
    assert _states(twin) == []
    assert sync.plan(people(3), out, ledger=led).counts() == {"create": 0, "update": 0, "skip": 3}
    changed = people(3).with_columns(
        pl.when(pl.col("row_id") == 1).then(pl.lit("VP Sales")).otherwise(None).alias("title")
    )
    p = sync.plan(changed, out, ledger=led)
    assert p.diff.select("property", "from", "to").rows() == [("title", None, "VP Sales")]
    before = twin.app.writes("outreach")
    assert sync.write(p).counts()["updated"] == 1
    assert twin.app.writes("outreach") == before + 1
    pid = int(p.frame.filter(pl.col("action") == "update")["destination_id"].item())
    assert twin.app.apis["outreach"].prospects[pid]["title"] == "VP Sales"  # type: ignore[attr-defined]


def test_a_sequence_without_a_mailbox_is_refused_before_anything_is_written() -> None:
    twin = CrmTransport()
    with pytest.raises(MappingError, match="pass mailbox_id= with sequence_id="):
        sync.destination("outreach", transport=twin, sequence_id=7)
    assert twin.app.writes("outreach") == 0


def test_a_validation_error_is_kept_with_its_reason(tmp_path: Path) -> None:
    twin = CrmTransport()
    out = sync.destination("outreach", transport=twin)
    led = tmp_path / "s.sqlite"
    done = sync.write(sync.plan(people(3, bad={1}), out, ledger=led))
    assert done.counts() == {"created": 2, "updated": 0, "failed": 1, "skipped": 0}
    assert "valid email" in done.failures()["reason"].item()
    with SyncLedger(led) as ledger:
        assert ledger.failed("outreach")["record_key"].to_list() == ["email:bad-email-1"]


def test_the_hourly_limit_is_waited_out_and_nothing_is_lost(tmp_path: Path) -> None:
    twin = CrmTransport(limits={"outreach": {"hourly": 3}})
    out = sync.destination("outreach", transport=twin)
    done = sync.write(sync.plan(people(5), out, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 5 and done.stopped is None
    assert len(twin.app.apis["outreach"].prospects) == 5  # type: ignore[attr-defined]
    assert twin.clock.now() >= 3600.0  # 1 search + 5 creates need a second hour
