"""The adversarial suite (issue 11): every attack measured by the provider side's own meter.

The test-wide offline guard of ``tests/conftest.py`` applies here too: only loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gtmkit.sandbox import simulate
from tests._attack_helpers import attack_world


@pytest.fixture
def loopback() -> Iterator[tuple[object, dict[str, str]]]:
    """A fresh fault-free simulation on a loopback server: (simulation, base_urls)."""
    sim = simulate(attack_world())
    with sim.serve() as srv:
        yield sim, dict(srv.base_urls)
