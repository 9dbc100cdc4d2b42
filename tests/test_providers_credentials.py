"""Credentials: explicit key, else environment, else a clear error in live mode; and a key
never appears in a repr, a log line, a raw response kept for audit or an exception message."""

from __future__ import annotations

import json
import logging
import os
import pickle

import httpx
import pytest
from _providers_helpers import (
    DROPCONTACT_RESULT_HIT,
    DROPCONTACT_SUBMIT,
    FAKE_KEY,
    HIT_BODIES,
    HUNTER_FINDER_HIT,
    RECORD,
    make,
    run,
)

from gtmkit.providers import MissingCredentials, connect, provider_class
from gtmkit.providers.connect import SANDBOX_KEY

HTTP_PROVIDERS = ("apollo", "hunter", "hunter_verifier", "pdl", "prospeo", "dropcontact")
ENV = {
    "apollo": "APOLLO_API_KEY",
    "hunter": "HUNTER_API_KEY",
    "hunter_verifier": "HUNTER_API_KEY",
    "pdl": "PDL_API_KEY",
    "prospeo": "PROSPEO_API_KEY",
    "dropcontact": "DROPCONTACT_API_KEY",
}
LOOKUP = dict(RECORD, email="olivia.martin@acme.com")
FAST = {"dropcontact": {"poll_interval_s": 0.0, "max_poll_wait_s": 0.0}}


def _sent_key(cls: type, request: httpx.Request) -> str | None:
    return request.headers.get(cls.auth_header)


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
def test_env_var_names_and_header_auth(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    cls = provider_class(name)
    assert cls.env_var == ENV[name]
    monkeypatch.setenv(ENV[name], FAKE_KEY)

    def answer(request: httpx.Request) -> httpx.Response:
        if name == "dropcontact":
            body = DROPCONTACT_SUBMIT if request.method == "POST" else DROPCONTACT_RESULT_HIT
            return httpx.Response(200, json=body)
        return httpx.Response(200, json=HIT_BODIES[name])

    adapter, rec = make(cls, answer, api_key=None, **FAST.get(name, {}))
    assert adapter.has_key
    finding = run(adapter.lookup(LOOKUP))
    assert finding.outcome == "hit"
    for request in rec.requests:
        assert _sent_key(cls, request) == FAKE_KEY  # the env key, in a header
        assert FAKE_KEY not in str(request.url)  # never in the URL


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
def test_explicit_key_wins_over_env(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV[name], "env-key-should-not-be-used")
    cls = provider_class(name)
    adapter, rec = make(cls, lambda r: httpx.Response(500), api_key=FAKE_KEY, **FAST.get(name, {}))
    run(adapter.lookup(LOOKUP))
    assert _sent_key(cls, rec.last) == FAKE_KEY


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
def test_live_without_key_names_the_variable(name: str) -> None:
    cls = provider_class(name)
    with pytest.raises(MissingCredentials, match=ENV[name]):
        cls(None, live=True)
    with pytest.raises(MissingCredentials, match=ENV[name]):
        connect([name], mode="live")


def test_auto_mode_is_live_only_with_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_API_KEY", FAKE_KEY)

    async def main():
        async with connect(["hunter", "apollo", "pattern"], mode="auto") as conn:
            return {n: conn.mode_of(n) for n in conn.names}, conn["hunter"].has_key

    modes, has_key = run(main())
    assert modes == {"hunter": "live", "apollo": "sandbox", "pattern": "local"}
    assert has_key


def test_sandbox_never_receives_a_real_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in set(ENV.values()):
        monkeypatch.setenv(var, FAKE_KEY)
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    async def main():
        transport = httpx.MockTransport(answer)
        async with connect(HTTP_PROVIDERS, mode="sandbox", transport=transport) as conn:
            for name in HTTP_PROVIDERS:
                await conn[name].lookup(LOOKUP)

    run(main())
    assert len(seen) == len(HTTP_PROVIDERS)
    for request in seen:
        assert FAKE_KEY.encode() not in b"".join(v for _, v in request.headers.raw)
        assert SANDBOX_KEY in request.headers.values()


def _echo(cls: type, status: int, hit_body: dict | None):
    """A hostile server: echoes the key back in the body (and in a header) of its answer."""

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.headers.get(cls.auth_header, "")
        headers = {"x-debug-echo": key}
        if status == 200 and hit_body is not None:
            body = json.loads(json.dumps(hit_body))
            body["echo"] = {"your_key": key, "nested": [f"key={key}"]}
            return httpx.Response(200, json=body, headers=headers)
        body = {
            "error": f"Invalid API key {key}",
            "message": f"key {key} rejected",
            "errors": [{"id": "x", "code": status, "details": f"bad key {key}"}],
        }
        return httpx.Response(status, json=body, headers=headers)

    return answer


@pytest.mark.parametrize("name", ["apollo", "hunter", "hunter_verifier", "pdl", "prospeo"])
@pytest.mark.parametrize("status", [200, 400, 401, 402, 429, 500])
def test_key_never_leaks(name: str, status: int, caplog: pytest.LogCaptureFixture) -> None:
    cls = provider_class(name)
    caplog.set_level(logging.DEBUG)
    adapter, rec = make(cls, _echo(cls, status, HIT_BODIES[name]))
    finding = run(adapter.lookup(LOOKUP))
    assert rec.requests, "the adapter must have called the server"
    assert FAKE_KEY not in repr(adapter)
    assert FAKE_KEY.encode() not in pickle.dumps(adapter)
    assert not pickle.loads(pickle.dumps(adapter)).has_key
    assert FAKE_KEY not in repr(vars(adapter))
    assert FAKE_KEY not in repr(finding)  # fields, raw, error and all
    assert FAKE_KEY not in json.dumps(finding.raw, default=str)
    if finding.error is not None:
        assert FAKE_KEY not in str(finding.error)
        assert FAKE_KEY not in repr(finding.error.body)
        assert all(FAKE_KEY not in str(arg) for arg in finding.error.args)
    for record in caplog.records:
        assert FAKE_KEY not in record.getMessage()
    assert FAKE_KEY not in caplog.text
    if status == 200:
        assert finding.outcome in ("hit", "miss")
        assert "***" in json.dumps(finding.raw)  # the echoed key was scrubbed, not dropped


def test_transport_error_messages_are_redacted() -> None:
    cls = provider_class("apollo")

    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"proxy refused header x-api-key={FAKE_KEY}", request=request)

    adapter, _ = make(cls, answer)
    finding = run(adapter.lookup(RECORD))
    assert finding.outcome == "error"
    assert FAKE_KEY not in str(finding.error)
    assert "***" in str(finding.error)


