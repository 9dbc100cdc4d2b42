"""The runnable examples in the waterfall package's docstrings."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "gtmkit.waterfall",
    "gtmkit.waterfall.budget",
    "gtmkit.waterfall.ledger",
    "gtmkit.waterfall.spec",
    "gtmkit.waterfall.sync",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
