"""The one small interface every provider adapter implements.

An adapter speaks one provider's real HTTP API through an ``httpx.AsyncClient`` it is handed.
It knows the request shape, the auth header, how to read hit/miss/error bodies and how the
provider bills. It does *not* retry, rate-limit, cache, meter or budget: the waterfall engine
wraps those around every adapter the same way.

Contract (relied on by ``gtmkit.waterfall`` and ``gtmkit.compare``):

* ``await provider.lookup(record)`` never raises for provider, transport or input failures;
  it returns a :class:`Finding` whose ``outcome`` is ``"error"`` and whose ``error`` is a typed
  :class:`~gtmkit.providers.errors.ProviderError`. A row whose values cannot be sent (a field
  over :data:`~gtmkit.providers.inputs.MAX_FIELD_CHARS` characters, text that is not valid
  Unicode, a URL httpx refuses) gets a non-retryable ``BadRequest`` naming the field, and
  nothing is sent. Cancellation is the one exception: a lookup cancelled in flight raises
  ``asyncio.CancelledError`` (never swallowed) and its charge is unknown.
* ``provider.lookup_key(record)`` is the normalized identity of the lookup (same person asked
  the same way → same key); the engine caches and dedupes on ``(provider.name, endpoint,
  lookup_key)``.
* ``provider.max_credits`` is the worst case one call can cost, from the provider's docs
  (each adapter's docstring cites them); the engine reserves it against the budget before
  sending. A finding reporting more than that is a provider charging beyond its documented
  worst case: the engine stops that provider and says so.
* Billing: ``finding.credits`` is what the call cost as far as the provider's own signal says
  (PDL's ``x-call-credits-spent`` header, Prospeo's ``free_enrichment`` flag, a returned
  mobile, Dropcontact's refund on a confirmed miss), else as its documented billing rule
  implies; the engine settles the reservation to it. Credits may be negative: a refund of a
  credit an earlier finding of the same lookup reported (Dropcontact: a give-up reported the
  submit's credit, the resumed poll that confirms a miss reports −1). HTTP error answers
  (4xx, 429, 5xx) and failures before anything was sent (connect errors, connect and pool
  timeouts) cost 0 with ``charge_known=True``.
* ``finding.charge_known`` is ``False`` when the request may have been processed and billed
  but no answer says so (a read or write timeout or a broken connection after it was sent, a
  2xx body that cannot be read): the engine holds such a call at ``max_credits`` until the
  provider says otherwise, and never counts it free.
* Records are plain mappings of canonical field name → value (``None`` or ``""`` = missing).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx

from gtmkit.errors import GtmkitError
from gtmkit.providers.credentials import Secret, provider_key
from gtmkit.providers.errors import BadRequest, ProviderError, error_for_exception
from gtmkit.providers.inputs import blame, fields_sent, input_problem
from gtmkit.schema import BillingModel, EmailStatus, Outcome

Record = Mapping[str, Any]
logger = logging.getLogger("gtmkit.providers")
ProviderKind = Literal["finder", "verifier", "local", "manual"]


#: The input sets of a finder that looks a person up by name at a company: a first and last
#: (or full) name with the company's domain, website or name, in the order tried.
NAME_AT_COMPANY: tuple[tuple[str, ...], ...] = (
    ("first_name", "last_name", "company_domain"),
    ("first_name", "last_name", "website"),
    ("full_name", "company_domain"),
    ("full_name", "website"),
    ("first_name", "last_name", "company_name"),
    ("full_name", "company_name"),
)


class MissingCredentials(GtmkitError, RuntimeError):
    """Raised in live mode when no key was given and the provider's variable is unset."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A provider's default throttle: sustained requests per second and calls in flight."""

    per_second: float
    max_in_flight: int = 16


@dataclass(frozen=True, slots=True)
class Throttle:
    """What a response said about the provider's remaining quota (from rate-limit headers)."""

    remaining: int | None = None
    reset_after_s: float | None = None
    limit_per_second: float | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """The normalized result of one provider call.

    Attributes:
        provider: adapter name.
        endpoint: logical endpoint (e.g. ``"people/match"``), part of the cache key.
        outcome: ``hit`` (the target data was found), ``miss`` or ``error``.
        fields: canonical field → value for everything found (``email``, ``title``...).
        email_status: the common scale (valid / catch_all / risky / invalid / unknown).
        provider_status: the provider's own status word, verbatim.
        confidence: 0..1, the provider's confidence in the returned email, if it says.
        credits: credits actually charged (as reported, or as the billing rule implies).
        latency_s: wall time of the call including any polling.
        http_status: final HTTP status, ``None`` for transport failures and local steps.
        raw: the parsed response body kept for audit (never contains the key).
        error: the typed error when ``outcome == "error"``.
        throttle: quota information read from the response headers, if any.
        charge_known: whether ``credits`` is what the call cost. ``False`` when the request
            may have been processed and billed but no answer says so (a read or write timeout,
            a reset or a remote protocol error after it was sent, a 2xx body that cannot be
            read, a Dropcontact submit whose answer was lost): the engine then holds the call
            at ``max_credits`` instead of settling to ``credits``.
    """

    provider: str
    endpoint: str
    outcome: Outcome
    fields: Mapping[str, Any] = field(default_factory=dict)
    email_status: EmailStatus | None = None
    provider_status: str | None = None
    confidence: float | None = None
    credits: float = 0.0
    latency_s: float = 0.0
    http_status: int | None = None
    raw: Any = None
    error: ProviderError | None = None
    throttle: Throttle | None = None
    charge_known: bool = True

    @property
    def email(self) -> str | None:
        value = self.fields.get("email")
        return value or None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class Provider(ABC):
    """Base class for provider adapters. Subclasses set the class attributes and ``_lookup``.

    Args:
        client: the shared ``httpx.AsyncClient`` (real network, the in-process sandbox
            transport, or a ``MockTransport`` in tests).
        api_key: explicit key; else the ``env_var`` environment variable is read. Either is
            stripped of surrounding whitespace and validated
            (:class:`~gtmkit.providers.credentials.InvalidCredentials` names the source when
            it cannot go into an HTTP header).
        base_url: override of the provider's real base URL (e.g. the loopback sandbox).
        live: when true, a missing key raises :class:`MissingCredentials` at construction.
            The sandbox needs no real key; it is handed a placeholder.
    """

    name: ClassVar[str]
    kind: ClassVar[ProviderKind] = "finder"
    endpoint: ClassVar[str]
    default_base_url: ClassVar[str]
    env_var: ClassVar[str | None] = None
    #: Other credentials than the key: constructor keyword → environment variable (ZoomInfo's
    #: ``client_id``); :func:`gtmkit.providers.connect` reads them like the key (``.env`` too).
    credential_options: ClassVar[Mapping[str, str]] = {}
    #: Alternative sets of canonical fields that are each enough for a lookup.
    needs: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: Canonical fields the provider can return.
    returns: ClassVar[frozenset[str]] = frozenset()
    billing: ClassVar[BillingModel] = "per_hit"
    credits_per_lookup: ClassVar[float] = 1.0
    #: Worst-case credits one call can cost (reserved against the budget before sending).
    max_credits: ClassVar[float] = 1.0
    #: Default list price of one credit in US dollars (overridable per run).
    price_per_credit: ClassVar[float] = 0.0
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=10.0)
    #: The longest a healthy lookup may go without answering (``None``: the engine's default,
    #: ``BreakerPolicy.stall_s``). Adapters whose one lookup spans a long poll declare more.
    stall_after_s: float | None = None
    #: Position in ``gtmkit.providers.PROVIDERS`` (lower first; ties by name).
    listing_order: ClassVar[int] = 100

    def __init__(
        self,
        client: httpx.AsyncClient | None = None,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        live: bool = False,
    ) -> None:
        self.client = client
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        key = provider_key(type(self), api_key)
        if key is None and live and self.env_var:
            raise MissingCredentials(
                f"{self.name}: no API key. Set the {self.env_var} environment variable "
                "(or put it in a git-ignored .env file read by gtmkit.providers.connect); "
                "keys are never notebook parameters."
            )
        # Wrapped: a repr or vars() dump shows "Secret(***)"; pickling drops it (__getstate__).
        self.__key = Secret(key)
        #: called with (record, finding) after every hit (e.g. the pattern step learning)
        self._hit_observers: list[Callable[[Record, Finding], Any]] = []

    # -- credentials -------------------------------------------------------------------
    @property
    def has_key(self) -> bool:
        return bool(self.__key.reveal())

    def _key(self) -> str:
        """The API key for building request headers. Never log or store the result."""
        return self.__key.reveal() or ""

    def redact(self, text: str) -> str:
        """Remove the key from any text (error messages, URLs) before it is kept, in every
        spelling it can take there (raw, repr- or JSON-escaped, URL-encoded)."""
        return self.__key.redact(text)

    def _key_found_in(self, text: str) -> bool:
        """Whether any spelling of the key occurs in ``text`` (to skip scrubbing clean text)."""
        return self.__key.found_in(text)

    def __repr__(self) -> str:
        key = "set" if self.__key.reveal() else "unset"
        return f"{type(self).__name__}(base_url={self.base_url!r}, key={key})"

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop(f"_{Provider.__name__}__key", None)
        state["client"] = None
        state["_hit_observers"] = []
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__key = Secret(None)  # an unpickled adapter has no key until given one

    # -- what the run wants ------------------------------------------------------------
    def want_fields(self, fields: frozenset[str]) -> None:
        """Called by the engine before a run with the fields its steps fill from this adapter.

        An adapter that sells a field separately (Apollo's phone reveal, Prospeo's mobile)
        overrides it to ask for that field, price its worst case and key its lookups by it.
        """
        self.__dict__["_wanted_fields"] = frozenset(fields)

    @property
    def wanted_fields(self) -> frozenset[str]:
        """The fields the run's steps want from this adapter (``{"email"}`` until told)."""
        wanted: frozenset[str] = self.__dict__.get("_wanted_fields", frozenset({"email"}))
        return wanted

    def _phone_outcome(self, fields: Mapping[str, Any]) -> Outcome:
        """A record without an email is still a hit when a step wants its phone and it has one."""
        return "hit" if "phone" in self.wanted_fields and fields.get("phone") else "miss"

    # -- what a record needs -----------------------------------------------------------
    def can_lookup(self, record: Record) -> bool:
        """Whether the record carries one of the input sets in ``needs``."""
        # plain loops: the engine asks this for every row at every step
        for group in self.needs:
            for name in group:
                value = record.get(name)
                if value is None or (isinstance(value, str) and not value.strip()):
                    break
            else:
                return True
        return False

    @abstractmethod
    def lookup_key(self, record: Record) -> str:
        """Normalized identity of this lookup: exactly the inputs the request sends, so the
        key changes if and only if the request would."""

    def legacy_lookup_key(self, record: Record) -> str | None:
        """The key this lookup was cached under before keys listed only the inputs sent
        (``None`` when it did not change). The engine's cache reads it, never writes it, so
        an answer bought under the old key is not paid for again."""
        return None

    # -- the call ----------------------------------------------------------------------
    @abstractmethod
    async def _lookup(self, record: Record) -> Finding:
        """Send the request(s) and parse the answer. May raise ProviderError or httpx errors."""

    async def lookup(self, record: Record) -> Finding:
        """Look one record up. Never raises for provider, transport or input failures.

        A record without any of the input sets in ``needs`` is not sent (it would only earn a
        400), nor is one whose values cannot be sent (a field over
        :data:`~gtmkit.providers.inputs.MAX_FIELD_CHARS` characters, text that is not valid
        Unicode): the finding is a ``BadRequest`` error naming what is missing or which field
        is wrong.
        """
        if self.needs and not self.can_lookup(record):
            wanted = " or ".join("+".join(group) for group in self.needs)
            error = BadRequest(
                f"{self.name}: record lacks the inputs for a lookup (needs {wanted})",
                provider=self.name,
            )
            return self._failed(error, time.perf_counter())
        problem = input_problem(record, fields_sent(self.needs))
        if problem is not None:
            field, reason = problem
            error = BadRequest(
                f"{self.name}: field {field!r} {reason}; fix that value in the list",
                provider=self.name,
            )
            error.field = field
            return self._failed(error, time.perf_counter())
        finding = await self._safely(self.endpoint, self._lookup(record), record)
        if finding.outcome == "hit":
            for observer in getattr(self, "_hit_observers", ()):
                try:
                    observer(record, finding)
                except Exception:  # a learning side-channel must never break a lookup
                    logger.exception("%s: hit observer failed", self.name)
        return finding

    def add_hit_observer(self, observer: Callable[[Record, Finding], Any]) -> None:
        """Call ``observer(record, finding)`` after every hit of this adapter."""
        if not hasattr(self, "_hit_observers"):
            self._hit_observers = []
        self._hit_observers.append(observer)

    async def _safely(
        self, endpoint: str, call: Awaitable[Finding], record: Record | None = None
    ) -> Finding:
        """Await one call, turning provider, transport and input failures into an error Finding.

        ``record`` is what the call was built from: when the request cannot be built, the error
        names the field most likely at fault.
        """
        started = time.perf_counter()
        try:
            finding = await call
        except Exception as exc:
            field = blame(record, fields_sent(self.needs), exc) if record is not None else None
            error = error_for_exception(self.name, exc, field=field, redact=self.redact)
            if error is None:
                raise  # a bug, not a provider failure: let it show
            return self._failed(error, started, endpoint)
        if not finding.latency_s:
            object.__setattr__(finding, "latency_s", time.perf_counter() - started)
        return finding

    def _failed(self, error: ProviderError, started: float, endpoint: str | None = None) -> Finding:
        error.provider = error.provider or self.name
        return Finding(
            provider=self.name,
            endpoint=endpoint or self.endpoint,
            outcome="error",
            latency_s=time.perf_counter() - started,
            http_status=error.http_status,
            raw=error.body,
            error=error,
            throttle=error.throttle,
            charge_known=error.charge_known,
        )
