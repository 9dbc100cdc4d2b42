"""The network transport under ``connect()``'s ``httpx.AsyncClient``: httpx's own or aiohttp's.

``connect(..., http="httpx")`` sends requests through httpx's ``AsyncHTTPTransport``
(httpcore); ``http="aiohttp"`` through the ``httpx-aiohttp`` package's ``AiohttpTransport``, an
``httpx.AsyncBaseTransport`` that hands each request to an ``aiohttp.ClientSession``
(:mod:`gtmkit.providers._aiohttp` says what gtmkit changes in it). Everything above the
transport is httpx either way: the adapters, ``httpx.Request``/``Response``, timeouts, status
handling, gzip/deflate decoding (the aiohttp session does not decompress; httpx does), log
redaction. ``GTMKIT_HTTP`` in the environment sets a process's default
(``GTMKIT_HTTP=aiohttp pytest ...`` runs a suite on aiohttp).

Why a choice: on this machine one process reaches a few hundred requests/s through httpcore,
bound by its own CPU, and several times that through aiohttp's C-accelerated HTTP parser
(``benchmarks/bench_transport.py``; figures in ``benchmarks/README.md``).

Example:
    >>> resolve_http("aiohttp"), resolve_http(None) in HTTP_CHOICES
    ('aiohttp', True)
    >>> type(network_transport("httpx")).__name__, type(network_transport("aiohttp")).__name__
    ('AsyncHTTPTransport', 'AiohttpTransport')
"""

from __future__ import annotations

import os
from typing import Literal, cast, get_args

import httpx

from gtmkit.providers.errors import ProviderUsageError

HttpChoice = Literal["httpx", "aiohttp"]
HTTP_CHOICES: tuple[str, ...] = get_args(HttpChoice)
#: the transport when neither ``http=`` nor ``GTMKIT_HTTP`` says otherwise
DEFAULT_HTTP: HttpChoice = "httpx"
#: the environment variable that sets a process's default
HTTP_ENV = "GTMKIT_HTTP"


def resolve_http(http: str | None) -> HttpChoice:
    """``http``, else ``$GTMKIT_HTTP``, else :data:`DEFAULT_HTTP`; anything else is refused."""
    chosen = http if http is not None else (os.environ.get(HTTP_ENV) or DEFAULT_HTTP)
    if chosen not in HTTP_CHOICES:
        where = "http=" if http is not None else f"the {HTTP_ENV} environment variable"
        raise ProviderUsageError(
            f"{where} must be one of {', '.join(map(repr, HTTP_CHOICES))}, not {chosen!r}"
        )
    return cast(HttpChoice, chosen)


def network_transport(http: HttpChoice) -> httpx.AsyncBaseTransport:
    """A fresh transport to the network for ``http`` (each client owns its own)."""
    if http == "aiohttp":
        from gtmkit.providers._aiohttp import AiohttpTransport  # aiohttp loads only if chosen

        return AiohttpTransport()
    return httpx.AsyncHTTPTransport()


__all__ = ["DEFAULT_HTTP", "HTTP_CHOICES", "HTTP_ENV", "HttpChoice", "network_transport",
           "resolve_http"]  # fmt: skip
