"""Clay's credentials (the webhook URL, its token, the callback secret) never reach a log line,
an error, a report, a repr or the store file — canaries in the environment, every path taken."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import pytest

from gtmkit.integrations.clay import SECRET_ENV_VARS, ClayError, collect, push
from gtmkit.integrations.clay_callback import CALLBACK_TOKEN_HEADER, accept_clay_callback
from gtmkit.integrations.clay_store import ClayStore
from gtmkit.sandbox.clay import ClayTwin
from tests.test_canary_secrets import CANARIES, _spellings

#: the canary suite's own keys (newline-ended, quoted or backslashed ones among them)
RAW_TOKEN, RAW_CALLBACK = CANARIES["CLAY_WEBHOOK_TOKEN"], CANARIES["CLAY_CALLBACK_TOKEN"]
TOKEN, CALLBACK = RAW_TOKEN.strip(), RAW_CALLBACK.strip()


def _rows(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "row_id": list(range(n)),
            "full_name": ["Ada Lovelace"] * n,
            "company_domain": ["a.io"] * n,
        }
    )


def test_no_clay_secret_leaks_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    twin = ClayTwin()
    url = twin.create_webhook(token=TOKEN, limit=3)
    monkeypatch.setenv("CLAY_WEBHOOK_URL", url)
    monkeypatch.setenv("CLAY_WEBHOOK_TOKEN", TOKEN + "x")  # first a wrong one
    monkeypatch.setenv("CLAY_CALLBACK_TOKEN", RAW_CALLBACK)
    caplog.set_level(logging.DEBUG)
    store = ClayStore(tmp_path / "clay.sqlite")
    texts: list[str] = []
    refused = push(_rows(2), store, transport=twin, sleep=None)
    texts += [repr(refused), *refused.failed["reason"].to_list()]
    monkeypatch.setenv("CLAY_WEBHOOK_TOKEN", RAW_TOKEN)
    ok = push(_rows(5), store, transport=twin, sleep=None, headroom=0, limit=3)
    texts += [repr(ok), repr(store), repr(twin), *(repr(u) for u in ok.webhooks)]
    with pytest.raises(ClayError) as retired:
        store.retire_webhook(url)
        push(_rows(1), store, transport=twin, sleep=None, limit=3)
    texts.append(str(retired.value))
    answers = twin.send_callbacks(store, token=CALLBACK)
    answers.append(accept_clay_callback(b'{"row_id": 0}', {CALLBACK_TOKEN_HEADER: "no"}, store))
    texts += [repr(a) for a in answers] + [str(a.json()) for a in answers]
    texts.append(str(collect(store)))
    texts.append(caplog.text)
    files = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (TOKEN, CALLBACK, url):
        for spelling in _spellings(secret):
            for text in texts:
                assert spelling not in text
            assert spelling.encode() not in files
    assert ok.sent == 2 and ok.pending == [2, 3, 4]  # the refused try counted: 1 of 3 used
    assert "HTTP Request" in caplog.text  # httpx logged each request, URL masked
    assert set(SECRET_ENV_VARS) == {"CLAY_WEBHOOK_URL", "CLAY_WEBHOOK_TOKEN", "CLAY_CALLBACK_TOKEN"}
