"""``connect(http=...)``: httpx's transport or aiohttp's, and every behaviour the same on both.

Each test runs on both transports against real loopback sockets — a server that misbehaves on
purpose (hangs, resets, closes, truncates, sends garbage, gzip that is not gzip) and the loopback
sandbox server with its faults, whose billing counter is the meter. The same fault must give
the same typed error with the same "was it billed?" answer, nothing may be sent twice by the
transport on its own, and no key may reach a log line, an error or a finding.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import polars as pl
import pytest
from _providers_helpers import HIT_BODIES, RECORD

from gtmkit.providers import connect, errors
from gtmkit.providers.transport import HTTP_CHOICES, resolve_http
from gtmkit.sandbox import FaultConfig, World, simulate
from gtmkit.waterfall import RetryPolicy, Step, Waterfall

CANARY = "hk-CANARY-transport-3c9f1d7a-NEVER-LOGGED"
TIMEOUT_S = 0.6


@pytest.fixture(params=HTTP_CHOICES)
def http(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- a loopback server that misbehaves on purpose -------------------------------------------------


def _ok(body: bytes, extra: bytes = b"") -> bytes:
    """A raw 200 carrying ``body`` as it is (HTML, cut-off JSON, bytes that are not gzip)."""
    return b"HTTP/1.1 200 OK\r\n" + extra + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _json(status: int, body: Any, extra: str = "") -> bytes:
    data = json.dumps(body).encode()
    head = (f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n{extra}\r\n")  # fmt: skip
    return head.encode() + data


class Misbehaving:
    """Answers ``/<behaviour>/...``; counts the requests each behaviour received."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.counts: Counter[str] = Counter()
        self.seen_keys: list[str] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, behaviour: str) -> str:
        return f"http://127.0.0.1:{self.port}/{behaviour}"

    def close(self) -> None:
        self._stop.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buffer = b""
        with contextlib.closing(conn):
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, buffer = buffer.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {
                    k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])
                }
                length = int(headers.get("content-length", "0"))
                while len(buffer) < length:
                    buffer += conn.recv(65536)
                buffer = buffer[length:]
                behaviour = lines[0].split(" ")[1].split("/")[1]
                self.counts[behaviour] += 1
                self.seen_keys.append(headers.get("x-api-key", ""))
                if not self._answer(conn, behaviour, headers.get("x-api-key", "")):
                    return

    def _answer(self, conn: socket.socket, behaviour: str, key: str) -> bool:
        """Send the answer; False when the connection ends here."""
        if behaviour == "ok":
            conn.sendall(_json(200, HIT_BODIES["hunter"]))
            return True
        if behaviour == "echo":  # a careless provider echoing the key back, in a header too
            body = json.loads(json.dumps(HIT_BODIES["hunter"]))
            body["data"]["sources"] = [{"uri": f"https://x.test/?api_key={key}"}]
            conn.sendall(_json(200, body, f"X-Echo: {key}\r\n"))
            return True
        if behaviour == "429":
            conn.sendall(
                _json(429, {"errors": [{"id": "too_many_requests"}]}, "Retry-After: 7\r\n")
            )
            return True
        if behaviour == "500":
            conn.sendall(_json(500, {"errors": [{"id": "server_error", "details": key}]}))
            return True
        if behaviour == "html":
            page = b"<html>bad gateway</html>"
            conn.sendall(_ok(page, b"Content-Type: text/html\r\n"))
            return True
        if behaviour == "badjson":
            cut = b'{"data": {"email": "ol'
            conn.sendall(_ok(cut))
            return True
        if behaviour == "badgzip":
            junk = b"this is not gzip at all"
            conn.sendall(_ok(junk, b"Content-Encoding: gzip\r\n"))
            return True
        if behaviour == "truncated":  # headers promise 500 bytes, 22 come, then FIN
            conn.sendall(b'HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{"data": {"email": "o')
            return False
        if behaviour == "garbage":
            conn.sendall(b"HTTQ/9.9 what is this\r\n\r\n")
            return False
        if behaviour == "reset":  # RST after reading the request (it may have been billed)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return False
        if behaviour == "close":  # FIN before any byte of an answer
            conn.shutdown(socket.SHUT_WR)
            return False
        if behaviour == "hang":  # never answers; waits for the client to give up
            conn.settimeout(TIMEOUT_S * 10)
            with contextlib.suppress(OSError):
                while conn.recv(65536):
                    pass
            return False
        raise AssertionError(f"unknown behaviour {behaviour!r}")


