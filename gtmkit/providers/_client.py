"""The one ``httpx.AsyncClient`` every adapter of a connection shares, minus a per-call cost.

httpx runs every response through its cookie jar (``Client._send_single_request`` calls
``cookies.extract_cookies``), which builds a ``urllib.request.Request`` and an
``email.message.Message`` for each answer even when there is no cookie to read: about a tenth
of a waterfall's per-call CPU in ``benchmarks/bench_waterfall.py``. ``CookieJar.make_cookies``
only ever reads ``Set-Cookie`` and ``Set-Cookie2`` (Python's ``http.cookiejar``), so skipping the
jar when neither header is present changes nothing; a provider that does set a cookie still
has it kept and sent back, exactly as with a plain client.

Example:
    >>> import asyncio
    >>> async def cookies_kept():
    ...     def answer(request):
    ...         return httpx.Response(200, headers={"Set-Cookie": "s=1"}, json={})
    ...     async with ApiClient(transport=httpx.MockTransport(answer)) as client:
    ...         await client.get("https://api.example.com/")
    ...         return dict(client.cookies)
    >>> asyncio.run(cookies_kept())
    {'s': '1'}
"""

from __future__ import annotations

from typing import Any

import httpx


class _CookiesWhenSet(httpx.Cookies):
    """A cookie jar that is only consulted for responses that set a cookie."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class ApiClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` whose cookie jar skips responses without a cookie."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cookies = self.cookies  # through the setter below: the jar becomes the fast one

    @property
    def cookies(self) -> httpx.Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._cookies = _CookiesWhenSet(cookies)
