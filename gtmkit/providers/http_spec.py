"""The declarative HTTP provider's spec: what an analyst writes instead of an adapter module.

A spec is a TOML file (stdlib :mod:`tomllib`) next to the notebook, or the same thing as a
dict. It says how to ask (method, URL template, auth, request template built from canonical
fields), how to read the answer (JMESPath expressions for email / phone / status /
confidence, what is a miss, what is an error), how the provider bills and how fast it may be
called. :func:`load_spec` checks all of it before anything is sent: a mistake is a
:class:`SpecError` naming the field and what is expected.

Example:
    >>> spec_dict = {
    ...     "name": "acme_finder",
    ...     "request": {"method": "GET", "url": "https://api.acme.example/v1/find",
    ...                 "query": {"first": "{first_name}", "last": "{last_name}",
    ...                           "domain": "{company_domain}"}},
    ...     "auth": {"in": "header", "name": "X-Api-Key", "env": "ACME_FINDER_KEY"},
    ...     "response": {"email": "data.email", "status": "data.status"},
    ...     "billing": {"rule": "per_hit", "credits": 1, "price_per_credit": 0.05},
    ...     "rate_limit": {"per_second": 5},
    ... }
    >>> spec = load_spec(spec_dict)
    >>> spec.name, spec.request.method, spec.needs
    ('acme_finder', 'GET', (('company_domain', 'first_name', 'last_name'),))
    >>> load_spec({**spec_dict, "needs": [["full_name", "domain"]]}).needs
    (('full_name', 'company_domain'), ('full_name', 'website'))
    >>> try:
    ...     load_spec({**spec_dict, "request": {"method": "FETCH", "url": "https://a.example"}})
    ... except SpecError as exc:
    ...     print(exc)
    spec 'acme_finder': request.method: expected one of GET, POST, PUT, PATCH, got 'FETCH'
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import string
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult

from gtmkit.errors import GtmkitError
from gtmkit.schema import BILLING_MODELS, CANONICAL_FIELDS, EMAIL_STATUSES, BillingModel

#: Values a request template may use: the canonical fields, plus ``domain`` (the company
#: domain, or the website's) and ``linkedin_handle`` (the ``/in/<handle>`` of the profile).
TEMPLATE_FIELDS: tuple[str, ...] = (*CANONICAL_FIELDS, "domain", "linkedin_handle")
METHODS: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH")
AuthPlace = Literal["header", "query", "bearer"]
AUTH_PLACES: tuple[str, ...] = ("header", "query", "bearer")
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_URL = re.compile(r"^(https?://[^/?#]+)(/[^?#]*)?$")
_ENV = re.compile(r"^[A-Z][A-Z0-9_]{1,63}$")
_HEADER = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
#: Header names a spec may not set by hand (the key goes through ``auth``, never the file).
_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


class SpecError(GtmkitError, ValueError):
    """A declarative provider spec that cannot be used; the message names the field.

    Attributes:
        field: dotted path of the field at fault (``"response.email"``...).
    """

    def __init__(self, spec: str, field: str, expected: str) -> None:
        self.spec, self.field = spec, field
        super().__init__(f"spec {spec!r}: {field}: {expected}")


@dataclass(frozen=True)
class Template:
    """A request value: a string with ``{field}`` placeholders, or a nested dict / list of
    them, or a literal (number, bool)."""

    value: Any
    fields: frozenset[str]


@dataclass(frozen=True)
class RequestSpec:
    method: str
    url: str
    #: ``scheme://host[:port]`` of the URL, and the path template below it
    base_url: str
    path: str
    query: Mapping[str, Template]
    json: Template | None
    headers: Mapping[str, str]


@dataclass(frozen=True)
class AuthSpec:
    place: AuthPlace
    name: str
    env: str


@dataclass(frozen=True)
class ResponseSpec:
    email: ParsedResult | None
    phone: ParsedResult | None
    status: ParsedResult | None
    confidence: ParsedResult | None
    confidence_scale: float
    fields: Mapping[str, ParsedResult]
    status_map: Mapping[str, str]
    miss_http: frozenset[int]
    miss_when: ParsedResult | None
    error_when: ParsedResult | None
    require: tuple[ParsedResult, ...]
    #: the expressions as written, for messages
    text: Mapping[str, str]


@dataclass(frozen=True)
class BillingSpec:
    rule: BillingModel
    credits: float
    max_credits: float
    price_per_credit: float
    credits_from: ParsedResult | None


@dataclass(frozen=True)
class HttpSpec:
    """A checked declarative provider spec (build it with :func:`load_spec`)."""

    name: str
    kind: Literal["finder"]
    description: str
    request: RequestSpec
    auth: AuthSpec
    response: ResponseSpec
    billing: BillingSpec
    per_second: float
    max_in_flight: int
    needs: tuple[tuple[str, ...], ...]
    returns: frozenset[str]
    source: str
    #: digest of the spec's content: the same spec registered twice is the same provider
    fingerprint: str = field(default="")

    @property
    def endpoint(self) -> str:
        """The logical endpoint (part of the engine's cache key): method and path template."""
        return f"{self.request.method} {self.request.path}"


# -- loading ----------------------------------------------------------------------------------
def load_spec(source: str | os.PathLike[str] | Mapping[str, Any]) -> HttpSpec:
    """Read and check a spec: a TOML file path, TOML text, or a dict.

    Raises:
        SpecError: naming the field at fault and what it should be.
    """
    label = "<dict>"
    if isinstance(source, Mapping):
        data: Mapping[str, Any] = source
    else:
        text = str(source)
        path = Path(text)
        if isinstance(source, os.PathLike) or (
            "\n" not in text and text.endswith(".toml") and path.is_file()
        ):
            label = path.name
            try:
                text = path.read_text("utf-8")
            except OSError as exc:
                raise SpecError(label, "file", f"cannot be read ({exc})") from None
        else:
            label = "<toml>"
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(label, "toml", f"is not valid TOML ({exc})") from None
    name = data.get("name")
    checker = _Checker(name if isinstance(name, str) and name else label)
    return checker.spec(data, label)


class _Checker:
    """Reads one spec section by section; every problem names its dotted field."""

    def __init__(self, label: str) -> None:
        self.label = label

    def fail(self, where: str, expected: str) -> SpecError:
        return SpecError(self.label, where, expected)

    def table(self, data: Any, where: str, allowed: Sequence[str]) -> Mapping[str, Any]:
        if not isinstance(data, Mapping):
            raise self.fail(where, f"expected a table, got {type(data).__name__}")
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.fail(
                f"{where}.{unknown[0]}" if where else unknown[0],
                f"unknown key; expected one of {', '.join(allowed)}",
            )
        return data

    def text(self, data: Mapping[str, Any], key: str, where: str, *, default: Any = ...) -> str:
        value = data.get(key, default)
        if value is ...:
            raise self.fail(f"{where}{key}", "is required (a string)")
        if not isinstance(value, str):
            raise self.fail(f"{where}{key}", f"expected a string, got {type(value).__name__}")
        return value

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        where: str,
        *,
        default: float,
        positive: bool = False,
    ) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{where}{key}", f"expected a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number) or number < 0 or (positive and number == 0):
            what = "a finite number > 0" if positive else "a finite number >= 0"
            raise self.fail(f"{where}{key}", f"expected {what}, got {value!r}")
        return number

    def path(self, value: Any, where: str) -> ParsedResult:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"expected a JMESPath expression (a string), got {value!r}")
        try:
            return jmespath.compile(value)
        except JMESPathError as exc:
            reason = " ".join(str(exc).split())
            raise self.fail(where, f"is not a valid JMESPath expression ({reason})") from None

    def template(self, value: Any, where: str) -> Template:
        fields: set[str] = set()

        def walk(item: Any, at: str) -> None:
            if isinstance(item, str):
                fields.update(self.placeholders(item, at))
            elif isinstance(item, Mapping):
                for key, sub in item.items():
                    walk(sub, f"{at}.{key}")
            elif isinstance(item, list):
                for index, sub in enumerate(item):
                    walk(sub, f"{at}[{index}]")
            elif isinstance(item, (bool, int, float)):
                pass
            else:
                raise self.fail(
                    at, f"expected a string, number, bool, table or array; got {item!r}"
                )

        walk(value, where)
        return Template(value, frozenset(fields))

    def placeholders(self, text: str, where: str) -> set[str]:
        found: set[str] = set()
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError as exc:
            raise self.fail(
                where, f"is not a valid template ({exc}); write {{{{ for a brace"
            ) from None
        for _, name, spec, conversion in parts:
            if name is None:
                continue
            if name not in TEMPLATE_FIELDS:
                raise self.fail(
                    where,
                    f"unknown field {{{name}}}; expected one of {', '.join(TEMPLATE_FIELDS)}",
                )
            if spec or conversion:
                raise self.fail(where, f"{{{name}}} takes no format spec or conversion")
            found.add(name)
        return found

    # -- sections ---------------------------------------------------------------------------
    def spec(self, data: Mapping[str, Any], source: str) -> HttpSpec:
        top = self.table(
            data,
            "",
            ("name", "kind", "description", "needs", "request", "auth", "response", "billing",
             "rate_limit"),
        )  # fmt: skip
        name = self.text(top, "name", "")
        if not _NAME.match(name):
            raise self.fail(
                "name",
                f"expected lower-case letters, digits and _ (2-40, a letter first), got {name!r}",
            )
        kind = self.text(top, "kind", "", default="finder")
        if kind != "finder":
            raise self.fail(
                "kind", f"expected 'finder' (the one kind a spec describes), got {kind!r}"
            )
        description = self.text(top, "description", "", default="")
        request = self.request(top.get("request", ...))
        auth = self.auth(top.get("auth", ...), request)
        response = self.response(top.get("response", ...))
        billing = self.billing(top.get("billing", {}))
        rate = self.table(top.get("rate_limit", {}), "rate_limit", ("per_second", "max_in_flight"))
        per_second = self.number(rate, "per_second", "rate_limit.", default=5.0, positive=True)
        in_flight = rate.get("max_in_flight", max(1, min(16, math.ceil(per_second))))
        if isinstance(in_flight, bool) or not isinstance(in_flight, int) or in_flight < 1:
            raise self.fail(
                "rate_limit.max_in_flight", f"expected a whole number >= 1, got {in_flight!r}"
            )
        needs = self.needs(top.get("needs"), request)
        returns = (
            frozenset({"email"} if response.email is not None else set())
            | frozenset({"phone"} if response.phone is not None else set())
            | frozenset(response.fields)
        )
        fingerprint = hashlib.sha256(
            json.dumps(data, sort_keys=True, default=str).encode("utf-8")
        ).hexdigest()[:16]
        return HttpSpec(
            name=name,
            kind="finder",
            description=description,
            request=request,
            auth=auth,
            response=response,
            billing=billing,
            per_second=per_second,
            max_in_flight=int(in_flight),
            needs=needs,
            returns=returns,
            source=source,
            fingerprint=fingerprint,
        )

    def request(self, data: Any) -> RequestSpec:
        if data is ...:
            raise self.fail("request", "is required (a table with method and url)")
        table = self.table(data, "request", ("method", "url", "query", "json", "headers"))
        method = self.text(table, "method", "request.", default="GET").upper()
        if method not in METHODS:
            raise self.fail(
                "request.method",
                f"expected one of {', '.join(METHODS)}, got {table.get('method')!r}",
            )
        url = self.text(table, "url", "request.")
        self.placeholders(url, "request.url")
        try:
            parsed = httpx.URL(url.replace("{", "%7B").replace("}", "%7D"))
        except httpx.InvalidURL as exc:
            raise self.fail("request.url", f"is not a URL ({exc})") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise self.fail("request.url", f"expected an http(s) URL with a host, got {url!r}")
        if parsed.query:
            raise self.fail("request.url", "put query parameters in request.query, not the URL")
        split = _URL.match(url)
        if split is None or "{" in split.group(1) or "}" in split.group(1):
            raise self.fail("request.url", "the scheme and host cannot be a template")
        base_url, path = split.group(1), split.group(2) or "/"
        query_raw = self.table(
            table.get("query", {}), "request.query", tuple(table.get("query", {}) or ())
        )
        query = {str(k): self.template(v, f"request.query.{k}") for k, v in query_raw.items()}
        json_body = None
        if "json" in table:
            if method == "GET":
                raise self.fail("request.json", "a GET sends no body: use request.query")
            json_body = self.template(table["json"], "request.json")
        headers_raw = table.get("headers", {})
        headers_table = self.table(headers_raw, "request.headers", tuple(headers_raw or ()))
        headers: dict[str, str] = {}
        for key, value in headers_table.items():
            where = f"request.headers.{key}"
            if not _HEADER.match(str(key)):
                raise self.fail(where, "is not a valid header name")
            if str(key).lower() in _SECRET_HEADERS:
                raise self.fail(
                    where, "a key never goes in the file: use [auth] with the env variable's name"
                )
            if not isinstance(value, str) or "{" in value:
                raise self.fail(where, "expected a fixed string (no template, no key)")
            headers[str(key)] = value
        return RequestSpec(method, url, base_url, path, query, json_body, headers)

    def auth(self, data: Any, request: RequestSpec) -> AuthSpec:
        if data is ...:
            raise self.fail("auth", "is required (a table with in, name and env)")
        table = self.table(data, "auth", ("in", "name", "env"))
        place = self.text(table, "in", "auth.", default="header")
        if place not in AUTH_PLACES:
            raise self.fail("auth.in", f"expected one of {', '.join(AUTH_PLACES)}, got {place!r}")
        default_name = "Authorization" if place == "bearer" else ...
        name = self.text(table, "name", "auth.", default=default_name)
        if place == "header" and (not _HEADER.match(name) or name.lower() in _SECRET_HEADERS):
            raise self.fail(
                "auth.name",
                f"expected a header name (use in = 'bearer' for Authorization), got {name!r}",
            )
        if place == "query" and name in request.query:
            raise self.fail("auth.name", f"{name!r} is also a request.query parameter")
        env = self.text(table, "env", "auth.")
        if not _ENV.match(env):
            raise self.fail(
                "auth.env",
                "expected the NAME of an environment variable (upper case, e.g. ACME_API_KEY); "
                "the key itself never goes in the spec",
            )
        return AuthSpec(place, name, env)  # type: ignore[arg-type]

    def response(self, data: Any) -> ResponseSpec:
        if data is ...:
            raise self.fail("response", "is required (a table saying where the email is)")
        table = self.table(
            data,
            "response",
            ("email", "phone", "status", "confidence", "confidence_scale", "fields",
             "status_map", "miss_http", "miss_when", "error_when", "require"),
        )  # fmt: skip
        text: dict[str, str] = {}

        def optional(key: str) -> ParsedResult | None:
            if key not in table:
                return None
            text[key] = str(table[key])
            return self.path(table[key], f"response.{key}")

        email, phone = optional("email"), optional("phone")
        if email is None and phone is None:
            raise self.fail("response", "expected at least one of email or phone (a JMESPath)")
        status, confidence = optional("status"), optional("confidence")
        miss_when, error_when = optional("miss_when"), optional("error_when")
        scale = self.number(table, "confidence_scale", "response.", default=1.0, positive=True)
        fields_raw = table.get("fields", {})
        extra = self.table(fields_raw, "response.fields", CANONICAL_FIELDS)
        fields = {}
        for key, value in extra.items():
            if key in ("email", "phone"):
                raise self.fail(f"response.fields.{key}", f"use response.{key}")
            fields[key] = self.path(value, f"response.fields.{key}")
        status_raw = table.get("status_map", {})
        status_table = self.table(status_raw, "response.status_map", tuple(status_raw or ()))
        status_map: dict[str, str] = {}
        for word, common in status_table.items():
            if common not in EMAIL_STATUSES:
                raise self.fail(
                    f"response.status_map.{word}",
                    f"expected one of {', '.join(EMAIL_STATUSES)}, got {common!r}",
                )
            status_map[str(word)] = str(common)
        if status_map and status is None:
            raise self.fail("response.status_map", "needs response.status (where the word is)")
        miss = table.get("miss_http", [404])
        if not isinstance(miss, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and 200 <= s <= 499 for s in miss
        ):
            raise self.fail(
                "response.miss_http", f"expected a list of HTTP statuses 200-499, got {miss!r}"
            )
        if any(s in (401, 402, 403, 429) for s in miss):
            raise self.fail("response.miss_http", "401, 402, 403 and 429 are errors, never misses")
        require_raw = table.get("require", [])
        if isinstance(require_raw, str):
            require_raw = [require_raw]
        if not isinstance(require_raw, list):
            raise self.fail("response.require", "expected a JMESPath or a list of them")
        require = tuple(self.path(p, f"response.require[{i}]") for i, p in enumerate(require_raw))
        return ResponseSpec(
            email=email,
            phone=phone,
            status=status,
            confidence=confidence,
            confidence_scale=scale,
            fields=fields,
            status_map=status_map,
            miss_http=frozenset(miss),
            miss_when=miss_when,
            error_when=error_when,
            require=require,
            text=text,
        )

    def billing(self, data: Any) -> BillingSpec:
        table = self.table(
            data, "billing", ("rule", "credits", "max_credits", "price_per_credit", "credits_from")
        )
        rule = self.text(table, "rule", "billing.", default="per_hit")
        if rule not in BILLING_MODELS:
            raise self.fail(
                "billing.rule", f"expected one of {', '.join(BILLING_MODELS)}, got {rule!r}"
            )
        credits = self.number(table, "credits", "billing.", default=1.0)
        max_credits = self.number(table, "max_credits", "billing.", default=credits)
        if max_credits < credits:
            raise self.fail(
                "billing.max_credits",
                f"expected at least billing.credits ({credits:g}), got {max_credits:g}",
            )
        price = self.number(table, "price_per_credit", "billing.", default=0.0)
        credits_from = None
        if "credits_from" in table:
            credits_from = self.path(table["credits_from"], "billing.credits_from")
        return BillingSpec(rule, credits, max_credits, price, credits_from)  # type: ignore[arg-type]

    def needs(self, data: Any, request: RequestSpec) -> tuple[tuple[str, ...], ...]:
        used: set[str] = set()
        for template in request.query.values():
            used |= template.fields
        if request.json is not None:
            used |= request.json.fields
        used |= self.placeholders(request.url, "request.url")
        if data is None:
            if not used:
                raise self.fail(
                    "needs", "no {field} in the request: say which fields a lookup needs"
                )
            return _record_needs([tuple(sorted(used))])
        if not isinstance(data, list) or not data:
            raise self.fail(
                "needs",
                'expected a list of field lists, e.g. [["first_name", "last_name", "domain"]]',
            )
        groups: list[tuple[str, ...]] = []
        for index, group in enumerate(data):
            if (
                not isinstance(group, list)
                or not group
                or not all(isinstance(f, str) for f in group)
            ):
                raise self.fail(
                    f"needs[{index}]", f"expected a non-empty list of field names, got {group!r}"
                )
            for name in group:
                if name not in TEMPLATE_FIELDS:
                    raise self.fail(
                        f"needs[{index}]",
                        f"unknown field {name!r}; expected one of {', '.join(TEMPLATE_FIELDS)}",
                    )
            groups.append(tuple(group))
        return _record_needs(groups)


#: Template values derived from record fields: a ``needs`` group naming one is met by any of
#: the record fields it comes from.
_DERIVED: Mapping[str, tuple[str, ...]] = {
    "domain": ("company_domain", "website"),
    "linkedin_handle": ("linkedin_url",),
}


def _record_needs(groups: Sequence[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
    """``needs`` in record fields (what ``Provider.can_lookup`` reads): ``domain`` becomes
    ``company_domain`` or ``website``, ``linkedin_handle`` becomes ``linkedin_url``."""
    out: list[tuple[str, ...]] = []
    for group in groups:
        expanded: list[tuple[str, ...]] = [()]
        for name in group:
            sources = _DERIVED.get(name, (name,))
            expanded = [(*done, source) for done in expanded for source in sources]
        for option in expanded:
            unique = tuple(dict.fromkeys(option))
            if unique not in out:
                out.append(unique)
    return tuple(out)


__all__ = [
    "AUTH_PLACES",
    "METHODS",
    "TEMPLATE_FIELDS",
    "AuthSpec",
    "BillingSpec",
    "HttpSpec",
    "RequestSpec",
    "ResponseSpec",
    "SpecError",
    "Template",
    "load_spec",
]
