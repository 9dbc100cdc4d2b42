"""Typed provider errors: the one place HTTP statuses and provider error bodies become exceptions.

Adapters never raise these out of ``Provider.lookup``; they are carried on
``Finding.error`` so the engine can decide what to do (retry, back off, open the circuit
breaker, or give up on the row). Messages never contain an API key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from gtmkit.errors import GtmkitError


class ProviderError(GtmkitError):
    """Base class for everything a provider call can fail with.

    Attributes:
        provider: provider name (``"apollo"``...).
        http_status: the HTTP status, or ``None`` for transport failures.
        retryable: whether sending the same request again may succeed.
        disables_provider: whether the provider is unusable for the rest of the run
            (bad key, out of credits): the engine's circuit breaker opens.
        charge_known: whether the credits of the failed call are known (copied to
            ``Finding.charge_known``). ``False`` when the request may have been processed and
            billed but no answer says so: a timeout or a broken connection after it was sent,
            a 2xx body that cannot be read.
    """

    retryable: bool = False
    disables_provider: bool = False
    charge_known: bool = True
    #: the error is about one endpoint only (Apollo's 403 ``API_INACCESSIBLE``: "This API key
    #: is not authorized to access api/v1/<endpoint>"; People API Search "requires a master API
    #: key"): the key works elsewhere, so an adapter with several endpoints switches off only
    #: the one in :attr:`endpoint` (see ``ApolloProvider.search``).
    endpoint_only: bool = False
    #: the endpoint the error came from, when known (``"mixed_people/api_search"``...).
    endpoint: str | None = None
    #: the provider's own error code from the body (``"INSUFFICIENT_CREDITS"``...), if any.
    code: str | None = None
    #: the parsed error body kept for audit (scrubbed of the key), if any.
    body: Any = None
    #: rate-limit headers of the answer (a ``Throttle``), if any.
    throttle: Any = None

    def __init__(self, message: str, *, provider: str = "", http_status: int | None = None):
        super().__init__(message)
        self.provider = provider
        self.http_status = http_status

    @property
    def kind(self) -> str:
        """Short machine-readable name used in attempt logs (``"rate_limited"``...)."""
        return _KIND_BY_CLASS.get(type(self), "provider_error")


class RateLimited(ProviderError):
    """429 (or a provider's own throttle answer, e.g. Hunter's 403). Retry after a pause."""

    retryable = True

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        http_status: int | None = 429,
        retry_after: float | None = None,
    ):
        super().__init__(message, provider=provider, http_status=http_status)
        self.retry_after = retry_after


class AuthError(ProviderError):
    """401/403: missing, invalid or out-of-scope key. Disables the provider for the run."""

    disables_provider = True


class OutOfCredits(ProviderError):
    """402 or a credits-exhausted body. Disables the provider for the run."""

    disables_provider = True


class BadRequest(ProviderError):
    """400/404/422 on a request the provider will never accept as sent, or a request that
    cannot be built from the row's values (the message names the field). Not retried."""

    #: the record field at fault, when the request could not be built from it
    field: str | None = None


class ProviderDown(ProviderError):
    """5xx, connection refused or reset: the provider is (maybe briefly) unavailable."""

    retryable = True


class ProviderTimeout(ProviderDown):
    """The request timed out. Retryable, like any transient outage."""


class MalformedResponse(ProviderError):
    """The body could not be parsed into the provider's documented shape. Retried once or twice:
    a truncated body is usually a transient fault, but the engine caps the retries.

    The provider answered, so it may have billed the call: the charge is unknown."""

    retryable = True
    charge_known = False


class ProviderUsageError(GtmkitError, ValueError):
    """A provider function was called with arguments it cannot use (the message says what to
    pass instead). Raised to the caller, never carried on a finding."""


class NotConnected(GtmkitError, RuntimeError):
    """An adapter was asked to send a request without an ``httpx.AsyncClient``."""


_KIND_BY_CLASS: dict[type[ProviderError], str] = {
    ProviderError: "provider_error",
    RateLimited: "rate_limited",
    AuthError: "auth",
    OutOfCredits: "out_of_credits",
    BadRequest: "bad_request",
    ProviderDown: "provider_down",
    ProviderTimeout: "timeout",
    MalformedResponse: "malformed_response",
}


