"""A provider without code: an adapter built from a declarative spec (TOML or a dict).

The analyst's answer to Clay's "HTTP API" column. :func:`register_spec` turns a spec
(:mod:`gtmkit.providers.http_spec`) into an adapter class registered like a built-in one, so
``Step("<name>")``, ``connect([...])``, the ledger, the budget, ``gtmkit.compare`` and the
optimizer use it with no special case. The adapter keeps the interface's contract: it never
raises out of ``lookup``; statuses become the typed errors of :mod:`gtmkit.providers.errors`
(the one error map); the key comes from the environment variable the spec names (or
``connect``'s ``api_keys`` / ``.env``), never from the file, and is scrubbed from every kept
body and message.

A 2xx answer that does not match the spec — not a JSON object, a ``response.require`` path
that finds nothing, an email that is not a string, a confidence that is not a number — is a
:class:`SpecMismatch`: the raw body is kept (key scrubbed) on the finding, the charge is
unknown (the provider answered, so it may have billed: the engine holds the worst case) and
the provider is stopped for the run, since every other call would fail the same way.

Example:
    >>> cls = provider_from_spec({
    ...     "name": "doc_finder",
    ...     "request": {"url": "https://api.doc-finder.example/v1/find",
    ...                 "query": {"name": "{full_name}", "domain": "{domain}"}},
    ...     "auth": {"in": "header", "name": "X-Api-Key", "env": "DOC_FINDER_KEY"},
    ...     "response": {"email": "data.email"},
    ... })
    >>> cls.name, cls.endpoint, cls.billing, cls.env_var
    ('doc_finder', 'GET /v1/find', 'per_hit', 'DOC_FINDER_KEY')
"""

from __future__ import annotations

import json
import logging
import math
import os
import string
import weakref
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from gtmkit.providers._http import HttpProvider, Reply, first_text
from gtmkit.providers.base import Finding, RateLimit, Record
from gtmkit.providers.errors import (
    BadRequest,
    MalformedResponse,
    ProviderError,
    ProviderUsageError,
    error_for_response,
)
from gtmkit.providers.http_spec import HttpSpec, SpecError, Template, load_spec
from gtmkit.providers.normalize import (
    normalize_domain,
    normalize_linkedin,
    person_key,
    record_domain,
    record_names,
    text,
)
from gtmkit.schema import EMAIL_STATUSES, EmailStatus


class SpecMismatch(MalformedResponse):
    """A 2xx answer that does not have the shape the spec describes (``field`` names the spec
    field). Not retried; it stops the provider for the run (fix the spec); the provider may
    have billed the call, so the charge is unknown."""

    retryable = False
    disables_provider = True
    charge_known = False
    field: str | None = None

    @property
    def kind(self) -> str:
        return "spec_mismatch"


class NoSimulation(ProviderError):
    """Sandbox mode was asked to answer a spec-built provider the simulation does not serve
    (nothing was sent). Stops the provider for the run; the message says what to pass."""

    disables_provider = True

    @property
    def kind(self) -> str:
        return "no_simulation"


