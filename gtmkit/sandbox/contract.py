"""The seam between the simulated world (who exists, who each provider finds) and the HTTP layer
that serves the providers' real endpoints.

``World`` (``gtmkit/sandbox/world.py``) and the provider oracle (``gtmkit/sandbox/oracle.py``)
decide *what* a provider answers; the HTTP layer (``gtmkit/sandbox/http/``) decides *how*: paths,
auth, JSON bodies, status codes, billing headers, rate-limit answers and injected faults.

Everything here is deterministic: the same world seed and the same query give the same answer.

Whether an oracle really satisfies :class:`Oracle` is checked, not assumed: the protocol is not
``runtime_checkable`` (that would only look for method names), so
:func:`signature_mismatches` compares each method's parameters and type hints with the
protocol's, and :func:`value_mismatches` checks a real answer against the declared return type,
dataclass fields included. ``tests/test_sandbox_oracle.py`` runs both on the real oracle.

Example:
    >>> from gtmkit.sandbox.contract import value_mismatches
    >>> value_mismatches({"name": "Acme", "employee_count": 12}, Mapping[str, Any] | None)
    []
    >>> print(*value_mismatches([{"person_id": 7}], list[Mapping[str, str]]))
    value[0]['person_id']: expected str, got int (7)
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, Union

from gtmkit.sandbox import twins
from gtmkit.sandbox.phones import PhoneAnswer

#: Provider names the simulation serves (also the keys of the loopback server's base-URL map).
SIMULATED_PROVIDERS: tuple[str, ...] = ("apollo", "hunter", "pdl", "prospeo", "dropcontact")
SIMULATED_PROVIDERS += tuple(twins.VOCAB)  # zoominfo, lusha, findymail, leadmagic (twins.py)

#: Real API hosts served by the in-process transport, and the path prefix each API lives under.
#: The loopback server serves the same APIs under ``/<provider><prefix>``.
API_HOSTS: Mapping[str, tuple[str, str]] = {
    "api.apollo.io": ("apollo", "/api/v1"),
    "api.hunter.io": ("hunter", "/v2"),
    "api.peopledatalabs.com": ("pdl", "/v5"),
    "api.prospeo.io": ("prospeo", ""),
    "api.dropcontact.com": ("dropcontact", "/v1"),
    **twins.HOSTS,
}

#: What a provider can be asked with, in canonical field names (all optional; the HTTP layer
#: fills what the request carried, normalized: lowercase emails/domains, trimmed names).
Query = Mapping[str, str]


#: Each provider's own email-status words, as ``PersonAnswer.email_status`` carries them
#: (PDL reports none: its ``likelihood`` is a match score, not a verification).
EMAIL_STATUS_VOCAB: Mapping[str, tuple[str, ...]] = {
    "apollo": ("verified", "guessed"),
    "hunter": ("valid", "accept_all", "unknown"),
    "pdl": (),
    "prospeo": ("VERIFIED", "UNVERIFIED"),
    "dropcontact": ("nominative@pro", "catch-all@pro"),
    **twins.VOCAB,
}

#: ``PersonAnswer.confidence`` is always 0.0-1.0; what each provider shows on the wire.
CONFIDENCE_SCALE: Mapping[str, str] = {
    "apollo": "extrapolated_email_confidence, 0.0-1.0 as is",
    "hunter": "score = round(confidence * 100), 0-100",
    "pdl": "likelihood = round(confidence * 10), 1-10 (match confidence, not email validity)",
    "prospeo": "none (confidence is None)",
    "dropcontact": "none (confidence is None)",
    **twins.CONFIDENCE,
}


@dataclass(frozen=True, slots=True)
class PersonAnswer:
    """What one provider answers to one person query.

    ``found`` false means a miss (the HTTP layer renders the provider's miss body). When found,
    ``person_id`` is the person the provider *believes* it found — it can be the wrong person or
    a stale record; ``correct_person`` / ``email_current`` say so for tests (the HTTP layer never
    exposes them). ``email_status`` is in the provider's own vocabulary (Apollo ``verified`` /
    ``guessed``; Hunter ``valid`` / ``accept_all`` / ``unknown``; Prospeo ``VERIFIED`` /
    ``UNVERIFIED``; Dropcontact ``nominative@pro`` / ``catch-all@pro`` as its docs spell it;
    PDL: none) — see :data:`EMAIL_STATUS_VOCAB`. ``confidence`` is on 0.0-1.0 for every
    provider (see :data:`CONFIDENCE_SCALE` for how each one shows it).
    """

    found: bool
    latency_s: float
    person_id: str | None = None
    email: str | None = None
    email_status: str | None = None
    confidence: float | None = None
    catch_all: bool | None = None
    correct_person: bool | None = None
    email_current: bool | None = None
    #: Person/company attributes the provider returns with a hit, canonical names:
    #: first_name, last_name, full_name, title, seniority, department, linkedin_url, phone,
    #: company_name, company_domain, employee_count, industry, country.
    attributes: Mapping[str, Any] = field(default_factory=dict)
    #: The numbers the provider sells for this person (mobile / direct / office, E.164), each
    #: with whether it reaches the person asked for (``gtmkit.sandbox.phones``).
    phones: tuple[PhoneAnswer, ...] = ()


@dataclass(frozen=True, slots=True)
class VerifyAnswer:
    """Hunter Email Verifier's view of one address (Hunter vocabulary for ``status``:
    ``valid`` / ``invalid`` / ``accept_all`` / ``webmail`` / ``disposable`` / ``unknown``)."""

    status: str
    score: int
    accept_all: bool
    smtp_check: bool
    webmail: bool
    latency_s: float
    deliverable: bool | None = None  # ground truth, for tests only


class Oracle(Protocol):
    """Implemented by ``gtmkit.sandbox.oracle.ProviderOracle(world)``."""

    def person(self, provider: str, query: Query) -> PersonAnswer:
        """Answer a person lookup (Apollo people/match, Hunter email-finder, PDL person/enrich,
        Prospeo enrich-person, one Dropcontact record)."""
        ...

    def verify(self, email: str) -> VerifyAnswer:
        """Answer Hunter's email-verifier for one address."""
        ...

    def company(self, provider: str, query: Query) -> Mapping[str, Any] | None:
        """Company attributes by ``company_domain`` or ``company_name`` (None = not found):
        name, domain, employee_count, industry, region, country, funding_stage, linkedin_url,
        founded_year, catch_all, email_pattern."""
        ...

    def search_people(
        self,
        provider: str,
        *,
        company: Query,
        titles: tuple[str, ...] = (),
        limit: int = 10,
        offset: int = 0,
    ) -> list[Mapping[str, Any]]:
        """People at a company, optionally filtered by title keywords, most senior first, from
        ``offset`` (Apollo api_search, Hunter domain-search). Each item: person_id, first_name,
        last_name, title, seniority, department, linkedin_url, and for Hunter the email +
        confidence it would show."""
        ...


