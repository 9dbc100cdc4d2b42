"""The runnable examples in every gtmkit module's docstrings stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import gtmkit

MODULES = [
    "gtmkit",
    *sorted(
        info.name
        for info in pkgutil.walk_packages(gtmkit.__path__, prefix="gtmkit.")
        if not info.name.endswith("__main__")
    ),
]

#: Modules whose public functions are documented by example: each must keep at least one.
MUST_HAVE_EXAMPLES = {
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
    "gtmkit.waterfall",
    "gtmkit.waterfall.budget",
    "gtmkit.waterfall.ledger",
    "gtmkit.waterfall.spec",
    "gtmkit.waterfall.sync",
}


def _run(name: str) -> doctest.TestResults:
    return doctest.testmod(
        importlib.import_module(name), optionflags=doctest.ELLIPSIS, report=False
    )


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = _run(name)
    assert result.failed == 0
    if name in MUST_HAVE_EXAMPLES:
        assert result.attempted > 0, f"{name} has no example"


def test_list_intake_keeps_its_examples() -> None:
    attempted = sum(_run(name).attempted for name in MODULES if name.startswith("gtmkit.lists"))
    assert attempted >= 20
