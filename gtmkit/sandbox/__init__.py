"""A deterministic simulated world of companies and people, and simulated providers that serve
the real providers' endpoints — in process (an httpx transport) or on a loopback HTTP server.

Training mode for gtmkit: every notebook and test runs here with no key and no spend.
``simulate(...)`` hands back one simulated provider side (its transport, the adapter settings
that fit it, and the meter of what it billed) for ``gtmkit.providers.connect``.

Example:
    >>> from gtmkit.sandbox import World, simulate
    >>> world = World.generate(seed=1, companies=50)
    >>> world.people.height > 0
    True
    >>> simulate(world).billed()
    {}
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gtmkit.sandbox.contract import (
    API_HOSTS,
    SIMULATED_PROVIDERS,
    PersonAnswer,
    VerifyAnswer,
)

_LAZY: dict[str, str] = {
    "World": "gtmkit.sandbox.world",
    "default_world": "gtmkit.sandbox.world",
    "ProviderOracle": "gtmkit.sandbox.oracle",
    "write_samples": "gtmkit.sandbox.samples",
    "SandboxTransport": "gtmkit.sandbox.http.transport",
    "FaultConfig": "gtmkit.sandbox.http.faults",
    "LoopbackServer": "gtmkit.sandbox.http.server",
    "serve_in_thread": "gtmkit.sandbox.http.server",
    "Simulation": "gtmkit.sandbox.simulation",
    "simulate": "gtmkit.sandbox.simulation",
}

__all__ = [
    "API_HOSTS",
    "SIMULATED_PROVIDERS",
    "FaultConfig",
    "LoopbackServer",
    "PersonAnswer",
    "ProviderOracle",
    "SandboxTransport",
    "Simulation",
    "VerifyAnswer",
    "World",
    "default_world",
    "serve_in_thread",
    "simulate",
    "write_samples",
]

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.sandbox.http.faults import FaultConfig
    from gtmkit.sandbox.http.server import LoopbackServer, serve_in_thread
    from gtmkit.sandbox.http.transport import SandboxTransport
    from gtmkit.sandbox.oracle import ProviderOracle
    from gtmkit.sandbox.samples import write_samples
    from gtmkit.sandbox.simulation import Simulation, simulate
    from gtmkit.sandbox.world import World, default_world


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gtmkit.sandbox' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value
