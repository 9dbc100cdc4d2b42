"""``SandboxTransport``: the simulated providers as an ``httpx.AsyncBaseTransport``.

Requests to the real API hosts (``contract.API_HOSTS``, e.g. ``https://api.hunter.io/v2/...``)
are answered by the simulation, so an adapter built for the real provider runs unchanged; the
loopback server's path style (``http://anything/hunter/v2/...``) is accepted too.

Example (in a notebook cell)::

    import httpx
    from gtmkit.sandbox import SandboxTransport

    client = httpx.AsyncClient(transport=SandboxTransport())
    r = await client.get(
        "https://api.hunter.io/v2/email-verifier",
        params={"email": "ada@example.com"},
        headers={"X-API-KEY": "any-non-empty-key"},
    )
    r.json()["data"]["status"]  # "valid", "accept_all", ...
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

import httpx

from gtmkit.sandbox.contract import API_HOSTS, Oracle
from gtmkit.sandbox.http.app import SandboxApp, resolve_oracle
from gtmkit.sandbox.http.faults import FaultConfig
from gtmkit.sandbox.http.wire import Reply

if TYPE_CHECKING:
    from gtmkit.sandbox.world import World

_PREFIX_BY_PROVIDER: dict[str, str] = {name: prefix for name, prefix in API_HOSTS.values()}


def split_loopback_path(path: str) -> tuple[str, str] | None:
    """``/hunter/v2/email-finder`` → ``("hunter", "/email-finder")``; ``None`` if not ours."""
    parts = path.split("/", 2)  # ["", provider, rest]
    if len(parts) < 2 or parts[1] not in _PREFIX_BY_PROVIDER:
        return None
    provider = parts[1]
    rest = "/" + (parts[2] if len(parts) > 2 else "")
    prefix = _PREFIX_BY_PROVIDER[provider]
    if prefix:
        if rest != prefix and not rest.startswith(prefix + "/"):
            return provider, "\x00" + rest  # under the provider but outside its API: a 404
        rest = rest[len(prefix) :] or "/"
    return provider, rest


class SandboxTransport(httpx.AsyncBaseTransport):
    """Serve the simulated providers in process.

    Args:
        world: the world to serve (default: ``default_world()``, the one ``data/samples`` uses).
        latency_scale: multiplier on simulated latencies (0 = no sleeping; 1 = realistic).
        faults: fault injection (``FaultConfig``); timeouts, late answers and hangs raise
            ``httpx.ReadTimeout``, resets raise ``httpx.ReadError`` or
            ``httpx.RemoteProtocolError``.
        rate_limits: ``True`` for documented per-provider defaults, or provider → requests/s.
        dropcontact_ready_polls: polls answered "not ready" before a Dropcontact batch is
            returned (on top of its processing time, which is 0 with latency off).
        credits: credit allowance per key (int, or provider → int); ``None`` = plenty.
        charge_credits: provider → credits one billed unit costs, in place of 1 (see
            :class:`~gtmkit.sandbox.http.app.SandboxApp`).
        oracle: serve this ``contract.Oracle`` instead of ``ProviderOracle(world)``.
        latency_ms: median latency override in milliseconds (lognormal around it).
        verifier_pending_rate: share of first Hunter verifications answered 202.
        seed: seed of latency jitter, request ids and 202 draws.

    ``transport.app`` exposes the pipeline (``app.ledger`` for credits charged per provider,
    ``app.injected_faults``).
    """

    def __init__(
        self,
        world: World | None = None,
        *,
        latency_scale: float = 0.0,
        faults: FaultConfig | None = None,
        rate_limits: bool | Mapping[str, float | bool] = False,
        dropcontact_ready_polls: int = 0,
        credits: int | Mapping[str, int] | None = None,
        charge_credits: Mapping[str, float] | None = None,
        oracle: Oracle | None = None,
        latency_ms: float | None = None,
        verifier_pending_rate: float = 0.02,
        seed: int = 0,
    ) -> None:
        self.app = SandboxApp(
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

    @classmethod
    def from_app(cls, app: SandboxApp) -> SandboxTransport:
        """A transport over an existing pipeline (e.g. shared with a loopback server)."""
        transport = cls.__new__(cls)
        transport.app = app
        return transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        path = url.path
        routed = API_HOSTS.get(url.host)
        if routed is not None:
            provider, prefix = routed
            if prefix and not (path == prefix or path.startswith(prefix + "/")):
                sub = "\x00" + path  # on the host but outside the API: the provider's 404
            else:
                sub = path[len(prefix) :] or "/"
        else:
            split = split_loopback_path(path)
            if split is None:
                return httpx.Response(
                    404,
                    json={"error": f"not a simulated provider: {url.host}{path}"},
                    request=request,
                )
            provider, sub = split
        try:
            body = request.content
        except httpx.RequestNotRead:
            body = await request.aread()
        # A plain dict: several lookups on it are cheaper than on httpx.Headers.
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        reply = self.app.respond(
            provider, request.method, sub, url.query.decode("ascii"), headers, body
        )
        if reply.action is not None:
            await self._enact(reply, request)
        if reply.delay_s > 0:
            await asyncio.sleep(reply.delay_s)
        # A ready ByteStream and pre-encoded headers: several times cheaper than content=.
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.all_headers()]
        return httpx.Response(
            reply.status, headers=raw, stream=httpx.ByteStream(reply.body), request=request
        )

    async def _enact(self, reply: Reply, request: httpx.Request) -> None:
        timeouts = request.extensions.get("timeout") or {}
        read = timeouts.get("read")
        if reply.action == "hang":
            # accepted and never answered: the client waits its whole read timeout
            if read is None:
                await asyncio.Event().wait()  # no timeout: forever (until cancelled)
            await asyncio.sleep(read)
            raise httpx.ReadTimeout("simulated read timeout (no answer)", request=request)
        if reply.action == "timeout":
            wait = reply.delay_s if read is None else min(reply.delay_s, read)
            if wait > 0:
                await asyncio.sleep(wait)
            raise httpx.ReadTimeout("simulated read timeout", request=request)
        if reply.action == "refuse":
            raise httpx.ConnectError("[Errno 111] Connection refused", request=request)
        if reply.action == "disconnect":
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request)