# ------------------------------------------------------------------ contract checks
def _hint_name(hint: Any) -> str:
    return hint.__name__ if isinstance(hint, type) else str(hint).replace("typing.", "")


def protocol_methods(protocol: type) -> list[str]:
    """The methods a protocol class declares itself (not those of ``Protocol`` or ``object``)."""
    return [
        name
        for name, member in vars(protocol).items()
        if callable(member) and not name.startswith("_")
    ]


def signature_mismatches(implementation: object, protocol: type) -> list[str]:
    """How ``implementation`` (a class or instance) differs from ``protocol``'s methods.

    Each protocol method must exist with the same parameters — names, kinds (positional or
    keyword-only), order, type hints and defaults — and the same return hint. The
    implementation may add parameters only if they have defaults (callers that follow the
    protocol never pass them). Returns one readable line per difference (empty: it conforms).

    Example:
        >>> class Lookup(Protocol):
        ...     def find(self, name: str, *, limit: int = 10) -> list[str]: ...
        >>> class Good:
        ...     def find(self, name: str, *, limit: int = 10, offset: int = 0) -> list[str]:
        ...         return []
        >>> class Bad:
        ...     def find(self, name: str, limit: int = 5) -> list[int]:
        ...         return []
        >>> signature_mismatches(Good, Lookup)
        []
        >>> for line in signature_mismatches(Bad, Lookup):
        ...     print(line)
        find: parameter 'limit' is positional or keyword, the protocol says keyword-only
        find: parameter 'limit' defaults to 5, the protocol says 10
        find: returns list[int], the protocol says list[str]
    """
    cls = implementation if isinstance(implementation, type) else type(implementation)
    problems: list[str] = []
    for name in protocol_methods(protocol):
        wanted = getattr(protocol, name)
        have = getattr(cls, name, None)
        if have is None or not callable(have):
            problems.append(f"{name}: missing")
            continue
        problems += [f"{name}: {line}" for line in _compare_callables(have, wanted)]
    return problems


