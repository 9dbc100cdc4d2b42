"""A ledger that cannot work fails before any money is spent, with an error that says what
happened and what to do: a read-only folder, a corrupt ledger, a file that is not SQLite, an
SQLite database of someone else's (never altered: gtmkit does not add its tables to it), and a
full disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from gtmkit.errors import GtmkitError
from gtmkit.sandbox import simulate
from tests._attack_helpers import (
    attack_world,
    run_full_disk_child,
    run_in_process,
    waterfall,
    world_records,
)


def _refused(ledger: Path, *, words: tuple[str, ...]) -> str:
    sim = simulate(attack_world())
    with pytest.raises(GtmkitError) as raised:
        run_in_process(waterfall(["hunter"], None), world_records(10, seed=3), sim, ledger=ledger)
    message = str(raised.value)
    assert sim.requests() == {}, f"calls were made before the ledger was refused: {message}"
    assert "ledger" in message.lower() and str(ledger) in message, message
    assert any(w in message.lower() for w in words), message
    assert "Traceback" not in message and not message.startswith(("database ", "unable "))
    return message


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _good_ledger(path: Path) -> None:
    run_in_process(
        waterfall(["hunter"], None), world_records(5, seed=2), simulate(attack_world()),
        ledger=path,
    )  # fmt: skip


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        _refused(folder / "ledger.sqlite", words=("writable", "cannot write"))
    finally:
        folder.chmod(0o700)


def test_a_read_only_folder_even_as_root(tmp_path: Path) -> None:
    """As root permission bits do not stop a write: a folder that is a file's path does."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the ledger's folder should be")
    _refused(blocker / "ledger.sqlite", words=("folder", "writable", "cannot write"))


def test_a_corrupt_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    _good_ledger(ledger)
    data = bytearray(ledger.read_bytes())
    for offset in range(100, len(data), 997):  # keep the header, ruin the pages
        data[offset : offset + 64] = os.urandom(64)
    ledger.write_bytes(bytes(data))
    for side in ("-wal", "-shm"):
        Path(f"{ledger}{side}").unlink(missing_ok=True)
    _refused(ledger, words=("not a gtmkit ledger", "readable", "failed", "corrupt"))


@pytest.mark.parametrize(
    "content",
    [b"id,email\n1,a@b.c\n", os.urandom(8192), b"SQLite format 2\x00" + b"\x00" * 100, b"x"],
    ids=["csv", "random", "near-sqlite header", "one byte"],
)
def test_a_file_that_is_not_sqlite_is_left_untouched(content: bytes, tmp_path: Path) -> None:
    ledger = tmp_path / "leads.sqlite"
    ledger.write_bytes(content)
    _refused(ledger, words=("not a gtmkit ledger", "not an sqlite"))
    assert ledger.read_bytes() == content


def test_a_foreign_sqlite_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    ledger = tmp_path / "crm.sqlite"
    with sqlite3.connect(ledger) as db:
        db.execute("CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT)")
        db.execute("INSERT INTO contacts (email) VALUES ('ada@example.com')")
    db.close()
    before = _digest(ledger)
    message = _refused(ledger, words=("not a gtmkit ledger",))
    assert "contacts" in message
    assert _digest(ledger) == before, "the foreign database was changed"
    with sqlite3.connect(ledger) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"contacts"}, f"gtmkit added tables to a foreign database: {tables}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["crm.sqlite"]


def test_a_foreign_database_with_a_table_named_meta(tmp_path: Path) -> None:
    ledger = tmp_path / "app.db"
    with sqlite3.connect(ledger) as db:
        db.execute("CREATE TABLE meta (k TEXT, v TEXT)")
        db.execute("CREATE TABLE users (id INTEGER)")
    db.close()
    before = _digest(ledger)
    _refused(ledger, words=("not a gtmkit ledger",))
    assert _digest(ledger) == before


def test_an_existing_ledger_still_opens(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    _good_ledger(ledger)
    copy = tmp_path / "copy.sqlite"
    shutil.copy(ledger, copy)
    _good_ledger(copy)  # a gtmkit ledger is not "foreign"


@pytest.mark.parametrize("existing", [False, True], ids=["new", "existing"])
def test_a_full_disk(existing: bool, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite"
    if existing:
        _good_ledger(ledger)
    report = run_full_disk_child(ledger, tmp_path / "report.json")
    assert report["gtmkit_error"], report
    assert report["requests"] == {}, "calls were made although nothing could be recorded"
    message = report["message"].lower()
    assert "ledger" in message and any(w in message for w in ("disk", "space", "full")), message
