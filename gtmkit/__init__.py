"""gtmkit: lead-list intake, enrichment waterfalls and provider comparison for GTM engineers.

The public API is re-exported here and imported lazily, so ``import gtmkit`` stays cheap in a
notebook until a piece is used.

Example:
    >>> import gtmkit
    >>> "load_list" in gtmkit.__all__
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it (None: the name is the submodule itself)
_EXPORTS: dict[str, str | None] = {
    "Finding": "gtmkit.providers.base",
    "GtmkitError": "gtmkit.errors",
    "ListError": "gtmkit.lists",
    "LoadedList": "gtmkit.lists",
    "Provider": "gtmkit.providers.base",
    "Step": "gtmkit.waterfall",
    "Twin": "gtmkit.twin",
    "Waterfall": "gtmkit.waterfall",
    "WaterfallResult": "gtmkit.waterfall",
    "charts": None,
    "compare": "gtmkit.comparison",
    "export_csv": "gtmkit.lists",
    "load_list": "gtmkit.lists",
    "patterns": None,
    "providers": None,
    "sandbox": None,
    "twin": None,
}

__all__ = [
    "Finding",
    "GtmkitError",
    "ListError",
    "LoadedList",
    "Provider",
    "Step",
    "Twin",
    "Waterfall",
    "WaterfallResult",
    "charts",
    "compare",
    "export_csv",
    "load_list",
    "patterns",
    "providers",
    "sandbox",
    "twin",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from gtmkit import charts, patterns, providers, sandbox
    from gtmkit import twin as twin
    from gtmkit.comparison import compare
    from gtmkit.errors import GtmkitError
    from gtmkit.lists import ListError, LoadedList, export_csv, load_list
    from gtmkit.providers.base import Finding, Provider
    from gtmkit.twin import Twin
    from gtmkit.waterfall import Step, Waterfall, WaterfallResult


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gtmkit' has no attribute {name!r}")
    module_name = _EXPORTS[name]
    if module_name is None:
        value: Any = importlib.import_module(f"gtmkit.{name}")
    else:
        value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
