"""Chart specs: marks, encodings, formats, titles and the (aggregated) data behind each chart."""

from __future__ import annotations

import altair as alt
import polars as pl
import pytest
from _compare_helpers import synth_attempts, synth_costs, synth_records

from gtmkit import charts
from gtmkit.comparison import Comparison, HitPattern, ProviderCost, frontier


@pytest.fixture(scope="module")
def cmp() -> Comparison:
    records = synth_records(800, seed=6)
    attempts, truth = synth_attempts(records, seed=6, correlation=0.4)
    return Comparison.from_attempts(
        attempts, synth_costs(), rows=records, truth=truth, segment_by=["employee_band", "region"]
    )


def _data(spec: dict, layer: int | None = None) -> list[dict]:
    """The inline rows a (layer of a) chart spec draws."""
    part = spec if layer is None else spec["layer"][layer]
    name = (part.get("data") or spec.get("data"))["name"]
    return spec["datasets"][name]


def _marks(spec: dict) -> list[str]:
    return [layer["mark"]["type"] for layer in spec["layer"]]


def test_theme_is_registered_and_enabled() -> None:
    assert charts.THEME in alt.theme.names()
    assert alt.theme.active == charts.THEME
    spec = alt.Chart(pl.DataFrame({"a": [1]})).mark_point().encode(x="a:Q").to_dict()
    assert spec["config"]["font"].startswith("Liberation Sans")


def test_hit_rate_vs_cost(cmp: Comparison) -> None:
    spec = charts.hit_rate_vs_cost(cmp).to_dict()
    assert _marks(spec) == ["rule", "point", "text"]
    rule = spec["layer"][0]["encoding"]
    assert rule["x"]["field"] == "usd_per_hit" and rule["x"]["axis"]["format"] == "$,.3f"
    assert "USD" in rule["x"]["title"]
    assert (rule["y"]["field"], rule["y2"]["field"]) == ("hit_rate_low", "hit_rate_high")
    assert rule["y"]["axis"]["format"] == ".0%"
    rows = {r["provider"]: r for r in _data(spec)}
    metrics = {r["provider"]: r for r in cmp.metrics.iter_rows(named=True)}
    assert set(rows) == set(metrics)
    for name, row in rows.items():
        assert row["hit_rate_low"] <= row["hit_rate"] <= row["hit_rate_high"]
        assert row["usd_per_hit"] == pytest.approx(metrics[name]["usd_per_hit"])
    assert spec["title"]["text"] == "Hit rate vs cost per hit"


def test_waterfall_steps_from_a_summary() -> None:
    summary = pl.DataFrame(
        {
            "step": [0, 1, 2],
            "provider": ["prospeo", "apollo", "hunter"],
            "incremental_coverage": [0.5, 0.2, 0.1],
            "cumulative_coverage": [0.5, 0.7, 0.8],
            "cost_usd": [10.0, 5.0, 3.0],
            "cost_per_hit": [0.04, 0.05, 0.1],
        }
    )
    spec = charts.waterfall_steps(summary).to_dict()
    assert _marks(spec) == ["bar", "text"]
    enc = spec["layer"][0]["encoding"]
    assert (enc["y"]["field"], enc["y2"]["field"]) == ("start", "cumulative_coverage")
    assert enc["x"]["sort"] == ["1. prospeo", "2. apollo", "3. hunter"]
    rows = _data(spec)
    assert [r["start"] for r in rows] == pytest.approx([0.0, 0.5, 0.7])
    assert [r["gain"] for r in rows] == ["+50.0%", "+20.0%", "+10.0%"]
    tips = {t["field"]: t for t in enc["tooltip"]}
    assert tips["cost_usd"]["format"].startswith("$")
    with pytest.raises(ValueError, match="incremental_coverage"):
        charts.waterfall_steps(summary.drop("incremental_coverage"))


def test_overlap_heatmap(cmp: Comparison) -> None:
    spec = charts.overlap_heatmap(cmp).to_dict()
    assert _marks(spec) == ["rect", "text"]
    enc = spec["layer"][0]["encoding"]
    assert enc["color"]["field"] == "gain_b_after_a"
    rows = _data(spec)
    assert len(rows) == 5 * 4  # ordered pairs of distinct providers
    assert {r["relation"] for r in rows} <= {"complementary", "redundant", "conflicting"}
    jac = charts.overlap_heatmap(cmp.overlap, value="jaccard").to_dict()
    assert jac["layer"][0]["encoding"]["color"]["field"] == "jaccard"


