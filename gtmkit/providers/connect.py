"""``connect(...)``: build adapters on one shared ``httpx.AsyncClient``, live or simulated.

The options are the live ones (mode, keys, timeout, base URLs, a transport); everything about
the simulation — latency, faults, rate limits, credits — comes from ``gtmkit.sandbox.simulate``,
which hands back the transport and the adapter settings to pass here.

Example:
    >>> import asyncio
    >>> from gtmkit.providers import connect
    >>> async def main():
    ...     async with connect(["pattern"], mode="sandbox") as conn:
    ...         return conn.names, conn.mode_of("pattern"), list(conn.values()) == [conn["pattern"]]
    >>> asyncio.run(main())
    (('pattern',), 'local', True)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal

import httpx

from gtmkit.errors import NotFound
from gtmkit.providers._client import ApiClient
from gtmkit.providers.base import MissingCredentials, Provider
from gtmkit.providers.credentials import (  # noqa: F401
    read_env_file,
    resolve_api_keys,
    resolve_credential_options,
)
from gtmkit.providers.errors import ProviderUsageError
from gtmkit.providers.registry import provider_class
from gtmkit.providers.transport import HttpChoice, network_transport, resolve_http

Mode = Literal["auto", "sandbox", "live"]
ResolvedMode = Literal["sandbox", "live", "local"]

#: Key handed to adapters talking to the simulation (it accepts any non-empty key). It is not
#: a secret, and a real key is never sent to the simulation.
SANDBOX_KEY = "sandbox-placeholder-key"

#: Real API hosts, from each adapter's default base URL (used to mount the sandbox transport).
_HOST_PREFIX = "https://"


class Connection(Mapping[str, Provider]):
    """Adapters sharing one ``httpx.AsyncClient``; an async context manager that closes it.

    Use :func:`connect` to build one. A read-only mapping of provider name → adapter
    (``conn[name]``, ``list(conn)``, ``dict(conn)``); ``conn.mode_of(name)`` says whether it
    talks to the real provider (``"live"``), the simulation (``"sandbox"``) or nothing at all
    (``"local"``, the ``pattern`` step). Two connections are equal only when they are the same
    object: each owns its client.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        providers: Mapping[str, Provider],
        modes: Mapping[str, ResolvedMode],
        sandbox_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.client = client
        self._providers = dict(providers)
        self._modes = dict(modes)
        #: the in-process ``SandboxTransport`` serving the simulated providers, if any (its
        #: ``app.ledger`` holds the credits the simulation charged).
        self.sandbox_transport = sandbox_transport

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._providers)

    def __getitem__(self, name: str) -> Provider:
        try:
            return self._providers[name]
        except KeyError:
            raise NotFound(f"{name!r} is not connected; connected: {self.names}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def __iter__(self) -> Iterator[str]:
        return iter(self._providers)

    def __len__(self) -> int:
        return len(self._providers)

    # identity, not Mapping's content equality: a connection is a resource (it owns a client)
    __eq__ = object.__eq__
    __hash__ = object.__hash__

    def mode_of(self, name: str) -> ResolvedMode:
        """``"live"``, ``"sandbox"`` or ``"local"`` for a connected provider."""
        self[name]
        return self._modes[name]

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}={self._modes[n]}" for n in self._providers)
        return f"Connection({parts})"


