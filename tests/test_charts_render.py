"""Every chart renders to a real PNG offline (vl-convert bundles Vega; no network)."""

from __future__ import annotations

import struct

import polars as pl
import pytest
import vl_convert as vlc
from _compare_helpers import sandbox_providers, synth_attempts, synth_costs, synth_records

from gtmkit import charts
from gtmkit.comparison import Comparison
from gtmkit.sandbox import default_world
from gtmkit.waterfall import Step, Waterfall


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.fixture(scope="module")
def all_charts() -> dict:
    records = synth_records(600, seed=8)
    attempts, truth = synth_attempts(records, seed=8, correlation=0.4)
    cmp = Comparison.from_attempts(
        attempts, synth_costs(), rows=records, truth=truth, segment_by="employee_band"
    )
    # a real WaterfallResult from the engine on the simulated world, for the step chart
    world = default_world()
    people = world.people.head(80).select(
        "first_name", "last_name", "company_name", "company_domain"
    )
    people = people.with_row_index("row_id").with_columns(pl.col("row_id").cast(pl.Int64))
    with sandbox_providers(["prospeo", "apollo"]) as providers:
        result = Waterfall([Step("prospeo"), Step("apollo")]).run(
            people, providers=providers, ledger=None, progress=False, rate_limits="off"
        )
    return {
        "hit_rate_vs_cost": charts.hit_rate_vs_cost(cmp),
        "waterfall_steps": charts.waterfall_steps(result),
        "overlap_heatmap": charts.overlap_heatmap(cmp),
        "pareto_frontier": charts.pareto_frontier(
            cmp.frontier(), recommendation=cmp.recommend(target_coverage=0.7)
        ),
        "segment_heatmap": charts.segment_heatmap(cmp),
        "latency_distribution": charts.latency_distribution(result),
    }


@pytest.mark.parametrize(
    "name",
    [
        "hit_rate_vs_cost",
        "waterfall_steps",
        "overlap_heatmap",
        "pareto_frontier",
        "segment_heatmap",
        "latency_distribution",
    ],
)
def test_chart_renders_to_png_offline(all_charts: dict, name: str) -> None:
    png = vlc.vegalite_to_png(all_charts[name].to_dict(), scale=1)
    width, height = _png_size(png)
    assert 250 <= width <= 2000 and 100 <= height <= 1500, (width, height)
    assert len(png) > 8_000  # axes, labels and marks, not an empty canvas


def test_chart_save_writes_a_png(all_charts: dict, tmp_path) -> None:
    path = tmp_path / "frontier.png"
    all_charts["pareto_frontier"].save(str(path))
    width, height = _png_size(path.read_bytes())
    assert width > 250 and height > 150
