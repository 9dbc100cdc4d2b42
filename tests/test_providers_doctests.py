"""The runnable examples in the providers' docstrings stay true."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gtmkit.providers",
    "gtmkit.providers.apollo",
    "gtmkit.providers.connect",
    "gtmkit.providers.dropcontact",
    "gtmkit.providers.errors",
    "gtmkit.providers.hunter",
    "gtmkit.providers.normalize",
    "gtmkit.providers.pattern",
    "gtmkit.providers.pdl",
    "gtmkit.providers.prospeo",
    "gtmkit.providers.registry",
    "gtmkit.providers.status",
    "gtmkit.providers.throttle",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
    assert result.attempted > 0, f"{name} has no example"