def _compare_callables(have: Callable[..., Any], wanted: Callable[..., Any]) -> list[str]:
    have_sig, wanted_sig = inspect.signature(have), inspect.signature(wanted)
    have_hints, wanted_hints = typing.get_type_hints(have), typing.get_type_hints(wanted)
    have_params = {p.name: p for p in have_sig.parameters.values()}
    problems: list[str] = []
    for param in wanted_sig.parameters.values():
        if param.name == "self":
            continue
        mine = have_params.get(param.name)
        if mine is None:
            problems.append(f"parameter {param.name!r} is missing")
            continue
        if mine.kind != param.kind:
            problems.append(
                f"parameter {param.name!r} is {mine.kind.description}, the protocol says "
                f"{param.kind.description}"
            )
        if have_hints.get(param.name) != wanted_hints.get(param.name):
            problems.append(
                f"parameter {param.name!r} is {_hint_name(have_hints.get(param.name))}, the "
                f"protocol says {_hint_name(wanted_hints.get(param.name))}"
            )
        if mine.default != param.default:
            said = "no default" if param.default is param.empty else f"{param.default!r}"
            got = "no default" if mine.default is mine.empty else f"{mine.default!r}"
            problems.append(f"parameter {param.name!r} defaults to {got}, the protocol says {said}")
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    order = [p.name for p in wanted_sig.parameters.values() if p.kind in positional]
    mine_order = [p.name for p in have_sig.parameters.values() if p.kind in positional]
    if mine_order[: len(order)] != order and not problems:
        problems.append(f"positional parameters are {mine_order}, the protocol says {order}")
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    for extra in have_sig.parameters.values():
        if extra.name in wanted_sig.parameters or extra.kind in variadic:
            continue
        if extra.default is extra.empty:
            problems.append(f"parameter {extra.name!r} is required but not in the protocol")
    if have_hints.get("return") != wanted_hints.get("return"):
        problems.append(
            f"returns {_hint_name(have_hints.get('return'))}, the protocol says "
            f"{_hint_name(wanted_hints.get('return'))}"
        )
    return problems


def value_mismatches(value: Any, hint: Any, *, where: str = "value") -> list[str]:
    """How ``value`` differs from the type ``hint`` (empty: it conforms).

    Understands what the contract uses: ``Any``, ``None``, classes (an ``int`` passes for a
    ``float``, a ``bool`` for neither), unions, ``Literal``, ``list``/``Sequence``,
    ``tuple[X, ...]`` and fixed tuples, ``Mapping``/``dict`` — and dataclasses, whose fields are
    checked against their own hints.
    """
    if hint is Any:
        return []
    if hint is None or hint is type(None):
        return [] if value is None else [f"{where}: expected None, got {_shown(value)}"]
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (Union, types.UnionType):
        options = [value_mismatches(value, option, where=where) for option in args]
        if any(not found for found in options):
            return []
        return [f"{where}: expected {_hint_name(hint)}, got {_shown(value)}"]
    if origin is Literal:
        return [] if value in args else [f"{where}: expected one of {list(args)}, got {value!r}"]
    if origin is not None:
        return _generic_mismatches(value, origin, args, where)
    if isinstance(hint, type):
        return _class_mismatches(value, hint, where)
    return [f"{where}: cannot check against {hint!r}"]


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} ({text[:40]})"


def _class_mismatches(value: Any, hint: type, where: str) -> list[str]:
    numeric = hint is float and isinstance(value, int)
    if isinstance(value, bool) and hint in (int, float):
        return [f"{where}: expected {hint.__name__}, got {_shown(value)}"]
    if not (isinstance(value, hint) or numeric):
        return [f"{where}: expected {hint.__name__}, got {_shown(value)}"]
    if not dataclasses.is_dataclass(hint):
        return []
    hints = typing.get_type_hints(hint)
    problems: list[str] = []
    for item in dataclasses.fields(hint):
        problems += value_mismatches(
            getattr(value, item.name), hints[item.name], where=f"{where}.{item.name}"
        )
    return problems


def _generic_mismatches(value: Any, origin: Any, args: tuple[Any, ...], where: str) -> list[str]:
    if not isinstance(value, origin):
        return [f"{where}: expected {origin.__name__}, got {_shown(value)}"]
    if not args:
        return []
    problems: list[str] = []
    if isinstance(value, Mapping):
        key_hint, value_hint = args
        for key, item in value.items():
            problems += value_mismatches(key, key_hint, where=f"{where} key {key!r}")
            problems += value_mismatches(item, value_hint, where=f"{where}[{key!r}]")
        return problems
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if len(value) != len(args):
            return [f"{where}: expected {len(args)} items, got {len(value)}"]
        for index, (item, item_hint) in enumerate(zip(value, args, strict=True)):
            problems += value_mismatches(item, item_hint, where=f"{where}[{index}]")
        return problems
    if isinstance(value, Sequence):
        for index, item in enumerate(value):
            problems += value_mismatches(item, args[0], where=f"{where}[{index}]")
    return problems


RateLimitStyle = Literal["retry_after_429", "hunter_403", "pdl_headers", "prospeo_429", "plain_429"]
