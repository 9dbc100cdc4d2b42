"""``from_comparison``: a new Experimental entry from a comparison, right after the engagement.

The seed's advice — "extract patterns right after the engagement; don't wait" — made a
function. The entry is written in the template with:

* the recommended sequence as numbered steps, each with its measured share of the list and
  cost per contact (the documented order replayed on the comparison's outcomes);
* "## Data Source Combinations": every pair's relation (complementary / redundant /
  conflicting, from ``Comparison.overlap``), how often they disagreed and who was right, the
  resolution rule, and cost against quality per provider;
* "## Failure Modes" from the segments where the recommended order is weak (coverage at least
  ``weak_gap`` below the whole sample's, on segments of at least ``min_segment_rows`` rows);
* the measured figures as its first generated benchmark block.

Example (six rows, two providers; ``gtmkit.compare`` gives a real comparison):
    >>> import polars as pl
    >>> from gtmkit.comparison import Comparison, ProviderCost
    >>> attempts = pl.DataFrame([
    ...     {"row_id": r, "provider": p, "outcome": "hit" if hit else "miss", "error_kind": None,
    ...      "latency_s": 0.1, "credits": float(hit), "billed": hit, "cost_usd": 0.05 * hit,
    ...      "attempt": 1, "cached": False, "email": f"e{r}@{p}.io" if hit else None,
    ...      "email_status": "valid" if hit else None}
    ...     for r in range(6) for p, hit in (("hunter", r % 2 == 0), ("apollo", r % 3 != 2))
    ... ])
    >>> costs = {p: ProviderCost(p, "per_hit", 1.0, 0.05) for p in ("hunter", "apollo")}
    >>> cmp = Comparison.from_attempts(attempts, costs)
    >>> rec = cmp.recommend(target_coverage=0.8)
    >>> p = from_comparison(cmp, rec, name="Tiny", measured_on="2025-01-02")
    >>> p.maturity, [s.provider for s in p.sequence], p.latest.kind
    ('Experimental', ['apollo', 'hunter'], 'comparison')
    >>> "## Data Source Combinations" in p.text
    True
"""

from __future__ import annotations

from typing import Any

import polars as pl

from gtmkit.comparison.optimize import evaluate_order
from gtmkit.patterns.block import fmt
from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.escape import one_line
from gtmkit.patterns.measure import measure_comparison
from gtmkit.patterns.model import Category, Pattern, from_text
from gtmkit.patterns.sequence import PlannedStep, parse_step_line
from gtmkit.providers.aliases import display_name, resolve_alias
from gtmkit.schema import ROW_ID


def _step_lines(comparison: Any, order: tuple[str, ...]) -> tuple[list[str], str]:
    """The numbered steps with their measured figures, and the comparison's date."""
    planned = []
    for i, provider in enumerate(order):
        # a provider the alias table does not know (registered elsewhere) keeps its own name
        shown = display_name(provider)
        line = f"{i + 1}. {shown if resolve_alias(shown) == provider else provider}"
        planned.append(PlannedStep(i, parse_step_line(line), provider, "finder"))
    m = measure_comparison(comparison, planned)
    lines = []
    for s in m.steps:
        parts = []
        if s.share.value is not None:
            parts.append(f"{s.share.value * 100:.1f}% hit rate")
        if s.cost.value is not None:
            parts.append(f"${s.cost.value:.3f}/contact")
        tail = f" → {', '.join(parts)}" if parts else ""
        lines.append(f"{s.planned.step.text}{tail}")
    return lines, m.measured_at.date().isoformat()


def _pair_table(comparison: Any, order: tuple[str, ...]) -> tuple[list[str], dict[str, list[str]]]:
    overlap: pl.DataFrame = comparison.overlap
    rank = {p: i for i, p in enumerate(comparison.providers)}
    rows = overlap.filter(
        pl.col("provider_a").replace_strict(rank, default=None)
        < pl.col("provider_b").replace_strict(rank, default=None)
    )
    table = [
        "| pair | relation | both found | overlap | second adds after first | conflicts | "
        "first right | second right |",
        "|---|---|---|---|---|---|---|---|",
    ]
    by_relation: dict[str, list[str]] = {"complementary": [], "redundant": [], "conflicting": []}
    for r in rows.iter_rows(named=True):
        a, b = display_name(r["provider_a"]), display_name(r["provider_b"])
        table.append(
            f"| {a} + {b} | {r['relation']} | {r['both_hit']} | "
            f"{fmt(r['overlap_coef'], 'share')} | {fmt(r['gain_b_after_a'], 'share')} | "
            f"{r['conflicts']} ({fmt(r['conflict_rate'], 'share')}) | "
            f"{r['conflicts_a_right']} | {r['conflicts_b_right']} |"
        )
        by_relation[r["relation"]].append(f"{a} + {b}")
    return table, by_relation


