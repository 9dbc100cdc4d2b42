"""What every CRM or sequencer destination provides, and the HTTP session they share.

A destination is a small httpx client (like ``gtmkit.providers``): it knows its vendor's paths,
auth and bodies, and turns their answers into per-record :class:`Outcome` s. Pacing and retries
live in :class:`Session`, around every call: a 429 waits what the vendor says (``Retry-After``
or its own signal) and is retried; a 5xx or a dropped connection is retried with backoff; a
limit that will not lift soon (HubSpot's daily limit, Salesforce's 24-hour API allocation)
stops the write with a :class:`~gtmkit.sync.errors.DestinationError` whose records are kept in
the sync ledger for a later retry.

Credentials come from the environment only (``token_env``) and are kept out of ``repr``,
messages and anything written.

Example:
    >>> from gtmkit.sync.destinations.hubspot import HubSpot
    >>> HubSpot(token="not-shown-anywhere")
    HubSpot(object='contacts', mode='live')
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.parse
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import httpx

from gtmkit.sync.dedupe import Existing
from gtmkit.sync.errors import DestinationError, MissingDestinationCredentials

__all__ = ["Destination", "Item", "Outcome", "Session"]

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Item:
    """One record to write: its ledger key, the destination id (updates), the properties."""

    record_key: str
    row_id: Any
    properties: dict[str, Any]
    dest_id: str | None = None
    record: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """What became of one item: written (with its id) or failed (with kind and reason).

    ``landed`` is for a failure after part of the write went through (the person was written,
    adding them to the sequence was refused): the properties that did land, recorded in the
    sync ledger with ``dest_id`` while the record stays in the failed table for a retry.
    """

    record_key: str
    ok: bool
    dest_id: str | None = None
    kind: str = ""
    reason: str = ""
    created: bool = False
    landed: dict[str, Any] | None = None


class Session:
    """One destination's HTTP session: auth header, pacing, retries.

    Args:
        destination: the destination it serves (its ``pace`` and ``retry_delay`` hooks).
        client: the ``httpx.AsyncClient`` to send through.
        sleep: how to wait (injectable: tests pass a simulated clock's sleep).
        max_retries: retries of one call on 429/5xx/transport errors before giving up.
    """

    def __init__(
        self,
        destination: Destination,
        client: httpx.AsyncClient,
        *,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 6,
    ) -> None:
        self.destination = destination
        self.client = client
        self.sleep = sleep
        self.max_retries = max_retries
        self.calls = 0
        self.retries = 0
        self.waited_s = 0.0

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited_s += seconds
            await self.sleep(seconds)

    async def request(
        self,
        method: str,
        url: str,
        *,
        json: Any = None,
        params: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
    ) -> httpx.Response:
        """Send one call; the answer for any status below 500 but 401/403/429 (the caller
        reads per-record errors from it), after pacing and retries."""
        dest = self.destination
        if not dest.has_token():  # only a refresh credential: get an access token first
            await dest.refresh(self.client)
        refreshed = False
        attempt = 0
        while True:
            headers = dest.auth_headers()
            if content_type:
                headers["Content-Type"] = content_type
            await self._wait(dest.wait_before_next())
            self.calls += 1
            try:
                resp = await self.client.request(
                    method, url, json=json, params=params, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                error = DestinationError(
                    f"{dest.name}: {type(exc).__name__} on {method} {httpx.URL(url).path}",
                    destination=dest.name,
                    kind="transport",
                    retryable=True,
                )
                delay = min(30.0, 0.5 * 2**attempt)
            else:
                dest.observe(resp)
                if resp.status_code == 401 and not refreshed and await dest.refresh(self.client):
                    refreshed = True  # an expired access token, renewed: the same call again
                    continue
                if resp.status_code in (401, 403) and not dest.is_throttle(resp):
                    raise DestinationError(
                        f"{dest.name} refused the credential ({resp.status_code}): "
                        f"{dest.error_text(resp)}. Check {dest.token_env} in the environment.",
                        destination=dest.name,
                        kind="auth",
                        http_status=resp.status_code,
                    )
                if resp.status_code == 429 or dest.is_throttle(resp):
                    wait = dest.retry_delay(resp)
                    if wait is None:
                        raise DestinationError(
                            f"{dest.name}: {dest.error_text(resp)} (a limit that does not lift "
                            "soon); the records not written are kept for retry in the sync "
                            "ledger.",
                            destination=dest.name,
                            kind="daily_limit",
                            http_status=resp.status_code,
                        )
                    error = DestinationError(
                        f"{dest.name} rate limited the sync",
                        destination=dest.name,
                        kind="rate_limited",
                        http_status=resp.status_code,
                        retryable=True,
                    )
                    delay = wait
                elif resp.status_code >= 500:
                    error = DestinationError(
                        f"{dest.name} answered {resp.status_code} on {method} "
                        f"{httpx.URL(url).path}",
                        destination=dest.name,
                        kind="server",
                        http_status=resp.status_code,
                        retryable=True,
                    )
                    delay = min(30.0, 0.5 * 2**attempt)
                else:
                    return resp
            if attempt >= self.max_retries:
                raise error
            attempt += 1
            self.retries += 1
            await self._wait(delay)


class Destination(ABC):
    """A CRM object or a sequencer the records go to.

    Subclasses set the class attributes and implement the ``async`` methods; everything else
    (planning, de-duplication, the merge policy, the ledger) is ``gtmkit.sync``'s.

    Args:
        token: the credential; default: the ``token_env`` environment variable (live), or a
            placeholder when ``transport`` is a simulated twin's.
        transport: an httpx transport (a twin's ``CrmTransport``); ``None`` = the network.
        sleep: how pacing waits (a twin's clock in tests).
        max_retries: retries of one call.
    """

    name: ClassVar[str]
    token_env: ClassVar[str]
    #: properties every sync of this destination maps by default (records column → property)
    default_fields: ClassVar[dict[str, str]]
    batch_size: ClassVar[int] = 100
    object_type: str

    def __init__(
        self,
        *,
        token: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep | None = None,
        max_retries: int = 6,
        timeout_s: float = 30.0,
    ) -> None:
        if token is None:  # a key pasted from a file ends in a newline: not part of it
            token = os.environ.get(self.token_env, "").strip() or None
            if token is None and transport is not None:
                token = "sandbox-token"  # a twin accepts any non-empty credential
        if not token and not self.can_refresh():
            raise MissingDestinationCredentials(
                f"{self.name}: set {self.token_env} in the environment to sync live "
                "(credentials are never notebook parameters)"
            )
        self.__token = (token or "").strip()
        self.transport = transport
        self.mode: Literal["sandbox", "live"] = "live" if transport is None else "sandbox"
        self._sleep: Sleep = sleep if sleep is not None else _twin_sleep(transport)
        self.max_retries = max_retries
        self.timeout_s = timeout_s
        self.last_session: Session | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(object={self.object_type!r}, mode={self.mode!r})"

    def __getstate__(self) -> dict[str, Any]:  # a pickled destination carries no credential
        state = dict(self.__dict__)
        for name in ("_Destination__token", *self._secret_state):
            state.pop(name, None)
        return state

    #: attributes holding other credentials (a refresh token), left out of pickles
    _secret_state: ClassVar[tuple[str, ...]] = ()

    def auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.__token}"}

    def has_token(self) -> bool:
        return bool(self.__token)

    def _use_token(self, token: str) -> None:
        """Take a new access token (from a refresh)."""
        self.__token = token

    def secrets(self) -> list[str]:
        """Every credential this destination holds (what :meth:`redact` hides)."""
        return [self.__token] if self.__token else []

    def redact(self, text: str) -> str:
        """``text`` without any credential, as written or as a message quoting a request
        may spell it (JSON-escaped, URL- or form-encoded)."""
        for secret in self.secrets():
            for spelling in _spellings(secret):
                text = text.replace(spelling, "***")
        return text

    # -- credentials that renew (override per vendor) --------------------------------------
    def can_refresh(self) -> bool:
        """Whether an expired access token can be renewed (an OAuth refresh token is set)."""
        return False

    async def refresh(self, client: httpx.AsyncClient) -> bool:
        """Renew the access token; ``True`` when a new one is in use. Raises
        :class:`~gtmkit.sync.errors.DestinationError` (``auth``) when the renewal is refused."""
        return False

    def session(self, client: httpx.AsyncClient) -> Session:
        self.last_session = Session(self, client, sleep=self._sleep, max_retries=self.max_retries)
        return self.last_session

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=self.timeout_s)

    # -- pacing hooks (override per vendor) ------------------------------------------------
    def wait_before_next(self) -> float:
        """Seconds to wait before the next call (from the limit headers seen so far)."""
        return 0.0

    def observe(self, response: httpx.Response) -> None:  # noqa: B027 (optional hook)
        """Read the vendor's limit headers from an answer."""

    def is_throttle(self, response: httpx.Response) -> bool:
        """Whether a non-429 answer is the vendor's throttle (Salesforce's 403 limit)."""
        return False

    def retry_delay(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying a throttled call; ``None`` = not soon (stop)."""
        value = response.headers.get("retry-after")
        try:
            return max(0.0, float(value)) if value is not None else 1.0
        except ValueError:
            return 1.0

    def error_text(self, response: httpx.Response) -> str:
        """The vendor's error message from an answer (never a header)."""
        try:
            body = response.json()
        except ValueError:
            return self.redact(response.text[:200])
        return self.redact(_message_of(body))

    # -- the vendor's calls ----------------------------------------------------------------
    def match_properties(self, fields: Mapping[str, str]) -> dict[str, str | None]:
        """Destination properties holding the match keys, from the field mapping."""
        return {
            "email_prop": fields.get("email"),
            "linkedin_prop": fields.get("linkedin_url"),
            "first_prop": fields.get("first_name"),
            "last_prop": fields.get("last_name"),
            "domain_prop": fields.get("company_domain"),
        }

    @abstractmethod
    async def schema(self, session: Session) -> set[str]:
        """The properties (fields) the destination object has."""

    @abstractmethod
    async def find(
        self, session: Session, values: Mapping[str, list[str]], properties: list[str]
    ) -> list[Existing]:
        """Records whose property (key of ``values``) has one of the values, with the mapped
        ``properties`` read."""

    @abstractmethod
    async def create(self, session: Session, items: list[Item]) -> list[Outcome]:
        """Create records (one outcome per item, in order)."""

    @abstractmethod
    async def update(self, session: Session, items: list[Item]) -> list[Outcome]:
        """Update records by destination id (one outcome per item, in order)."""

    def use_bulk(self, count: int) -> bool:
        """Whether ``count`` records of one action go through the vendor's bulk path."""
        return False

    async def bulk(self, session: Session, action: str, items: list[Item]) -> list[Outcome]:
        """Write every item in one bulk job (for destinations whose ``use_bulk`` says so)."""
        raise DestinationError(
            f"{self.name} has no bulk path", destination=self.name, kind="client_bug"
        )

    async def after_write(self, session: Session, written: list[tuple[Item, Outcome]]) -> None:
        """Follow-up per written record (associations, sequence enrollment); may mark an
        outcome failed."""
        return None

    def plan_notes(self, item: Item, existing: Existing | None) -> str | None:
        """Why a record must be skipped whatever its fields say (e.g. in an active sequence)."""
        return None

    def followups(self, existing: Existing | None) -> dict[str, tuple[Any, Any]]:
        """Changes beyond the mapped fields, shown in the dry run like any other (a sequencer's
        ``sequence: ∅ → '7'``): pseudo-property → (from, to). Carried out by
        :meth:`after_write`."""
        return {}


def _spellings(secret: str) -> list[str]:
    """A credential as written, and as JSON, a URL or a form would encode it (longest
    first, so no part of one is left behind)."""
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
    }
    return sorted((f for f in forms if f), key=len, reverse=True)


def _message_of(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("message", "detail", "error_description", "error", "title"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            return _message_of(errors[0])
        if isinstance(errors, dict) and errors:
            return "; ".join(f"{k} {v}" for k, v in errors.items())
    if isinstance(body, list) and body:
        return _message_of(body[0])
    return str(body)[:200]


def _twin_sleep(transport: httpx.AsyncBaseTransport | None) -> Sleep:
    """A twin's transport carries its simulated clock: pacing waits on it, not on the wall."""
    clock = getattr(transport, "clock", None)
    sleeper = getattr(clock, "sleep", None)
    return sleeper if sleeper is not None else asyncio.sleep
