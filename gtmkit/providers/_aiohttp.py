"""``AiohttpTransport``: ``httpx_aiohttp.AiohttpTransport`` with an exception map gtmkit can
bill by, and no cookie jar of its own (``connect(..., http="aiohttp")`` uses it).

What changes against the package (its source: ``httpx_aiohttp/transport.py``, 0.2.0):

* **the exception map.** The package maps every ``aiohttp.ClientConnectionError`` to
  ``httpx.ConnectTimeout``, and so also a reset, a server that disconnects, and a socket read
  timeout's parent class. To gtmkit (``errors.error_for_exception``) a connect timeout means
  *nothing was sent, nothing billed*: a call that may have been billed would be booked as
  free. Here each aiohttp failure becomes the httpx error that says the same about the request
  (aiohttp's exception hierarchy: docs.aiohttp.org, Client Reference, "Hierarchy of
  exceptions"): connector failures (refused, DNS, TLS) → ``ConnectError``; connect timeouts →
  ``ConnectTimeout``; socket read timeouts → ``ReadTimeout``; a server that disconnects or
  sends a broken status line or headers → ``RemoteProtocolError``; a body cut short or a reset
  while reading → ``ReadError``; a reset while writing → ``WriteError``. aiohttp failures the
  package leaves unmapped (a malformed response line) no longer escape as bare aiohttp
  exceptions, and errors raised while the body streams are mapped the same way.
* **no silent re-send.** aiohttp sends an idempotent request (Hunter's and PDL's lookups are
  GETs) a second time when its connection breaks; the provider may have billed the first. The
  session's ``_retry_connection`` is turned off, as aiohttp's own test client does.
* **no cookie jar.** ``aiohttp.ClientSession`` keeps cookies by default; httpx's client already
  does, and sends them, so the session gets a ``DummyCookieJar``.
* the aiohttp exception is not chained to the httpx one (``from None``): its ``request_info``
  carries the request headers, the API key among them.

Example:
    >>> import aiohttp
    >>> type(httpx_error(aiohttp.ServerDisconnectedError())).__name__
    'RemoteProtocolError'
    >>> type(httpx_error(aiohttp.ConnectionTimeoutError())).__name__
    'ConnectTimeout'
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, NoReturn, cast

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as _PackageTransport

#: aiohttp failure → the httpx one that says the same about the request; most specific first
#: (several of aiohttp's classes derive from one another)
_MAP: tuple[tuple[type[BaseException], type[Exception]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.ReadError),
    (aiohttp.ClientConnectionResetError, httpx.WriteError),
    (aiohttp.ClientOSError, httpx.ReadError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.InvalidURL, httpx.InvalidURL),
    (aiohttp.ClientConnectionError, httpx.ReadError),
    (asyncio.TimeoutError, httpx.ReadTimeout),
)


def httpx_error(exc: BaseException, request: httpx.Request | None = None) -> BaseException:
    """The httpx exception for ``exc`` — an aiohttp one, or the package's own mapping of one
    (the aiohttp exception is its cause); any other exception is returned unchanged."""
    cause = exc.__cause__
    if isinstance(exc, httpx.HTTPError) and isinstance(cause, aiohttp.ClientError | TimeoutError):
        exc = cause
    elif not isinstance(exc, aiohttp.ClientError | asyncio.TimeoutError):
        return exc
    kind: type[Exception] = httpx.TransportError  # unknown: the request may have gone
    for source, target in _MAP:
        if isinstance(exc, source):
            kind = target
            break
    message = f"{type(exc).__name__}: {exc}"
    if issubclass(kind, httpx.TransportError):
        return kind(message, request=request)
    return kind(message)


def _raise_mapped(exc: Exception, request: httpx.Request) -> NoReturn:
    mapped = httpx_error(exc, request)
    if mapped is exc:
        raise exc
    raise mapped from None


class _MappedStream(httpx.AsyncByteStream):
    """A response body whose read errors are mapped like the request's."""

    def __init__(self, inner: httpx.AsyncByteStream, request: httpx.Request) -> None:
        self._inner, self._request = inner, request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except Exception as exc:
            _raise_mapped(exc, self._request)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except Exception as exc:
            _raise_mapped(exc, self._request)


class AiohttpTransport(_PackageTransport):
    """``httpx_aiohttp.AiohttpTransport`` with gtmkit's exception map and no cookie jar."""

    def get_client(self) -> Any:
        limit = self.limits.max_connections
        connector = aiohttp.TCPConnector(
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
            limit=0 if limit is None else limit,  # aiohttp's 0: no limit (httpx's None)
        )
        session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
        # aiohttp re-sends a GET/PUT/DELETE once when its connection breaks (RFC 9112 §9.3.1):
        # the provider may have billed the first one. httpx never re-sends a request it sent,
        # and gtmkit's retries go through the budget; aiohttp's own test client turns it off
        # the same way (aiohttp/test_utils.py), there being no public switch.
        session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except Exception as exc:
            _raise_mapped(exc, request)
        response.stream = _MappedStream(cast(httpx.AsyncByteStream, response.stream), request)
        return response


__all__ = ["AiohttpTransport", "httpx_error"]