@pytest.fixture
def server() -> Iterator[Misbehaving]:
    srv = Misbehaving()
    yield srv
    srv.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: behaviour → (error class, retryable, charge known); ``None``: a hit
EXPECTED: dict[str, tuple[type[errors.ProviderError], bool, bool] | None] = {
    "ok": None,
    "hang": (errors.ProviderTimeout, True, False),
    "reset": (errors.ProviderDown, True, False),
    "close": (errors.ProviderDown, True, False),
    "truncated": (errors.ProviderDown, True, False),
    "garbage": (errors.ProviderDown, True, False),
    "html": (errors.MalformedResponse, True, False),
    "badjson": (errors.MalformedResponse, True, False),
    "badgzip": (errors.MalformedResponse, True, False),
    "429": (errors.RateLimited, True, True),
    "500": (errors.ProviderDown, True, True),
    "refused": (errors.ProviderDown, True, True),
}


async def _look_up(http: str, url: str, *, first: str | None = None) -> Any:
    """One Hunter lookup at ``url`` (after one at ``first`` on the same client, so the
    faulty request goes out on a connection that was reused)."""
    base_urls = {"hunter": url}
    conn = connect(["hunter"], mode="live", base_urls=base_urls, timeout=TIMEOUT_S, http=http,
                   env_file=None)  # fmt: skip
    async with conn:
        hunter = conn["hunter"]
        if first is not None:
            hunter.base_url = first
            assert (await hunter.lookup(dict(RECORD))).outcome == "hit"
            hunter.base_url = url
        return await hunter.lookup(dict(RECORD))