def _resolution(comparison: Any, order: tuple[str, ...]) -> str:
    overlap: pl.DataFrame = comparison.overlap
    earlier_right = later_right = conflicts = 0
    for i, a in enumerate(order):
        for b in order[i + 1 :]:
            row = overlap.filter((pl.col("provider_a") == a) & (pl.col("provider_b") == b))
            if row.height:
                r = row.row(0, named=True)
                conflicts += r["conflicts"]
                earlier_right += r["conflicts_a_right"]
                later_right += r["conflicts_b_right"]
    if conflicts == 0:
        return (
            "In the recommended order a row stops at its first email, so two providers never "
            "both answer it; no conflict between its steps was seen in the sample."
        )
    judged = "" if comparison.truth_source is None else (
        f" Against the truth, the earlier step was right in {earlier_right} and the later one "
        f"in {later_right} of those {conflicts}."
    )  # fmt: skip
    return (
        "A row stops at its first email, so the earlier step's email is the one kept. Between "
        f"the recommended steps, {conflicts} rows of the sample got different emails from an "
        f"earlier and a later step.{judged} When the difference matters (a high-value "
        "account), verify both with the verifier and keep the verified one; otherwise keep the "
        "earlier step's."
    )


def _cost_quality(comparison: Any) -> list[str]:
    m: pl.DataFrame = comparison.metrics
    out = []
    for r in m.sort("provider").iter_rows(named=True):
        acc = "" if r.get("accuracy") is None else f", accuracy {fmt(r['accuracy'], 'share')}"
        out.append(
            f"- {display_name(r['provider'])}: hit rate {fmt(r['hit_rate'], 'share')}{acc}, "
            f"{fmt(r['usd_per_hit'], 'usd')} per email found ({r['billing']})"
        )
    return out


def _weak_segments(
    comparison: Any, order: tuple[str, ...], *, min_segment_rows: int, weak_gap: float
) -> list[str]:
    overall = evaluate_order(comparison.pattern(order), order).coverage
    obs: pl.DataFrame = comparison.observations
    first = obs.filter(pl.col("provider") == comparison.providers[0])
    out = []
    for column in comparison.segment_by:
        groups = first.group_by(column).agg(pl.col(ROW_ID)).drop_nulls(column).sort(column)
        for value, rows in groups.iter_rows():
            if len(rows) < min_segment_rows:
                continue
            stats = evaluate_order(comparison.pattern(order, rows=rows), order)
            if stats.coverage <= overall - weak_gap:
                out.append(
                    f"- **Doesn't work when:** {column} is {value}: coverage "
                    f"{fmt(stats.coverage, 'share')} on {len(rows)} rows, against "
                    f"{fmt(overall, 'share')} on the whole sample."
                )
    return out


