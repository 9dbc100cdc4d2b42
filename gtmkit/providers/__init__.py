"""Provider adapters: one small interface, one module per real API.

Every adapter speaks its provider's real HTTP API through a shared ``httpx.AsyncClient``;
:func:`connect` points that client at the real providers (live, key from the environment) or
at the simulated world (``gtmkit.sandbox``), which serves the same endpoints.

Example:
    >>> from gtmkit.providers import PROVIDERS, provider_class
    >>> PROVIDERS  # doctest: +NORMALIZE_WHITESPACE
    ('apollo', 'hunter', 'hunter_verifier', 'pdl', 'prospeo', 'dropcontact', 'zoominfo', 'lusha',
     'findymail', 'leadmagic', 'pattern', 'manual')
    >>> provider_class("pdl").billing
    'per_hit'

See ``gtmkit/providers/README.md`` for adding a provider (one new module).
"""

from __future__ import annotations

from gtmkit.providers._http import HttpProvider, SearchResults
from gtmkit.providers.apollo import ApolloProvider
from gtmkit.providers.base import Finding, MissingCredentials, Provider, RateLimit, Throttle
from gtmkit.providers.connect import Connection, connect
from gtmkit.providers.credentials import InvalidCredentials
from gtmkit.providers.declarative import register_spec
from gtmkit.providers.dropcontact import DropcontactProvider
from gtmkit.providers.errors import (
    AuthError,
    BadRequest,
    MalformedResponse,
    NotConnected,
    OutOfCredits,
    ProviderDown,
    ProviderError,
    ProviderTimeout,
    ProviderUsageError,
    RateLimited,
    error_for_exception,
    error_for_response,
)
from gtmkit.providers.http_spec import SpecError
from gtmkit.providers.hunter import HunterProvider, HunterVerifier
from gtmkit.providers.pattern import PatternProvider
from gtmkit.providers.pdl import PDLProvider
from gtmkit.providers.pricing import InvalidPrice, price_per_credit, worst_case_credits
from gtmkit.providers.prospeo import ProspeoProvider
from gtmkit.providers.registry import (
    ProviderNames,
    UnknownProvider,
    provider_class,
    provider_names,
    register,
)
from gtmkit.providers.status import common_status

#: Registered provider names, in listing order, read at each use (a spec registered later is
#: in it); the adapter modules are discovered on first use, not at import.
PROVIDERS: ProviderNames = ProviderNames()

__all__ = [
    "PROVIDERS",
    "ApolloProvider",
    "AuthError",
    "BadRequest",
    "Connection",
    "DropcontactProvider",
    "Finding",
    "HttpProvider",
    "HunterProvider",
    "HunterVerifier",
    "InvalidCredentials",
    "InvalidPrice",
    "MalformedResponse",
    "MissingCredentials",
    "NotConnected",
    "OutOfCredits",
    "PDLProvider",
    "PatternProvider",
    "ProspeoProvider",
    "Provider",
    "ProviderDown",
    "ProviderError",
    "ProviderTimeout",
    "ProviderUsageError",
    "RateLimit",
    "RateLimited",
    "SearchResults",
    "SpecError",
    "Throttle",
    "UnknownProvider",
    "common_status",
    "connect",
    "error_for_exception",
    "error_for_response",
    "price_per_credit",
    "provider_class",
    "provider_names",
    "register",
    "register_spec",
    "worst_case_credits",
]
