"""The simulated providers on a real loopback HTTP/1.1 server (asyncio + ``h11``).

Each provider is served under ``/<provider><api prefix>``, e.g. ``/apollo/api/v1/people/match``,
so an adapter only swaps its base URL. ``h11`` (already an httpx dependency) gives full control of
the connection: keep-alive for throughput, and real TCP aborts for the "reset" fault.

Example::

    import httpx
    from gtmkit.sandbox import serve_in_thread

    with serve_in_thread(port=0) as srv:
        r = httpx.get(srv.base_urls["hunter"] + "/account", headers={"X-API-KEY": "any"})
        r.status_code  # 200

CLI: ``python -m gtmkit.sandbox serve --port 8080 [--seed 7] [--latency-ms 300]
[--rate-limit apollo=20,hunter=40,pdl=80] [--fault-rate 0.05]`` prints the base-URL map as one
JSON line, then serves until SIGINT / SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import h11

from gtmkit.sandbox.contract import API_HOSTS, SIMULATED_PROVIDERS, Oracle
from gtmkit.sandbox.errors import SandboxServerError
from gtmkit.sandbox.http.app import SandboxApp, resolve_oracle
from gtmkit.sandbox.http.faults import DEFAULT_KINDS, FAULT_KINDS, FaultConfig
from gtmkit.sandbox.http.ratelimit import parse_rate_limits
from gtmkit.sandbox.http.transport import split_loopback_path

if TYPE_CHECKING:
    from gtmkit.sandbox.world import World

_PREFIX_BY_PROVIDER: dict[str, str] = {name: prefix for name, prefix in API_HOSTS.values()}
_READ_CHUNK = 65536
#: Largest request body accepted (a full Dropcontact batch is ~4 MB at most).
MAX_BODY_BYTES = 8 * 1024 * 1024
_SERVER_HEADER = ("server", "gtmkit-sandbox")
_BETWEEN_REQUESTS = (h11.IDLE, h11.DONE, h11.MUST_CLOSE, h11.CLOSED)


class LoopbackServer:
    """An HTTP/1.1 server on loopback answering as the simulated providers.

    Args:
        world: the world to serve (default: ``default_world()``).
        host: interface to bind (loopback by default; the sandbox is not meant for networks).
        port: TCP port, 0 = any free port.
        latency_scale: multiplier on the oracle's simulated latencies.
        latency_ms: median latency override in milliseconds (lognormal around it).
        faults, rate_limits, credits, charge_credits, dropcontact_ready_polls,
        verifier_pending_rate, seed, oracle: as for
        :class:`~gtmkit.sandbox.http.transport.SandboxTransport`.
        app: serve an existing pipeline instead of building one (shares credits and jobs).

    Use ``await server.start()`` / ``await server.stop()`` inside a running loop, or
    :func:`serve_in_thread` from synchronous code.
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        latency_scale: float = 0.0,
        latency_ms: float | None = None,
        faults: FaultConfig | None = None,
        rate_limits: bool | Mapping[str, float | bool] | str = False,
        credits: int | Mapping[str, int] | None = None,
        charge_credits: Mapping[str, float] | None = None,
        dropcontact_ready_polls: int = 0,
        verifier_pending_rate: float = 0.02,
        seed: int = 0,
        oracle: Oracle | None = None,
        app: SandboxApp | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.app = app or SandboxApp(
            resolve_oracle(world, oracle),
            latency_scale=latency_scale,
            latency_ms=latency_ms,
            faults=faults,
            rate_limits=rate_limits,
            credits=credits,
            charge_credits=charge_credits,
            dropcontact_ready_polls=dropcontact_ready_polls,
            verifier_pending_rate=verifier_pending_rate,
            seed=seed,
        )
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.port: int | None = None
        #: TCP connections accepted so far (keep-alive makes this much lower than requests).
        self.connections = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._connection, self.host, self._requested_port, backlog=1024
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        # Idle keep-alive connections end on the abort (their read sees EOF); requests still
        # being held or delayed are cancelled.
        for writer in list(self._writers):
            writer.transport.abort()
        await asyncio.sleep(0)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self.port is None:
            raise SandboxServerError("server not started")
        return f"http://{self.host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        """Provider → the base URL an adapter uses in place of the real one."""
        url = self.url
        return {name: f"{url}/{name}{_PREFIX_BY_PROVIDER[name]}" for name in SIMULATED_PROVIDERS}

    # -- one connection ---------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            await self._serve_connection(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # Only stop() cancels a connection: end it quietly (re-raising would make asyncio's
            # stream callback log every cancelled keep-alive connection as an error).
            writer.transport.abort()
        finally:
            if task is not None:
                self._tasks.discard(task)
            self._writers.discard(writer)
            if not writer.transport.is_closing():
                writer.close()

    async def _serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = h11.Connection(h11.SERVER)
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                await self._send_simple(conn, writer, 400, b"bad request")
                return
            if event is h11.NEED_DATA:
                data = await reader.read(_READ_CHUNK)
                conn.receive_data(data)
                if not data and conn.their_state in _BETWEEN_REQUESTS:
                    return  # EOF between requests: the client closed its keep-alive connection
                continue
            if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return
            if not isinstance(event, h11.Request):
                continue
            body = bytearray()
            while True:
                part = conn.next_event()
                if part is h11.NEED_DATA:
                    data = await reader.read(_READ_CHUNK)
                    if not data:
                        return
                    conn.receive_data(data)
                    continue
                if isinstance(part, h11.Data):
                    body += part.data
                    if len(body) > MAX_BODY_BYTES:
                        await self._send_simple(conn, writer, 413, b'{"error": "body too large"}')
                        return
                elif isinstance(part, h11.EndOfMessage):
                    break
                elif isinstance(part, h11.ConnectionClosed):
                    return
            if not await self._answer(conn, reader, writer, event, bytes(body)):
                return
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            try:
                conn.start_next_cycle()
            except h11.LocalProtocolError:
                return

    async def _answer(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        body: bytes,
    ) -> bool:
        """Answer one request; False when the connection must end here."""
        target = request.target.decode("latin-1")
        raw_path, _, raw_query = target.partition("?")
        split = split_loopback_path(unquote(raw_path))
        if split is None:
            message = json.dumps({"error": f"unknown path; use one of {self.base_urls}"}).encode()
            await self._send_simple(conn, writer, 404, message)
            return True
        provider, sub = split
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers}
        reply = self.app.respond(
            provider, request.method.decode("ascii"), sub, raw_query, headers, body
        )
        if reply.action == "timeout":  # also a "late" answer: billed, then held past the timeout
            faults = self.app.faults
            await _until_closed(reader, faults.hold_s if faults is not None else 30.0)
            writer.transport.abort()
            return False
        if reply.action == "hang":  # accepted, never answered: held until the client gives up
            await _until_closed(reader, None)
            writer.transport.abort()
            return False
        if reply.action in ("reset", "refuse"):
            writer.transport.abort()  # RST: the client sees "connection reset by peer"
            return False
        if reply.action == "disconnect":
            writer.close()  # FIN before any byte of the answer
            return False
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        headers_out = [_SERVER_HEADER, *reply.all_headers()]
        out = conn.send(h11.Response(status_code=reply.status, headers=headers_out))
        out += conn.send(h11.Data(data=reply.body)) if reply.body else b""
        out += conn.send(h11.EndOfMessage())
        writer.write(out)
        await writer.drain()
        return True

    @staticmethod
    async def _send_simple(
        conn: h11.Connection, writer: asyncio.StreamWriter, status: int, body: bytes
    ) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        headers = [
            _SERVER_HEADER,
            ("content-type", "application/json"),
            ("content-length", str(len(body))),
            ("connection", "close"),
        ]
        try:
            out = conn.send(h11.Response(status_code=status, headers=headers))
            out += conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError:
            return
        writer.write(out)
        with contextlib.suppress(ConnectionError):
            await writer.drain()


async def _until_closed(reader: asyncio.StreamReader, timeout_s: float | None) -> None:
    """Hold a request: wait until the client closes its side (it gave up) or ``timeout_s``."""
    with contextlib.suppress(TimeoutError, ConnectionError):
        async with asyncio.timeout(timeout_s):
            while await reader.read(_READ_CHUNK):
                pass  # a client sends nothing more on a held request; drain whatever comes


@contextlib.contextmanager
def serve_in_thread(
    world: World | None = None,
    port: int = 0,
    latency_ms: float | None = None,
    rate_limits: bool | Mapping[str, float | bool] | str = False,
    faults: FaultConfig | None = None,
    **options: Any,
) -> Iterator[LoopbackServer]:
    """Run a :class:`LoopbackServer` on a background thread for the ``with`` block.

    Yields the started server (``.base_urls``, ``.port``, ``.app``). Extra keyword options go to
    :class:`LoopbackServer` (``latency_scale``, ``credits``, ``oracle``, ``seed``...).

    Example::

        with serve_in_thread(port=0, latency_ms=300) as srv:
            adapter = Hunter(client, base_url=srv.base_urls["hunter"], api_key="sandbox")
    """
    server = LoopbackServer(
        world, port=port, latency_ms=latency_ms, rate_limits=rate_limits, faults=faults, **options
    )
    started = threading.Event()
    failure: list[BaseException] = []
    loop_box: list[asyncio.AbstractEventLoop] = []
    stop_box: list[asyncio.Event] = []

    async def run() -> None:
        stop = asyncio.Event()
        loop_box.append(asyncio.get_running_loop())
        stop_box.append(stop)
        try:
            await server.start()
        except BaseException as exc:
            failure.append(exc)
            started.set()
            return
        started.set()
        await stop.wait()
        await server.stop()

    thread = threading.Thread(target=asyncio.run, args=(run(),), name="gtmkit-sandbox", daemon=True)
    thread.start()
    started.wait()
    if failure:
        thread.join()
        raise failure[0]
    try:
        yield server
    finally:
        loop_box[0].call_soon_threadsafe(stop_box[0].set)
        thread.join(timeout=10)


# -- CLI ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gtmkit.sandbox serve",
        description="Serve the simulated providers on loopback. Prints the base-URL map as one "
        "JSON line, then serves until interrupted.",
    )
    parser.add_argument("--port", type=int, default=0, help="TCP port (0 = any free port)")
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--seed", type=int, default=None, help="serve World.generate(seed=S)")
    parser.add_argument(
        "--companies",
        type=int,
        default=None,
        help="companies in a --seed world (default: World.generate's own default)",
    )
    parser.add_argument(
        "--latency-ms", type=float, default=None, help="median latency override (lognormal)"
    )
    parser.add_argument(
        "--latency-scale",
        type=float,
        default=1.0,
        help="multiplier on simulated latencies when --latency-ms is not given (default 1)",
    )
    parser.add_argument(
        "--rate-limit",
        default=None,
        help="requests/s per provider, e.g. apollo=20,hunter=40,pdl=80 (or 'default')",
    )
    parser.add_argument("--fault-rate", type=float, default=0.0, help="share of faulted answers")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(DEFAULT_KINDS),
        help=f"comma-separated subset of {','.join(FAULT_KINDS)}",
    )
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--credits", type=int, default=None, help="credit allowance per key")
    parser.add_argument("--dropcontact-ready-polls", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    """``python -m gtmkit.sandbox serve ...`` (see the module docstring)."""
    args = _parser().parse_args(argv)
    try:
        rate_limits = parse_rate_limits(args.rate_limit)
        kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
        faults = (
            FaultConfig(rate=args.fault_rate, kinds=kinds, seed=args.fault_seed)  # type: ignore[arg-type]
            if args.fault_rate > 0
            else None
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.seed is None and args.companies is None:
        world = None  # default_world(): the one data/samples was drawn from
    else:
        from gtmkit.sandbox.world import World

        size = {} if args.companies is None else {"companies": args.companies}
        world = World.generate(seed=7 if args.seed is None else args.seed, **size)
    server = LoopbackServer(
        world,
        host=args.host,
        port=args.port,
        latency_scale=args.latency_scale,
        latency_ms=args.latency_ms,
        faults=faults,
        rate_limits=rate_limits,
        credits=args.credits,
        dropcontact_ready_polls=args.dropcontact_ready_polls,
        seed=args.seed or 0,
    )
    return asyncio.run(_serve(server))


async def _serve(server: LoopbackServer) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await server.start()
    except OSError as exc:
        where = f"{server.host}:{server._requested_port}"
        print(f"error: cannot listen on {where}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(server.base_urls), flush=True)
    await stop.wait()
    await server.stop()
    return 0


class ServerProcess:
    """Handle on a sandbox server running in a child process (see :func:`serve_in_subprocess`)."""

    def __init__(self, process: subprocess.Popen[str], base_urls: dict[str, str]) -> None:
        self.process = process
        self.base_urls = base_urls

    @property
    def url(self) -> str:
        return self.base_urls["prospeo"].rsplit("/prospeo", 1)[0]


@contextlib.contextmanager
def serve_in_subprocess(
    *,
    port: int = 0,
    seed: int | None = None,
    companies: int | None = None,
    latency_ms: float | None = None,
    latency_scale: float | None = None,
    rate_limits: Mapping[str, float] | str | None = None,
    fault_rate: float = 0.0,
    fault_kinds: tuple[str, ...] | None = None,
    fault_seed: int = 0,
    credits: int | None = None,
    startup_timeout_s: float = 120.0,
) -> Iterator[ServerProcess]:
    """Run ``python -m gtmkit.sandbox serve`` in a child process for the ``with`` block.

    Use this for throughput benchmarks: an in-thread server shares the GIL (and often a core)
    with the client it is measuring. Yields a :class:`ServerProcess` with ``.base_urls``; the
    child is sent SIGTERM (then killed if need be) on exit.
    """
    argv = [sys.executable, "-m", "gtmkit.sandbox", "serve", "--port", str(port)]
    if seed is not None:
        argv += ["--seed", str(seed)]
    if companies is not None:
        argv += ["--companies", str(companies)]
    if latency_ms is not None:
        argv += ["--latency-ms", str(latency_ms)]
    if latency_scale is not None:
        argv += ["--latency-scale", str(latency_scale)]
    if rate_limits:
        spec = (
            rate_limits
            if isinstance(rate_limits, str)
            else ",".join(f"{name}={rate}" for name, rate in rate_limits.items())
        )
        argv += ["--rate-limit", spec]
    if fault_rate:
        argv += ["--fault-rate", str(fault_rate), "--fault-seed", str(fault_seed)]
        if fault_kinds:
            argv += ["--fault-kinds", ",".join(fault_kinds)]
    if credits is not None:
        argv += ["--credits", str(credits)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = _first_line(process, startup_timeout_s)
        yield ServerProcess(process, json.loads(line))
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _first_line(process: subprocess.Popen[str], timeout_s: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(timeout_s)
    if not box or not box[0].strip():
        process.kill()
        _, err = process.communicate()
        raise SandboxServerError(f"sandbox server did not start: {err.strip()[-2000:]}")
    return box[0]
