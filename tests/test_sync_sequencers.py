"""Outreach and Salesloft through their simulated twins, the same checks for both: the dry run
(enrollment shown as a change, nothing sent), create or update the person and add them to the
sequence (cadence), de-duplication, the merge policy, people already in an active sequence
refused, idempotent re-sync, per-record failures kept for retry, and the rate limits paced or
answered 429 and retried. Then what is Outreach's own: list attributes kept whole, a sequence
needs a mailbox."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from gtmkit.sync.ledger import SyncLedger
from tests._sync_helpers import people

SEQUENCE = 7


@dataclass(frozen=True)
class Vendor:
    """How a test reaches into one sequencer's twin."""

    name: str
    word: str  # "sequence" / "cadence": the dry run's name for the enrollment
    options: dict[str, Any]
    limit: str  # the twin's option for its request window
    window_s: float
    email_field: str
    title_field: str
    people: Callable[[Any], dict[int, dict[str, Any]]]
    seed: Callable[[Any, str, dict[str, Any]], int]
    enroll: Callable[[Any, int, int, bool], int]
    enrolled: Callable[[Any], list[tuple[int, int, bool]]]  # (person, sequence, active)


OUTREACH = Vendor(
    name="outreach",
    word="sequence",
    options={"sequence_id": SEQUENCE, "mailbox_id": 3},
    limit="hourly",
    window_s=3600.0,
    email_field="emails",
    title_field="title",
    people=lambda api: api.prospects,
    seed=lambda api, email, extra: api.add({"emails": [email], **extra}),
    enroll=lambda api, pid, seq, active: api.add_state(
        pid, seq, "active" if active else "finished"
    ),
    enrolled=lambda api: [
        (s["prospect"], s["sequence"], s["state"] in ("active", "pending", "paused"))
        for s in api.sequence_states.values()
    ],
)
SALESLOFT = Vendor(
    name="salesloft",
    word="cadence",
    options={"sequence_id": SEQUENCE},
    limit="per_minute",
    window_s=60.0,
    email_field="email_address",
    title_field="title",
    people=lambda api: api.people,
    seed=lambda api, email, extra: api.add({"email_address": email, **extra}),
    enroll=lambda api, pid, seq, active: api.add_membership(pid, seq, active),
    enrolled=lambda api: [
        (m["person"], m["cadence"], m["currently_on_cadence"]) for m in api.memberships.values()
    ],
)


@pytest.fixture(params=[OUTREACH, SALESLOFT], ids=lambda v: v.name)
def vendor(request: pytest.FixtureRequest) -> Vendor:
    return request.param  # type: ignore[no-any-return]


def _email(vendor: Vendor, person: dict[str, Any]) -> str:
    value = person.get(vendor.email_field)
    return str(value[0] if isinstance(value, list) else value)


def _people(n: int, *, bad: frozenset[int] = frozenset()) -> pl.DataFrame:
    """The shared list, with a title per person."""
    titles = pl.Series("title", [f"Title {i}" for i in range(n)])
    return people(n, bad=bad).with_columns(titles)


def _setup(vendor: Vendor, **limits: Any) -> tuple[CrmTransport, Any, Any]:
    twin = CrmTransport(limits={vendor.name: limits} if limits else None)
    dest = sync.destination(vendor.name, transport=twin, **vendor.options)
    return twin, twin.app.apis[vendor.name], dest


def _writes(twin: CrmTransport, vendor: Vendor, since: int = 0) -> list[tuple[str, str]]:
    return [(m, p) for v, m, p in twin.app.requests[since:] if v == vendor.name and m != "GET"]


# ------------------------------------------------------------------ dry run, write, re-sync


def test_the_dry_run_shows_each_enrollment_and_sends_nothing(
    vendor: Vendor, tmp_path: Path
) -> None:
    twin, api, dest = _setup(vendor)
    p = sync.plan(_people(3), dest, ledger=tmp_path / "s.sqlite")
    assert p.counts() == {"create": 3, "update": 0, "skip": 0}
    assert _writes(twin, vendor) == [] and api_state(vendor, api) == ({}, [])
    diff = p.diff.filter(pl.col("property") == vendor.word)
    assert diff.select("from", "to").rows() == [(None, str(SEQUENCE))] * 3
    assert all(f"{vendor.word}: ∅ → '{SEQUENCE}'" in c for c in p.frame["changes"].to_list())


def api_state(vendor: Vendor, api: Any) -> tuple[dict[int, dict[str, Any]], list[Any]]:
    return vendor.people(api), vendor.enrolled(api)


