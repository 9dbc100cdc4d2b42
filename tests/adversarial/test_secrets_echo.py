"""Secrets against a server that echoes them: canary keys for every secret variable gtmkit
reads (derived from the provider registry and the packages' ``SECRET_ENV_VARS`` hooks; keys
ending in a newline, holding quotes or backslashes) go live to a loopback server that sends
back every header and query string it received in its bodies, its headers and its error
messages, under a rotating status. A waterfall (run and resume on a file ledger) and a
comparison run through it; the ledger, the CSV export, the log, every repr and every
exception text must hold none of the keys in any spelling.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from gtmkit import compare
from gtmkit.providers.registry import provider_class, provider_names
from gtmkit.waterfall import Step, Waterfall
from tests._attack_helpers import FAST_RETRY, world_records
from tests.adversarial import _proxy
from tests.test_canary_secrets import CANARIES, _spellings

#: every provider that calls an API (not the local pattern guesser or the manual hand-off)
LIVE = tuple(n for n in provider_names() if provider_class(n).kind not in ("local", "manual"))


def _assert_clean(where: str, text: str) -> None:
    for variable, key in CANARIES.items():
        for spelling in _spellings(key):
            assert spelling not in text, f"{variable}'s canary found in {where}"


def _leaks(text: str) -> bool:
    return any(s in text for key in CANARIES.values() for s in _spellings(key))


@pytest.fixture
def echoed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    for variable, key in CANARIES.items():
        monkeypatch.setenv(variable, key)
    monkeypatch.chdir(tmp_path)  # no .env of the work tree is read
    with _proxy.echo_server() as server:
        base = str(server["base"])
        yield {name: f"{base}/{name}" for name in LIVE}, server


def test_the_keys_really_reach_the_echo_server(echoed) -> None:  # type: ignore[no-untyped-def]
    """Honesty check: the server saw the keys, so the answers do carry them back."""
    base_urls, server = echoed
    records = world_records(6, seed=41)
    wf = Waterfall([Step(name) for name in LIVE if provider_class(name).kind == "finder"])
    wf.run(records, mode="live", ledger=None, progress=False, retry=FAST_RETRY,
           connect_options={"base_urls": base_urls, "timeout": 2.0, "env_file": None})  # fmt: skip
    seen = "\n".join(server["seen"])  # type: ignore[arg-type]
    assert any(key.strip() in seen for key in CANARIES.values())


def _everything_written(  # type: ignore[no-untyped-def]
    echoed, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> dict[str, str]:
    """Run, resume and compare through the echo server; every text gtmkit produced, by where."""
    base_urls, _ = echoed
    records = world_records(12, seed=42)
    ledger = tmp_path / "ledger.sqlite"
    finders = [name for name in LIVE if provider_class(name).kind == "finder"]
    wf = Waterfall([Step(name) for name in finders])
    caplog.set_level(logging.DEBUG)
    options = {"base_urls": base_urls, "timeout": 2.0, "env_file": None}
    texts = run_and_resume_texts(wf, records, ledger, options)
    try:
        comparison = compare(records, finders, ledger=None, mode="live", echo=False,
                             connect_options=options, retry=FAST_RETRY, progress=False)  # fmt: skip
        texts["compare repr"] = repr(comparison)
    except Exception as exc:
        texts["compare exception"] = f"{exc!r}\n{exc}"
    texts.update(ledger_and_log_texts(ledger, caplog))
    assert any(name.startswith("ledger table attempts") for name in texts), texts.keys()
    return texts


def run_and_resume_texts(
    wf: Waterfall, records: Any, ledger: Path, options: dict[str, Any]
) -> dict[str, str]:
    """Run then resume ``wf`` live on a file ledger: every result text (repr, frames, CSV
    export) or exception text, by where it came from."""
    texts: dict[str, str] = {}
    for attempt in ("run", "resume"):
        try:
            result = wf.run(records, mode="live", ledger=ledger, progress=False,
                            retry=FAST_RETRY, connect_options=options)  # fmt: skip
        except Exception as exc:  # an error is allowed; its text must be clean
            texts[f"{attempt} exception"] = f"{exc!r}\n{exc}\n{exc.__cause__!r}"
            continue
        texts[f"{attempt} repr"] = repr(result) + repr(result.summary) + str(result.summary)
        texts[f"{attempt} attempts"] = result.attempts.write_csv()
        texts[f"{attempt} records frame"] = result.records.write_csv()
        export = ledger.parent / f"{attempt}.csv"
        result.records.write_csv(export)
        texts[f"{attempt} export"] = export.read_text(encoding="utf-8")
    return texts


def ledger_and_log_texts(ledger: Path, caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """Every ledger table's rows, the ledger file's bytes and every captured log record."""
    texts: dict[str, str] = {}
    with sqlite3.connect(ledger) as db:
        for (table,) in db.execute("select name from sqlite_master where type = 'table'"):
            rows = db.execute(f'select * from "{table}"').fetchall()
            texts[f"ledger table {table}"] = "\n".join(map(repr, rows))
    texts["ledger bytes"] = ledger.read_bytes().decode("utf-8", "replace")
    for record in caplog.records:
        line = f"{record.getMessage()} {record.args!r} {record.exc_text}\n"
        texts[f"log {record.name}"] = texts.get(f"log {record.name}", "") + line
    return texts


def test_no_key_in_ledger_export_log_repr_or_error(  # type: ignore[no-untyped-def]
    echoed, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = _everything_written(echoed, tmp_path, caplog)
    leaks = [where for where, text in texts.items() if _leaks(text)]
    assert leaks == [], f"canaries found in {leaks}"


def test_no_key_in_third_party_debug_logs(  # type: ignore[no-untyped-def]
    echoed, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """httpcore's DEBUG trace prints every response header it receives, echoes included:
    gtmkit's log filter masks them (and the trace really was captured and really echoed)."""
    texts = _everything_written(echoed, tmp_path, caplog)
    trace = texts.get("log httpcore.http11", "")
    assert "receive_response_headers.complete" in trace
    assert "***" in trace  # an echoed key was there, and was masked
    assert not _leaks(trace)