@pytest.mark.parametrize("behaviour", sorted(EXPECTED))
def test_every_fault_is_the_same_typed_error_on_both_transports(
    http: str, behaviour: str, server: Misbehaving, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUNTER_API_KEY", CANARY)
    url = (
        f"http://127.0.0.1:{_closed_port()}/x" if behaviour == "refused" else server.url(behaviour)
    )
    finding = asyncio.run(_look_up(http, url, first=server.url("ok")))  # never raises
    expected = EXPECTED[behaviour]
    if expected is None:
        assert finding.outcome == "hit" and finding.fields["email"]
    else:
        kind, retryable, known = expected
        assert finding.outcome == "error"
        assert type(finding.error) is kind, finding.error
        assert finding.error.retryable is retryable
        assert finding.charge_known is known, finding.error
        assert finding.credits == 0.0
    if behaviour == "429":
        assert finding.error.retry_after == 7.0
    # the transport sent the request exactly once: nothing re-sent behind the budget's back
    sent = {"refused": 0, "ok": 2}.get(behaviour, 1)
    assert server.counts[behaviour] == sent
    assert server.counts["ok"] == max(1, sent) and set(server.seen_keys) == {CANARY}


def test_a_key_never_reaches_a_log_an_error_or_a_finding(
    http: str,
    server: Misbehaving,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every logger at DEBUG (httpx, httpcore, aiohttp, asyncio, gtmkit); a server that echoes
    the key in a header and a body, and error answers and broken connections."""
    monkeypatch.setenv("HUNTER_API_KEY", CANARY)
    caplog.set_level(logging.DEBUG)
    behaviours = ("echo", "500", "429", "reset", "garbage", "badjson", "truncated")
    findings = [
        asyncio.run(_look_up(http, server.url(b), first=server.url("ok"))) for b in behaviours
    ]
    assert server.seen_keys and set(server.seen_keys) == {CANARY}  # the key was sent each time
    assert findings[0].outcome == "hit"
    assert caplog.records  # the HTTP stack did log (so the check below could fail)
    for record in caplog.records:
        assert CANARY not in record.getMessage(), record.name
        assert CANARY not in (record.exc_text or ""), record.name
    assert CANARY not in caplog.text
    for finding in findings:
        assert CANARY not in repr(finding) and CANARY not in json.dumps(finding.raw, default=str)
        if finding.error is not None:
            assert CANARY not in str(finding.error) and CANARY not in repr(finding.error.body)


@pytest.mark.parametrize("name", ["aiohttp.client", "aiohttp.internal", "asyncio"])
def test_aiohttps_loggers_and_asyncios_are_masked(
    name: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """aiohttp logs on ``aiohttp.*``, and an unclosed response (its URL and headers printed)
    through the loop's exception handler, on ``asyncio``."""
    from gtmkit.providers._redact import install_log_redaction

    monkeypatch.setenv("HUNTER_API_KEY", CANARY)
    install_log_redaction()
    caplog.set_level(logging.DEBUG)
    echoed = (f"<ClientResponse(http://127.0.0.1/echo) [200 OK]>\n"
              f"<CIMultiDictProxy('X-Echo': '{CANARY}')>")  # fmt: skip
    logging.getLogger(name).error("Unclosed response\nclient_response: %s", echoed)
    assert caplog.records and "***" in caplog.text and CANARY not in caplog.text


def test_the_choice_is_checked_and_the_environment_sets_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(errors.ProviderUsageError, match="http= must be one of 'httpx', 'aiohttp'"):
        connect(["hunter"], mode="sandbox", http="requests")  # type: ignore[arg-type]
    monkeypatch.setenv("GTMKIT_HTTP", "aiohttp")
    assert resolve_http(None) == "aiohttp"
    monkeypatch.setenv("GTMKIT_HTTP", "curl")
    with pytest.raises(errors.ProviderUsageError, match="GTMKIT_HTTP"):
        resolve_http(None)


# -- aiohttp's exceptions, one by one (the ones a loopback socket cannot produce included) --------


def _aiohttp_cases() -> dict[str, tuple[BaseException, type[errors.ProviderError], bool]]:
    import types

    import aiohttp
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL

    key = types.SimpleNamespace(host="127.0.0.1", port=1, ssl=True, is_ssl=True)
    info = aiohttp.RequestInfo(URL("http://x.test/"), "GET",
                               CIMultiDictProxy(CIMultiDict({"X-API-KEY": CANARY})),
                               URL("http://x.test/"))  # fmt: skip
    return {  # exception → (typed error, charge known)
        "connector": (
            aiohttp.ClientConnectorError(key, OSError(111, "refused")),  # type: ignore[arg-type]
            errors.ProviderDown,
            True,
        ),
        "connect timeout": (
            aiohttp.ConnectionTimeoutError("connect"),
            errors.ProviderTimeout,
            True,
        ),
        "proxy": (
            aiohttp.ClientProxyConnectionError(key, OSError(111, "no")),  # type: ignore[arg-type]
            errors.ProviderDown,
            True,
        ),
        "socket read timeout": (aiohttp.SocketTimeoutError("read"), errors.ProviderTimeout, False),
        "server timeout": (aiohttp.ServerTimeoutError("read"), errors.ProviderTimeout, False),
        "bare timeout": (TimeoutError(), errors.ProviderTimeout, False),
        "disconnected": (aiohttp.ServerDisconnectedError(), errors.ProviderDown, False),
        "payload": (aiohttp.ClientPayloadError("cut short"), errors.ProviderDown, False),
        "reset reading": (aiohttp.ClientOSError(104, "reset by peer"), errors.ProviderDown, False),
        "reset writing": (
            aiohttp.ClientConnectionResetError("closing transport"),
            errors.ProviderDown,
            False,
        ),
        "bad status line": (
            aiohttp.ClientResponseError(info, (), status=400, message="bad line"),
            errors.ProviderDown,
            False,
        ),
        "other connection": (aiohttp.ClientConnectionError("?"), errors.ProviderDown, False),
    }


@pytest.mark.parametrize("case", sorted(_aiohttp_cases()))
def test_each_aiohttp_failure_says_the_same_as_httpx_about_the_charge(case: str) -> None:
    from gtmkit.providers._aiohttp import httpx_error

    exc, kind, known = _aiohttp_cases()[case]
    for raised in (exc, _packaged(exc)):  # bare, and as httpx_aiohttp's own map had it
        mapped = httpx_error(raised, httpx.Request("GET", "http://x.test/"))
        error = errors.error_for_exception("hunter", mapped)
        assert type(error) is kind, (case, mapped)
        assert error.charge_known is known, (case, mapped)
        assert CANARY not in str(error) and mapped.__cause__ is None


def _packaged(exc: BaseException) -> BaseException:
    """What ``httpx_aiohttp.transport.map_aiohttp_exceptions`` raises for ``exc``."""
    from httpx_aiohttp.transport import map_aiohttp_exceptions

    try:
        with map_aiohttp_exceptions():
            raise exc
    except BaseException as mapped:  # whatever it raises is what we remap
        return mapped
    raise AssertionError("not raised")


# -- the loopback sandbox server's faults, the provider's own billing counter as the meter --------

#: sandbox fault → whether the adapter can know the charge
SANDBOX_FAULTS = {"timeout": False, "reset": False, "malformed": False, "5xx": True, "429": True,
                  "hang": False, "refuse": False, "late": False}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(SANDBOX_FAULTS))
def test_sandbox_server_faults_are_reported_alike(http: str, kind: str) -> None:
    world = World.generate(seed=5, companies=30)
    record = world.sample_records(1, seed=1).to_dicts()[0]
    faults = FaultConfig(rate=1.0, kinds=(kind,), hold_s=0.2)  # "late": billed, then a reset
    sim = simulate(world, faults=faults)
    names = ["apollo", "hunter", "pdl", "prospeo"]

    async def main(base_urls: dict[str, str]) -> dict[str, Any]:
        async with connect(names, mode="sandbox", base_urls=base_urls, timeout=TIMEOUT_S,
                           http=http, options=sim.adapter_options) as conn:  # fmt: skip
            return {n: await conn[n].lookup(record) for n in names}

    with sim.serve() as srv:
        found = asyncio.run(main(srv.base_urls))
    clean = simulate(world)  # what the same lookups cost when answered
    with clean.serve() as srv:
        answered = asyncio.run(main(srv.base_urls))
    assert all(f.outcome != "error" for f in answered.values())
    for name, finding in found.items():
        assert finding.outcome == "error", (name, finding)
        assert finding.charge_known is SANDBOX_FAULTS[kind], (name, finding.error)
        assert finding.credits == 0.0
    billed = sim.billed()
    assert sim.repeated_lookups() == 0  # a request the provider billed was never sent again
    if kind == "late":  # processed and billed as when answered, once each; the answer lost
        assert billed == clean.billed() and billed
    else:
        assert billed == {}
    assert sum(sim.requests().values()) == len(names)  # one request each, no silent re-send


def test_a_waterfall_with_ten_percent_faults_on_loopback_matches_a_clean_run(http: str) -> None:
    """The direct engine on the loopback server, 10% faults: the same enriched records as a
    clean run but for rows whose retries ran out, and books that match the server's own."""
    world = World.generate(seed=11, companies=120)
    records = world.sample_records(200, seed=2)
    wf = Waterfall([Step("hunter"), Step("apollo", stop="first_verified"), Step("pdl")],
                   verify="hunter_verifier")  # fmt: skip
    retry = RetryPolicy(base_s=0.001, max_backoff_s=0.01)

    def go(faults: FaultConfig | None) -> tuple[Any, Any]:
        sim = simulate(world, faults=faults)
        with sim.serve() as srv:
            connect_options = {"base_urls": srv.base_urls, "http": http, "timeout": 2.0,
                               "options": sim.adapter_options}  # fmt: skip
            result = wf.run(records, ledger=None, mode="sandbox", progress=False, retry=retry,
                            connect_options=connect_options)  # fmt: skip
        return result, sim

    clean, clean_sim = go(None)
    faulty, sim = go(FaultConfig(rate=0.10, seed=9, hold_s=5.0))
    assert (
        faulty.attempts.filter(pl.col("outcome") == "error").height > 0.05 * faulty.totals["calls"]
    )
    cols = ["row_id", "email", "email_source", "status"]
    joined = clean.records.select(cols).join(faulty.records.select(*cols, "status_reason"),
                                             on="row_id", suffix="_f")  # fmt: skip
    differs = joined.filter(pl.col("email").ne_missing(pl.col("email_f"))
                            | pl.col("status").ne_missing(pl.col("status_f")))  # fmt: skip
    assert differs["status_reason"].str.contains(r"after \d+ attempt").all(), differs
    assert differs.height < 0.02 * records.height
    billed = sum(sim.billed().values())
    books = faulty.totals["credits"]
    assert books <= billed + 1e-9 <= books + faulty.totals["credits_held"] + 1e-9
    # no request billed twice beyond the clean run's own (1 here: two rows asking one request)
    assert sim.repeated_lookups() == clean_sim.repeated_lookups()
