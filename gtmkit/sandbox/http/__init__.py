"""HTTP face of the simulated providers: their real paths, auth, bodies, billing, throttling and
faults, served in process (:class:`SandboxTransport`) or on loopback (:class:`LoopbackServer`,
:func:`serve_in_thread`, ``python -m gtmkit.sandbox serve``).

How each simulated provider answers (any non-empty key is accepted; details in each module):

* apollo: miss 200 ``{"person": null}``; no key 401 text/plain; no credits 402; throttled
  429 + ``retry-after``; credits by rule (1 per match).
* hunter: miss 200 with ``data.email: null``; no key 401 ``errors``; no credits 402;
  throttled **403**; credits used in ``GET /account``.
* pdl: miss **404** ``not_found``; no key 401 ``authentication_error``; no credits 402;
  throttled 429 with JSON-object headers, no Retry-After; ``x-call-credits-spent``.
* prospeo: miss 400 ``NO_MATCH``; no key 401 ``INVALID_API_KEY``; ``INSUFFICIENT_CREDITS``;
  throttled 429 ``RATE_LIMITED``; ``free_enrichment`` on repeats.
* dropcontact: miss = record without ``email``; no key 401; not enough credits 403 (whole
  batch); throttled 429; ``credits_left`` in submit and fetch answers.

``transport.app.ledger`` (or ``server.app.ledger``) holds the credits each provider actually
billed, and every billed call by request fingerprint (a lookup paid twice shows up there);
``gtmkit.sandbox.simulate(...)`` wraps it as the meter tests reconcile an engine against.

Layout: ``wire`` (request/reply), ``api`` (per-provider base), one module per provider
(``apollo``, ``hunter``, ``pdl``, ``prospeo``, ``dropcontact``), ``app`` (the shared pipeline),
``billing``, ``ratelimit``, ``faults``, ``transport``, ``server``. Adding a provider: write a
``ProviderAPI`` subclass in its own module and register it in ``registry``.
"""

from __future__ import annotations

from gtmkit.sandbox.http.app import SandboxApp
from gtmkit.sandbox.http.billing import CreditLedger
from gtmkit.sandbox.http.faults import FaultConfig
from gtmkit.sandbox.http.server import LoopbackServer, serve_in_subprocess, serve_in_thread
from gtmkit.sandbox.http.transport import SandboxTransport

__all__ = [
    "CreditLedger",
    "FaultConfig",
    "LoopbackServer",
    "SandboxApp",
    "SandboxTransport",
    "serve_in_subprocess",
    "serve_in_thread",
]