class DeclarativeProvider(HttpProvider):
    """Base of the adapters :func:`provider_from_spec` builds (one subclass per spec)."""

    spec: ClassVar[HttpSpec]
    auth_header: ClassVar[str] = ""
    api_name: ClassVar[str] = ""
    listing_order: ClassVar[int] = 200

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.spec.auth.place == "query" and self.has_key:
            _QUERY_KEYS.add(self)  # httpx logs URLs: scrub this key from its log lines

    # -- the request ------------------------------------------------------------------------
    def _headers(self, *, json_body: bool = False) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.spec.request.headers}
        key, auth = self._key(), self.spec.auth
        if key and auth.place == "header":
            headers[auth.name] = key
        elif key and auth.place == "bearer":
            headers[auth.name] = f"Bearer {key}"
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def lookup_key(self, record: Record) -> str:
        # The spec decides what is sent: the key is the rendered request itself (without the
        # key), casefolded like every other key, so it changes exactly when the request does.
        try:
            method, path, params, body = self._request(record)
        except BadRequest:  # the path needs a field the record lacks: the call fails unsent
            return "unsendable;" + person_key(record)
        sent = {"method": method, "path": path, "query": params, "json": body}
        return "request=" + json.dumps(sent, sort_keys=True, ensure_ascii=False).casefold()

    def legacy_lookup_key(self, record: Record) -> str | None:
        return person_key(record)

    def _request(self, record: Record) -> tuple[str, str, dict[str, Any], Any]:
        """(method, path, query, JSON body) for one record, before the key is added."""
        request = self.spec.request
        values = template_values(record)
        path = _fill_path(self, request.path, values)
        params: dict[str, Any] = {}
        for name, template in request.query.items():
            value = render(template, values)
            if value is not None:
                params[name] = value
        body = render(request.json, values) if request.json is not None else None
        return request.method, path, params, body

    async def _lookup(self, record: Record) -> Finding:
        from gtmkit.providers.connect import SANDBOX_KEY

        if self._key() == SANDBOX_KEY and self.base_url == self.default_base_url.rstrip("/"):
            raise NoSimulation(
                f"{self.name}: a provider built from a spec has no simulated twin, so sandbox "
                "mode cannot answer it. Serve its answers on a loopback server and pass "
                f"connect_options={{'base_urls': {{'{self.name}': 'http://127.0.0.1:PORT'}}}}, "
                f"or set {self.env_var} for live calls.",
                provider=self.name,
            )
        method, path, params, body = self._request(record)
        if self.spec.auth.place == "query" and self._key():
            params[self.spec.auth.name] = self._key()
        reply = await self._send(method, path, params=params, json_body=body)
        return self._read(reply)

    # -- the answer -------------------------------------------------------------------------
    def _read(self, reply: Reply) -> Finding:
        response, billing = self.spec.response, self.spec.billing
        if reply.status in response.miss_http:
            charged = billing.credits if billing.rule == "per_call" else 0.0
            return self._finding(reply, "miss", credits=charged)
        self._check(reply)  # typed errors; a 2xx body that is not a JSON object is malformed
        body = reply.body
        if response.error_when is not None and _truthy(
            self._search(reply, response.error_when, "response.error_when")
        ):
            status = reply.status if reply.status >= 400 else 400
            error = error_for_response(
                self.name, status, body, reply.headers, text=reply.text, redact=self.redact
            )
            assert error is not None  # a status >= 400 is always an error
            error.body, error.throttle, error.http_status = body, reply.throttle, reply.status
            raise error
        for index, expression in enumerate(response.require):
            if _empty(self._search(reply, expression, f"response.require[{index}]")):
                raise self._mismatch(
                    reply,
                    f"response.require[{index}]",
                    f"{expression.expression!r} found nothing in the answer",
                )
        email = self._text(reply, response.email, "response.email")
        phone = self._text(reply, response.phone, "response.phone", numbers=True)
        fields: dict[str, Any] = {
            name: self._text(reply, expression, f"response.fields.{name}", numbers=True)
            for name, expression in response.fields.items()
        }
        if "company_domain" in fields:
            fields["company_domain"] = normalize_domain(fields["company_domain"]) or None
        word = self._text(reply, response.status, "response.status", numbers=True)
        confidence = self._confidence(reply)
        missed = response.miss_when is not None and _truthy(
            self._search(reply, response.miss_when, "response.miss_when")
        )
        found = email if response.email is not None else phone
        if phone:
            fields["phone"] = phone
        charged = self._credits(reply, hit=bool(found) and not missed)
        if missed or not found:
            return self._finding(
                reply, "miss", fields=fields, provider_status=word, credits=charged
            )
        if email:
            fields["email"] = email.strip().lower()
        return self._finding(
            reply,
            "hit",
            fields=fields,
            email_status=self._status(word) if email else None,
            provider_status=word,
            confidence=confidence,
            credits=charged,
        )

    def _search(self, reply: Reply, expression: ParsedResult, where: str) -> Any:
        try:
            return expression.search(reply.body)
        except JMESPathError as exc:  # e.g. a function given the wrong type by this answer
            raise self._mismatch(reply, where, f"cannot be read here ({exc})") from None

    def _text(
        self, reply: Reply, expression: ParsedResult | None, where: str, *, numbers: bool = False
    ) -> str | None:
        if expression is None:
            return None
        value = self._search(reply, expression, where)
        if isinstance(value, list):  # a projection: its first usable value
            value = next((v for v in value if not _empty(v)), None)
        if value is None or isinstance(value, str):
            return first_text(value)
        if numbers and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(int(value)) if float(value).is_integer() else str(value)
        raise self._mismatch(
            reply, where, f"{expression.expression!r} gave {_kind(value)}, expected text"
        )

    def _confidence(self, reply: Reply) -> float | None:
        expression = self.spec.response.confidence
        if expression is None:
            return None
        value = self._search(reply, expression, "response.confidence")
        if value is None:
            return None
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            number = math.nan
        if not math.isfinite(number):
            raise self._mismatch(
                reply,
                "response.confidence",
                f"{expression.expression!r} gave {_kind(value)} {value!r}, expected a number",
            )
        return max(0.0, min(1.0, number / self.spec.response.confidence_scale))

    def _status(self, word: str | None) -> EmailStatus:
        if word is None:
            return "risky"  # found, but nobody said it was checked (status.py's rule)
        mapped = self.spec.response.status_map.get(word)
        if mapped is None and word.lower() in EMAIL_STATUSES:
            mapped = word.lower()
        return mapped if mapped in EMAIL_STATUSES else "unknown"  # type: ignore[return-value]

    def _credits(self, reply: Reply, *, hit: bool) -> float:
        billing = self.spec.billing
        if billing.credits_from is not None:
            reported = self._search(reply, billing.credits_from, "billing.credits_from")
            if (
                isinstance(reported, (int, float))
                and not isinstance(reported, bool)
                and math.isfinite(reported)
                and reported >= 0
            ):
                return float(reported)  # the provider's own signal
        if billing.rule == "per_call" or hit:
            return billing.credits
        return 0.0

    def _mismatch(self, reply: Reply, where: str, why: str) -> SpecMismatch:
        error = SpecMismatch(
            self.redact(
                f"{self.name}: HTTP {reply.status} answer does not match the spec: {where} {why}"
                f"; fix {self.spec.source} (body kept on the finding)"
            ),
            provider=self.name,
            http_status=reply.status,
        )
        error.field = where
        error.body = reply.body if reply.body is not None else (reply.text or None)
        error.throttle = reply.throttle
        return error


