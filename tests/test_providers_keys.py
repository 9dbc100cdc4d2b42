"""API keys whatever their bytes: stripped and validated when read, and never in a message, a
repr, an audit body or a log record (gtmkit's, httpx's or httpcore's), for all six providers.

Every test key embeds ``CORE``, a run of letters and digits no escaping changes: whatever
spelling of the key reaches a text (raw, repr- or JSON-escaped, URL-encoded), it contains
``CORE``, so ``CORE not in text`` checks every spelling at once without trusting the
redactor's own list of spellings.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import traceback
from urllib.parse import quote, quote_plus

import httpx
import pytest
from _providers_helpers import (
    DROPCONTACT_RESULT_HIT,
    DROPCONTACT_SUBMIT,
    HIT_BODIES,
    HUNTER_FINDER_HIT,
    RECORD,
    Recorder,
    run,
)
from _sandbox_http_helpers import ADA, TinyOracle

from gtmkit.errors import GtmkitError
from gtmkit.providers import connect, provider_class
from gtmkit.providers.credentials import InvalidCredentials, Secret, clean_key, resolve_api_keys
from gtmkit.sandbox import serve_in_thread

CORE = "gtmkitCORE7f3a9c"
SIX = ("apollo", "hunter", "hunter_verifier", "pdl", "prospeo", "dropcontact")
ENV = {name: provider_class(name).env_var for name in SIX}
FAST = {"dropcontact": {"poll_interval_s": 0.0, "max_poll_wait_s": 0.0}}

#: Keys an HTTP header can carry, with the characters escaping treats specially.
ODD_KEYS = [
    f'q"{CORE}"',
    f"b\\{CORE}\\x41",
    f"p%{CORE}%41",
    f"s'{CORE}'",
    f"m\"'\\%{CORE}+/=&?#;",
]
#: Keys made from a file or a paste: surrounding whitespace, stripped when read.
PADDED_KEYS = [f"{CORE}\n", f"{CORE}\r\n", f"  {CORE}\t", f"\r{CORE}\r"]
#: Keys no HTTP header can carry: each is an error naming the source, raised before any call.
BAD_KEYS = {
    "newline inside": f"{CORE}\nsecond",
    "carriage return inside": f"{CORE}\rX",
    "space inside": f"{CORE} tail",
    "tab inside": f"{CORE}\ttab",
    "NUL": f"{CORE}\x00",
    "escape sequence": f"{CORE}\x1b[0m",
    "accent": f"{CORE}é",
    "zero-width space": f"{CORE}\u200b",
    "cyrillic": f"ключ{CORE}",
}
LOOKUP = dict(RECORD, email="olivia.martin@acme.com")


def _no_core(*texts: object) -> None:
    for text in texts:
        assert CORE not in str(text), f"the key leaked into: {str(text)[:300]!r}"


def _everything_about(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + repr(exc.args)


# -- reading: strip, validate, name the source -------------------------------------------------


@pytest.mark.parametrize("padded", PADDED_KEYS)
def test_surrounding_whitespace_is_stripped(padded: str) -> None:
    assert clean_key(padded, source="x") == CORE


@pytest.mark.parametrize("blank", ["", "   ", "\n", "\r\n\t"])
def test_a_blank_key_is_no_key(blank: str) -> None:
    assert clean_key(blank, source="x") is None


def test_a_key_that_is_not_text_is_refused() -> None:
    with pytest.raises(InvalidCredentials, match="must be a string, not bytes"):
        clean_key(CORE.encode(), source="api_keys['pdl']")


@pytest.mark.parametrize("what", sorted(BAD_KEYS))
def test_an_unusable_key_names_its_source_never_its_value(what: str) -> None:
    with pytest.raises(InvalidCredentials) as caught:
        clean_key(BAD_KEYS[what], source="the PDL_API_KEY environment variable")
    exc = caught.value
    assert isinstance(exc, GtmkitError) and isinstance(exc, ValueError)
    text = str(exc)
    assert text.startswith("the PDL_API_KEY environment variable holds an API key with ")
    assert "cannot be sent in an HTTP header" in text and "Copy the key again" in text
    _no_core(_everything_about(exc))


@pytest.mark.parametrize("name", SIX)
@pytest.mark.parametrize("what", ["newline inside", "accent", "escape sequence"])
def test_every_source_validates_before_any_call(
    name: str, what: str, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = BAD_KEYS[what]
    cls = provider_class(name)
    recorder = Recorder(lambda request: httpx.Response(200, json={}))
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    env_file = tmp_path / ".env"
    env_file.write_bytes(f"{ENV[name]}={bad}\n".encode())

    attempts = {
        "the api_key given to the": lambda: cls(client, api_key=bad),
        f"api_keys[{name!r}]": lambda: connect([name], mode="live", api_keys={name: bad}),
    }
    for expected, build in attempts.items():
        with pytest.raises(InvalidCredentials, match=expected.replace("[", r"\[")) as caught:
            build()
        _no_core(_everything_about(caught.value))

    monkeypatch.setenv(ENV[name], bad)
    for build in (lambda: cls(client), lambda: connect([name], mode="auto", env_file=None)):
        with pytest.raises(InvalidCredentials, match=f"the {ENV[name]} environment variable"):
            build()
    monkeypatch.delenv(ENV[name])
    if "\n" not in bad:  # a .env line ends at its newline: that key is read as its first line
        with pytest.raises(InvalidCredentials, match=f"{ENV[name]} in {env_file}") as caught:
            connect([name], mode="auto", env_file=env_file)
        _no_core(_everything_about(caught.value))
    assert recorder.requests == []  # nothing was ever sent


def test_the_precedence_is_explicit_then_environment_then_file(tmp_path, monkeypatch) -> None:
    classes = {n: provider_class(n) for n in ("hunter", "pdl", "apollo", "prospeo")}
    env_file = tmp_path / ".env"
    env_file.write_text(
        "HUNTER_API_KEY=file-hunter\nPDL_API_KEY=file-pdl\r\nAPOLLO_API_KEY=' file-apollo '\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PDL_API_KEY", " env-pdl\n")
    monkeypatch.setenv("PROSPEO_API_KEY", "   ")  # blank: as if unset, and no file entry
    keys = resolve_api_keys(classes, {"hunter": "explicit-hunter\r\n"}, env_file=env_file)
    assert keys == {"hunter": "explicit-hunter", "pdl": "env-pdl", "apollo": "file-apollo"}


def test_sandbox_mode_reads_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUNTER_API_KEY", BAD_KEYS["space inside"])  # never read, never sent

    async def main():
        async with connect(["hunter"], mode="sandbox") as conn:
            return conn["hunter"].has_key

    assert run(main())


# -- a padded or odd key works and never shows, over a real loopback connection ---------------


@pytest.mark.parametrize("key", [PADDED_KEYS[0], PADDED_KEYS[1], *ODD_KEYS])
def test_a_key_is_sent_clean_and_logged_nowhere_over_loopback(
    key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # gtmkit, httpx and httpcore all at DEBUG
    for name in SIX:
        monkeypatch.setenv(ENV[name], key)
    record = {k: ADA[k] for k in ("first_name", "last_name", "company_domain", "email")}

    async def main(base_urls):
        async with httpx.AsyncClient() as client:
            out = {}
            for name in SIX:
                cls = provider_class(name)
                adapter = cls(client, base_url=base_urls[cls.api_name], **FAST.get(name, {}))
                out[name] = (adapter, await adapter.lookup(record))
            return out

    with serve_in_thread(oracle=TinyOracle(), verifier_pending_rate=0.0) as srv:
        found = run(main(srv.base_urls))
    for name, (adapter, finding) in found.items():
        assert finding.outcome == "hit", (name, finding.error)
        assert adapter._key() == key.strip()
        _no_core(repr(adapter), repr(finding), json.dumps(finding.raw, default=str))
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # the library did log
    for log_record in caplog.records:
        _no_core(log_record.getMessage())


def test_a_padded_key_through_connect_is_sent_stripped(monkeypatch) -> None:
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-API-KEY"])
        return httpx.Response(200, json=HUNTER_FINDER_HIT)

    monkeypatch.setenv("HUNTER_API_KEY", f"{CORE}\r\n")

    async def main():
        async with connect(["hunter"], mode="live") as conn:
            hunter = conn["hunter"]
            async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as offline:
                hunter.client = offline  # same adapter and key, an offline transport
                return await hunter.lookup(LOOKUP)

    assert run(main()).outcome == "hit"
    assert seen == [CORE]


# -- odd but valid keys: every spelling is redacted, wherever a hostile answer puts it ---------


def _spelled(key: str) -> dict[str, str]:
    """The key as a hostile or careless server might write it back, computed independently
    of the redactor."""
    return {
        "raw": key,
        "repr": repr(key),
        "bytes_repr": repr(key.encode()),
        "double_repr": repr(repr(key.encode())),
        "json": json.dumps(key),
        "quote": quote(key, safe=""),
        "quote_slash": quote(key),
        "quote_plus": quote_plus(key),
        "quote_lower": re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(key, safe="")),
    }


def _hostile(cls: type, status: int, hit_body: dict | None):
    """Echoes the key it was sent, in every spelling, in the body and the error text."""

    def answer(request: httpx.Request) -> httpx.Response:
        key = request.headers[cls.auth_header]
        spelled = _spelled(key)
        text = " | ".join(spelled.values())
        if status == 200:
            body = json.loads(json.dumps(hit_body))
            body["echo"] = {**spelled, "nested": [text]}
            return httpx.Response(200, json=body)
        body = {
            "error": f"Invalid API key {text}",
            "message": f"key {text} rejected",
            "errors": [{"id": "x", "code": status, "details": f"bad key {text}"}],
        }
        return httpx.Response(status, json=body)

    return answer


def _dropcontact_hostile(request: httpx.Request) -> httpx.Response:
    key = request.headers["X-Access-Token"]
    text = " | ".join(_spelled(key).values())
    if request.method == "POST":
        return httpx.Response(200, json=dict(DROPCONTACT_SUBMIT, note=text))
    body = json.loads(json.dumps(DROPCONTACT_RESULT_HIT))
    body["data"][0]["job"] = text
    return httpx.Response(200, json=body)


def _raising(cls: type):
    """A transport failure whose message quotes the key in every spelling."""

    def answer(request: httpx.Request) -> httpx.Response:
        spelled = _spelled(request.headers[cls.auth_header])
        raise httpx.ConnectError(f"proxy refused {spelled}", request=request)

    return answer


@pytest.mark.parametrize("key", ODD_KEYS)
@pytest.mark.parametrize("status", [200, 401, 500, "transport"])
@pytest.mark.parametrize("name", SIX)
def test_no_spelling_of_an_odd_key_survives(
    name: str, status, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    cls = provider_class(name)
    if status == "transport":
        answer = _raising(cls)
    elif name == "dropcontact":
        answer = _dropcontact_hostile if status == 200 else _hostile(cls, status, None)
    else:
        answer = _hostile(cls, status, HIT_BODIES[name])
    recorder = Recorder(answer)
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    adapter = cls(client, api_key=key, **FAST.get(name, {}))
    finding = run(adapter.lookup(LOOKUP))
    assert recorder.requests and recorder.requests[0].headers[cls.auth_header] == key
    if status == 200:
        assert finding.outcome == "hit", finding.error
        assert "***" in json.dumps(finding.raw)  # scrubbed, not dropped
    else:
        assert finding.outcome == "error"
        _no_core(_everything_about(finding.error), repr(finding.error.body))
    _no_core(repr(adapter), repr(vars(adapter)), repr(finding), json.dumps(finding.raw))
    assert CORE.encode() not in pickle.dumps(adapter)
    for log_record in caplog.records:
        _no_core(log_record.getMessage())


def test_the_redactor_covers_each_spelling_on_its_own() -> None:
    for key in ODD_KEYS:
        secret = Secret(key)
        for how, spelled in _spelled(key).items():
            assert CORE not in secret.redact(f"<{spelled}>"), (key, how)
            assert secret.found_in(f"<{spelled}>"), (key, how)
        assert secret.redact("nothing here") == "nothing here"
    assert Secret(None).redact(CORE) == CORE  # no key, nothing to hide