class _NoRealProviders(httpx.AsyncBaseTransport):
    """Default transport of a connection with no live provider: anything may be reached
    (e.g. a loopback sandbox server) except the real providers' hosts, so a simulated run can
    never spend real credits, whatever base URL it was given."""

    def __init__(self, refused_hosts: frozenset[str], inner: httpx.AsyncBaseTransport) -> None:
        self._refused = refused_hosts
        self._inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host in self._refused:
            raise httpx.ConnectError(
                f"sandbox mode: refusing to contact the real provider host {request.url.host}",
                request=request,
            )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def connect(
    names: Sequence[str] | str,
    *,
    mode: Mode = "auto",
    transport: httpx.AsyncBaseTransport | None = None,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    base_urls: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    api_keys: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
    learn_patterns: bool = True,
    http: HttpChoice | None = None,
) -> Connection:
    """Build the named adapters on one shared client.

    Args:
        names: provider names (see ``gtmkit.providers.PROVIDERS``).
        mode: ``"auto"`` — live for a provider whose key variable is set (and that has no
            ``base_urls`` entry), simulated otherwise; ``"sandbox"`` — always the simulated
            world, no key, no spend; ``"live"`` — the real APIs, a key is required
            (:class:`MissingCredentials` names the variable to set).
        transport: what requests go through instead of the default: for providers served in
            process by the simulation, e.g. ``gtmkit.sandbox.simulate(...).transport`` (default:
            a plain ``simulate()``); for live providers, e.g. a recording proxy or an
            ``httpx.MockTransport`` (default: the network). Simulated providers with a
            ``base_urls`` entry always use the network, and never reach a real provider host.
        options: constructor options by provider name (e.g. ``{"dropcontact": {"max_polls":
            5}}``, or a simulation's ``adapter_options``). Simulated adapters default to
            waiting settings for a simulation without latency.
        base_urls: ``{name: base_url}`` overrides, e.g. the loopback server's printed map;
            requests go over the real network stack to that URL. ``hunter_verifier`` falls
            back to the ``hunter`` entry.
        timeout: per-request timeout in seconds.
        api_keys: explicit keys by provider name (else the environment variables).
        env_file: a git-ignored ``.env`` file read for key variables that are not set in the
            environment (``None`` to skip). Its values are never copied into ``os.environ``.
        learn_patterns: when ``pattern`` is connected, every other finder's hits teach it
            their domain's email pattern as they arrive (emails already in the list are taught
            with ``conn["pattern"].observe(records)``).
        http: the network transport under the client (``gtmkit.providers.transport``):
            ``"httpx"`` (httpcore) or ``"aiohttp"`` (``httpx-aiohttp``); default: the
            ``GTMKIT_HTTP`` environment variable, else ``"httpx"``. The client above it is
            the same ``httpx.AsyncClient`` either way. Ignored for requests that go through
            ``transport``.

    Returns:
        a :class:`Connection` (use ``async with``, or call ``await conn.aclose()``).

    Raises:
        KeyError: an unknown provider name.
        MissingCredentials: live mode and no key for a provider.
    """
    if mode not in ("auto", "sandbox", "live"):
        raise ProviderUsageError(f"mode must be 'auto', 'sandbox' or 'live', not {mode!r}")
    if isinstance(names, str):
        names = [names]
    http = resolve_http(http)
    classes = {name: provider_class(name) for name in dict.fromkeys(names)}
    base_urls = dict(base_urls or {})
    options = dict(options or {})
    # Key precedence: explicit api_keys, then the environment, then the .env file (cleaned).
    api_keys = resolve_api_keys(classes, api_keys, env_file=env_file) if mode != "sandbox" else {}

    # the other credentials an adapter needs (ZoomInfo's client id), by the same precedence
    extra: dict[str, dict[str, str]] = {
        name: resolve_credential_options(cls, env_file=env_file, given=options.get(name))
        for name, cls in classes.items()
        if mode != "sandbox" and getattr(cls, "credential_options", None)
    }
    modes: dict[str, ResolvedMode] = {}
    for name, cls in classes.items():
        if cls.kind in ("local", "manual"):
            modes[name] = "local"
        elif mode == "auto":
            has_key = bool(api_keys.get(name)) or bool(cls.env_var and os.environ.get(cls.env_var))
            has_key = has_key and len(extra.get(name, {})) == len(cls.credential_options)
            loopback = _base_url_for(name, cls, base_urls) is not None
            modes[name] = "live" if has_key and not loopback else "sandbox"
        else:
            modes[name] = mode
        if modes[name] == "live" and not (
            api_keys.get(name) or (cls.env_var and os.environ.get(cls.env_var))
        ):
            raise MissingCredentials(
                f"{name}: live mode needs an API key. Set the {cls.env_var} environment "
                "variable (or put it in a git-ignored .env file); keys are never notebook "
                "parameters."
            )

    mounts: dict[str, httpx.AsyncBaseTransport] = {}
    sandbox_transport: httpx.AsyncBaseTransport | None = None
    sandbox_defaults: Mapping[str, Mapping[str, Any]] = {}
    in_process = [
        n
        for n, cls in classes.items()
        if modes[n] == "sandbox" and _base_url_for(n, cls, base_urls) is None
    ]
    if "sandbox" in modes.values():
        # lazy: live use never loads the simulation (nor its world)
        from gtmkit.sandbox.simulation import adapter_options

        sandbox_defaults = adapter_options()
    if in_process:
        sandbox_transport = transport
        if sandbox_transport is None:
            from gtmkit.sandbox.simulation import simulate

            sandbox_transport = simulate().transport
        for n in in_process:
            host = httpx.URL(classes[n].default_base_url).host
            mounts[f"{_HOST_PREFIX}{host}"] = sandbox_transport

    # Adapters first (a bad option fails here, before any client exists), then the client.
    providers: dict[str, Provider] = {}
    for name, cls in classes.items():
        kwargs: dict[str, Any] = dict(options.get(name, {}))
        if modes[name] == "sandbox":
            kwargs["api_key"] = SANDBOX_KEY  # a real key is never sent to the simulation
            for key, value in sandbox_defaults.get(name, {}).items():
                kwargs.setdefault(key, value)
        elif modes[name] == "live":
            if api_keys.get(name):
                kwargs["api_key"] = api_keys[name]
            kwargs["live"] = True
            kwargs.update(extra.get(name, {}))
        base_url = _base_url_for(name, cls, base_urls)
        if base_url:
            kwargs["base_url"] = base_url
        providers[name] = cls(None, **kwargs)
    default: httpx.AsyncBaseTransport  # live providers' requests, and loopback sandbox ones
    if "live" in modes.values():
        default = transport or network_transport(http)
    else:
        from gtmkit.providers.registry import provider_names

        real_hosts = {httpx.URL(provider_class(n).default_base_url).host for n in provider_names()}
        refused = frozenset(h for h in real_hosts if "." in h)
        default = _NoRealProviders(refused, network_transport(http))
    client = ApiClient(
        transport=default,
        mounts=mounts or None,
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
    )
    for provider in providers.values():
        provider.client = client
    if learn_patterns:
        _wire_pattern_learning(providers)
    return Connection(client, providers, modes, sandbox_transport)


def _wire_pattern_learning(providers: Mapping[str, Provider]) -> None:
    from gtmkit.providers.pattern import PatternProvider

    learners = [p for p in providers.values() if isinstance(p, PatternProvider)]
    for learner in learners:
        for provider in providers.values():
            if provider.kind == "finder" and provider is not learner:
                provider.add_hit_observer(learner.learn_from_hit)


def _base_url_for(name: str, cls: type[Provider], base_urls: Mapping[str, str]) -> str | None:
    if name in base_urls:
        return base_urls[name]
    api_name = getattr(cls, "api_name", None)
    if api_name and api_name in base_urls:
        return base_urls[api_name]
    return None
