"""HTTP face of the simulated providers: their real paths, auth, bodies, billing, throttling and
faults, served in process (:class:`SandboxTransport`) or on loopback (:class:`LoopbackServer`,
:func:`serve_in_thread`, ``python -m gtmkit.sandbox serve``).

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