def test_people_are_created_and_enrolled_and_a_second_sync_writes_nothing(
    vendor: Vendor, tmp_path: Path
) -> None:
    twin, api, dest = _setup(vendor)
    led = tmp_path / "s.sqlite"
    rows = _people(4)
    done = sync.write(sync.plan(rows, dest, ledger=led))
    assert done.counts() == {"created": 4, "updated": 0, "failed": 0, "skipped": 0}
    people = vendor.people(api)
    assert sorted(_email(vendor, p) for p in people.values()) == sorted(rows["email"])
    assert sorted(vendor.enrolled(api)) == sorted((pid, SEQUENCE, True) for pid in people)
    assert set(done.frame["destination_id"].to_list()) == {str(pid) for pid in people}

    before = len(twin.app.requests)
    again = sync.plan(rows, dest, ledger=led)
    assert again.counts() == {"create": 0, "update": 0, "skip": 4}
    assert sync.write(again).counts()["skipped"] == 4
    assert _writes(twin, vendor, before) == []

    # one changed value is one update, and nobody is enrolled twice
    changed = rows.with_columns(
        pl.when(pl.col("row_id") == 2).then(pl.lit("VP Sales")).otherwise("title").alias("title")
    )
    p = sync.plan(changed, dest, ledger=led)
    assert p.counts() == {"create": 0, "update": 1, "skip": 3}
    assert p.diff.select("property", "from", "to").rows() == [
        (vendor.title_field, "Title 2", "VP Sales")
    ]
    before = len(twin.app.requests)
    assert sync.write(p).counts()["updated"] == 1
    assert len(_writes(twin, vendor, before)) == 1
    assert len(vendor.enrolled(api)) == 4
    assert [p["title"] for p in vendor.people(api).values()].count("VP Sales") == 1


def test_an_existing_person_is_updated_and_enrolled_not_duplicated(
    vendor: Vendor, tmp_path: Path
) -> None:
    _twin, api, dest = _setup(vendor)
    pid = vendor.seed(api, "P0@Acme0.io", {"title": "Title 0"})
    rows = _people(2).vstack(_people(1))  # row 0 twice: the second is a duplicate
    p = sync.plan(rows.with_columns(pl.Series("row_id", [0, 1, 2])), dest, ledger=tmp_path / "s")
    assert p.frame.select("action", "matched_by", "destination_id").rows() == [
        ("update", "email", str(pid)),
        ("create", None, None),
        ("skip", None, None),
    ]
    assert p.frame.row(2, named=True)["reason"] == "duplicate of row 0 in these records"
    assert p.frame.row(0, named=True)["record_key"] == "email:p0@acme0.io"
    sync.write(p)
    assert len(vendor.people(api)) == 2
    assert (pid, SEQUENCE, True) in vendor.enrolled(api)


# ------------------------------------------------------------------ sequences


def test_someone_in_an_active_sequence_is_refused_and_left_alone(
    vendor: Vendor, tmp_path: Path
) -> None:
    _twin, api, dest = _setup(vendor)
    busy = vendor.seed(api, "p0@acme0.io", {"title": "Old title"})
    vendor.enroll(api, busy, 4, True)
    p = sync.plan(_people(2), dest, ledger=tmp_path / "s.sqlite")
    row = p.frame.row(0, named=True)
    assert (row["action"], row["destination_id"]) == ("skip", str(busy))
    assert row["reason"] == (
        f"already in an active {vendor.word} ({vendor.word} 4): not touched until it ends"
    )
    sync.write(p)
    assert vendor.people(api)[busy]["title"] == "Old title"
    assert [e for e in vendor.enrolled(api) if e[0] == busy] == [(busy, 4, True)]


def test_someone_who_finished_the_sequence_is_not_added_again(
    vendor: Vendor, tmp_path: Path
) -> None:
    _twin, api, dest = _setup(vendor)
    done = vendor.seed(api, "p0@acme0.io", {"title": "Title 0"})
    vendor.enroll(api, done, SEQUENCE, False)
    p = sync.plan(_people(1), dest, ledger=tmp_path / "s.sqlite")
    assert vendor.word not in p.diff["property"].to_list()
    sync.write(p)
    assert [e for e in vendor.enrolled(api) if e[0] == done] == [(done, SEQUENCE, False)]


