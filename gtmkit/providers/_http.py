"""Shared plumbing for HTTP adapters: send one request, read the answer, never leak the key.

Adapters subclass :class:`HttpProvider`, set ``auth_header`` and call :meth:`HttpProvider._send`;
they only decide what a hit and a miss look like. Everything about statuses → typed errors
lives in :mod:`gtmkit.providers.errors`.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from gtmkit.providers._redact import install_log_redaction
from gtmkit.providers.base import Finding, Provider, Throttle
from gtmkit.providers.errors import MalformedResponse, NotConnected, error_for_response
from gtmkit.providers.throttle import read_throttle
from gtmkit.schema import EmailStatus, Outcome

logger = logging.getLogger("gtmkit.providers")


@dataclass(frozen=True, slots=True)
class Reply:
    """One HTTP answer, parsed and scrubbed of the key."""

    status: int
    body: Any
    text: str
    headers: Mapping[str, str]
    latency_s: float
    throttle: Throttle | None


class SearchResults(list):  # type: ignore[type-arg]
    """People found by a provider search: a plain ``list[dict]`` plus what the call cost.

    Attributes:
        credits: credits the search cost (as reported or as the billing rule implies).
        total: total matches the provider reports (may exceed ``len(self)``).
        raw: the parsed response body, kept for audit.
        http_status: HTTP status of the answer.
        throttle: rate-limit headers, if any.
        pattern: the domain's email pattern, when the provider reports one.
    """

    credits: float = 0.0
    total: int | None = None
    raw: Any = None
    http_status: int | None = None
    throttle: Throttle | None = None
    #: the domain's email pattern, when the provider reports one (Hunter: ``{first}.{last}``)
    pattern: str | None = None


class HttpProvider(Provider):
    """A provider reached over HTTP with its key in a request header (never the URL)."""

    #: header that carries the key (``x-api-key``, ``X-API-KEY``, ``X-KEY``...)
    auth_header: ClassVar[str]
    #: name of the simulated API that serves this adapter (the sandbox host map's value)
    api_name: ClassVar[str]

    def _headers(self, *, json_body: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", self.auth_header: self._key()}
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _scrub(self, value: Any, text: str | None = None) -> Any:
        """Remove the key from every string in a parsed body (defence in depth: a provider
        echoing request parameters back must not put the key into the audit trail).

        ``text`` is the raw body: when the key is made only of characters JSON never escapes,
        no spelling of it occurs in the text and the text has no ``\\u`` escape, no parsed
        string can contain the key and the walk is skipped.
        """
        key = self._key()
        if not key:
            return value
        if (
            text is not None
            and _JSON_PLAIN.fullmatch(key)
            and not self._key_found_in(text)
            and "\\u" not in text  # no \uXXXX escape could be spelling the key
        ):
            return value
        return _replace_everywhere(value, self.redact)

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
    ) -> Reply:
        """Send one request and return the parsed answer (status not yet judged)."""
        if self.client is None:
            raise NotConnected(
                f"{self.name}: no httpx.AsyncClient; build adapters with "
                "gtmkit.providers.connect(...) or pass client=..."
            )
        install_log_redaction()  # before httpx/httpcore log this call: echoed keys are masked
        url = f"{self.base_url}/{path.lstrip('/')}"
        clean_params = {k: v for k, v in (params or {}).items() if v not in (None, "", [], ())}
        if (
            clean_params
            and isinstance(self.client, httpx.AsyncClient)
            and not self.client.params
            and "?" not in url
        ):
            # The same URL httpx builds from ``params=`` (same encoder), parsed once instead
            # of parsed, split, merged and parsed again on every call.
            url = f"{url}?{httpx.QueryParams(clean_params)}"
            clean_params = {}
        started = time.perf_counter()
        response = await self.client.request(
            method,
            url,
            params=clean_params or None,
            json=json_body,
            headers=self._headers(json_body=json_body is not None),
        )
        content = await response.aread()
        latency = time.perf_counter() - started
        text = content.decode("utf-8", errors="replace")
        body: Any = None
        if text.strip():
            try:
                body = json.loads(text)
            except ValueError:
                body = None
        if logger.isEnabledFor(logging.DEBUG):  # the redacted URL is built only when logged
            logger.debug(
                "%s %s %s -> %s in %.3fs",
                self.name,
                method,
                self.redact(str(response.request.url)),
                response.status_code,
                latency,
            )
        # ``items()`` reads httpx's header list once; ``dict(headers)`` would rescan the whole
        # list for every key. Repeated headers are joined with ", " either way.
        headers = dict(response.headers.items())
        return Reply(
            status=response.status_code,
            body=self._scrub(body, text),
            text=self.redact(text[:2000]),
            headers=headers,
            latency_s=latency,
            throttle=read_throttle(headers),
        )

    def _check(self, reply: Reply) -> None:
        """Raise the typed error for an error answer; raise MalformedResponse for a 2xx whose
        body is not a JSON object."""
        error = error_for_response(
            self.name, reply.status, reply.body, reply.headers, text=reply.text, redact=self.redact
        )
        if error is None and not isinstance(reply.body, Mapping):
            error = MalformedResponse(
                self.redact(
                    f"{self.name}: HTTP {reply.status} body is not a JSON object: "
                    f"{reply.text[:120]!r}"
                ),
                provider=self.name,
                http_status=reply.status,
            )
        if error is not None:
            # Non-JSON error answers (Apollo's text/plain 401) are kept as their text.
            error.body = reply.body if reply.body is not None else (reply.text or None)
            error.throttle = reply.throttle
            raise error

    def _finding(
        self,
        reply: Reply,
        outcome: Outcome,
        *,
        endpoint: str | None = None,
        fields: Mapping[str, Any] | None = None,
        email_status: EmailStatus | None = None,
        provider_status: str | None = None,
        confidence: float | None = None,
        credits: float = 0.0,
        latency_s: float | None = None,
        raw: Any = None,
        charge_known: bool = True,
    ) -> Finding:
        return Finding(
            provider=self.name,
            endpoint=endpoint or self.endpoint,
            outcome=outcome,
            fields={k: v for k, v in (fields or {}).items() if v not in (None, "", [], {})},
            email_status=email_status,
            provider_status=provider_status,
            confidence=confidence,
            credits=float(credits),
            latency_s=reply.latency_s if latency_s is None else latency_s,
            http_status=reply.status,
            raw=reply.body if raw is None else raw,
            throttle=reply.throttle,
            charge_known=charge_known,
        )


_JSON_PLAIN = re.compile(r"[A-Za-z0-9_.:+=~-]+")


def _replace_everywhere(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {
            _replace_everywhere(k, redact): _replace_everywhere(v, redact) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace_everywhere(v, redact) for v in value]
    return value


def as_confidence(value: Any, *, scale: float) -> float | None:
    """A provider score as 0..1 (``scale`` is the provider's maximum, e.g. 100 or 10)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, min(1.0, number / scale))


def as_mapping(value: Any) -> Mapping[str, Any]:
    """``value`` if the body part is a JSON object, else an empty one (a miss, not a crash)."""
    return value if isinstance(value, Mapping) else {}


def first_text(*values: Any) -> str | None:
    """The first value that is a non-empty string."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None
