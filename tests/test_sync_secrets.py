"""No sync credential leaves the process's memory: canary tokens for every variable
``gtmkit.sync`` reads (from the canary machinery: with trailing newlines, quotes and
backslashes) go to twins that quote the request's credential back in every message they send
— per-record errors, refusals, OAuth errors. After syncs that fail records, stop on a refused
credential and renew a Salesforce session, no canary is in any plan or result frame, repr,
HTML view, exception, log record, pickle, or byte of the sync ledger's files."""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from gtmkit import sync
from gtmkit.sandbox.crm import CrmTransport
from tests._sync_helpers import people
from tests.test_canary_secrets import CANARIES, _spellings

SYNC_CANARIES = {v: k for v, k in CANARIES.items() if v in sync.SECRET_ENV_VARS}
_MESSAGE_KEYS = {"message", "detail", "title", "error", "error_description", "errorMessage"}


def _quote_back(node: Any, said: str) -> Any:
    """Every message in a vendor's answer, with what the request carried appended."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k in _MESSAGE_KEYS and isinstance(v, str):
                out[k] = f"{v} (you sent {said})"
            elif k == "errors" and isinstance(v, dict):  # Salesloft: field → messages
                out[k] = {f: [f"{m} (you sent {said})" for m in ms] for f, ms in v.items()}
            else:
                out[k] = _quote_back(v, said)
        return out
    if isinstance(node, list):
        return [_quote_back(v, said) for v in node]
    return node


class EchoingTwin(httpx.AsyncBaseTransport):
    """The CRM twins, but every answer quotes the request's credentials back (in its
    messages and in a header), as a careless vendor or a proxy might."""

    def __init__(self, twin: CrmTransport) -> None:
        self.twin, self.clock, self.app = twin, twin.clock, twin.app
        self.seen: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        said = f"{request.headers.get('authorization', '')} {body.decode('utf-8', 'replace')}"
        self.seen.append(said)
        resp = await self.twin.handle_async_request(request)
        raw = await resp.aread()
        headers = [(k, v) for k, v in resp.headers.items() if k != "content-length"]
        headers.append(("x-echo", json.dumps(said)))
        if resp.headers.get("content-type", "").split(";")[0].endswith("json") and raw:
            raw = json.dumps(_quote_back(json.loads(raw), said)).encode()
        return httpx.Response(resp.status_code, headers=headers, content=raw, request=request)


@pytest.fixture
def canaries(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    assert set(SYNC_CANARIES) == set(sync.SECRET_ENV_VARS)  # every variable has its canary
    for variable, key in SYNC_CANARIES.items():
        monkeypatch.setenv(variable, key)
    return SYNC_CANARIES


def _leaks(text: str) -> list[str]:
    return [v for v, key in SYNC_CANARIES.items() for s in _spellings(key) if s in text]


def _sync_everything(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """Syncs through the echoing twins; every text they leave behind, by where."""
    caplog.set_level(logging.DEBUG)
    texts: dict[str, str] = {}
    rows = people(4, bad={2})
    salesforce_org = {"tokens": set(), "refresh_tokens": {
        SYNC_CANARIES["SALESFORCE_REFRESH_TOKEN"].strip():
            SYNC_CANARIES["SALESFORCE_CLIENT_ID"].strip()}}  # fmt: skip
    runs = {
        "hubspot": ({}, {}),
        "salesforce": (salesforce_org, {}),
        "outreach": ({}, {"sequence_id": 7, "mailbox_id": 1}),
        "salesloft": ({}, {"sequence_id": 7}),
    }
    echo_seen: list[str] = []
    for name, (limits, options) in runs.items():
        echo = EchoingTwin(CrmTransport(limits={name: limits}))
        dest = sync.destination(name, transport=echo, **options)  # token from the environment
        led = tmp_path / f"{name}.sync.sqlite"
        plan = sync.plan(rows, dest, ledger=led)
        texts[f"{name} plan"] = (
            f"{plan!r}\n{plan.frame.write_csv()}\n{plan.diff.write_csv()}\n{plan._repr_html_()}"
        )
        done = sync.write(plan)
        assert done.counts()["failed"] >= 1  # the bad email: a reason that quoted the request
        texts[f"{name} result"] = f"{done!r}\n{done.frame.write_csv()}\n{done._repr_html_()}"
        # a live destination (no twin: nothing is sent) pickled, e.g. for a queue worker
        url = {"instance_url": "https://acme.my.salesforce.com"} if name == "salesforce" else {}
        live = sync.destination(name, **options, **url)
        texts[f"{name} destination"] = f"{dest!r} {live!r} {pickle.dumps(live)!r}"
        with sqlite3.connect(led) as db:
            for (table,) in db.execute("select name from sqlite_master where type = 'table'"):
                rows_ = db.execute(f'select * from "{table}"').fetchall()
                texts[f"{name} ledger {table}"] = "\n".join(map(repr, rows_))
        for part in tmp_path.glob(f"{name}.sync.sqlite*"):  # the WAL too
            texts[f"{name} {part.name}"] = part.read_bytes().decode("utf-8", "replace")
        texts[f"{name} summary"] = sync.summary(led).write_csv()
        echo_seen += echo.seen
        # a refused credential stops the next sync with an error
        limits_revoked = {**limits, "tokens": {"the-valid-one"}, "refresh_tokens": {}}
        revoked = sync.destination(name, transport=EchoingTwin(CrmTransport(
            limits={name: limits_revoked})), **options)  # fmt: skip
        with pytest.raises(sync.DestinationError) as info:
            sync.plan(rows, revoked, ledger=tmp_path / f"{name}-revoked.sqlite")
        texts[f"{name} refused"] = f"{info.value!s}\n{info.value!r}\n{info.value.__cause__!r}"
    for record in caplog.records:
        line = f"{record.getMessage()} {record.args!r} {record.exc_text}\n"
        texts[f"log {record.name}"] = texts.get(f"log {record.name}", "") + line
    texts["_seen"] = "\n".join(echo_seen)
    return texts


def test_the_canaries_really_reach_the_twins(  # honesty: the answers did carry them back
    canaries: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = _sync_everything(tmp_path, caplog)
    seen = set(_leaks(texts["_seen"]))
    assert {"HUBSPOT_ACCESS_TOKEN", "OUTREACH_ACCESS_TOKEN", "SALESLOFT_API_KEY",
            "SALESFORCE_REFRESH_TOKEN", "SALESFORCE_CLIENT_SECRET"} <= seen  # fmt: skip


def test_no_credential_in_any_frame_repr_ledger_log_or_error(
    canaries: dict[str, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = _sync_everything(tmp_path, caplog)
    del texts["_seen"]
    found = {where: _leaks(text) for where, text in texts.items() if _leaks(text)}
    assert found == {}