def from_comparison(
    comparison: Any,
    recommendation: Any,
    *,
    name: str,
    category: Category = "enrichment-waterfalls",
    use_case: str | None = None,
    industry: str = "All",
    company_stage: str = "All",
    source: str = "simulated",
    engagement: str | None = None,
    min_segment_rows: int = 20,
    weak_gap: float = 0.10,
    measured_on: str | None = None,
) -> Pattern:
    """A new Experimental entry in the template from a comparison and its recommendation.

    Args:
        comparison: a ``gtmkit.compare(...)`` result (``segment_by=`` gives failure modes).
        recommendation: ``comparison.recommend(...)``; its order becomes the sequence.
        name: the entry's title.
        category: its category (``"data-source-combinations"`` for a combinations entry).
        use_case, industry, company_stage: the header fields.
        source: ``"simulated"`` or ``"live"`` — where the comparison's answers came from.
        engagement: the engagement of a live comparison.
        min_segment_rows: smallest segment judged for failure modes.
        weak_gap: coverage drop (absolute) that makes a segment a failure mode.
        measured_on: ISO date of the benchmark (default: the comparison's own date); pin it to
            regenerate a deterministic entry byte for byte.

    Returns:
        The entry, not yet saved: ``pattern.save("patterns/<category>/<name>.md")``.
    """
    # header values become whole lines of the new entry: a line break would inject markdown
    for what, value in (
        ("name", name),
        ("use_case", use_case),
        ("industry", industry),
        ("company_stage", company_stage),
        ("engagement", engagement),
    ):
        one_line(value, what)
    order = tuple(recommendation.order)
    if not order:
        raise PatternError("the recommendation has no providers to document")
    n = comparison.observations[ROW_ID].n_unique()
    where = "simulated world only" if source == "simulated" else "live"
    criterion = ", ".join(
        f"{k}={v}" for k, v in getattr(recommendation, "criterion", {}).items() if v is not None
    )
    pairs, relations = _pair_table(comparison, order)
    steps, date = _step_lines(comparison, order)
    measured_on = measured_on or date

    def listed(kind: str) -> str:
        return ", ".join(relations[kind]) or "none in this sample"

    failures = _weak_segments(
        comparison, order, min_segment_rows=min_segment_rows, weak_gap=weak_gap
    ) or ["- **Doesn't work when:** no segment of the sample was weak enough to name one yet."]
    predicted = {
        "coverage": recommendation.predicted_coverage,
        "cost": recommendation.predicted_cost_per_row_usd,
    }
    nl = "\n"
    text = nl.join(
        [
            f"# {name}",
            "",
            f"**Maturity:** 🔬 Experimental ({where})" if source == "simulated"
            else "**Maturity:** 🔬 Experimental",
            f"**Use Case:** {use_case or f'Lists like the {n}-row sample it was extracted from'}",
            f"**Industry:** {industry}",
            f"**Company Stage:** {company_stage}",
            "",
            "## Architecture",
            "",
            f"Recommended by `gtmkit.compare` ({criterion or 'its recommendation'}) from "
            f"{len(comparison.providers)} providers measured on the same {n} rows; each step "
            "only sees the rows the steps before it left without an email:",
            "",
            *steps,
            "",
            "## Data Source Combinations",
            "",
            f"- **Complementary (use together):** {listed('complementary')}",
            f"- **Redundant (choose one):** {listed('redundant')}",
            f"- **Conflicting (resolution strategy):** {listed('conflicting')}",
            "",
            "Every pair measured (a pair is *conflicting* when a quarter or more of the rows both "
            "found disagree, *redundant* when the smaller one adds under 15% after the larger):",
            "",
            *pairs,
            "",
            f"Conflicts: {_resolution(comparison, order)}",
            "",
            "Cost against quality, per provider on the whole sample:",
            "",
            *_cost_quality(comparison),
            "",
            "## Performance Metrics",
            "",
            f"- **Coverage:** {fmt(predicted['coverage'], 'share')} predicted on the comparison",
            f"- **Cost:** {fmt(predicted['cost'], 'usd')} avg cost per record",
            "",
            "## Deployment Guide",
            "",
            "1. Load the list: `leads = gtmkit.load_list(path)`.",
            "2. `pattern = gtmkit.patterns.load(<this file>)`; `result = pattern.run(leads, "
            "budget_usd=...)`.",
            "3. `pattern.check(result)`: the figures here were measured on the comparison's "
            "sample; a new list may differ.",
            "4. `pattern.record_benchmark(result, source=\"live\", engagement=...)`, then "
            "`pattern.save()`.",
            "",
            "## Failure Modes",
            "",
            *failures,
            "- **Alternative pattern:** compare the providers again on the new list "
            "(`gtmkit.compare`) and extract a pattern from that comparison.",
            "",
            "## Lessons Learned",
            "",
            "Extracted automatically; add what the engagement taught here.",
            "",
            "## Version History",
            "",
            f"- v1.0 ({measured_on}): Extracted by gtmkit from a comparison of "
            f"{len(comparison.providers)} providers on {n} rows ({where})",
            "",
        ]
    )  # fmt: skip
    pattern = from_text(text, category=category)
    pattern.record_benchmark(
        comparison,
        source=source,  # type: ignore[arg-type]
        engagement=engagement,
        measured_on=measured_on,
    )
    return pattern


__all__ = ["from_comparison"]