def test_pareto_frontier_marks_the_recommendation(cmp: Comparison) -> None:
    front = cmp.frontier()
    rec = cmp.recommend(target_coverage=0.7)
    spec = charts.pareto_frontier(front, recommendation=rec).to_dict()
    # the pick is named by a legend entry (a text beside it would land on frontier points)
    assert _marks(spec) == ["point", "line", "point"]
    assert spec["layer"][1]["encoding"]["x"]["axis"]["format"] == "$,.3f"
    line = _data(spec, 1)
    assert len(line) == front.filter("pareto").height
    assert len(_data(spec, 0)) == front.height - len(line)
    pick = _data(spec, 2)[0]
    assert pick["order"] == " → ".join(rec.order)
    assert pick["cost_per_row_usd"] == pytest.approx(rec.predicted_cost_per_row_usd)
    shape = spec["layer"][2]["encoding"]["shape"]
    assert pick["label"] == "Recommended" and shape["scale"]["range"] == ["diamond"]
    assert " → ".join(rec.order) in spec["title"]["subtitle"][1]


def test_pareto_frontier_stays_small_for_many_providers() -> None:
    n = 14
    hit = {f"p{i}": [(r * (i + 3)) % 7 < 3 for r in range(300)] for i in range(n)}
    costs = {p: ProviderCost(p, "per_hit", 1.0, 0.01 * (i + 1)) for i, p in enumerate(hit)}
    front = frontier(HitPattern.from_bools(list(hit), hit, costs))
    assert front.height == 2**n - 1
    spec = charts.pareto_frontier(front).to_dict()
    assert _marks(spec) == ["line"]  # the 16k background subsets are not embedded
    assert len(_data(spec, 0)) == front.filter("pareto").height < 5000
    assert "omitted" in spec["title"]["subtitle"][0]


def test_segment_heatmap(cmp: Comparison) -> None:
    spec = charts.segment_heatmap(cmp).to_dict()
    assert _marks(spec) == ["rect", "text", "text"]
    enc = spec["layer"][0]["encoding"]
    assert enc["x"]["sort"] == ["1-10", "11-50", "51-200", "201-1000"]
    assert enc["color"]["field"] == "hit_rate"
    rows = _data(spec)
    assert len(rows) == 5 * 4
    assert {r["flag"] for r in rows if r["too_wide"]} <= {"±"}
    assert all(r["label"] == f"{r['hit_rate']:.0%}" for r in rows)
    region = charts.segment_heatmap(cmp, segment="region", value="usd_per_usable").to_dict()
    assert len(_data(region)) == 5 * 3
    for r in _data(region):
        expected = "n/a" if r["usd_per_usable"] is None else f"${r['usd_per_usable']:,.3f}"
        assert r["label"] == expected
    assert region["layer"][0]["encoding"]["color"]["legend"]["format"] == "$,.3f"


def test_latency_distribution_aggregates_before_charting(cmp: Comparison) -> None:
    spec = charts.latency_distribution(cmp).to_dict()
    assert _marks(spec) == ["rule", "bar", "tick"]
    rows = {r["provider"]: r for r in _data(spec)}
    assert len(rows) == 5  # one row per provider, not one per call
    for row in rows.values():
        assert row["p5"] <= row["p25"] <= row["p50"] <= row["p75"] <= row["p95"]
    attempts = cmp.attempts.filter(~pl.col("cached"))
    alpha = attempts.filter(pl.col("provider") == "alpha")["latency_s"]
    assert rows["alpha"]["p50"] == pytest.approx(alpha.quantile(0.5, "linear"))
    assert rows["alpha"]["calls"] == alpha.len()
    assert "seconds" in spec["layer"][0]["encoding"]["x"]["title"]
    pre = pl.DataFrame(
        {"provider": ["a"], "p5": [0.1], "p25": [0.2], "p50": [0.3], "p75": [0.4], "p95": [0.9]}
    )
    assert _data(charts.latency_distribution(pre).to_dict())[0]["p95"] == 0.9


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(TypeError):
        charts.hit_rate_vs_cost(42)
    with pytest.raises(ValueError, match="usd_per_hit"):
        charts.hit_rate_vs_cost(pl.DataFrame({"provider": ["a"]}))