# -- request templates ------------------------------------------------------------------------
def template_values(record: Record) -> dict[str, str]:
    """The values a request template can use for one record (missing ones absent).

    Example:
        >>> template_values({"full_name": "Ada Lovelace", "website": "https://www.engines.io/x"})
        {'full_name': 'Ada Lovelace', 'website': 'https://www.engines.io/x', \
'first_name': 'Ada', 'last_name': 'Lovelace', 'domain': 'engines.io'}
    """
    values = {name: text(value) for name, value in record.items() if text(value)}
    first, last = record_names(record)
    if first and last:
        values.setdefault("first_name", first)
        values.setdefault("last_name", last)
        values.setdefault("full_name", f"{first} {last}")
    domain = record_domain(record)
    if domain:
        values["domain"] = domain
    linkedin = normalize_linkedin(record.get("linkedin_url"))
    if linkedin.startswith("linkedin.com/in/"):
        values["linkedin_handle"] = linkedin.rsplit("/", 1)[1]
    return values


def render(template: Template | Any, values: Mapping[str, str]) -> Any:
    """A request value for one record; ``None`` when it uses a field the record lacks (the
    parameter or key is then left out)."""
    value = template.value if isinstance(template, Template) else template
    if isinstance(value, str):
        names = [name for _, name, _, _ in string.Formatter().parse(value) if name is not None]
        if any(name not in values for name in names):
            return None
        return value.format_map(values) if names else value.replace("{{", "{").replace("}}", "}")
    if isinstance(value, Mapping):
        out = {key: render(sub, values) for key, sub in value.items()}
        return {key: sub for key, sub in out.items() if sub is not None}
    if isinstance(value, list):
        return [sub for sub in (render(item, values) for item in value) if sub is not None]
    return value


def _fill_path(provider: DeclarativeProvider, path: str, values: Mapping[str, str]) -> str:
    names = [name for _, name, _, _ in string.Formatter().parse(path) if name is not None]
    for name in names:
        if name not in values:
            error = BadRequest(
                f"{provider.name}: the URL needs {{{name}}} and the record has no {name}",
                provider=provider.name,
            )
            error.field = name
            raise error
    return path.format_map({name: quote(values[name], safe="") for name in names})


def _truthy(value: Any) -> bool:
    return not _empty(value) and value is not False


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "a boolean"}.get(type(value), "a number")