# -- the one mapping from an HTTP answer to a typed error ------------------------------------

#: Body codes that mean "this key cannot be used" / "no credits left" / "slow down", per the
#: providers' own vocabularies (Apollo ``error_code``, Prospeo ``error_code``, PDL ``error.type``).
_AUTH_CODES = frozenset(
    {
        "API_INACCESSIBLE",
        "INVALID_ACCESS_TOKEN",
        "INVALID_API_KEY",
        "ACCOUNT_RESTRICTED",
        "authentication_error",
    }
)
_CREDIT_CODES = frozenset({"INSUFFICIENT_CREDITS", "payment_required"})
#: Auth answers about one endpoint's scope, not the key itself (Apollo, ../shared/providers.md
#: §1: 403 ``API_INACCESSIBLE`` "... not authorized to access api/v1/organizations/enrich ...
#: includes this endpoint in its configured scope"; docs.apollo.io/reference/people-api-search:
#: "This endpoint requires a master API key").
_ENDPOINT_CODES = frozenset({"API_INACCESSIBLE"})
_ENDPOINT_WORDS = re.compile(
    r"master\s+api\s+key|not\s+authori[sz]ed\s+to\s+access|configured\s+scope", re.IGNORECASE
)
_RATE_CODES = frozenset({"RATE_LIMITED", "RATE_LIMIT_EXCEEDED", "rate_limit_error"})
_DOWN_CODES = frozenset({"INTERNAL_ERROR", "api_error"})
_BAD_CODES = frozenset(
    {
        "INVALID_DATAPOINTS",
        "INVALID_REQUEST",
        "INVALID_FILTERS",
        "RECORD_LIMIT_EXCEEDED",
        "invalid_request_error",
        "wrong_params",
        "invalid_email",
        "invalid_domain",
        "invalid_first_name",
        "invalid_last_name",
        "invalid_full_name",
        "invalid_max_duration",
        "claimed_email",
    }
)
#: Hunter answers a per-second/minute throttle with 403 (its docs), not 429.
_RATE_LIMIT_403 = frozenset({"hunter", "hunter_verifier"})
#: Hunter's 429: its API reference (hunter.io/api-documentation/v2, "429 — You have reached
#: your usage limit. Upgrade your plan") makes it the plan's usage limit; its own MCP server
#: (hunter-io/chatgpt-mcp, src/helpers.ts ``mapHunterError``) reads a 429 as a throttle with
#: ``Retry-After`` (and a 402 as the quota). Both readings are kept, the answer decides: a 429
#: carrying ``Retry-After`` or throttle wording is a throttle, any other is the usage limit.
_QUOTA_429 = frozenset({"hunter", "hunter_verifier"})
_THROTTLE_WORDS = re.compile(
    r"rate[\s_-]?limit|too[\s_-]many[\s_-]requests|slow down|per[\s-](?:second|minute)",
    re.IGNORECASE,
)
#: Dropcontact answers "not enough credits for the whole batch" with 403.
_CREDITS_403 = frozenset({"dropcontact"})


def _lower_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {str(k).lower(): str(v) for k, v in headers.items()}


def retry_after_seconds(
    headers: Mapping[str, str] | None, *, now: datetime | None = None
) -> float | None:
    """Seconds to wait before retrying, from the headers of a throttled answer.

    Reads ``Retry-After`` (seconds or an HTTP date, any capitalisation), then PDL's
    ``x-ratelimit-reset`` (a UTC timestamp such as ``2022-02-23T20:19:55Z``), then Prospeo's
    ``x-minute-reset-seconds``. ``None`` when nothing says.

    Example:
        >>> retry_after_seconds({"Retry-After": "7"})
        7.0
    """
    h = _lower_headers(headers)
    now = now or datetime.now(UTC)
    value = h.get("retry-after")
    if value:
        seconds = _seconds_or_date(value, now)
        if seconds is not None:
            return seconds
    reset = h.get("x-ratelimit-reset")
    if reset:
        seconds = _seconds_or_date(reset, now)
        if seconds is not None:
            return seconds
    minute_reset = h.get("x-minute-reset-seconds")
    if minute_reset:
        return _float(minute_reset)
    return None


