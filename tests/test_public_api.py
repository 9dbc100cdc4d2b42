"""The public contract other tools and reports rely on (DESIGN.md "Public entry points")."""

from __future__ import annotations

import inspect
import subprocess
import sys

import gtmkit


def test_all_is_sorted_and_every_name_resolves():
    assert gtmkit.__all__ == sorted(gtmkit.__all__)
    for name in gtmkit.__all__:
        assert getattr(gtmkit, name) is not None, name


def test_entry_points_have_the_documented_shape():
    assert callable(gtmkit.load_list)
    assert callable(gtmkit.compare)
    assert inspect.isclass(gtmkit.Waterfall)
    assert hasattr(gtmkit.Waterfall, "run") and hasattr(gtmkit.Waterfall, "estimate")
    assert issubclass(gtmkit.ListError, Exception)
    assert hasattr(gtmkit.sandbox, "World")
    assert callable(gtmkit.providers.connect)


def test_compare_stays_the_function_after_its_modules_are_imported():
    import gtmkit.comparison.optimize

    assert inspect.isfunction(gtmkit.compare)


def test_chart_module_exposes_the_documented_charts():
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


def test_import_is_cheap_and_does_not_touch_heavy_modules():
    code = (
        "import sys, gtmkit; "
        "print(sorted(m for m in ('polars', 'altair', 'httpx') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
