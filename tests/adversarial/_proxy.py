"""Loopback HTTP servers the adversarial suite puts in front of (or in place of) the simulated
providers: a proxy that forwards every request to the loopback simulation (so the provider side
bills it as usual) and then rewrites some answers — a 200 carrying an HTML page or random bytes
instead of JSON — and an echo server that sends back everything a client sent it (headers and
query string) in its bodies, its headers and its error messages.

The simulation's own meter keeps counting what was billed; the proxy only changes what the
client reads.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx

HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    b"<body><h1>Checking your browser</h1><p>Please enable JavaScript.</p></body></html>"
)

#: ``rewrite(request_index, body) -> (content_type, body) | None`` (None: pass through)
Rewrite = Callable[[int, bytes], tuple[str, bytes] | None]


def garbage(seed: int) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))


def every(share: float, body: Callable[[int], tuple[str, bytes]], *, seed: int = 0) -> Rewrite:
    """Rewrite a ``share`` of the 200 answers (a seeded draw per request) with ``body(i)``."""

    def rewrite(i: int, original: bytes) -> tuple[str, bytes] | None:
        return body(i) if random.Random(f"{seed}:{i}").random() < share else None

    return rewrite


def html(_: int) -> tuple[str, bytes]:
    return "text/html; charset=utf-8", HTML_PAGE


def noise(i: int) -> tuple[str, bytes]:
    return "application/json", garbage(i)


class _QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # the tests read state, not access logs
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextlib.contextmanager
def _serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def rewriting_proxy(
    target: str, rewrite: Rewrite | None = None, *, cut_after: tuple[int, int] | None = None
) -> Iterator[dict[str, object]]:
    """Yield ``{"base": url, "rewritten": n, ...}`` — a proxy to ``target`` (a loopback origin
    such as ``http://127.0.0.1:PORT``) that rewrites the 200s ``rewrite`` picks. With
    ``cut_after=(n, status)``, every request after the first ``n`` is answered ``status`` by the
    proxy itself (never forwarded, so never billed): a key revoked or credits gone mid-run."""
    state: dict[str, object] = {"rewritten": 0, "requests": 0}
    lock = threading.Lock()
    client = httpx.Client(timeout=30.0)

    class Handler(_QuietHandler):
        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            with lock:
                index = int(state["requests"])  # type: ignore[call-overload]
                state["requests"] = index + 1
            if cut_after is not None and index >= cut_after[0]:
                status = cut_after[1]
                payload = json.dumps(
                    {"error": "invalid api key" if status == 401 else "insufficient credits"}
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                return
            upstream = client.request(
                self.command, target + self.path, headers=headers, content=body
            )
            content = upstream.content
            ctype = upstream.headers.get("content-type", "application/json")
            if upstream.status_code == 200 and rewrite is not None:
                swapped = rewrite(index, content)
                if swapped is not None:
                    ctype, content = swapped
                    with lock:
                        state["rewritten"] = int(state["rewritten"]) + 1  # type: ignore[call-overload]
            self.send_response(upstream.status_code)
            for name, value in upstream.headers.items():
                if name.lower() not in {"content-length", "content-type", "transfer-encoding",
                                        "connection", "content-encoding"}:  # fmt: skip
                    self.send_header(name, value)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = _forward

    with _serve(Handler) as base:
        state["base"] = base
        try:
            yield state  # type: ignore[misc]
        finally:
            client.close()


def proxied_base_urls(base_urls: Mapping[str, str], proxy_base: str) -> dict[str, str]:
    """The simulation's base URLs with their origin replaced by the proxy's."""
    out = {}
    for name, url in base_urls.items():
        parts = urlsplit(url)
        out[name] = proxy_base + parts.path
    return out


#: status codes the echo server cycles through: success, client errors, provider errors
ECHO_STATUSES = (200, 400, 401, 402, 403, 404, 422, 429, 500, 503)


@contextlib.contextmanager
def echo_server() -> Iterator[dict[str, object]]:
    """A server that answers every request with everything it was sent: the request line,
    query string and headers, in a JSON body (also as an ``error``/``message``), in response
    headers, and with a rotating status so every error path reads an echo. Yields
    ``{"base": url, "seen": [raw header blocks]}``."""
    state: dict[str, object] = {"seen": []}
    counter = [0]
    lock = threading.Lock()

    class Handler(_QuietHandler):
        def _echo(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length).decode("utf-8", "replace") if length else ""
            raw_headers = str(self.headers)
            with lock:
                status = ECHO_STATUSES[counter[0] % len(ECHO_STATUSES)]
                counter[0] += 1
                state["seen"].append(raw_headers)  # type: ignore[attr-defined]
            echo = f"{self.command} {self.path}\n{raw_headers}\n{sent}"
            body = json.dumps(
                {
                    "error": echo,
                    "message": echo,
                    "error_code": "ECHO",
                    "details": {"headers": dict(self.headers.items()), "path": self.path},
                    "data": {"email": None, "echo": echo},
                }
            ).encode()
            self.send_response(status)
            for i, (name, value) in enumerate(self.headers.items()):
                safe = value.replace("\r", " ").replace("\n", " ")
                self.send_header(f"X-Echo-{i}-{name}", safe[:500])
            self.send_header("X-Echo-Path", self.path.replace("\r", " ").replace("\n", " "))
            if status == 429:
                self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _echo

    with _serve(Handler) as base:
        state["base"] = base
        yield state


#: the path of ZoomInfo's client-credentials grant (below its API prefix)
TOKEN_PATH = "/oauth/v1/token"


@contextlib.contextmanager
def token_swapping_echo_proxy(
    target: str, token: Callable[[int], str], *, error_every: int = 4
) -> Iterator[dict[str, object]]:
    """A proxy to a loopback simulation (``target``) that hands the client canary OAuth tokens
    and echoes every request back. A token grant is forwarded and its ``access_token`` replaced
    by ``token(n)`` (the simulation's own token is put back on the way in, so the simulation
    authenticates and bills as usual); every answer carries the request's headers (canary token
    or key included) in ``X-Echo-*`` headers, and every ``error_every``-th other request is
    answered by the proxy itself (never forwarded, never billed) with a rotating error status
    whose body echoes the request line, headers and body. Yields ``{"base": url, "tokens":
    [canaries handed out], "seen": [raw header blocks]}``."""
    state: dict[str, object] = {"tokens": [], "seen": []}
    real_for: dict[str, str] = {}  # canary token -> the simulation's token
    counter = [0]
    lock = threading.Lock()
    client = httpx.Client(timeout=30.0)

    class Handler(_QuietHandler):
        def _reply(
            self, status: int, ctype: str, body: bytes, extra: list[tuple[str, str]]
        ) -> None:
            self.send_response(status)
            for i, (name, value) in enumerate(self.headers.items()):
                safe = value.replace("\r", " ").replace("\n", " ")
                self.send_header(f"X-Echo-{i}-{name}", safe[:500])
            for name, value in extra:
                self.send_header(name, value)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            sent = self.rfile.read(length) if length else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            is_grant = self.path.split("?")[0].endswith(TOKEN_PATH)
            with lock:
                index = counter[0]
                counter[0] += 1
                state["seen"].append(str(self.headers))  # type: ignore[attr-defined]
                for name, value in headers.items():
                    if name.lower() == "authorization" and value.startswith("Bearer "):
                        presented = value[len("Bearer ") :]
                        headers[name] = "Bearer " + real_for.get(presented, presented)
            if not is_grant and error_every and index % error_every == error_every - 1:
                status = ECHO_STATUSES[1 + (index // error_every) % (len(ECHO_STATUSES) - 1)]
                echo = (
                    f"{self.command} {self.path}\n{self.headers}\n{sent.decode('utf-8', 'replace')}"
                )
                body = json.dumps(
                    {
                        "error": echo,
                        "message": echo,
                        "detail": echo,
                        "errors": [{"code": "ECHO", "detail": echo, "title": echo}],
                    }
                ).encode()
                extra = [("Retry-After", "0")] if status == 429 else []
                self._reply(status, "application/json", body, extra)
                return
            upstream = client.request(
                self.command, target + self.path, headers=headers, content=sent
            )
            content = upstream.content
            if is_grant and upstream.status_code == 200:
                answer = json.loads(content)
                with lock:
                    canary = token(len(state["tokens"]))  # type: ignore[arg-type]
                    state["tokens"].append(canary)  # type: ignore[attr-defined]
                    real_for[canary] = answer["access_token"]
                answer["access_token"] = canary
                content = json.dumps(answer).encode()
            kept = [
                (name, value)
                for name, value in upstream.headers.items()
                if name.lower()
                not in {
                    "content-length",
                    "content-type",
                    "transfer-encoding",
                    "connection",
                    "content-encoding",
                }
            ]
            ctype = upstream.headers.get("content-type", "application/json")
            self._reply(upstream.status_code, ctype, content, kept)

        do_GET = do_POST = _handle

    with _serve(Handler) as base:
        state["base"] = base
        try:
            yield state
        finally:
            client.close()
