"""The public contract other tools and reports rely on (DESIGN.md "Public entry points"): each
public name is the documented object — the right kind, from the right module, with the
documented parameters — ``__all__`` is exactly the lazy export table, and type checkers see the
same names as ``import gtmkit`` does."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import gtmkit
from gtmkit import _EXPORTS

INIT = Path(gtmkit.__file__)

# name -> (kind, defining module). Kinds: "class", "error", "function", "module". The engine and
# the adapters are being rebuilt, so for them the package is given: the object must be defined
# in it (or in one of its modules).
DOCUMENTED: dict[str, tuple[str, str]] = {
    "Finding": ("class", "gtmkit.providers"),
    "GtmkitError": ("error", "gtmkit.errors"),
    "ListError": ("error", "gtmkit.lists.errors"),
    "LoadedList": ("class", "gtmkit.lists.load"),
    "Provider": ("class", "gtmkit.providers"),
    "Step": ("class", "gtmkit.waterfall"),
    "Twin": ("class", "gtmkit.twin.twin"),
    "Waterfall": ("class", "gtmkit.waterfall"),
    "WaterfallResult": ("class", "gtmkit.waterfall"),
    "charts": ("module", "gtmkit.charts"),
    "compare": ("function", "gtmkit.comparison.run"),
    "export_csv": ("function", "gtmkit.lists.export"),
    "load_list": ("function", "gtmkit.lists.load"),
    "patterns": ("module", "gtmkit.patterns"),
    "providers": ("module", "gtmkit.providers"),
    "sandbox": ("module", "gtmkit.sandbox"),
    "twin": ("module", "gtmkit.twin"),
}

# function -> (leading positional parameters, keyword-only parameters it must accept)
SIGNATURES: dict[str, tuple[list[str], set[str]]] = {
    "load_list": (["source"], {"filename", "sheet", "mapping", "default_country"}),
    "export_csv": (["frame", "path"], {"bom"}),
    "compare": (
        ["records", "providers"],
        {"sample", "truth", "segment_by", "ledger", "budget_usd", "budget_credits", "seed"},
    ),
}


def test_all_is_sorted_and_is_exactly_the_export_table() -> None:
    assert gtmkit.__all__ == sorted(gtmkit.__all__)
    assert sorted(_EXPORTS) == gtmkit.__all__
    assert set(DOCUMENTED) == set(gtmkit.__all__), "document every public name here"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_each_public_name_is_the_documented_object(name: str) -> None:
    kind, module = DOCUMENTED[name]
    value = getattr(gtmkit, name)
    if kind == "module":
        assert inspect.ismodule(value) and value is importlib.import_module(module)
        assert _EXPORTS[name] is None
        return
    source = _EXPORTS[name]
    assert source is not None
    assert value is getattr(importlib.import_module(source), name)  # re-exported, not a copy
    assert value.__module__ == module or value.__module__.startswith(module + ".")
    assert value.__name__ == name
    if kind == "function":
        assert inspect.isfunction(value)
    elif kind == "error":
        assert inspect.isclass(value) and issubclass(value, gtmkit.GtmkitError)
    else:
        assert inspect.isclass(value) and not issubclass(value, BaseException)


@pytest.mark.parametrize("name", sorted(SIGNATURES))
def test_entry_point_signatures(name: str) -> None:
    leading, keywords = SIGNATURES[name]
    params = inspect.signature(getattr(gtmkit, name)).parameters
    positional = [
        p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    assert positional[: len(leading)] == leading
    keyword_only = {p.name for p in params.values() if p.kind is p.KEYWORD_ONLY}
    assert keywords <= keyword_only, keywords - keyword_only


def _fields(cls: Any) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def test_the_documented_shapes_of_the_classes() -> None:
    assert _fields(gtmkit.LoadedList)[:3] == ["records", "rejected", "mapping"]
    assert _fields(gtmkit.WaterfallResult)[:3] == ["records", "attempts", "summary"]
    assert _fields(gtmkit.Step)[0] == "provider"
    assert dataclasses.is_dataclass(gtmkit.Finding) and "outcome" in _fields(gtmkit.Finding)
    for method in ("run", "estimate"):
        params = list(inspect.signature(getattr(gtmkit.Waterfall, method)).parameters)
        assert params[:2] == ["self", "records"], method
    assert inspect.iscoroutinefunction(gtmkit.Provider.lookup)
    assert issubclass(gtmkit.ListError, ValueError)
    assert inspect.isclass(gtmkit.sandbox.World)
    assert inspect.isfunction(gtmkit.providers.connect)


def test_type_checkers_see_the_same_names_as_import_gtmkit() -> None:
    """The ``if TYPE_CHECKING:`` imports in gtmkit/__init__.py mirror the lazy export table."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    (block,) = [
        node
        for node in tree.body
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
    ]
    seen: dict[str, str | None] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            seen[alias.name] = None if node.module == "gtmkit" else node.module
    assert seen == _EXPORTS


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Waterfal'"):
        _ = gtmkit.Waterfal  # type: ignore[attr-defined]
    assert set(gtmkit.__all__) <= set(dir(gtmkit))


def test_compare_stays_the_function_after_its_modules_are_imported() -> None:
    import gtmkit.comparison.optimize

    assert inspect.isfunction(gtmkit.compare)


def test_chart_module_exposes_the_documented_charts() -> None:
    expected = {
        "hit_rate_vs_cost",
        "latency_distribution",
        "overlap_heatmap",
        "pareto_frontier",
        "segment_heatmap",
        "waterfall_steps",
    }
    public = {n for n, _ in inspect.getmembers(gtmkit.charts, inspect.isfunction)}
    assert expected <= public


def test_import_is_cheap_and_does_not_touch_heavy_modules() -> None:
    code = (
        "import sys, gtmkit; "
        "print(sorted(m for m in ('polars', 'altair', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