def _float(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def _seconds_or_date(text: str, now: datetime) -> float | None:
    seconds = _float(text)
    if seconds is not None:
        # A bare number this large is an epoch timestamp, not a delay.
        if seconds > 1_000_000_000:
            return max(0.0, seconds - now.timestamp())
        return seconds
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _error_code(body: Any) -> str | None:
    """The provider's machine-readable error code in a body, if any."""
    if not isinstance(body, Mapping):
        return None
    code = body.get("error_code")
    if isinstance(code, str):
        return code
    error = body.get("error")
    if isinstance(error, Mapping):  # PDL: {"error": {"type": "not_found" | [..], ...}}
        kind = error.get("type")
        if isinstance(kind, list) and kind:
            kind = kind[0]
        if isinstance(kind, str):
            return kind
    errors = body.get("errors")  # Hunter: {"errors": [{"id": ..., "code": ..., "details": ...}]}
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        ident = errors[0].get("id")
        if isinstance(ident, str):
            return ident
    return None


def error_detail(body: Any, text: str = "") -> str:
    """A short human-readable reason from a provider's error body (never the whole body)."""
    detail = ""
    if isinstance(body, Mapping):
        error = body.get("error")
        if isinstance(error, Mapping):
            detail = str(error.get("message") or "")
        elif isinstance(error, str):
            detail = error
        errors = body.get("errors")
        if not detail and isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            detail = str(errors[0].get("details") or "")
        for key in ("error_message", "message", "reason", "detail", "error_code"):
            if detail:
                break
            value = body.get(key)
            if isinstance(value, str):
                detail = value
    elif isinstance(body, str):
        detail = body
    if not detail:
        detail = text
    detail = " ".join(detail.split())
    return detail[:200] + ("…" if len(detail) > 200 else "")


#: How providers say a plan, quota or credit balance is used up — an answer no retry within the
#: run can change, unlike a per-second or per-minute throttle. From ../shared/providers.md:
#: Hunter's 429 "You have reached your usage limit. Upgrade your plan" and 402 "... purchase
#: additional credits"; PDL's 402 "You have reached your account maximum (all matches used)";
#: Dropcontact's 403 "You don't have enough credits ..."; Apollo's credits message on 402/422;
#: Lusha's 429 "Daily API quota limit exceeded"; "monthly quota" (Hunter's MCP server).
_QUOTA_WORDS = re.compile(
    r"usage limit|quota|all matches used|account maximum"
    r"|(?:insufficient|not enough|n't have enough|no more|no)\s+(?:\w+\s+)?credits?\b"
    r"(?!\s+(?:were|was|have been|will be)\s+(?:charged|used|consumed|deducted|billed))"
    r"|\bcredits?\s+(?:are\s+|have\s+been\s+)?(?:exhausted|used up|depleted|run out|ran out)"
    r"|out of\s+(?:\w+\s+)?credits?|(?:additional|more)\s+credits",
    re.IGNORECASE,
)
#: A throttle window named beside the word "quota" ("per-minute quota exceeded"): a rate limit.
_SHORT_WINDOW = re.compile(r"\b(?:second|minute)s?\b|/s\b|/min\b", re.IGNORECASE)


def quota_exhausted(detail: str) -> bool:
    """Whether an error message says the plan's quota or credits are used up.

    Example:
        >>> quota_exhausted("You have reached your usage limit. Upgrade your plan")
        True
        >>> quota_exhausted("The maximum number of api calls allowed for api/v1/people/match "
        ...                 "is 600 times per hour. Please upgrade your plan")
        False
    """
    return bool(_QUOTA_WORDS.search(detail)) and not (
        "quota" in detail.lower() and _SHORT_WINDOW.search(detail)
    )


def error_for_response(
    provider: str,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
    *,
    text: str = "",
    redact: Callable[[str], str] | None = None,
) -> ProviderError | None:
    """Map one provider answer to a typed error, or ``None`` if it is not an error.

    This is the single place where HTTP statuses and provider error bodies become exceptions.
    Misses are *not* errors and are recognised by the adapters before calling this (PDL's 404
    ``not_found``, Prospeo's ``NO_MATCH``, Hunter's 200 with ``data.email: null``...).

    Rules, provider body codes first, then the status:

    * ``OutOfCredits`` (first, never retried, disables the provider): 402,
      ``INSUFFICIENT_CREDITS`` / ``payment_required``, or any answer below 500 whose message says
      the plan's quota or credits are used up (:func:`quota_exhausted`: Hunter's 429 "usage
      limit", "monthly quota", "out of credits"...); Dropcontact's 403.
      Hunter's 429 unless it carries ``Retry-After`` or throttle wording (its API reference
      calls 429 the usage limit; its MCP server reads a 429 with ``Retry-After`` as a throttle).
    * ``RateLimited``: 429; Hunter's 403 (unless it speaks of the key);
      ``RATE_LIMITED`` / ``rate_limit_error`` bodies.
      ``retry_after`` from ``Retry-After`` / ``retry-after``, PDL's ``x-ratelimit-reset`` or
      Prospeo's ``x-minute-reset-seconds``.
    * ``AuthError``: 401, 403 (except Hunter's and Dropcontact's), ``API_INACCESSIBLE``,
      ``INVALID_API_KEY``, ``ACCOUNT_RESTRICTED``. ``endpoint_only`` when the answer is about
      one endpoint's scope (``API_INACCESSIBLE``, "requires a master API key", "not authorized
      to access <path>"), not the key.
    * ``BadRequest``: other 4xx (400, 404 when not a miss, 405, 409, 410, 422, 451...).
    * ``ProviderTimeout``: 408 and 504; ``ProviderDown``: other 5xx, ``INTERNAL_ERROR``.
    * ``MalformedResponse`` is raised by the adapters when a 2xx body cannot be read.

    Args:
        provider: adapter name (``"hunter"``...), used for the provider-specific rules.
        status: HTTP status code.
        body: parsed JSON body (or ``None`` / the text for non-JSON answers).
        headers: response headers (any capitalisation).
        text: raw text of the body, used for the message when the body is not JSON.
        redact: function removing the API key from the message.

    Example:
        >>> err = error_for_response("apollo", 429, {"message": "slow down"}, {"retry-after": "3"})
        >>> type(err).__name__, err.retry_after
        ('RateLimited', 3.0)
    """
    code = _error_code(body)
    detail = error_detail(body, text)
    body_error = isinstance(body, Mapping) and body.get("error") is True
    if 200 <= status < 300 and not body_error and code is None:
        return None
    if code == "not_found" and 200 <= status < 300:
        return None

    def message(kind: str) -> str:
        reason = f": {detail}" if detail else ""
        code_part = f" [{code}]" if code and code not in detail else ""
        out = f"{provider}: HTTP {status} {kind}{code_part}{reason}"
        return redact(out) if redact else out

    error: ProviderError
    if (
        code in _CREDIT_CODES
        or status == 402
        or (status < 500 and quota_exhausted(detail))
        or (status == 429 and provider in _QUOTA_429 and not _throttle_signal(detail, headers))
    ):
        # before the throttle rule: Hunter's 429 "usage limit reached" is a quota, not a pace
        error = OutOfCredits(message("out of credits"), provider=provider, http_status=status)
    elif (
        code in _RATE_CODES
        or status == 429
        or (status == 403 and provider in _RATE_LIMIT_403 and not _mentions_auth(detail))
    ):
        error = RateLimited(
            message("rate limited"),
            provider=provider,
            http_status=status,
            retry_after=retry_after_seconds(headers),
        )
    elif status == 403 and provider in _CREDITS_403 and not _mentions_auth(detail):
        error = OutOfCredits(message("out of credits"), provider=provider, http_status=status)
    elif code in _AUTH_CODES or status in (401, 403):
        error = AuthError(message("authentication failed"), provider=provider, http_status=status)
        if code in _ENDPOINT_CODES or (status == 403 and _ENDPOINT_WORDS.search(detail)):
            error.endpoint_only = True
    elif status in (408, 504):
        error = ProviderTimeout(message("timed out"), provider=provider, http_status=status)
    elif code in _DOWN_CODES or status >= 500:
        error = ProviderDown(message("provider down"), provider=provider, http_status=status)
    elif code in _BAD_CODES or 400 <= status < 500:
        error = BadRequest(message("bad request"), provider=provider, http_status=status)
    else:  # a 2xx/3xx carrying an error flag we do not know
        error = BadRequest(message("error answer"), provider=provider, http_status=status)
    error.code = code
    return error


def _throttle_signal(detail: str, headers: Mapping[str, str] | None) -> bool:
    """Whether an answer reads as a pace limit: a ``Retry-After`` header or throttle words."""
    return "retry-after" in _lower_headers(headers) or bool(_THROTTLE_WORDS.search(detail))


def _mentions_auth(detail: str) -> bool:
    lowered = detail.lower()
    return any(word in lowered for word in ("token", "api key", "apikey", "unauthori", "auth"))


# -- the one mapping from an exception raised by one call to a typed error -------------------

#: Failures before any byte of the request left: nothing can have been billed.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)
#: The request itself cannot be built or sent as asked (the row's values or the setup).
_UNSENDABLE = (
    httpx.InvalidURL,
    httpx.LocalProtocolError,
    httpx.UnsupportedProtocol,
    httpx.TooManyRedirects,
    UnicodeEncodeError,
)
#: The answer arrived but cannot be read (the provider may have billed it).
_UNREADABLE = (httpx.DecodingError, ValueError, KeyError, TypeError, AttributeError)


def error_for_exception(
    provider: str,
    exc: BaseException,
    *,
    field: str | None = None,
    redact: Callable[[str], str] | None = None,
) -> ProviderError | None:
    """Map an exception raised while one call was sent or read to a typed error.

    The companion of :func:`error_for_response` for calls that got no usable answer:

    * ``BadRequest`` (not retried, nothing billed): the request cannot be built or sent —
      ``httpx.InvalidURL`` (a value too long for a URL), ``LocalProtocolError``,
      ``UnsupportedProtocol``, ``TooManyRedirects``, ``UnicodeEncodeError``; ``field`` names
      the record field at fault.
    * ``ProviderTimeout`` / ``ProviderDown`` (retryable): timeouts and transport failures
      (httpx's, or a bare ``TimeoutError`` / ``OSError`` from a custom transport).
      ``charge_known`` is ``True`` only when nothing was sent (connect errors, connect and
      pool timeouts); after a read or write timeout, a reset or a remote protocol error the
      provider may have processed and billed the request.
    * ``MalformedResponse`` (retryable, charge unknown): an answer that cannot be decoded or
      read into the provider's documented shape.

    Returns ``None`` for anything else (a bug, not a provider failure).

    Example:
        >>> error = error_for_exception("pdl", httpx.ReadTimeout("timed out"))
        >>> type(error).__name__, error.retryable, error.charge_known
        ('ProviderTimeout', True, False)
        >>> error = error_for_exception("pdl", httpx.InvalidURL("URL too long"), field="title")
        >>> type(error).__name__, error.retryable, error.field
        ('BadRequest', False, 'title')
    """

    def message(text: str) -> str:
        out = f"{provider}: {text}"
        return redact(out) if redact else out

    error: ProviderError
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, _UNSENDABLE):
        where = f"from field {field!r} " if field else ""
        error = BadRequest(
            message(
                f"the request cannot be sent {where}({type(exc).__name__}: {exc}); fix or "
                "shorten that value in the list"
            ),
            provider=provider,
        )
        error.field = field
        return error
    sent = not isinstance(exc, _NOT_SENT)
    if isinstance(exc, (httpx.TimeoutException, TimeoutError)):
        after = " after the request was sent: it may have been processed and billed" if sent else ""
        error = ProviderTimeout(
            message(f"timed out ({type(exc).__name__}){after}"), provider=provider
        )
    elif isinstance(exc, (httpx.TransportError, OSError)):  # OSError: a custom transport's
        what = "connection broke after the request was sent" if sent else "connection failed"
        error = ProviderDown(message(f"{what} ({type(exc).__name__}: {exc})"), provider=provider)
    elif isinstance(exc, _UNREADABLE):
        return MalformedResponse(
            message(f"unreadable response ({type(exc).__name__}: {exc})"), provider=provider
        )
    elif isinstance(exc, httpx.HTTPError):  # any other httpx failure: the request as built
        error = BadRequest(
            message(f"the request failed ({type(exc).__name__}: {exc})"), provider=provider
        )
        error.field = field
        return error
    else:
        return None
    error.charge_known = not sent
    return error