# -- building and registering -----------------------------------------------------------------
def provider_from_spec(
    spec: HttpSpec | str | os.PathLike[str] | Mapping[str, Any],
) -> type[DeclarativeProvider]:
    """The adapter class a spec describes (not registered; see :func:`register_spec`).

    Raises:
        SpecError: the spec is wrong (the message names the field).
    """
    checked = spec if isinstance(spec, HttpSpec) else load_spec(spec)
    attrs: dict[str, Any] = {
        "__module__": __name__,
        "__doc__": checked.description or f"Declarative provider {checked.name!r}.",
        "spec": checked,
        "name": checked.name,
        "kind": "finder",
        "endpoint": checked.endpoint,
        "default_base_url": checked.request.base_url,
        "env_var": checked.auth.env,
        "auth_header": checked.auth.name,
        "api_name": checked.name,
        "needs": checked.needs,
        "returns": checked.returns,
        "billing": checked.billing.rule,
        "credits_per_lookup": checked.billing.credits,
        "max_credits": checked.billing.max_credits,
        "price_per_credit": checked.billing.price_per_credit,
        "rate_limit": RateLimit(checked.per_second, checked.max_in_flight),
    }
    title = "".join(part.title() for part in checked.name.split("_"))
    cls: type[DeclarativeProvider] = type(f"{title}Provider", (DeclarativeProvider,), attrs)
    return cls


def register_spec(
    spec: HttpSpec | str | os.PathLike[str] | Mapping[str, Any], *, replace: bool = False
) -> type[DeclarativeProvider]:
    """Build the adapter a spec describes and register it under the spec's ``name``.

    Registering the same spec again (a notebook cell run twice) returns the class already
    registered. Another spec under a name already taken is refused unless ``replace=True``;
    a built-in adapter's name is always refused.

    Raises:
        SpecError: the spec is wrong (the message names the field).
        ProviderUsageError: the name is taken (the message says by what).
    """
    from gtmkit.providers import registry

    cls = provider_from_spec(spec)
    registry.provider_names()  # discover the built-in adapters first
    existing = registry._REGISTRY.get(cls.name)
    if existing is None:
        registry.register(cls)
        return cls
    if not issubclass(existing, DeclarativeProvider):
        raise ProviderUsageError(
            f"provider name {cls.name!r} is the built-in {existing.__name__}; give the spec "
            "another name"
        )
    if existing.spec.fingerprint == cls.spec.fingerprint:
        return existing  # the same spec: the same provider
    if not replace:
        raise ProviderUsageError(
            f"provider {cls.name!r} is already registered from another spec "
            f"({existing.spec.source}); pass replace=True to replace it, or give this spec "
            "another name"
        )
    registry._REGISTRY[cls.name] = cls
    return cls


def unregister_spec(name: str) -> None:
    """Remove a provider registered from a spec (built-in adapters cannot be removed)."""
    from gtmkit.providers import registry

    existing = registry._REGISTRY.get(name)
    if existing is None:
        return
    if not issubclass(existing, DeclarativeProvider):
        raise ProviderUsageError(f"{name!r} is a built-in adapter; it cannot be unregistered")
    del registry._REGISTRY[name]


# -- a key sent in the query string stays out of log lines ------------------------------------
_QUERY_KEYS: weakref.WeakSet[DeclarativeProvider] = weakref.WeakSet()


class _ScrubQueryKeys(logging.Filter):
    """httpx logs every request URL at INFO: a key an API wants in the query string is
    scrubbed from those lines (and httpcore's) before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _QUERY_KEYS:
            return True
        message = record.getMessage()
        clean = message
        for provider in list(_QUERY_KEYS):
            if provider._key_found_in(clean):
                clean = provider.redact(clean)
        if clean != message:
            record.msg, record.args = clean, ()
        return True


_SCRUB = _ScrubQueryKeys()
# Logger filters see only records logged on that very logger: name each one that logs URLs.
for _logger in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2"):
    if _SCRUB not in logging.getLogger(_logger).filters:
        logging.getLogger(_logger).addFilter(_SCRUB)

__all__ = [
    "DeclarativeProvider",
    "NoSimulation",
    "SpecError",
    "SpecMismatch",
    "provider_from_spec",
    "register_spec",
    "render",
    "template_values",
    "unregister_spec",
]