def test_an_enrollment_refused_at_write_time_fails_the_record_but_keeps_the_person(
    vendor: Vendor, tmp_path: Path
) -> None:
    """A rep adds someone to another sequence between the dry run and the write."""
    _twin, api, dest = _setup(vendor)
    led = tmp_path / "s.sqlite"
    rows = _people(3)
    p = sync.plan(rows, dest, ledger=led)
    raced = vendor.seed(api, "someone@else.io", {})
    real_add = api.add

    def add_then_race(fields: dict[str, Any]) -> int:  # the rep is faster for p1
        pid = int(real_add(fields))
        if _email(vendor, fields) == "p1@acme1.io":
            vendor.enroll(api, pid, 4, True)
        return pid

    api.add = add_then_race
    done = sync.write(p)
    assert done.counts() == {"created": 2, "updated": 0, "failed": 1, "skipped": 0}
    failed = done.failures().row(0, named=True)
    assert failed["row_id"] == 1 and failed["destination_id"] is not None
    assert failed["reason"].startswith(f"written, not added to the {vendor.word}:")
    with SyncLedger(led) as ledger:
        assert ledger.failed(vendor.name)["kind"].to_list() == ["not_enrolled"]
        assert (
            ledger.synced(vendor.name, dest.object_type)["email:p1@acme1.io"].dest_id
            == (failed["destination_id"])
        )
    # the retry neither creates the person again nor touches their other sequence
    retry = sync.plan(rows, dest, ledger=led)
    assert retry.counts() == {"create": 0, "update": 0, "skip": 3}
    assert "already in an active" in retry.frame.row(1, named=True)["reason"]
    assert len(vendor.people(api)) == 4 and raced in vendor.people(api)


def test_an_enrollment_cut_off_by_the_limit_is_done_by_the_next_sync(
    vendor: Vendor, tmp_path: Path
) -> None:
    twin, api, dest = _setup(vendor, **{vendor.limit: 4})
    dest.max_retries = 0
    dest.observe = lambda response: None  # run into the 429 instead of pacing
    led = tmp_path / "s.sqlite"
    rows = _people(2)
    # plan: a search (+ a sequence-state read when someone is found); write: 2 creates, then
    # the first enrollment fits in the window and the second is refused
    done = sync.write(sync.plan(rows, dest, ledger=led))
    assert done.stopped is not None and twin.app.refused[vendor.name] == 1
    assert done.counts()["created"] + done.counts()["failed"] == 2
    people = vendor.people(api)
    assert len(people) == 2 and len(vendor.enrolled(api)) < 2
    twin.clock.advance(vendor.window_s)
    retry = sync.plan(rows, dest, ledger=led)
    assert retry.counts()["create"] == 0
    assert set(retry.diff["property"].to_list()) == {vendor.word}
    sync.write(retry)
    assert sorted(vendor.enrolled(api)) == sorted((pid, SEQUENCE, True) for pid in people)
    assert len(vendor.people(api)) == 2


# ------------------------------------------------------------------ merge policy, failures


def test_an_empty_value_never_blanks_the_destinations(vendor: Vendor, tmp_path: Path) -> None:
    _twin, api, dest = _setup(vendor)
    pid = vendor.seed(api, "p0@acme0.io", {"title": "CTO"})
    rows = _people(1).with_columns(pl.lit(None, pl.String).alias("title"))
    p = sync.plan(rows, dest, ledger=tmp_path / "s.sqlite")
    assert vendor.title_field not in p.diff["property"].to_list()
    assert "the destination's value stands" in (p.frame.row(0, named=True)["reason"] or "")
    sync.write(p)
    assert vendor.people(api)[pid]["title"] == "CTO"


def test_a_rejected_person_is_kept_for_retry_and_only_it_is_sent_again(
    vendor: Vendor, tmp_path: Path
) -> None:
    twin, api, dest = _setup(vendor)
    led = tmp_path / "s.sqlite"
    rows = _people(5, bad=frozenset({2}))
    done = sync.write(sync.plan(rows, dest, ledger=led))
    assert done.counts() == {"created": 4, "updated": 0, "failed": 1, "skipped": 0}
    assert done.failures()["row_id"].to_list() == [2]
    reason = done.failures()["reason"].item()
    assert "email" in reason.lower() and "invalid" in reason.lower()
    with SyncLedger(led) as ledger:
        kept = ledger.failed(vendor.name)
    assert kept.select("record_key", "kind").rows() == [("email:bad-email-2", "rejected")]

    fixed = rows.with_columns(pl.col("email").str.replace("bad-email-2", "fixed2@acme2.io"))
    retry = sync.plan(fixed, dest, ledger=led)
    assert retry.frame.filter(pl.col("action") != "skip")["row_id"].to_list() == [2]
    before = len(twin.app.requests)
    assert sync.write(retry).counts()["created"] == 1
    assert len(_writes(twin, vendor, before)) == 2  # the person and the enrollment
    assert len(vendor.people(api)) == 5 and len(vendor.enrolled(api)) == 5


# ------------------------------------------------------------------ rate limits


