"""One source, one colour: every chart of a report or notebook that colours sources takes the
one ``charts.source_colours`` mapping, so the waterfall and the by-company-size chart agree."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from gtmkit import charts
from gtmkit.reports.engagement import sections
from tests._report_helpers import small_engagement


def _colour_scales(spec: dict[str, Any]) -> list[dict[str, str]]:
    """Every colour scale in a chart spec, as name → colour."""
    found: list[dict[str, str]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            colour = node.get("color")
            if isinstance(colour, dict) and "scale" in colour and "field" in colour:
                scale = colour["scale"]
                assert len(scale["domain"]) == len(scale["range"]), scale
                found.append(dict(zip(scale["domain"], scale["range"], strict=True)))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    return found


def _agree(scales: list[dict[str, str]]) -> dict[str, str]:
    """The union of the scales, failing when one name has two colours."""
    merged: dict[str, str] = {}
    for scale in scales:
        for name, colour in scale.items():
            assert merged.setdefault(name, colour) == colour, (name, merged[name], colour)
    return merged


def test_source_colours_follow_the_order_and_keep_fixed_greys() -> None:
    colours = charts.source_colours(["Hunter", "Not found", "Apollo", "Manual", "Hunter"])
    assert list(colours) == ["Hunter", "Not found", "Apollo", "Manual"]
    assert colours["Hunter"] == charts.PALETTE[0] and colours["Apollo"] == charts.PALETTE[1]
    assert colours["Not found"] == charts.FIXED_SOURCE_COLOURS["not found"]
    assert colours["Manual"] == charts.FIXED_SOURCE_COLOURS["manual"]
    assert len(set(charts.source_colours([f"s{i}" for i in range(8)]).values())) == 8


def test_a_name_missing_from_the_palette_gets_an_unused_colour() -> None:
    palette = charts.source_colours(["a", "b"])
    scale = charts.source_scale(["b", "c"], palette).to_dict()
    assert scale["domain"] == ["b", "c"]
    assert scale["range"][0] == palette["b"] and scale["range"][1] not in palette.values()


@pytest.fixture(scope="module")
def report_specs() -> list[dict[str, Any]]:
    """The specs of the charts the engagement report draws (chart_img captured)."""
    e = small_engagement()[2]
    drawn: list[dict[str, Any]] = []

    def capture(chart: Any, *, alt_text: str) -> str:
        drawn.append(chart.to_dict())
        return ""

    original = sections.chart_img
    sections.chart_img = capture  # type: ignore[assignment]
    try:
        sections.sources(e)
    finally:
        sections.chart_img = original  # type: ignore[assignment]
    return drawn


def test_report_waterfall_and_segment_chart_colour_sources_alike(report_specs: list[Any]) -> None:
    assert len(report_specs) == 2, "the waterfall and the by-segment chart"
    per_chart = [_agree(_colour_scales(spec)) for spec in report_specs]
    waterfall, by_segment = per_chart
    shared = set(waterfall) & set(by_segment)
    assert len(shared) >= 3, (waterfall, by_segment)  # the list's own emails and the finders
    assert {n: waterfall[n] for n in shared} == {n: by_segment[n] for n in shared}
    assert len(set(waterfall.values())) == len(waterfall)  # no two sources share a colour


def test_every_source_chart_agrees_given_one_palette() -> None:
    order = ["hunter", "apollo", "prospeo"]
    palette = charts.source_colours(order)
    metrics = pl.DataFrame(
        {"provider": ["prospeo", "hunter", "apollo"], "hit_rate": [0.5, 0.6, 0.4],
         "hit_rate_low": [0.4, 0.5, 0.3], "hit_rate_high": [0.6, 0.7, 0.5],
         "usd_per_hit": [0.05, 0.04, 0.03]}
    )  # fmt: skip
    summary = pl.DataFrame(
        {"step": [0, 1, 2], "provider": order, "incremental_coverage": [0.4, 0.2, 0.1],
         "cumulative_coverage": [0.4, 0.6, 0.7]}
    )  # fmt: skip
    latency = pl.DataFrame({"provider": ["apollo", "prospeo"] * 3, "latency_s": [0.1] * 6})
    segments = pl.DataFrame(
        {"segment": ["1-10"] * 2, "source": ["apollo", "hunter"], "found": [1, 2],
         "rows": [5, 5], "share": [0.2, 0.4]}
    )  # fmt: skip
    specs = [
        charts.hit_rate_vs_cost(metrics, palette=palette).to_dict(),
        charts.waterfall_steps(summary, palette=palette).to_dict(),
        charts.latency_distribution(latency, palette=palette).to_dict(),
        charts.segment_sources(segments, palette=palette).to_dict(),
    ]
    merged = _agree([s for spec in specs for s in _colour_scales(spec)])
    assert merged == palette


def test_default_palettes_follow_the_waterfall_order() -> None:
    """Without a palette the waterfall and the segment chart still agree when their sources
    come in the same (waterfall) order, whatever altair's alphabetical default would do."""
    order = ["Already in your list", "Prospeo", "Hunter"]
    summary = pl.DataFrame(
        {"step": [0, 1, 2], "provider": order, "incremental_coverage": [0.1, 0.4, 0.2],
         "cumulative_coverage": [0.1, 0.5, 0.7]}
    )  # fmt: skip
    segments = pl.DataFrame(
        {"segment": ["1-10"] * 3, "source": order, "found": [1, 2, 3], "rows": [9] * 3,
         "share": [1 / 9, 2 / 9, 3 / 9]}
    )  # fmt: skip
    a = _agree(_colour_scales(charts.waterfall_steps(summary).to_dict()))
    b = _agree(_colour_scales(charts.segment_sources(segments).to_dict()))
    assert a == b == charts.source_colours(order)


def test_frontier_subtitle_states_the_recommendation_as_the_notebook_prints_it() -> None:
    """Notebook 03 prints "predicted: coverage 80.8%, $0.0341"; the chart's subtitle must not
    round the same figures differently (it said "81% coverage at $0.034")."""
    from gtmkit.comparison import Comparison
    from tests._compare_helpers import synth_attempts, synth_costs, synth_records

    records = synth_records(300, seed=3)
    attempts, truth = synth_attempts(records, seed=3, correlation=0.4)
    cmp = Comparison.from_attempts(attempts, synth_costs(), rows=records, truth=truth)
    rec = cmp.recommend(target_coverage=0.7)
    spec = charts.pareto_frontier(cmp.frontier(), recommendation=rec).to_dict()
    subtitle = spec["title"]["subtitle"]
    printed = f"{rec.predicted_coverage:.1%}", f"${rec.predicted_cost_per_row_usd:.4f}"
    assert all(figure in subtitle[-1] for figure in printed), (subtitle, printed)
