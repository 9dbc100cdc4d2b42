"""Base class of one simulated provider API: routing, auth, and the provider's own answers for
errors (bad key, out of credits, rate limited, server error, unknown path).

A provider module subclasses :class:`ProviderAPI`, lists its routes and writes one handler per
endpoint; :class:`~gtmkit.sandbox.http.app.SandboxApp` runs the shared pipeline around them
(auth → rate limit → faults → handler → latency).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from gtmkit.sandbox.http.wire import TEXT_TYPE, BadBody, Exchange, Reply, json_reply

if TYPE_CHECKING:
    from gtmkit.sandbox.http.app import SandboxApp
    from gtmkit.sandbox.http.ratelimit import RateInfo

Handler = Callable[[Exchange], Reply]

#: Date the simulated providers stamp verifications and refreshes with (bodies must not depend
#: on the wall clock, or the same request would not always get the same body).
SIMULATED_TODAY = "2026-06-01"


class ProviderAPI:
    """One provider's HTTP surface. Subclasses set ``name`` and ``routes``."""

    name: ClassVar[str]
    #: (METHOD, path below the API prefix) → handler method name.
    routes: ClassVar[dict[tuple[str, str], str]] = {}
    #: Path prefixes with a trailing id, e.g. ``("GET", "/enrich/all/")`` → handler name.
    prefix_routes: ClassVar[dict[tuple[str, str], str]] = {}

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.oracle = app.oracle
        self.ledger = app.ledger
        self._routes: dict[tuple[str, str], Handler] = {
            route: getattr(self, handler) for route, handler in self.routes.items()
        }
        self._prefix_routes: list[tuple[str, str, Handler]] = [
            (method, prefix, getattr(self, handler))
            for (method, prefix), handler in self.prefix_routes.items()
        ]

    # -- routing -------------------------------------------------------------------------
    def route(self, ex: Exchange) -> Handler | Reply:
        """The handler for the request, or the provider's 404/405 reply."""
        path = ex.path.rstrip("/") or "/"
        handler = self._routes.get((ex.method, path))
        if handler is not None:
            return handler
        for method, prefix, prefixed in self._prefix_routes:
            if path.startswith(prefix) and len(path) > len(prefix) and method == ex.method:
                return prefixed
        if any(p == path for (_, p) in self._routes):
            return self.error(ex, 405, "method_not_allowed", "Method Not Allowed")
        return self.error(ex, 404, "not_found", "Not Found")

    # -- auth ----------------------------------------------------------------------------
    def api_key(self, ex: Exchange) -> str | None:
        """The key the request carries, or ``None`` (any non-empty key is accepted)."""
        raise NotImplementedError

    @staticmethod
    def _bearer(ex: Exchange) -> str | None:
        value = ex.headers.get("authorization", "")
        if value[:7].lower() == "bearer ":
            return value[7:].strip() or None
        return None

    # -- the provider's own answers (override per provider) -------------------------------
    def error(self, ex: Exchange, status: int, code: str, message: str) -> Reply:
        """A generic error in the provider's error envelope."""
        return json_reply(status, {"error": message})

    def unauthorized(self, ex: Exchange) -> Reply:
        return self.error(ex, 401, "unauthorized", "Invalid API key")

    def out_of_credits(self, ex: Exchange) -> Reply:
        return self.error(ex, 402, "insufficient_credits", "Insufficient credits")

    def rate_limited(self, ex: Exchange, info: RateInfo) -> Reply:
        return json_reply(429, {"error": "Too many requests"}, retry_after(info))

    def server_error(self, ex: Exchange) -> Reply:
        return self.error(ex, 500, "internal_error", "Internal server error")

    def bad_body(self, ex: Exchange) -> Reply:
        """The JSON body could not be parsed."""
        return self.error(ex, 400, "invalid_request", "Invalid JSON in request body")

    def rate_headers(self, info: RateInfo) -> list[tuple[str, str]]:
        """Rate-limit headers sent with every authenticated answer."""
        return []

    # -- billing -------------------------------------------------------------------------
    def credits_for(self, units: float = 1) -> float:
        """Credits ``units`` billed units (a match, a record) cost: 1 each, unless the app's
        ``charge_credits`` makes this provider charge more than its adapter declares."""
        return units * self.app.credits_per_unit(self.name)

    def can_bill(self, ex: Exchange, units: float = 1) -> bool:
        return self.ledger.can_afford(self.name, ex.key_id or "", self.credits_for(units))

    def bill(self, ex: Exchange, units: float = 1) -> float:
        """Charge this request (metered by its fingerprint); nothing on a dry run. Returns the
        credits charged, for the provider's own billing signal (headers, ``credits_left``)."""
        credits = self.credits_for(units)
        if not ex.dry:
            self.ledger.charge(
                self.name, ex.key_id or "", credits, request=ex.fingerprint(), path=ex.path
            )
        return credits

    # -- helpers ---------------------------------------------------------------------------
    def params(self, ex: Exchange) -> dict[str, Any]:
        """Query parameters overlaid with a JSON object body (for APIs accepting both)."""
        params: dict[str, Any] = dict(ex.query)
        for name, values in ex.query_lists.items():
            if name.endswith("[]"):
                params[name[:-2]] = values
        if ex.method != "GET" and ex.body:
            body = ex.json()
            if isinstance(body, dict):
                params.update(body)
            elif body is not None:
                raise BadBody("JSON body must be an object")
        return params


def retry_after(info: RateInfo) -> list[tuple[str, str]]:
    """The ``Retry-After`` header of a 429, or nothing when the answer carries none."""
    value = info.retry_after_header
    return [] if value is None else [("retry-after", value)]


def text_reply(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, text.encode("utf-8"), headers=headers, content_type=TEXT_TYPE)


def gateway_reply(status: int) -> Reply:
    """What a load balancer in front of any provider answers when the backend is down."""
    reason = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
    title = f"{status} {reason.get(status, 'Error')}"
    html = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return Reply(status, html.encode(), content_type="text/html")


# -- small shared shape helpers ----------------------------------------------------------------


def percent(confidence: float | None) -> int | None:
    """A 0..1 (or already 0..100) confidence as an integer percentage."""
    if confidence is None:
        return None
    value = confidence * 100 if confidence <= 1.0 else confidence
    return max(0, min(100, round(value)))


def as_int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def attr(answer_attrs: Any, name: str) -> Any:
    """An attribute of an oracle answer, ``None`` when absent or blank."""
    value = answer_attrs.get(name) if answer_attrs else None
    return None if value == "" else value


def split_name(first: Any, last: Any, full: Any) -> tuple[str | None, str | None, str | None]:
    """(first, last, full) with whichever parts are missing derived from the others."""
    first = first or None
    last = last or None
    full = full or None
    if full is None and (first or last):
        full = " ".join(p for p in (first, last) if p)
    if full and not (first or last):
        parts = str(full).split()
        first, last = parts[0], " ".join(parts[1:]) or None
    return first, last, full


def sold_phones(answer: Any) -> dict[str, str]:
    """The numbers a found person's record holds at this provider, by type (mobile / direct /
    office; ``gtmkit.sandbox.phones``)."""
    return {phone.type: phone.number for phone in getattr(answer, "phones", ())}
