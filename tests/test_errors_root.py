"""Every error gtmkit raises on purpose derives from ``gtmkit.GtmkitError`` (issue 8), so a
caller can catch them all — checked over the whole package, classes and ``raise`` sites."""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
from pathlib import Path

import gtmkit
from gtmkit.errors import GtmkitError

PACKAGE = Path(gtmkit.__file__).parent
BUILTINS = {"Exception", "ValueError", "TypeError", "KeyError", "RuntimeError", "OSError"}
#: exception classes that never leave their module (each is caught and translated there)
INTERNAL = {
    "gtmkit.sandbox.http.wire.BadBody": "answered as the provider's own 400 by the simulation",
    "gtmkit.lists.read._NotUtf8": "private: the reader falls back to another encoding",
    "gtmkit.waterfall.ledger_schema.NewerLedger": "translated to LedgerError by ledger.py",
}


def _modules():
    for info in pkgutil.walk_packages(gtmkit.__path__, prefix="gtmkit."):
        if not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


def test_every_exception_class_derives_from_the_root():
    strays = []
    for module in _modules():
        for name, obj in inspect.getmembers(module, inspect.isclass):
            if obj.__module__ != module.__name__ or not issubclass(obj, BaseException):
                continue
            qualified = f"{module.__name__}.{name}"
            if qualified not in INTERNAL and not issubclass(obj, GtmkitError):
                strays.append(qualified)
    assert not strays, f"exceptions outside GtmkitError: {strays}"


def test_no_builtin_exception_is_raised_directly():
    sites = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                func = node.exc.func
                if isinstance(func, ast.Name) and func.id in BUILTINS:
                    sites.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {func.id}")
    assert not sites, f"raise a GtmkitError subclass instead: {sites}"