def test_the_limit_headers_pace_the_sync_without_a_429(vendor: Vendor, tmp_path: Path) -> None:
    twin, api, dest = _setup(vendor, **{vendor.limit: 5})
    done = sync.write(sync.plan(_people(4), dest, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 4 and done.stopped is None
    assert twin.app.refused[vendor.name] == 0
    # 1 search + 4 creates + 4 enrollments = 9 calls through a window of 5: one wait
    assert done.waited_s >= vendor.window_s - 1 and twin.clock.now() >= vendor.window_s - 1
    assert len(vendor.enrolled(api)) == 4


def test_a_429_is_waited_out_and_retried(vendor: Vendor, tmp_path: Path) -> None:
    twin, api, dest = _setup(vendor, **{vendor.limit: 3})
    dest.observe = lambda response: None  # ignore the headers: meet the 429 itself
    done = sync.write(sync.plan(_people(3), dest, ledger=tmp_path / "s.sqlite"))
    assert done.counts()["created"] == 3 and done.stopped is None
    assert twin.app.refused[vendor.name] >= 1 and done.retries >= 1
    assert len(vendor.people(api)) == 3 and len(vendor.enrolled(api)) == 3


# ------------------------------------------------------------------ Outreach's own


def test_outreach_keeps_a_prospects_other_emails_and_phones(tmp_path: Path) -> None:
    _twin, api, dest = _setup(OUTREACH)
    pid = api.add(
        {
            "emails": ["ada@home.io", "p0@acme0.io"],
            "workPhones": ["+1 555 0100"],
            "custom1": "risky",
        }
    )
    rows = _people(1).with_columns(pl.lit("+1 555 0199").alias("phone"))
    p = sync.plan(rows, dest, ledger=tmp_path / "s.sqlite")
    row = p.frame.row(0, named=True)
    assert (row["action"], row["matched_by"]) == ("update", "email")
    assert "emails" not in p.diff["property"].to_list()  # the matched address is the same
    sync.write(p)
    stored = api.prospects[pid]
    assert stored["emails"] == ["ada@home.io", "p0@acme0.io"]
    assert stored["workPhones"] == ["+1 555 0199", "+1 555 0100"]
    assert stored["custom1"] == "valid"


def test_outreach_takes_a_better_email_but_keeps_the_old_one_too(tmp_path: Path) -> None:
    _twin, api, dest = _setup(OUTREACH)
    handle = "https://www.linkedin.com/in/first0"
    pid = api.add({"emails": ["old@acme0.io"], "linkedInUrl": handle, "custom1": "risky"})
    rows = _people(1).with_columns(pl.lit(handle).alias("linkedin_url"))
    p = sync.plan(rows, dest, ledger=tmp_path / "s.sqlite")
    assert p.frame.row(0, named=True)["matched_by"] == "linkedin"
    changes = dict(p.diff.select("property", "to").rows())
    assert changes["emails"] == "p0@acme0.io" and changes["custom1"] == "valid"
    sync.write(p)
    assert api.prospects[pid]["emails"] == ["p0@acme0.io", "old@acme0.io"]


def test_outreach_refuses_a_sequence_without_a_mailbox_before_any_call() -> None:
    twin = CrmTransport()
    with pytest.raises(sync.MappingError, match="mailbox_id"):
        sync.destination("outreach", transport=twin, sequence_id=SEQUENCE)
    assert twin.app.requests == []


def test_outreach_reads_every_page_of_sequence_states(tmp_path: Path) -> None:
    twin = CrmTransport()
    api = twin.app.apis["outreach"]
    dest = sync.destination("outreach", transport=twin, sequence_id=6, mailbox_id=3)
    pids = [api.add({"emails": [f"p{i}@acme{i % 3}.io"]}) for i in range(20)]
    for sequence in range(1, 7):  # 120 finished states; sequence 6's are all on page two
        for pid in pids:
            api.add_state(pid, sequence, "finished")
    p = sync.plan(_people(20), dest, ledger=tmp_path / "s.sqlite")
    assert "sequence" not in p.diff["property"].to_list()  # nobody is added to 6 again
    pages = [path for v, _, path in twin.app.requests if v == "outreach"]
    assert pages.count("/sequenceStates") == 2


def test_a_person_without_an_email_is_not_created(vendor: Vendor, tmp_path: Path) -> None:
    twin, api, dest = _setup(vendor)
    rows = _people(2).with_columns(
        pl.when(pl.col("row_id") == 1).then(None).otherwise("email").alias("email")
    )
    p = sync.plan(rows, dest, ledger=tmp_path / "s.sqlite")
    assert p.frame["action"].to_list() == ["create", "skip"]
    assert p.frame.row(1, named=True)["reason"] == (
        f"no email address: a {vendor.word} cannot reach them (not created)"
    )
    sync.write(p)
    assert len(vendor.people(api)) == 1 and _writes(twin, vendor) != []
