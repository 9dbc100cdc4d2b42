"""Secrets gtmkit learns at run time, not from the environment: ZoomInfo's OAuth access token
(fetched from the token endpoint), keys given as ``connect(api_keys=...)`` and keys (and
ZoomInfo's client id) read from a ``.env`` file. None of them is in ``os.environ``, so a log
filter that only knows the environment variables cannot mask them.

The loopback simulation serves the providers (it authenticates and bills as usual); a proxy in
front of it hands out canary access tokens (quotes and backslashes in them) and echoes every
request's headers back in every answer, and answers every fourth call itself with an error
whose body echoes the request. A waterfall runs and resumes on a file ledger with DEBUG logging
on, and direct lookups run on a ``connect``-ed client; no key, token or Basic credential may
appear in any log record, result frame, export, ledger table, repr or exception text.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from pathlib import Path
from typing import Any

import pytest

from gtmkit.providers import connect
from gtmkit.providers._redact import secret_env_vars
from gtmkit.sandbox import simulate
from gtmkit.waterfall import Step, Waterfall
from tests._attack_helpers import attack_world, world_records
from tests.adversarial import _proxy
from tests.adversarial.test_secrets_echo import ledger_and_log_texts, run_and_resume_texts
from tests.test_canary_secrets import CANARIES, _spellings

#: finders whose keys are given explicitly (``api_keys=``) and those read from the ``.env`` file
EXPLICIT = ("hunter", "zoominfo")
FROM_FILE = ("apollo", "pdl")
STEPS = ("hunter", "zoominfo", "apollo", "pdl")


def _token(n: int) -> str:
    # header-safe (visible ASCII) but escaped by repr and JSON: a quote and a backslash
    return f'zitok{n:03d}x9"q\\b7canary'


def _key(name: str) -> str:
    from gtmkit.providers.registry import provider_class

    variable = provider_class(name).env_var
    assert variable is not None
    return CANARIES[variable]


@pytest.fixture
def proxied(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):  # type: ignore[no-untyped-def]
    for variable in secret_env_vars():  # nothing in the environment: only run-time secrets
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.chdir(tmp_path)
    env_file = tmp_path / "client.env"
    lines = [f"{provider_class_var(n)}={_key(n).strip()}" for n in FROM_FILE]
    lines.append(f"ZOOMINFO_CLIENT_ID={CANARIES['ZOOMINFO_CLIENT_ID'].strip()}")
    env_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    api_keys = {n: _key(n) for n in EXPLICIT} | {"hunter_verifier": _key("hunter")}
    sim = simulate(attack_world())
    with (
        sim.serve() as srv,
        _proxy.token_swapping_echo_proxy(
            srv.url if hasattr(srv, "url") else _origin(srv.base_urls["hunter"]), _token
        ) as proxy,
    ):
        base_urls = _proxy.proxied_base_urls(dict(srv.base_urls), str(proxy["base"]))
        options = {
            "base_urls": base_urls,
            "timeout": 2.0,
            "api_keys": api_keys,
            "env_file": env_file,
            "options": sim.adapter_options,
        }
        yield options, proxy, sim


def provider_class_var(name: str) -> str:
    from gtmkit.providers.registry import provider_class

    return str(provider_class(name).env_var)


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0]}"


def _secrets(proxy: dict[str, Any]) -> dict[str, str]:
    """Every secret of the run by name: keys, client id, the tokens handed out, Basic blobs."""
    found = {n: _key(n).strip() for n in (*EXPLICIT, *FROM_FILE)}
    client_id = CANARIES["ZOOMINFO_CLIENT_ID"].strip()
    found["zoominfo client id"] = client_id
    basic = f"{client_id}:{_key('zoominfo').strip()}".encode()
    found["zoominfo Basic credentials"] = base64.b64encode(basic).decode()
    for i, token in enumerate(proxy["tokens"]):  # type: ignore[arg-type]
        found[f"access token {i}"] = token
    return found


def _leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (where, name)
        for where, text in texts.items()
        for name, secret in secrets.items()
        if any(spelling in text for spelling in _spellings(secret) | {secret})
    ]


def _run_everything(options: dict[str, Any], tmp_path: Path, caplog: Any) -> dict[str, str]:
    records = world_records(30, seed=43)
    ledger = tmp_path / "ledger.sqlite"
    wf = Waterfall([Step(name) for name in STEPS], verify="hunter_verifier")
    caplog.set_level(logging.DEBUG)
    texts = run_and_resume_texts(wf, records, ledger, options)
    texts.update(asyncio.run(_direct_lookups(options, records)))
    texts.update(ledger_and_log_texts(ledger, caplog))
    return texts


async def _direct_lookups(options: dict[str, Any], records: Any) -> dict[str, str]:
    """The adapters used directly: their reprs, state dumps, findings and error texts."""
    kwargs = {k: v for k, v in options.items() if k != "options"}
    texts: dict[str, str] = {}
    async with connect(list(STEPS), mode="live", options=options["options"], **kwargs) as conn:
        texts["connection repr"] = repr(conn)
        for name in STEPS:
            provider = conn[name]
            found = []
            for record in records.head(8).to_dicts():
                finding = await provider.lookup(record)
                found.append(f"{finding!r} {finding.error!r} {finding.error}")
            texts[f"{name} findings"] = "\n".join(found)
            texts[f"{name} repr"] = f"{provider!r} {provider} {vars(provider)!r}"
    return texts


def test_the_run_time_secrets_really_reach_the_wire(proxied, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    """Honesty check: every secret was sent (so every echo carries it back), tokens were
    fetched, and the simulation billed real lookups through the proxy."""
    options, proxy, sim = proxied
    _run_everything(options, tmp_path, caplog)
    seen = "\n".join(proxy["seen"])
    secrets = _secrets(proxy)
    assert len(proxy["tokens"]) >= 2  # the run, the resume and the direct client each got one
    inside_basic = {"zoominfo", "zoominfo client id"}  # sent base64-encoded, in Basic auth
    missing = [n for n, secret in secrets.items() if n not in inside_basic and secret not in seen]
    assert missing == []
    assert sum(sim.billed().values()) > 0


def test_no_run_time_secret_in_any_artifact(proxied, tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    options, proxy, _ = proxied
    texts = _run_everything(options, tmp_path, caplog)
    trace = texts.get("log httpcore.http11", "")
    assert "receive_response_headers.complete" in trace  # the DEBUG trace was captured
    assert {"run repr", "resume repr", "ledger table attempts"} <= set(texts), sorted(texts)
    assert _leaks(texts, _secrets(proxy)) == []
    assert "***" in trace  # an echoed secret was there, and was masked
