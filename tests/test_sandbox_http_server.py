"""The loopback server: same bodies as the in-process transport, keep-alive, concurrency, real
connection faults, and the ``python -m gtmkit.sandbox serve`` CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gtmkit.sandbox.contract import API_HOSTS, SIMULATED_PROVIDERS
from gtmkit.sandbox.http.faults import FaultConfig
from gtmkit.sandbox.http.server import main, serve_in_subprocess, serve_in_thread
from tests._sandbox_http_helpers import (
    ADA_APOLLO,
    ADA_HUNTER,
    ADA_PDL,
    ADA_PROSPEO,
    KEY,
    NOBODY,
    TinyOracle,
    transport,
)

REAL_BASE = {provider: f"https://{host}{prefix}" for host, (provider, prefix) in API_HOSTS.items()}

# (provider, method, path below the base URL, request options)
CALLS = [
    ("apollo", "POST", "/people/match", {"json": ADA_APOLLO, "headers": {"x-api-key": KEY}}),
    ("apollo", "POST", "/people/match", {"json": NOBODY, "headers": {"x-api-key": KEY}}),
    ("apollo", "POST", "/people/match", {"json": ADA_APOLLO}),
    (
        "apollo",
        "GET",
        "/organizations/enrich",
        {"params": {"domain": "engines.example"}, "headers": {"x-api-key": KEY}},
    ),
    (
        "apollo",
        "POST",
        "/mixed_people/api_search",
        {
            "json": {"q_organization_domains_list": ["engines.example"]},
            "headers": {"x-api-key": KEY},
        },
    ),
    ("hunter", "GET", "/email-finder", {"params": {**ADA_HUNTER, "api_key": KEY}}),
    ("hunter", "GET", "/email-finder", {"params": {**NOBODY, "api_key": KEY}}),
    (
        "hunter",
        "GET",
        "/email-verifier",
        {"params": {"email": "accept_all.x@engines.example", "api_key": KEY}},
    ),
    ("hunter", "GET", "/domain-search", {"params": {"domain": "engines.example", "api_key": KEY}}),
    ("pdl", "GET", "/person/enrich", {"params": ADA_PDL, "headers": {"X-Api-Key": KEY}}),
    (
        "pdl",
        "GET",
        "/person/enrich",
        {
            "params": {"first_name": "No", "last_name": "Body", "company": "x.example"},
            "headers": {"X-Api-Key": KEY},
        },
    ),
    ("pdl", "GET", "/company/enrich", {"params": {"website": "engines.example", "api_key": KEY}}),
    ("prospeo", "POST", "/enrich-person", {"json": ADA_PROSPEO, "headers": {"X-KEY": KEY}}),
    ("prospeo", "POST", "/enrich-person", {"json": ADA_PROSPEO}),
    (
        "dropcontact",
        "POST",
        "/enrich/all",
        {
            "json": {
                "data": [
                    {"first_name": "Ada", "last_name": "Lovelace", "website": "engines.example"}
                ]
            },
            "headers": {"X-Access-Token": KEY},
        },
    ),
    ("dropcontact", "GET", "/enrich/all/abcdefghijklmno", {"headers": {"X-Access-Token": KEY}}),
]


def _run_calls(client: httpx.Client, base: dict[str, str]) -> list[tuple[int, str, bytes]]:
    out = []
    for provider, method, path, options in CALLS:
        r = client.request(method, base[provider] + path, **options)
        out.append((r.status_code, r.headers["content-type"], r.content))
    return out


def test_base_urls_map():
    with serve_in_thread(oracle=TinyOracle()) as srv:
        urls = srv.base_urls
        assert set(urls) == set(SIMULATED_PROVIDERS)
        port = srv.port
        assert urls["apollo"] == f"http://127.0.0.1:{port}/apollo/api/v1"
        assert urls["hunter"] == f"http://127.0.0.1:{port}/hunter/v2"
        assert urls["pdl"] == f"http://127.0.0.1:{port}/pdl/v5"
        assert urls["prospeo"] == f"http://127.0.0.1:{port}/prospeo"
        assert urls["dropcontact"] == f"http://127.0.0.1:{port}/dropcontact/v1"


def test_loopback_and_transport_give_identical_answers():
    in_process = httpx.Client(transport=_SyncBridge(transport()))
    expected = _run_calls(in_process, REAL_BASE)
    with (
        serve_in_thread(oracle=TinyOracle(), verifier_pending_rate=0.0) as srv,
        httpx.Client() as client,
    ):
        served = _run_calls(client, srv.base_urls)
        assert srv.connections == 1  # keep-alive: one connection for all the calls
    assert served == expected
    assert [s for s, _, _ in served][:3] == [200, 200, 401]


class _SyncBridge(httpx.BaseTransport):
    """Drive the async transport from a sync client (one event loop per request)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def go() -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response

        response = asyncio.run(go())
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )


def test_concurrent_connections_in_thread():
    async def go(base: str) -> list[int]:
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=20), timeout=10) as client:
            tasks = [
                client.get(
                    f"{base}/email-verifier",
                    params={"email": f"u{i}@engines.example", "api_key": KEY},
                )
                for i in range(60)
            ]
            return [r.status_code for r in await asyncio.gather(*tasks)]

    with serve_in_thread(oracle=TinyOracle(), latency_ms=30, verifier_pending_rate=0.0) as srv:
        statuses = asyncio.run(go(srv.base_urls["hunter"]))
        assert statuses == [200] * 60
        assert 2 <= srv.connections <= 20  # concurrent connections, each kept alive