def test_connection_repr_has_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PDL_API_KEY", FAKE_KEY)

    async def main():
        async with connect(["pdl"], mode="live") as conn:
            return repr(conn), repr(conn["pdl"])

    conn_repr, adapter_repr = run(main())
    assert FAKE_KEY not in conn_repr + adapter_repr
    assert "key=set" in adapter_repr


def test_dropcontact_key_never_leaks_through_submit_or_poll(caplog) -> None:
    cls = provider_class("dropcontact")
    caplog.set_level(logging.DEBUG)

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.headers["X-Access-Token"]
        if request.method == "POST":
            return httpx.Response(200, json=dict(DROPCONTACT_SUBMIT, note=f"token {key}"))
        body = json.loads(json.dumps(DROPCONTACT_RESULT_HIT))
        body["data"][0]["custom"] = key
        return httpx.Response(200, json=body)

    adapter, _ = make(cls, answer, **FAST["dropcontact"])
    finding = run(adapter.lookup(LOOKUP))
    assert finding.outcome == "hit"
    assert FAKE_KEY not in repr(finding) and FAKE_KEY not in caplog.text

    adapter, _ = make(cls, _echo(cls, 401, None), **FAST["dropcontact"])
    finding = run(adapter.lookup(LOOKUP))
    assert finding.error is not None and FAKE_KEY not in repr(finding)


def test_dotenv_file_supplies_keys_without_touching_the_environment(tmp_path, monkeypatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# keys for gtmkit\n"
        f'export HUNTER_API_KEY="{FAKE_KEY}"\n'
        "PDL_API_KEY='from-file-pdl'\n"
        "APOLLO_API_KEY=\n"
        "UNRELATED=1\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PDL_API_KEY", "from-environment")

    async def main():
        async with connect(["hunter", "pdl", "apollo"], mode="auto", env_file=env_file) as conn:
            return {n: conn.mode_of(n) for n in conn.names}, conn["hunter"], conn["pdl"]

    modes, hunter, pdl = run(main())
    assert modes == {"hunter": "live", "pdl": "live", "apollo": "sandbox"}
    assert hunter._key() == FAKE_KEY
    assert pdl._key() == "from-environment"  # the environment wins over the file
    assert "HUNTER_API_KEY" not in os.environ
    with pytest.raises(MissingCredentials, match="APOLLO_API_KEY"):
        connect(["apollo"], mode="live", env_file=env_file)


def test_a_key_spelled_with_json_unicode_escapes_is_still_scrubbed() -> None:
    cls = provider_class("hunter")
    escaped = "".join(f"\\u{ord(c):04x}" for c in FAKE_KEY)

    def answer(request: httpx.Request) -> httpx.Response:
        text = json.dumps(HUNTER_FINDER_HIT)[:-1] + f', "echo": "{escaped}"}}'
        return httpx.Response(200, text=text, headers={"content-type": "application/json"})

    adapter, _ = make(cls, answer)
    finding = run(adapter.lookup(LOOKUP))
    assert finding.outcome == "hit"
    assert finding.raw["echo"] == "***"
