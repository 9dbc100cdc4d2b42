"""The report command's rules without a kernel, the recommendation rules, number formats, and
chart labels that do not overlap (measured on Vega's own layout, the scenegraph)."""

from __future__ import annotations

import dataclasses
import itertools

import polars as pl
import pytest
import vl_convert as vlc

from gtmkit import charts
from gtmkit.reports import ReportParameterError
from gtmkit.reports.engagement import recommendation_texts, report_main, run_report
from gtmkit.reports.engagement.command import check_parameter_values
from gtmkit.reports.engagement.numbers import money, percent, share_range
from tests._report_helpers import REPORT_NOTEBOOK, small_engagement


@pytest.fixture(scope="module")
def engagement():  # type: ignore[no-untyped-def]
    return small_engagement()[2]


def test_unknown_parameter_is_refused_with_the_known_ones(capsys: pytest.CaptureFixture) -> None:
    assert report_main([REPORT_NOTEBOOK, "-p", "budget", "10"]) == 2
    err = capsys.readouterr().err
    assert "unknown notebook parameter(s) ['budget']" in err
    assert "budget_usd" in err and "client" in err and "list_path" in err


def test_key_named_parameter_is_refused(capsys: pytest.CaptureFixture) -> None:
    assert report_main([REPORT_NOTEBOOK, "-p", "hunter_api_key", "abc123def456"]) == 2
    err = capsys.readouterr().err
    assert "refusing notebook parameters ['hunter_api_key']" in err
    assert "abc123def456" not in err


def test_key_shaped_value_is_refused_before_anything_runs(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACME_API_KEY", "zq8Canary7731abcd")
    for value in ("sk-abcdefghijklmnopqrstuvwx", "zq8Canary7731abcd"):
        with pytest.raises(ReportParameterError, match="looks like an API key") as info:
            run_report(REPORT_NOTEBOOK, parameters={"client": value}, out_dir=tmp_path)
        assert value not in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing written
    check_parameter_values({"client": "Acme Analytics", "budget_usd": 200.0})


def test_number_formats() -> None:
    assert (money(132.18), money(0.0688), money(0), money(1234.5)) == (
        "$132.18", "$0.069", "$0.00", "$1,234.50")  # fmt: skip
    assert (percent(0.8594), share_range(0.8431, 0.8742)) == ("85.9%", "84.3–87.4%")


def test_recommendations_follow_the_figures(engagement) -> None:  # type: ignore[no-untyped-def]
    base = recommendation_texts(engagement)
    assert any("catch-all" in t for t in base) == (engagement.catch_all.value > 0.30)
    assert any("simulated providers" in t for t in base)
    assert not any("budget ran out" in t for t in base)
    stopped = dataclasses.replace(engagement, budget_stopped=40)
    text = next(t for t in recommendation_texts(stopped) if "budget ran out" in t)
    assert money(40 * engagement.cost_per_record) in text
    worse = dataclasses.replace(
        engagement,
        documented=engagement.documented.with_columns(
            verdict=pl.when(pl.col("figure") == "coverage")
            .then(pl.lit("worse"))
            .otherwise(pl.col("verdict"))
        ),
    )
    assert any("below the pattern's documented figures on coverage" in t
               for t in recommendation_texts(worse))  # fmt: skip
    live = dataclasses.replace(engagement, data_source="live", rejected=0)
    texts = recommendation_texts(live)
    assert not any("simulated" in t for t in texts) and not any("looked up (no" in t for t in texts)


def _text_boxes(spec: dict) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Every in-plot text label's box, from Vega's own layout of the chart."""
    boxes = []

    def walk(node: object, ox: float, oy: float) -> None:
        if isinstance(node, dict):
            if node.get("marktype") == "group":
                for item in node.get("items", []):
                    walk(item.get("items", []), ox + item.get("x", 0), oy + item.get("y", 0))
                return
            if node.get("marktype") == "text" and node.get("role") == "mark":
                for item in node.get("items", []):
                    size = item.get("fontSize", 11)
                    w = charts.text_width(str(item["text"]), size)
                    x = ox + item["x"] + item.get("dx", 0)
                    y = oy + item["y"] + item.get("dy", 0)
                    x0 = {"left": x, "center": x - w / 2, "right": x - w}[item.get("align", "left")]
                    boxes.append((str(item["text"]), (x0, y - size / 2, x0 + w, y + size / 2)))
                return
            for value in node.values():
                walk(value, ox, oy)
        elif isinstance(node, list):
            for value in node:
                walk(value, ox, oy)

    walk(vlc.vegalite_to_scenegraph(spec)["scenegraph"], 0.0, 0.0)
    return boxes


def _overlaps(boxes: list) -> list[tuple[str, str]]:
    return [
        (a, b)
        for (a, p), (b, q) in itertools.combinations(boxes, 2)
        if p[0] < q[2] and q[0] < p[2] and p[1] < q[3] and q[1] < p[3]
    ]


def test_hit_rate_vs_cost_labels_never_overlap_even_for_close_providers() -> None:
    names = ["apollo", "hunter", "pdl", "prospeo", "dropcontact"]
    m = pl.DataFrame({
        "provider": names, "hit_rate": [0.50, 0.49, 0.51, 0.48, 0.30],
        "hit_rate_low": [0.4] * 4 + [0.2], "hit_rate_high": [0.6] * 4 + [0.4],
        "usd_per_hit": [0.050, 0.051, 0.052, 0.050, 0.20],
    })  # fmt: skip
    boxes = _text_boxes(charts.hit_rate_vs_cost(m).to_dict())
    assert sorted(t for t, _ in boxes) == sorted(names)
    assert _overlaps(boxes) == []
    for _, (x0, y0, x1, _) in boxes:
        assert x0 >= 0 and y0 >= 0 and x1 <= charts.PLOT_WIDTH + 60


def test_pareto_pick_has_no_label_to_collide() -> None:
    from gtmkit.comparison import Comparison
    from tests._compare_helpers import synth_attempts, synth_costs, synth_records

    records = synth_records(300, seed=3)
    attempts, truth = synth_attempts(records, seed=3, correlation=0.4)
    cmp = Comparison.from_attempts(attempts, synth_costs(), rows=records, truth=truth)
    spec = charts.pareto_frontier(cmp.frontier(), recommendation=cmp.recommend(
        target_coverage=0.7)).to_dict()  # fmt: skip
    assert _text_boxes(spec) == []  # "Recommended" is a legend entry


def test_report_charts_have_no_overlapping_labels(engagement) -> None:  # type: ignore[no-untyped-def]
    frame = engagement.segment_sources
    assert _overlaps(_text_boxes(charts.segment_sources(frame).to_dict())) == []
    steps = pl.DataFrame({"step": [0, 1, 2], "provider": ["a", "b", "c"],
                          "incremental_coverage": [0.05, 0.4, 0.2],
                          "cumulative_coverage": [0.05, 0.45, 0.65]})  # fmt: skip
    assert _overlaps(_text_boxes(charts.waterfall_steps(steps).to_dict())) == []
