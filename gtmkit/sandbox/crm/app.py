"""The simulated CRMs and sequencers behind one in-process transport, on the vendors' hosts.

Reuses the provider twins' machinery (``gtmkit.sandbox.http``): requests are parsed into the
same :class:`~gtmkit.sandbox.http.wire.Exchange`, each vendor is a
:class:`~gtmkit.sandbox.http.api.ProviderAPI` subclass (its routing, bearer parsing and reply
helpers), and :class:`CrmTransport` is a :class:`~gtmkit.sandbox.http.transport.SandboxTransport`
that routes by the CRM vendors' hosts instead of the enrichment providers'.

What is new here is what CRMs have and providers do not: stored records that writes change,
a simulated clock (HubSpot's 10-second burst window and daily limit, Salesforce's 24-hour API
allocation) that pacing in tests waits on instead of the wall clock, and per-record errors.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx

from gtmkit.sandbox.http.api import ProviderAPI
from gtmkit.sandbox.http.transport import SandboxTransport
from gtmkit.sandbox.http.wire import Exchange, Reply, json_reply

__all__ = ["CRM_HOSTS", "CrmApp", "CrmTransport", "SimClock", "Window"]

#: host → (vendor, API path prefix stripped before routing)
CRM_HOSTS: dict[str, tuple[str, str]] = {
    "api.hubapi.com": ("hubspot", ""),
    "gtmkit-sandbox.my.salesforce.com": ("salesforce", ""),
    "api.outreach.io": ("outreach", "/api/v2"),
    "api.salesloft.com": ("salesloft", "/v2"),
}


class SimClock:
    """Simulated seconds: ``now()`` reads it, ``await sleep(s)`` advances it at once."""

    def __init__(self, start: float = 0.0) -> None:
        self.t = float(start)
        self.slept = 0.0

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        self.slept += max(0.0, seconds)
        self.advance(seconds)


class Window:
    """At most ``limit`` requests per ``seconds`` (a sliding window on the simulated clock)."""

    def __init__(self, clock: SimClock, limit: int, seconds: float) -> None:
        self.clock, self.limit, self.seconds = clock, limit, seconds
        self._sent: deque[float] = deque()

    def _trim(self) -> None:
        now = self.clock.now()
        while self._sent and self._sent[0] <= now - self.seconds:
            self._sent.popleft()

    def admit(self) -> bool:
        self._trim()
        if len(self._sent) >= self.limit:
            return False
        self._sent.append(self.clock.now())
        return True

    def remaining(self) -> int:
        self._trim()
        return max(0, self.limit - len(self._sent))

    def reset_in(self) -> float:
        self._trim()
        return 0.0 if not self._sent else self._sent[0] + self.seconds - self.clock.now()


class CrmApp:
    """All simulated CRM vendors, their stored records and the request counters.

    Args:
        clock: the simulated clock (shared with the clients' pacing in tests).
        limits: vendor → option overrides for its limits (see each vendor module).
    """

    # ProviderAPI reads these from its app: CRM twins have no oracle and bill nothing
    oracle: Any = None
    ledger: Any = None

    def __init__(
        self,
        *,
        clock: SimClock | None = None,
        limits: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        from gtmkit.sandbox.crm.hubspot import HubSpotAPI
        from gtmkit.sandbox.crm.outreach import OutreachAPI
        from gtmkit.sandbox.crm.salesforce import SalesforceAPI
        from gtmkit.sandbox.crm.salesloft import SalesloftAPI

        self.clock = clock or SimClock()
        self.limits = {k: dict(v) for k, v in (limits or {}).items()}
        self.requests: list[tuple[str, str, str]] = []  # (vendor, method, path)
        self.refused: Counter[str] = Counter()  # calls each vendor's limits turned away
        self.apis: dict[str, ProviderAPI] = {
            "hubspot": HubSpotAPI(self),
            "salesforce": SalesforceAPI(self),
            "outreach": OutreachAPI(self),
            "salesloft": SalesloftAPI(self),
        }

    def respond(
        self,
        vendor: str,
        method: str,
        path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        api = self.apis[vendor]
        self.requests.append((vendor, method.upper(), path))
        ex = Exchange(vendor, method, path, raw_query, headers, body)
        routed = api.route(ex)
        if isinstance(routed, Reply):
            return routed
        if not api.api_key(ex) and path not in api.public_paths:  # type: ignore[attr-defined]
            return api.unauthorized(ex)
        refused = api.admit(ex)  # type: ignore[attr-defined]
        if refused is not None:
            self.refused[vendor] += 1
            return refused
        reply = routed(ex)
        reply.headers.extend(api.limit_headers(ex))  # type: ignore[attr-defined]
        return reply

    def writes(self, vendor: str) -> int:
        """Write calls (POST/PATCH/PUT/DELETE) the vendor received."""
        return sum(1 for v, m, _ in self.requests if v == vendor and m != "GET")


class CrmTransport(SandboxTransport):
    """The simulated CRMs as an ``httpx.AsyncBaseTransport`` (``transport.app``, ``.clock``).

    Example:
        >>> t = CrmTransport()
        >>> t.app.apis["hubspot"].name
        'hubspot'
    """

    def __init__(self, app: CrmApp | None = None, **options: Any) -> None:
        self.app = app or CrmApp(**options)  # type: ignore[assignment]
        self.clock = self.app.clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        routed = CRM_HOSTS.get(request.url.host)
        path = request.url.path
        if routed is None or not path.startswith(routed[1]):
            return httpx.Response(
                404, json={"error": f"not a simulated CRM: {request.url.host}"}, request=request
            )
        vendor, prefix = routed
        body = await request.aread()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        reply = self.app.respond(  # type: ignore[attr-defined]
            vendor,
            request.method,
            path[len(prefix) :] or "/",
            request.url.query.decode(),
            headers,
            body,
        )
        raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.all_headers()]
        return httpx.Response(
            reply.status, headers=raw, stream=httpx.ByteStream(reply.body), request=request
        )


class CrmAPI(ProviderAPI):
    """A CRM vendor's surface: a ProviderAPI with records, limits and a clock."""

    #: paths answered without a bearer token (an OAuth token endpoint)
    public_paths: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, app: CrmApp) -> None:  # type: ignore[override]
        super().__init__(app)  # type: ignore[arg-type]
        self.crm = app
        self.clock = app.clock
        self._next_id = 0

    def option(self, name: str, default: Any) -> Any:
        return self.crm.limits.get(self.name, {}).get(name, default)

    def new_id(self, width: int = 0) -> str:
        self._next_id += 1
        return str(self._next_id).rjust(width, "0") if width else str(self._next_id)

    def api_key(self, ex: Exchange) -> str | None:
        """The bearer token; with the ``tokens`` option only those are valid (a revoked or
        wrong token is then answered like a missing one)."""
        token = self._bearer(ex)
        allowed = self.option("tokens", None)
        return None if allowed is not None and token not in allowed else token

    def admit(self, ex: Exchange) -> Reply | None:
        """The vendor's throttle answer, or ``None`` when the call may go through."""
        return None

    def limit_headers(self, ex: Exchange) -> list[tuple[str, str]]:
        return []

    def body(self, ex: Exchange) -> Any:
        try:
            return ex.json()
        except ValueError:
            return None

    def ok(self, status: int, obj: Any) -> Reply:
        return json_reply(status, obj)
