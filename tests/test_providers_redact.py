"""The log filter that masks secrets in httpx's, httpcore's and gtmkit's records: every
secret variable (provider keys, other credentials, ``SECRET_ENV_VARS`` hooks), keys ending in a
newline or holding quotes and backslashes, bytes arguments, loggers made later."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import quote

import pytest

from gtmkit.providers import _redact, credentials
from gtmkit.providers._redact import (
    SecretsLogFilter,
    install_log_redaction,
    secret_env_vars,
)
from tests.test_canary_secrets import secret_env_vars as canary_variables

KEYS = {
    "HUNTER_API_KEY": "hk-7f3\n",  # from a file: ends in a newline, sent stripped
    "APOLLO_API_KEY": 'ak"q\\b-9',  # a quote and a backslash
    "HUBSPOT_ACCESS_TOKEN": "pat-na1-5e'x",  # a SECRET_ENV_VARS hook's variable
}


@pytest.fixture(autouse=True)
def _nothing_held(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no run-time secret remembered (earlier tests' adapters held some)."""
    monkeypatch.setattr(credentials, "_held", {})


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for variable in secret_env_vars():
        monkeypatch.delenv(variable, raising=False)
    for variable, key in KEYS.items():
        monkeypatch.setenv(variable, key)
    return {variable: key.strip() for variable, key in KEYS.items()}


def _filtered(msg: object, *args: object, name: str = "httpcore.http11") -> logging.LogRecord:
    record = logging.LogRecord(name, logging.DEBUG, __file__, 1, msg, args or None, None)
    assert SecretsLogFilter().filter(record) is True  # masks, never drops
    return record


def test_every_secret_variable_of_the_canary_suite_is_known() -> None:
    assert set(canary_variables()) <= set(secret_env_vars())
    assert "HUBSPOT_ACCESS_TOKEN" in secret_env_vars()  # the gtmkit.sync hook
    assert "ZOOMINFO_CLIENT_SECRET" in secret_env_vars()  # a credential option


@pytest.mark.parametrize("variable", sorted(KEYS))
def test_every_spelling_is_masked_in_message_and_args(keys: dict[str, str], variable: str) -> None:
    key = keys[variable]
    spellings = {key, repr(key), json.dumps(key), quote(key, safe=""), repr(key.encode())}
    for spelling in spellings:
        for record in (
            _filtered(f"echo={spelling} end"),
            _filtered("echo=%s end", spelling),
            _filtered("echo=%(v)s end", {"v": spelling}),
        ):
            text = record.getMessage()
            assert key not in text and spelling not in text, (spelling, text)
            assert text.startswith("echo=") and text.endswith(" end") and "***" in text


def test_bytes_header_tuples_as_httpcore_logs_them(keys: dict[str, str]) -> None:
    headers = [(b"X-Echo-" + v.encode(), v.encode()) for v in keys.values()]
    record = _filtered("receive_response_headers.complete return_value=%r", (200, headers))
    text = record.getMessage()
    assert text.count("***") == 2 * len(keys), text
    assert not any(key in text or repr(key.encode())[2:-1] in text for key in keys.values())
    assert record.args == ()  # the raw args would be rendered again by the next formatter


def test_a_clean_record_is_left_as_it_was(keys: dict[str, str]) -> None:
    args = (b"GET", 200)
    record = _filtered("send_request_headers %s -> %d", *args)
    assert record.args == args and record.msg == "send_request_headers %s -> %d"


def test_nothing_to_mask_when_no_secret_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in secret_env_vars():
        monkeypatch.delenv(variable, raising=False)
    assert _filtered("plain %s", "hk-7f3").getMessage() == "plain hk-7f3"


def test_exception_text_is_masked(keys: dict[str, str]) -> None:
    record = logging.LogRecord("gtmkit.providers", logging.ERROR, __file__, 1, "boom", None, None)
    record.exc_text = f"Traceback ...\nValueError: key {keys['APOLLO_API_KEY']!r}"
    SecretsLogFilter().filter(record)
    assert "***" in record.exc_text and keys["APOLLO_API_KEY"] not in record.exc_text


def test_installed_once_on_every_httpx_httpcore_and_gtmkit_logger(
    keys: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    install_log_redaction()
    install_log_redaction()
    for name in ("httpx", "httpcore.http11", "httpcore.connection", "gtmkit.providers"):
        filters = logging.getLogger(name).filters
        assert sum(isinstance(f, SecretsLogFilter) for f in filters) == 1, name
    late = logging.getLogger("httpcore.leakfix_made_later")
    install_log_redaction()  # a logger made after the first call is covered at the next one
    assert _redact._FILTER in late.filters
    assert not any(isinstance(f, SecretsLogFilter) for f in logging.getLogger("other").filters)
    caplog.set_level(logging.DEBUG)
    late.debug("headers=%r", [(b"Authorization", keys["HUNTER_API_KEY"].encode())])
    assert caplog.records and "***" in caplog.text
    assert keys["HUNTER_API_KEY"] not in caplog.text


def _connected_keys(tmp_path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Keys that reach adapters without any environment variable: api_keys= and a .env file."""
    from gtmkit.providers import connect

    for variable in secret_env_vars():
        monkeypatch.delenv(variable, raising=False)
    env_file = tmp_path / "keys.env"
    env_file.write_text('APOLLO_API_KEY="ap-from-file\\\\q9"\nZOOMINFO_CLIENT_ID=zi-client-77x\n')
    keys = {"hunter": 'hk-explicit"77', "zoominfo": "zi-secret-given-5"}
    conn = connect(
        ["hunter", "apollo", "zoominfo"],
        mode="live",
        api_keys=keys,
        env_file=env_file,
        base_urls={n: "http://127.0.0.1:9/x" for n in keys},
    )
    asyncio.run(conn.aclose())
    return {**keys, "apollo": "ap-from-file\\\\q9", "client id": "zi-client-77x"}


def test_keys_given_to_connect_or_read_from_a_dotenv_file_are_masked(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    for name, key in _connected_keys(tmp_path, monkeypatch).items():
        for spelling in (key, repr(key), json.dumps(key), quote(key, safe="")):
            text = _filtered("echo=%s end", spelling).getMessage()
            assert key not in text and "***" in text, (name, text)


def test_a_token_fetched_at_run_time_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    from gtmkit.providers.credentials import Secret

    for variable in secret_env_vars():
        monkeypatch.delenv(variable, raising=False)
    token = 'tok-"runtime\\9x'
    assert _filtered("Bearer %s", token).getMessage() == f"Bearer {token}"  # not known yet
    held = Secret(token)  # what the ZoomInfo adapter does with the grant's access_token
    assert _filtered("Bearer %s", token).getMessage() == "Bearer ***"
    assert repr(held) == "Secret(***)"
    assert _filtered("x=%s", "short").getMessage() == "x=short"  # short values: never held