def test_rate_limits_over_loopback():
    with (
        serve_in_thread(oracle=TinyOracle(), rate_limits={"hunter": 1}) as srv,
        httpx.Client() as client,
    ):
        url = srv.base_urls["hunter"] + "/email-finder"
        statuses = [
            client.get(url, params={**ADA_HUNTER, "api_key": KEY}).status_code for _ in range(3)
        ]
    assert statuses[0] == 200 and 403 in statuses


def test_reset_fault_aborts_the_connection():
    faults = FaultConfig(rate=1.0, kinds=("reset",), seed=2)
    with serve_in_thread(oracle=TinyOracle(), faults=faults) as srv, httpx.Client() as client:
        kinds = set()
        for i in range(12):
            with pytest.raises(httpx.TransportError) as caught:
                client.get(
                    srv.base_urls["hunter"] + "/email-finder",
                    params={**ADA_HUNTER, "api_key": KEY, "n": i},
                )
            kinds.add(type(caught.value))
    assert kinds <= {httpx.ReadError, httpx.RemoteProtocolError}
    assert httpx.RemoteProtocolError in kinds


def test_timeout_fault_holds_the_request_past_the_client_timeout():
    faults = FaultConfig(rate=1.0, kinds=("timeout",), hold_s=30.0)
    with (
        serve_in_thread(oracle=TinyOracle(), faults=faults) as srv,
        httpx.Client(timeout=0.3) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.get(srv.base_urls["pdl"] + "/person/enrich", params={**ADA_PDL, "api_key": KEY})
    # leaving the block stopped the server although a request was still held


def test_unknown_paths_and_bad_requests():
    with serve_in_thread(oracle=TinyOracle()) as srv, httpx.Client() as client:
        assert client.get(srv.url + "/nobody/v1/x").status_code == 404
        assert (
            client.get(srv.url + "/hunter/v9/email-finder", params={"api_key": KEY}).status_code
            == 404
        )
        assert client.get(
            srv.base_urls["dropcontact"] + "/nope", headers={"X-Access-Token": KEY}
        ).json() == {"detail": "Not Found"}


def test_oversized_bodies_are_refused_with_413():
    big = b"x" * (9 * 1024 * 1024)
    with serve_in_thread(oracle=TinyOracle()) as srv, httpx.Client() as client:
        url = srv.base_urls["dropcontact"] + "/enrich/all"
        r = client.post(url, content=big, headers={"X-Access-Token": KEY})
        assert r.status_code == 413
        ok = client.post(url, json={"data": [{"first_name": "a"}]}, headers={"X-Access-Token": KEY})
        assert ok.status_code == 200  # the server carries on


def test_main_rejects_bad_options(capsys):
    assert main(["--rate-limit", "apollo"]) == 2
    assert main(["--fault-rate", "0.5", "--fault-kinds", "teapot"]) == 2
    assert "error" in capsys.readouterr().err


def test_cli_prints_base_urls_serves_100_connections_and_stops_on_sigterm():
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gtmkit.sandbox", "serve", "--port", "0", "--latency-ms", "300"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
        env=env,
    )
    try:
        line = proc.stdout.readline()
        urls = json.loads(line)
        assert set(urls) == set(SIMULATED_PROVIDERS)
        assert urls["hunter"].startswith("http://127.0.0.1:") and urls["hunter"].endswith(
            "/hunter/v2"
        )
        r = httpx.get(
            urls["hunter"] + "/email-verifier",
            params={"email": "nobody@nowhere.example", "api_key": KEY},
            timeout=10,
        )
        assert r.status_code in (200, 202)
        assert r.json()["data"]["email"] == "nobody@nowhere.example"
        r = httpx.post(urls["apollo"] + "/people/match", json=ADA_APOLLO, timeout=10)
        assert r.status_code == 401

        async def hundred() -> list[int]:
            limits = httpx.Limits(max_connections=100)
            async with httpx.AsyncClient(limits=limits, timeout=30) as client:
                tasks = [
                    client.get(
                        f"{urls['pdl']}/person/enrich",
                        params={"email": f"p{i}@nowhere.example", "api_key": KEY},
                    )
                    for i in range(100)
                ]
                return [r.status_code for r in await asyncio.gather(*tasks)]

        assert asyncio.run(hundred()) == [404] * 100  # unknown people: PDL's 404 miss
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == ""  # exactly one line was printed
    assert KEY not in err


def test_serve_in_subprocess_passes_options_and_stops_the_child():
    with (
        serve_in_subprocess(
            seed=3, companies=40, latency_ms=0, rate_limits={"hunter": 1}, fault_rate=0.0
        ) as server,
        httpx.Client(timeout=10) as client,
    ):
        assert set(server.base_urls) == set(SIMULATED_PROVIDERS)
        url = server.base_urls["hunter"] + "/email-verifier"
        statuses = [
            client.get(url, params={"email": "a@b.example", "api_key": KEY}).status_code
            for _ in range(3)
        ]
        assert 403 in statuses  # Hunter's rate-limit answer, so the option reached the child
        process = server.process
    assert process.returncode == 0
