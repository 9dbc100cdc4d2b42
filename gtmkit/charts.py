"""Charts of gtmkit results: functions that return altair charts and never display or save.

Every function aggregates in polars first and hands altair a small table (one row per
provider, step, pair, subset or segment cell), far under altair's 5,000-row inline limit, so a
chart embeds cleanly in a notebook or a papermill report. Titles say what is shown, axes carry
units, money is formatted as money (``$0.042``) and rates as percentages.

Importing this module registers and enables the ``gtmkit`` altair theme (altair ≥ 5.5 theme
API); :func:`use_theme` re-enables it after another theme was switched on.

Example:
    >>> import polars as pl
    >>> from gtmkit import charts
    >>> m = pl.DataFrame({"provider": ["a", "b"], "hits": [50, 30], "n": [100, 100],
    ...     "hit_rate": [0.5, 0.3], "hit_rate_low": [0.4, 0.22], "hit_rate_high": [0.6, 0.4],
    ...     "usd_per_hit": [0.05, 0.02]})
    >>> spec = charts.hit_rate_vs_cost(m).to_dict()
    >>> spec["layer"][0]["mark"]["type"]
    'rule'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import altair as alt
import polars as pl

from gtmkit.errors import ArgumentError, InvalidInput

__all__ = [
    "THEME",
    "hit_rate_vs_cost",
    "latency_distribution",
    "overlap_heatmap",
    "pareto_frontier",
    "phone_quality",
    "place_labels",
    "segment_heatmap",
    "segment_sources",
    "source_colours",
    "source_scale",
    "text_width",
    "use_theme",
    "waterfall_steps",
]

#: Name of the registered altair theme.
THEME = "gtmkit"

Chart = alt.Chart | alt.LayerChart

MONEY = "$,.3f"  # d3-format: dollars with three decimals (provider prices are sub-cent to cents)
PERCENT = ".0%"
PALETTE = ["#1f5f8b", "#e07b39", "#3a9e6f", "#b8457a", "#7a6fb0", "#c9a227", "#5a8f9e", "#8c564b"]
#: Sources whose colour never moves, whatever else is charted: what no source found, and what a
#: person found by hand (keys are lower-case names).
FIXED_SOURCE_COLOURS = {
    "not found": "#c7c7c7",
    "no email": "#c7c7c7",
    "manual": "#8c8c8c",
    "manual research": "#8c8c8c",
}
#: Most points a frontier chart draws for non-frontier subsets (the frontier is always drawn).
MAX_BACKGROUND_POINTS = 1000


@alt.theme.register(THEME, enable=True)
def _gtmkit_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": "Liberation Sans, DejaVu Sans, Helvetica, Arial, sans-serif",
            "view": {"continuousWidth": 420, "continuousHeight": 300, "stroke": None},
            "title": {"fontSize": 15, "anchor": "start", "subtitleColor": "#555555"},
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "gridColor": "#e6e6e6",
                "domainColor": "#888888",
            },
            "legend": {"labelFontSize": 11, "titleFontSize": 12},
            "range": {"category": PALETTE},
            "point": {"size": 80, "filled": True},
            "bar": {"color": PALETTE[0]},
        }
    }


def use_theme() -> None:
    """Enable the gtmkit theme (it is enabled when this module is imported)."""
    alt.theme.enable(THEME)


def source_colours(order: Sequence[str]) -> dict[str, str]:
    """One colour per source (provider) name, handed out in ``order`` — pass the waterfall's
    step order — with "not found" and "manual" always the same greys.

    Every chart that colours sources takes this mapping as ``palette=``, so one notebook or
    report draws a source in one colour in every chart.

    Example:
        >>> source_colours(["Already in your list", "Hunter", "manual", "Apollo"])
        {'Already in your list': '#1f5f8b', 'Hunter': '#e07b39', 'manual': '#8c8c8c', \
'Apollo': '#3a9e6f'}
    """
    colours: dict[str, str] = {}
    turn = 0
    for name in dict.fromkeys(str(n) for n in order):
        fixed = FIXED_SOURCE_COLOURS.get(name.strip().lower())
        if fixed is None:
            fixed, turn = PALETTE[turn % len(PALETTE)], turn + 1
        colours[name] = fixed
    return colours


def source_scale(names: Sequence[str], palette: Mapping[str, str] | None = None) -> alt.Scale:
    """The colour scale of a chart showing ``names``: domain the names (in order), range their
    colours from ``palette`` (default: :func:`source_colours` of ``names``). A name the palette
    lacks gets the next free colour rather than one already in use.

    Example:
        >>> source_scale(["b"], {"a": "#111111", "b": "#222222"}).to_dict()
        {'domain': ['b'], 'range': ['#222222']}
    """
    shown = list(dict.fromkeys(str(n) for n in names))
    known = dict(palette) if palette is not None else {}
    colours = source_colours([*known, *shown]) | known
    return alt.Scale(domain=shown, range=[colours[n] for n in shown])


def _frame(obj: Any, attr: str) -> pl.DataFrame:
    """Accept either a gtmkit result object (read ``attr``) or the frame itself."""
    frame = obj if isinstance(obj, pl.DataFrame) else getattr(obj, attr, None)
    if not isinstance(frame, pl.DataFrame):
        raise ArgumentError(
            f"expected a polars DataFrame or an object with .{attr}, got {type(obj)}"
        )
    return frame


def _need(frame: pl.DataFrame, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InvalidInput(f"{what} needs column(s) {missing}; got {frame.columns}")


def _natural(values: Sequence[Any]) -> list[str]:
    """Segment labels in a human order: by leading number when there is one ("1-10" before
    "11-50" before "201-1000"), otherwise alphabetically."""

    def key(v: Any) -> tuple[int, float, str]:
        text = "" if v is None else str(v)
        digits = ""
        for ch in text:
            if ch.isdigit():
                digits += ch
            elif digits:
                break
        return (0, float(digits), text) if digits else (1, 0.0, text)

    return [str(v) for v in sorted(values, key=key)]


def _layered(*charts: alt.Chart) -> alt.LayerChart:
    """The charts drawn on top of one another. (``alt.layer`` may hand back a ``FacetChart``
    when the layers share facet encodings; these never facet, so say what they are.)"""
    return alt.LayerChart(layer=list(charts))


#: Plot area of the charts whose labels are placed in Python (the theme's default view size).
PLOT_WIDTH, PLOT_HEIGHT = 420, 300
_LABEL_FONT = 11
# Advance widths of Liberation Sans (metric-compatible with Arial), in ems; others ~0.56 em.
_WIDE = dict.fromkeys("mwMW%@", 0.85) | dict.fromkeys("ABCDEFGHKNOPQRSUVXYZ&", 0.68)
_NARROW = dict.fromkeys("ijlI.,:;'|!() ", 0.28) | dict.fromkeys("frtJ-", 0.36)


def text_width(text: str, font_size: float = _LABEL_FONT) -> float:
    """About how wide ``text`` is drawn, in pixels (Liberation Sans / Arial metrics).

    Example:
        >>> round(text_width("hunter"))
        33
    """
    return sum(_WIDE.get(c, _NARROW.get(c, 0.56)) for c in text) * font_size


def _boxes_overlap(a: tuple[float, float, float, float], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(
    points: Sequence[tuple[float, float]],
    texts: Sequence[str],
    *,
    width: float = PLOT_WIDTH,
    height: float = PLOT_HEIGHT,
    font_size: float = _LABEL_FONT,
) -> list[tuple[float, float]]:
    """Where to draw each point's label (left edge, vertical middle, in pixels of the plot)
    so that no two labels overlap one another or a point, and all stay inside the plot.

    Tries, in order, right of the point, above-right, below-right, left, above, below, then
    further up or down; a label that fits nowhere goes to the least crowded spot found.

    Example:
        >>> place_labels([(100, 100), (102, 101)], ["apollo", "hunter"])
        [(108, 100), (110, 87)]
    """
    height_px = font_size + 2
    point_r = 6.0
    taken: list[tuple[float, float, float, float]] = [
        (x - point_r, y - point_r, x + point_r, y + point_r) for x, y in points
    ]
    placed: list[tuple[float, float]] = []
    for (x, y), text in zip(points, texts, strict=True):
        w = text_width(text, font_size)
        candidates = [(x + 8, y), (x + 8, y - 14), (x + 8, y + 14), (x - 8 - w, y)]
        candidates += [(x - w / 2, y - 16), (x - w / 2, y + 16)]
        candidates += [(x + 8, y + k * 14) for k in (-2, 2, -3, 3, -4, 4, -5, 5)]
        best: tuple[float, float] | None = None
        best_hits = None
        for cx, cy in candidates:
            box = (cx, cy - height_px / 2, cx + w, cy + height_px / 2)
            own = (x - point_r, y - point_r, x + point_r, y + point_r)
            inside = box[0] >= 0 and box[2] <= width and box[1] >= 0 and box[3] <= height
            hits = sum(1 for t in taken if t != own and _boxes_overlap(box, t))
            if inside and hits == 0:
                best = (cx, cy)
                break
            score = hits + (0 if inside else 100)
            if best_hits is None or score < best_hits:
                best, best_hits = (cx, cy), score
        assert best is not None
        cx, cy = best
        taken.append((cx, cy - height_px / 2, cx + w, cy + height_px / 2))
        placed.append((round(cx, 1), round(cy, 1)))
    return placed


def hit_rate_vs_cost(
    metrics: Any, *, title: str | None = None, palette: Mapping[str, str] | None = None
) -> alt.LayerChart:
    """Hit rate (with its Wilson 95 % interval) against cost per hit, one point per provider.

    Each point is labelled with its provider; labels are placed (:func:`place_labels`) so that
    they never overlap one another or a point, however close two providers are.

    Args:
        metrics: ``Comparison`` (uses ``.metrics``) or a metrics frame with ``provider``,
            ``hit_rate``, ``hit_rate_low``, ``hit_rate_high``, ``usd_per_hit`` (and
            optionally ``n``, ``hits``, ``accuracy``).
        palette: source name → colour (:func:`source_colours`), shared with the other charts.
    """
    m = _frame(metrics, "metrics")
    _need(m, ["provider", "hit_rate", "hit_rate_low", "hit_rate_high", "usd_per_hit"], "chart")
    keep = [
        c
        for c in (
            "provider",
            "n",
            "hits",
            "hit_rate",
            "hit_rate_low",
            "hit_rate_high",
            "usd_per_hit",
            "accuracy",
        )
        if c in m.columns
    ]
    data = m.select(keep).filter(pl.col("usd_per_hit").is_not_null())
    # An explicit x domain (no "nice" rounding) so label positions computed here in pixels map
    # back to data exactly.
    top = float(data["usd_per_hit"].max() or 0.0)  # type: ignore[arg-type]
    x_max = top * 1.25 if top > 0 else 1.0
    pixels = [
        (float(c) / x_max * PLOT_WIDTH, (1.0 - float(h)) * PLOT_HEIGHT)
        for c, h in data.select("usd_per_hit", "hit_rate").iter_rows()
    ]
    spots = place_labels(pixels, [str(p) for p in data["provider"]])
    data = data.with_columns(
        label_x=pl.Series([sx / PLOT_WIDTH * x_max for sx, _ in spots], dtype=pl.Float64),
        label_y=pl.Series([1.0 - sy / PLOT_HEIGHT for _, sy in spots], dtype=pl.Float64),
    )
    colour = source_scale(data["provider"].cast(pl.String).to_list(), palette)
    base = alt.Chart(data)
    x_scale = alt.Scale(domain=[0, x_max], nice=False, zero=True)
    x = alt.X(
        "usd_per_hit:Q", title="Cost per hit (USD)", axis=alt.Axis(format=MONEY), scale=x_scale
    )
    y_scale = alt.Scale(domain=[0, 1])
    found = "a phone" if "mobiles" in m.columns else "an email"  # a phone comparison's metrics
    bars = base.mark_rule(strokeWidth=2).encode(
        x=x,
        y=alt.Y(
            "hit_rate_low:Q",
            title=f"Hit rate (share of rows with {found})",
            axis=alt.Axis(format=PERCENT),
            scale=y_scale,
        ),
        y2="hit_rate_high:Q",
        color=alt.Color("provider:N", title="Provider", scale=colour),
    )
    tips = [
        alt.Tooltip("provider:N", title="Provider"),
        alt.Tooltip("hit_rate:Q", title="Hit rate", format=".1%"),
        alt.Tooltip("hit_rate_low:Q", title="95% low", format=".1%"),
        alt.Tooltip("hit_rate_high:Q", title="95% high", format=".1%"),
        alt.Tooltip("usd_per_hit:Q", title="Cost per hit", format=MONEY),
    ]
    points = base.mark_point().encode(
        x=x,
        y=alt.Y("hit_rate:Q", scale=y_scale),
        color=alt.Color("provider:N", scale=colour),
        tooltip=tips,
    )
    labels = base.mark_text(align="left", baseline="middle", fontSize=_LABEL_FONT).encode(
        x=alt.X("label_x:Q", scale=x_scale),
        y=alt.Y("label_y:Q", scale=y_scale),
        text="provider:N",
    )
    return _layered(bars, points, labels).properties(
        width=PLOT_WIDTH,
        height=PLOT_HEIGHT,
        title=alt.Title(
            title or "Hit rate vs cost per hit",
            subtitle="Bars: Wilson 95% interval of the hit rate. Up and to the left is better.",
        ),
    )


def waterfall_steps(
    summary: Any,
    *,
    title: str | None = None,
    x_title: str = "Waterfall step (in order)",
    y_title: str = "Rows with an email (cumulative share)",
    palette: Mapping[str, str] | None = None,
) -> alt.LayerChart:
    """Incremental coverage per waterfall step, as a waterfall (floating bars) chart.

    Args:
        summary: ``WaterfallResult`` (uses ``.summary``) or its summary frame with ``step``,
            ``provider``, ``incremental_coverage``, ``cumulative_coverage`` (and optionally
            ``cost_usd``, ``cost_per_hit``, ``hits``).
        palette: source name → colour (:func:`source_colours`; default: the step order).
    """
    s = _frame(summary, "summary")
    _need(s, ["step", "provider", "incremental_coverage", "cumulative_coverage"], "chart")
    extras = [c for c in ("hits", "calls", "cost_usd", "cost_per_hit") if c in s.columns]
    data = (
        s.sort("step")
        .select("step", "provider", "incremental_coverage", "cumulative_coverage", *extras)
        .with_columns(
            label=pl.format("{}. {}", pl.col("step") + 1, pl.col("provider")),
            start=pl.col("cumulative_coverage") - pl.col("incremental_coverage"),
            gain=pl.format("+{}%", (pl.col("incremental_coverage") * 100).round(1).cast(pl.String)),
        )
    )
    order = data["label"].to_list()
    x = alt.X("label:N", title=x_title, sort=order, axis=alt.Axis(labelAngle=0))
    tips = [
        alt.Tooltip("provider:N", title="Provider"),
        alt.Tooltip("incremental_coverage:Q", title="Added coverage", format=".1%"),
        alt.Tooltip("cumulative_coverage:Q", title="Coverage so far", format=".1%"),
    ]
    if "cost_usd" in data.columns:
        tips.append(alt.Tooltip("cost_usd:Q", title="Step cost", format="$,.2f"))
    if "cost_per_hit" in data.columns:
        tips.append(alt.Tooltip("cost_per_hit:Q", title="Cost per hit", format=MONEY))
    base = alt.Chart(data)
    bars = base.mark_bar().encode(
        x=x,
        y=alt.Y(
            "start:Q",
            title=y_title,
            axis=alt.Axis(format=PERCENT),
            scale=alt.Scale(domain=[0, 1]),
        ),
        y2="cumulative_coverage:Q",
        color=alt.Color(
            "provider:N",
            title="Provider",
            legend=None,
            scale=source_scale(data["provider"].cast(pl.String).to_list(), palette),
        ),
        tooltip=tips,
    )
    text = base.mark_text(dy=-8).encode(x=x, y="cumulative_coverage:Q", text="gain:N")
    return _layered(bars, text).properties(
        width=alt.Step(110),
        title=alt.Title(
            title or "Coverage added by each waterfall step",
            subtitle="Each bar starts where the previous steps left off.",
        ),
    )


def overlap_heatmap(
    overlap: Any,
    *,
    value: Literal["gain_b_after_a", "jaccard", "conflict_rate", "overlap_coef"] = (
        "gain_b_after_a"
    ),
    title: str | None = None,
) -> alt.LayerChart:
    """Pairwise overlap as a heatmap (rows: provider A, columns: provider B).

    Args:
        overlap: ``Comparison`` (uses ``.overlap``) or the pairwise overlap frame.
        value: the cell value: ``gain_b_after_a`` (share of A's misses B finds — what B adds
            after A), ``jaccard``, ``conflict_rate`` or ``overlap_coef``.
    """
    o = _frame(overlap, "overlap")
    _need(o, ["provider_a", "provider_b", value], "chart")
    extras = [c for c in ("relation", "both_hit", "conflicts") if c in o.columns]
    data = o.select("provider_a", "provider_b", value, *extras)
    titles = {
        "gain_b_after_a": "Share of A's misses B finds",
        "jaccard": "Jaccard overlap of hits",
        "conflict_rate": "Share of shared hits with different emails",
        "overlap_coef": "Overlap coefficient",
    }
    base = alt.Chart(data).encode(
        x=alt.X("provider_b:N", title="Provider B (tried second)", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("provider_a:N", title="Provider A (tried first)"),
    )
    tips = [
        alt.Tooltip("provider_a:N", title="A"),
        alt.Tooltip("provider_b:N", title="B"),
        alt.Tooltip(f"{value}:Q", title=titles[value], format=".1%"),
    ]
    tips += [alt.Tooltip(f"{c}:N", title=c.replace("_", " ")) for c in extras]
    rect = base.mark_rect().encode(
        color=alt.Color(
            f"{value}:Q",
            title=titles[value],
            legend=alt.Legend(format=PERCENT),
            scale=alt.Scale(scheme="blues", domain=[0, 1]),
        ),
        tooltip=tips,
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text(f"{value}:Q", format=".0%"),
        color=alt.condition(alt.datum[value] > 0.65, alt.value("white"), alt.value("black")),
    )
    return _layered(rect, text).properties(
        width=alt.Step(64),
        height=alt.Step(36),
        title=alt.Title(title or f"Provider overlap: {titles[value].lower()}"),
    )


def pareto_frontier(
    frontier: Any,
    *,
    recommendation: Any = None,
    metric: Literal["coverage", "usable_coverage"] = "coverage",
    max_background_points: int = MAX_BACKGROUND_POINTS,
    title: str | None = None,
    field: Literal["email", "phone"] = "email",
) -> alt.LayerChart:
    """Coverage against expected cost per row for provider subsets; frontier and pick marked.

    Args:
        frontier: the frame from ``Comparison.frontier()`` (``order``, ``coverage``,
            ``usable_coverage``, ``cost_per_row_usd``, ``pareto``).
        recommendation: a ``Recommendation`` to mark (its order and predictions).
        metric: which coverage to plot.
        max_background_points: non-frontier subsets are drawn (faint) only up to this many,
            keeping the embedded data small; beyond it only the frontier is drawn.
        field: what the rows were searched for (``"phone"`` for a phone comparison's
            frontier: the axis then says "Rows with a phone").
    """
    f = _frame(frontier, "frontier")
    _need(f, ["order", metric, "cost_per_row_usd", "pareto"], "chart")
    data = f.select(
        pl.col("order").list.join(" → ").alias("order"),
        pl.col(metric).alias("value"),
        "cost_per_row_usd",
        "pareto",
    )
    background = data.filter(~pl.col("pareto"))
    note = ""
    if background.height > max_background_points:
        background = background.head(0)
        note = " Other subsets omitted (too many to draw)."
    front = data.filter(pl.col("pareto")).sort("cost_per_row_usd")
    noun = "phone" if field == "phone" else "email"
    found = ("a " if noun == "phone" else "an ") + noun
    y_title = f"Rows with {found if metric == 'coverage' else 'a usable ' + noun}"
    x = alt.X(
        "cost_per_row_usd:Q", title="Expected cost per input row (USD)", axis=alt.Axis(format=MONEY)
    )
    y = alt.Y(
        "value:Q",
        title=f"{y_title} (share)",
        axis=alt.Axis(format=PERCENT),
        scale=alt.Scale(domain=[0, 1]),
    )
    tips = [
        alt.Tooltip("order:N", title="Order"),
        alt.Tooltip("value:Q", title=y_title, format=".1%"),
        alt.Tooltip("cost_per_row_usd:Q", title="Cost per row", format=MONEY),
    ]
    layers: list[Any] = []
    if background.height:
        layers.append(
            alt.Chart(background)
            .mark_point(color="#bbbbbb", opacity=0.5, size=30)
            .encode(x=x, y=y, tooltip=tips)
        )
    layers.append(
        alt.Chart(front)
        .mark_line(point=True, color=PALETTE[0], interpolate="step-after")
        .encode(x=x, y=y, tooltip=tips)
    )
    if recommendation is not None:
        pick = pl.DataFrame(
            {
                "order": [" → ".join(recommendation.order)],
                "value": [
                    recommendation.predicted_coverage
                    if metric == "coverage"
                    else recommendation.predicted_usable_coverage
                ],
                "cost_per_row_usd": [recommendation.predicted_cost_per_row_usd],
                "label": ["Recommended"],
            }
        )
        # Named by a legend entry, not a text beside the diamond: a label in the plot lands on
        # the frontier's own points whenever the pick sits on the frontier.
        layers.append(
            alt.Chart(pick)
            .mark_point(size=260, color=PALETTE[1], filled=True, opacity=1)
            .encode(
                x=x,
                y=y,
                shape=alt.Shape(
                    "label:N",
                    scale=alt.Scale(domain=["Recommended"], range=["diamond"]),
                    legend=alt.Legend(
                        title=None,
                        orient="bottom",
                        symbolFillColor=PALETTE[1],
                        symbolStrokeColor=PALETTE[1],
                        symbolSize=160,
                    ),
                ),
                tooltip=tips,
            )
        )
    subtitle = [
        "Line: best coverage for the money (each point is a subset in its cheapest order)." + note
    ]
    if recommendation is not None:
        subtitle.append(
            f"Recommended (diamond): {' → '.join(recommendation.order)} — "
            # the precision the notebook prints them at, so the two copies read the same
            f"predicted coverage {recommendation.predicted_coverage:.1%} at "
            f"${recommendation.predicted_cost_per_row_usd:,.4f} per row."
        )
    return _layered(*layers).properties(
        title=alt.Title(
            title or "Coverage vs cost: the Pareto frontier of provider orders",
            subtitle=subtitle,
        )
    )


def segment_heatmap(
    segment_metrics: Any,
    *,
    value: Literal["hit_rate", "accuracy", "usable_rate", "usd_per_usable"] = "hit_rate",
    segment: str | None = None,
    title: str | None = None,
) -> alt.LayerChart:
    """Provider × segment heatmap of one metric; cells too noisy to act on are marked ``±``.

    Args:
        segment_metrics: ``Comparison`` (uses ``.segment_metrics``) or a frame with
            ``provider``, ``segment_value`` (and ``segment``), the ``value`` column and
            ``too_wide``.
        value: ``hit_rate``, ``accuracy``, ``usable_rate`` or ``usd_per_usable``.
        segment: which segment column to show when several were measured (default: first).
    """
    s = _frame(segment_metrics, "segment_metrics")
    _need(s, ["provider", "segment_value", value], "chart")
    if "segment" in s.columns:
        seg = segment or s["segment"][0]
        s = s.filter(pl.col("segment") == seg)
    else:
        seg = segment or "segment"
    money = value == "usd_per_usable"
    fmt = MONEY if money else ".0%"
    too_wide = pl.col("too_wide") if "too_wide" in s.columns else pl.lit(False)
    data = s.select(
        "provider",
        pl.col("segment_value").cast(pl.String),
        value,
        *[c for c in ("n",) if c in s.columns],
        too_wide.alias("too_wide"),
    ).with_columns(
        flag=pl.when(pl.col("too_wide")).then(pl.lit("±")).otherwise(pl.lit("")),
        # the cell text, formatted here so an empty cell reads "n/a" rather than "null"
        label=pl.col(value)
        .map_elements(
            (lambda v: f"${v:,.3f}") if money else (lambda v: f"{v:.0%}"), return_dtype=pl.String
        )
        .fill_null("n/a"),
    )
    names = {
        "hit_rate": "Hit rate",
        "accuracy": "Accuracy among hits",
        "usable_rate": "Usable (verified & correct) rate",
        "usd_per_usable": "Cost per usable record (USD)",
    }
    base = alt.Chart(data).encode(
        x=alt.X(
            "segment_value:N",
            title=seg.replace("_", " ").capitalize(),
            sort=_natural(data["segment_value"].unique().to_list()),
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y("provider:N", title="Provider"),
    )
    tips = [
        alt.Tooltip("provider:N", title="Provider"),
        alt.Tooltip("segment_value:N", title="Segment"),
        alt.Tooltip(f"{value}:Q", title=names[value], format=fmt),
    ]
    if "n" in data.columns:
        tips.append(alt.Tooltip("n:Q", title="Rows"))
    scale = alt.Scale(scheme="greens", reverse=money)
    if not money:
        scale = alt.Scale(scheme="greens", domain=[0, 1])
    rect = base.mark_rect().encode(
        color=alt.Color(
            f"{value}:Q", title=names[value], legend=alt.Legend(format=fmt), scale=scale
        ),
        tooltip=tips,
    )
    text = base.mark_text(fontSize=11).encode(text="label:N")
    flag = base.mark_text(fontSize=10, dy=12, color="#b00020").encode(text="flag:N")
    return _layered(rect, text, flag).properties(
        width=alt.Step(80),
        height=alt.Step(36),
        title=alt.Title(
            title or f"{names[value]} by provider and {seg.replace('_', ' ')}",
            subtitle="± marks cells whose 95% interval is too wide to act on (measure more rows).",
        ),
    )


def latency_distribution(
    latencies: Any, *, title: str | None = None, palette: Mapping[str, str] | None = None
) -> alt.LayerChart:
    """Latency per provider as a box summary (p5–p95 whisker, p25–p75 box, median tick).

    Args:
        latencies: ``Comparison`` / ``WaterfallResult`` (uses ``.attempts``), or any frame with
            ``provider`` and ``latency_s`` (raw calls: aggregated here to quantiles; cached
            answers are excluded when a ``cached`` column exists), or an already aggregated
            frame with ``provider``, ``p5``, ``p25``, ``p50``, ``p75``, ``p95``.
        palette: source name → colour (:func:`source_colours`), shared with the other charts.
    """
    frame = (
        latencies if isinstance(latencies, pl.DataFrame) else getattr(latencies, "attempts", None)
    )
    if frame is None and hasattr(latencies, "observations"):
        frame = latencies.observations
    if not isinstance(frame, pl.DataFrame):
        raise ArgumentError("expected a frame with provider/latency_s or a gtmkit result")
    if {"p5", "p25", "p50", "p75", "p95"} <= set(frame.columns):
        data = frame.select(
            "provider",
            "p5",
            "p25",
            "p50",
            "p75",
            "p95",
            *[c for c in ("calls",) if c in frame.columns],
        )
    else:
        _need(frame, ["provider", "latency_s"], "chart")
        if "cached" in frame.columns:
            frame = frame.filter(~pl.col("cached"))
        q = pl.col("latency_s").drop_nulls()
        data = (
            frame.group_by("provider")
            .agg(
                q.quantile(0.05, "linear").alias("p5"),
                q.quantile(0.25, "linear").alias("p25"),
                q.quantile(0.50, "linear").alias("p50"),
                q.quantile(0.75, "linear").alias("p75"),
                q.quantile(0.95, "linear").alias("p95"),
                q.len().alias("calls"),
            )
            .filter(pl.col("calls") > 0)
            .sort("provider")
        )
    y = alt.Y("provider:N", title="Provider", sort=alt.EncodingSortField("p50", order="ascending"))
    x_title = "Latency per call (seconds)"
    tips = [alt.Tooltip("provider:N", title="Provider")] + [
        alt.Tooltip(f"{c}:Q", title=f"{c} (s)", format=".2f")
        for c in ("p5", "p25", "p50", "p75", "p95")
    ]
    base = alt.Chart(data)
    whisker = base.mark_rule(color="#666666").encode(
        y=y, x=alt.X("p5:Q", title=x_title), x2="p95:Q"
    )
    box = base.mark_bar(size=16, opacity=0.8).encode(
        y=y,
        x="p25:Q",
        x2="p75:Q",
        color=alt.Color(
            "provider:N",
            legend=None,
            scale=source_scale(data["provider"].cast(pl.String).to_list(), palette),
        ),
        tooltip=tips,
    )
    median = base.mark_tick(color="black", size=18, thickness=2).encode(y=y, x="p50:Q")
    return _layered(whisker, box, median).properties(
        height=alt.Step(40),
        title=alt.Title(
            title or "Latency per provider",
            subtitle="Line: 5th–95th percentile; box: 25th–75th; tick: median.",
        ),
    )


def segment_sources(
    segment_sources: pl.DataFrame,
    *,
    segment_title: str = "Segment",
    title: str | None = None,
    palette: Mapping[str, str] | None = None,
) -> alt.Chart:
    """Where each segment's emails came from: one stacked bar per segment, one colour per
    source, the bar's length the segment's coverage (the rest of the row found nothing).

    Args:
        segment_sources: one row per segment and source: ``segment``, ``source``, ``found``,
            ``rows`` and ``share`` (found ÷ the segment's rows), sources in waterfall order.
        segment_title: what the segments are ("Company size").
        palette: source name → colour (:func:`source_colours`; default: the sources' order),
            the same mapping the report's waterfall chart uses.

    Example:
        >>> import polars as pl
        >>> frame = pl.DataFrame({"segment": ["1-10", "1-10", "11-50", "11-50"],
        ...     "source": ["Hunter", "Apollo"] * 2, "found": [5, 2, 7, 1],
        ...     "rows": [10, 10, 12, 12], "share": [0.5, 0.2, 7 / 12, 1 / 12]})
        >>> segment_sources(frame).to_dict()["mark"]["type"]
        'bar'
    """
    _need(segment_sources, ["segment", "source", "found", "rows", "share"], "chart")
    order = list(dict.fromkeys(segment_sources["source"].to_list()))
    data = segment_sources.with_columns(
        _order=pl.col("source").replace_strict(
            {name: i for i, name in enumerate(order)}, return_dtype=pl.Int64
        )
    )
    segments = _natural(data["segment"].unique().to_list())
    chart: alt.Chart = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=alt.Y("segment:N", title=segment_title, sort=segments),
            x=alt.X(
                "share:Q",
                title="Share of the segment's contacts with a work email",
                axis=alt.Axis(format=PERCENT, labelFlush=False),  # "100%" clear of "90%"
                scale=alt.Scale(domain=[0, 1]),
                stack="zero",
            ),
            color=alt.Color(
                "source:N",
                title="Source",
                sort=order,
                scale=source_scale(order, palette),
                legend=alt.Legend(orient="bottom", columns=3),
            ),
            order=alt.Order("_order:Q"),
            tooltip=[
                alt.Tooltip("segment:N", title=segment_title),
                alt.Tooltip("source:N", title="Source"),
                alt.Tooltip("found:Q", title="Emails", format=","),
                alt.Tooltip("share:Q", title="Share of the segment", format=".1%"),
                alt.Tooltip("rows:Q", title="Contacts in the segment", format=","),
            ],
        )
        .properties(
            width=PLOT_WIDTH,
            height=alt.Step(26),
            title=alt.Title(
                title or f"Where the emails came from, by {segment_title.lower()}",
                subtitle="Each bar is one segment; its length is the segment's coverage.",
            ),
        )
    )
    return chart


#: The parts of a phone bar, best first, and their colours (a wrong number in a warning red).
PHONE_PARTS: tuple[str, ...] = (
    "Mobile that reaches them",
    "Other line that reaches them",
    "Number not checked",
    "Wrong number",
)
_PHONE_COLOURS = [PALETTE[2], PALETTE[0], "#9e9e9e", "#c0392b"]


def phone_quality(comparison: Any, *, title: str | None = None) -> alt.LayerChart:
    """What each provider's phones are worth: one stacked bar per provider over the sampled
    rows — mobiles that reach the person, other lines (direct, switchboard) that do, numbers
    not checked (no truth for the row), wrong numbers — labelled with the cost per usable phone.

    Args:
        comparison: a phone ``Comparison`` (``compare(..., field="phone")``; uses
            ``.observations`` and ``.metrics``) or its observations frame (``provider``,
            ``hit``, ``phone_type``, ``correct``; the label then needs ``list_credits`` and
            is left out without prices).

    Example:
        >>> import polars as pl
        >>> obs = pl.DataFrame({"provider": ["a", "a", "b", "b"], "row_id": [0, 1, 0, 1],
        ...     "hit": [True, True, True, False], "phone_type": ["mobile", "office", "direct",
        ...     None], "correct": [True, False, True, None]})
        >>> phone_quality(obs).to_dict()["layer"][0]["mark"]["type"]
        'bar'
    """
    obs = _frame(comparison, "observations")
    _need(obs, ["provider", "hit", "phone_type", "correct"], "phone chart")
    part = (
        pl.when(pl.col("correct").is_null())
        .then(pl.lit(PHONE_PARTS[2]))
        .when(~pl.col("correct"))
        .then(pl.lit(PHONE_PARTS[3]))
        .when(pl.col("phone_type") == "mobile")
        .then(pl.lit(PHONE_PARTS[0]))
        .otherwise(pl.lit(PHONE_PARTS[1]))
    )
    rows = obs.group_by("provider").agg(pl.len().alias("rows"))
    data = (
        obs.filter(pl.col("hit"))
        .with_columns(part.alias("part"))
        .group_by("provider", "part")
        .agg(pl.len().alias("phones"))
        .join(rows, on="provider")
        .with_columns(
            share=pl.col("phones") / pl.col("rows"),
            _order=pl.col("part").replace_strict(
                {p: i for i, p in enumerate(PHONE_PARTS)}, return_dtype=pl.Int64
            ),
        )
    )
    metrics = getattr(comparison, "metrics", None)
    labels = rows.with_columns(label=pl.lit(""))
    if isinstance(metrics, pl.DataFrame) and "usd_per_usable" in metrics.columns:
        labels = pl.DataFrame(
            {
                "provider": metrics["provider"].to_list(),
                "label": [
                    "no usable phone" if usd is None else f"${usd:,.3f} per usable phone"
                    for usd in metrics["usd_per_usable"].to_list()
                ],
            },
            schema={"provider": pl.String, "label": pl.String},
        )
    # the best provider (most numbers that reach the person) on top
    reach = (
        data.filter(pl.col("part").is_in(PHONE_PARTS[:2]))
        .group_by("provider")
        .agg(pl.col("share").sum())
    )
    ranked = labels.join(reach, on="provider", how="left").sort(
        [pl.col("share").fill_null(0.0), "provider"], descending=[True, False]
    )
    order = ranked["provider"].to_list()
    totals = data.group_by("provider").agg(pl.col("share").sum().alias("found"))
    labels = ranked.join(totals, on="provider", how="left").with_columns(
        pl.col("found").fill_null(0.0)
    )
    present = set(data["part"].to_list())
    shown = [p for p in PHONE_PARTS if p in present]  # a legend lists only what is drawn
    colours = [c for p, c in zip(PHONE_PARTS, _PHONE_COLOURS, strict=True) if p in present]
    y = alt.Y("provider:N", title="Provider", sort=order)
    x_scale = alt.Scale(domain=[0, 1])
    bars = (
        alt.Chart(data)
        .mark_bar()
        .encode(
            y=y,
            x=alt.X(
                "share:Q",
                title="Share of the sampled rows",
                axis=alt.Axis(format=PERCENT),
                scale=x_scale,
                stack="zero",
            ),
            color=alt.Color(
                "part:N",
                title="Number found",
                sort=shown,
                scale=alt.Scale(domain=shown, range=colours),
                legend=alt.Legend(orient="bottom", columns=2),
            ),
            order=alt.Order("_order:Q"),
            tooltip=[
                alt.Tooltip("provider:N", title="Provider"),
                alt.Tooltip("part:N", title="Number found"),
                alt.Tooltip("phones:Q", title="Rows", format=","),
                alt.Tooltip("share:Q", title="Share of the rows", format=".1%"),
            ],
        )
    )
    text = (
        alt.Chart(labels)
        .mark_text(align="left", baseline="middle", dx=6, fontSize=_LABEL_FONT)
        .encode(y=y, x=alt.X("found:Q", scale=x_scale), text="label:N")
    )
    return _layered(bars, text).properties(
        width=PLOT_WIDTH,
        height=alt.Step(30),
        title=alt.Title(
            title or "Phones found, and how many reach the person",
            subtitle="Each bar is one provider over the same rows; the rest found no number.",
        ),
    )
