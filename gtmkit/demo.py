"""``python -m gtmkit.demo`` (what ``make demo`` runs): the whole pipeline on bundled sample data.

1. intake: load ``data/samples/leads_small.csv`` (mapping, normalization, rejects, duplicates);
2. waterfall: estimate, then run hunter → apollo → pdl (+ verifier) on the simulated world with
   a credit budget that is deliberately too small, then resume with a top-up on the same ledger:
   everything looked up before comes from the cache for free, only the stopped rows cost money;
3. compare: every provider on the sample against its ground truth (hit rate, accuracy, cost per
   usable email), the cost/coverage frontier, and the cheapest order reaching 80 % coverage.

No API key, no network, no spend: providers are forced into sandbox mode even when keys are set.
Outputs go under ``data/runs/demo/`` (git-ignored), replaced on every run, so a second run prints
the same figures. The last line printed is one JSON object of the key figures (also written to
``figures.json``).

Example:
    $ python -m gtmkit.demo --budget 100 --top-up 1000 --out data/runs/demo
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gtmkit.paths import display_path, resolve_path
from gtmkit.reports.figures import figures_data

#: The demo waterfall: cheap database lookups first, verification of unverified emails.
DEMO_STEPS: tuple[str, ...] = ("hunter", "apollo", "pdl")
DEMO_VERIFIER = "hunter_verifier"
#: Providers compared in the comparison stage.
COMPARE_PROVIDERS: tuple[str, ...] = ("apollo", "hunter", "pdl", "prospeo", "dropcontact")
DEFAULT_SAMPLE = "data/samples/leads_small.csv"
#: The first run's credit cap: deliberately too small, so the demo shows a run stopping at its
#: budget and then resuming with a top-up that pays only for the rows left.
DEFAULT_BUDGET_CREDITS = 100.0
DEFAULT_TOP_UP_CREDITS = 1000.0
#: Most rows the comparison samples from the list (every provider is tried on each).
COMPARE_SAMPLE = 300
#: Coverage target of the recommended order.
RECOMMEND_COVERAGE = 0.8


def default_sample() -> Path | None:
    """``data/samples/leads_small.csv``, else the smallest bundled sample with a truth file."""
    if resolve_path(DEFAULT_SAMPLE).is_file():
        return resolve_path(DEFAULT_SAMPLE)
    samples = resolve_path("data/samples")
    lists = [
        p
        for p in samples.glob("*.csv")
        if not p.name.endswith(".truth.csv") and p.with_name(p.stem + ".truth.csv").exists()
    ]
    return min(lists, key=lambda p: (p.stat().st_size, p.name)) if lists else None


def _truth_path(sample: Path) -> Path | None:
    truth = sample.with_name(sample.stem + ".truth.csv")
    return truth if truth.exists() else None


def _print_frame(title: str, frame: Any, columns: Sequence[str] | None = None) -> None:
    import polars as pl

    shown = frame.select([c for c in columns if c in frame.columns]) if columns else frame
    with pl.Config(
        tbl_rows=20,
        tbl_cols=12,
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        float_precision=3,
        tbl_width_chars=140,
        fmt_str_lengths=60,
    ):
        print(f"\n{title}\n{shown}")


def _section(title: str) -> None:
    print(f"\n== {title}")


def stage_intake(sample: Path, out: Path, figures: dict[str, Any]) -> Any:
    from gtmkit import export_csv, load_list
    from gtmkit.lists.upload import intake_counts

    _section(f"1. intake: {display_path(sample)}")
    loaded = load_list(sample)
    counts = intake_counts(loaded)
    print(
        f"{counts['rows']} rows -> {counts['accepted']} accepted, {counts['rejected']} rejected, "
        f"{counts['duplicates']} duplicates marked (looked up once, fanned out)"
    )
    mapped = ", ".join(f"{src!r}->{dst}" for src, dst in loaded.mapping.items())
    print(f"column mapping: {mapped}")
    if loaded.rejected.height:
        _print_frame("rejected rows (first 5):", loaded.rejected.head(5), ["row_id", "reason"])
    export_csv(loaded.records, out / "intake.clean.csv")
    figures["intake"] = counts
    return loaded


def _demo_waterfall() -> Any:
    from gtmkit.waterfall import Step, Waterfall

    steps = [Step(name) for name in DEMO_STEPS]
    return Waterfall(steps, verify=DEMO_VERIFIER, name="demo: hunter → apollo → pdl")


SUMMARY_COLUMNS = (
    "step",
    "provider",
    "rows_in",
    "calls",
    "hits",
    "incremental_coverage",
    "cumulative_coverage",
    "credits",
    "cost_usd",
    "cost_per_hit",
)


def _status_counts(records: Any) -> dict[str, int]:
    return dict(records.group_by("status").len().sort("status").iter_rows())


def _spent(attempts: Any) -> float:
    return float(attempts["credits"].sum()) if attempts.height else 0.0


def stage_waterfall(
    loaded: Any, out: Path, figures: dict[str, Any], budget: float, top_up: float
) -> Any:
    _section(f"2. waterfall on the simulated world, budget {budget:g} credits")
    wf = _demo_waterfall()
    print(f"steps: {' -> '.join(step.provider for step in wf.steps)}, then {DEMO_VERIFIER}")
    _print_frame("estimate before spending (provider priors):", wf.estimate(loaded))
    ledger = out / "ledger.sqlite"
    # One row at a time so the budget stops at the same row on every run (a reproducible demo);
    # real runs keep the default concurrency, and the budget holds there too.
    options: dict[str, Any] = {"ledger": ledger, "mode": "sandbox", "progress": False}
    options["concurrency"] = 1
    result = wf.run(loaded, budget_credits=budget, **options)
    _print_frame("per-step summary:", result.summary, SUMMARY_COLUMNS)
    status = _status_counts(result.records)
    credits = _spent(result.attempts)
    print("\nrow status: " + ", ".join(f"{s}={n}" for s, n in status.items()))
    print(
        f"spent {credits:g} of {budget:g} credits (${float(result.totals['cost_usd']):.2f}); "
        f"{status.get('enriched', 0)} of {result.records.height} rows enriched"
    )
    result.records.write_csv(out / "waterfall.records.csv")
    result.attempts.write_csv(out / "waterfall.attempts.csv")
    result.summary.write_csv(out / "waterfall.summary.csv")

    # Resume with a top-up on the same ledger: everything already looked up is answered from
    # the ledger cache for free; only the rows the budget stopped are new work.
    resumed = wf.run(loaded, budget_credits=top_up, **options)
    resumed_status = _status_counts(resumed.records)
    resumed_credits = _spent(resumed.attempts)
    cached = int(resumed.attempts["cached"].sum()) if resumed.attempts.height else 0
    print(
        f"\nresumed with a top-up of {top_up:g} credits on the same ledger: {cached} answers "
        f"from the cache (0 credits), {resumed_credits:g} credits of new lookups"
    )
    _print_frame("per-step summary after the resume:", resumed.summary, SUMMARY_COLUMNS)
    print("\nrow status: " + ", ".join(f"{s}={n}" for s, n in resumed_status.items()))
    resumed.attempts.write_csv(out / "waterfall.resume.attempts.csv")
    resumed.records.write_csv(out / "waterfall.resume.records.csv")
    figures["waterfall"] = {
        "steps": [step.provider for step in wf.steps],
        "budget_credits": budget,
        "credits": credits,
        "cost_usd": float(result.totals["cost_usd"]),
        "rows": result.records.height,
        "status": status,
        "coverage": float(result.summary["cumulative_coverage"].max() or 0.0),
        "emails_found": int(result.records["email"].is_not_null().sum()),
        "resume": {
            "budget_credits": top_up,
            "cached": cached,
            "credits": resumed_credits,
            "status": resumed_status,
            "coverage": float(resumed.summary["cumulative_coverage"].max() or 0.0),
        },
    }
    return result


def _truth_frame(loaded: Any, sample: Path) -> Any:
    """The sample's truth file (read by ``load_truth``, judged like everywhere else), else the
    simulated world's ground truth (the samples are drawn from the default world)."""
    from gtmkit.comparison import load_truth
    from gtmkit.sandbox import default_world

    truth_path = _truth_path(sample)
    if truth_path is not None:
        return load_truth(truth_path)
    return default_world().truth(loaded.records)


def stage_compare(loaded: Any, sample: Path, out: Path, figures: dict[str, Any]) -> Any:
    from gtmkit import compare

    _section(
        f"3. compare {', '.join(COMPARE_PROVIDERS)} on {COMPARE_SAMPLE} sampled rows, "
        "against the sample's ground truth"
    )
    comparison = compare(
        loaded,
        list(COMPARE_PROVIDERS),
        sample=COMPARE_SAMPLE,
        truth=_truth_frame(loaded, sample),
        ledger=out / "ledger.sqlite",  # lookups the waterfall already paid for are reused
        mode="sandbox",
        echo=False,
        progress=False,
    )
    metrics = comparison.metrics
    _print_frame(
        "per provider (accuracy = right person and current email, among hits):",
        metrics,
        [
            "provider",
            "n",
            "hits",
            "hit_rate",
            "accuracy",
            "verified_share",
            "usd_per_hit",
            "usd_per_usable",
        ],
    )
    metrics.write_csv(out / "compare.metrics.csv")
    import polars as pl

    pareto = (
        comparison.frontier()
        .filter(pl.col("pareto"))
        .select(
            pl.col("order").list.join(" -> "),
            "coverage",
            "usable_coverage",
            "cost_per_row_usd",
        )
    )
    _print_frame("the Pareto frontier: best coverage for each cost per row", pareto)
    rec = comparison.recommend(target_coverage=RECOMMEND_COVERAGE)
    print(
        f"\nrecommended for {RECOMMEND_COVERAGE:.0%} coverage: {' -> '.join(rec.order)} "
        f"(predicted coverage {rec.predicted_coverage:.1%}, "
        f"${rec.predicted_cost_per_row_usd:.3f} per row)"
    )
    # The recommendation is a ready-to-run Waterfall; on the same ledger, every lookup the
    # comparison already paid for is answered from the cache.
    applied = rec.waterfall.run(
        loaded, ledger=out / "ledger.sqlite", mode="sandbox", progress=False, concurrency=1
    )
    applied_credits = _spent(applied.attempts)
    applied_cached = int(applied.attempts["cached"].sum()) if applied.attempts.height else 0
    applied_coverage = float(applied.summary["cumulative_coverage"].max() or 0.0)
    applied_status = _status_counts(applied.records)
    print(
        f"ran it over the whole list on the same ledger: {applied_status.get('enriched', 0)} rows "
        f"enriched; {applied_cached} of {applied.attempts.height} lookups answered from the "
        f"cache, {applied_credits:g} new credits"
    )
    applied.records.write_csv(out / "recommended.records.csv")
    paid = float(comparison.attempts["credits"].sum()) if comparison.attempts is not None else 0.0
    figures["compare"] = {
        "providers": list(COMPARE_PROVIDERS),
        "rows": int(metrics.select(pl.col("n").max()).item() or 0),
        "hit_rate": dict(zip(metrics["provider"], metrics["hit_rate"], strict=True)),
        "accuracy": dict(zip(metrics["provider"], metrics["accuracy"], strict=True)),
        "credits_paid": paid,
        "recommended": list(rec.order),
        "predicted_coverage": rec.predicted_coverage,
        "predicted_cost_per_row_usd": rec.predicted_cost_per_row_usd,
        "applied": {
            "status": applied_status,
            "coverage": applied_coverage,
            "lookups": applied.attempts.height,
            "cached": applied_cached,
            "credits": applied_credits,
        },
    }
    return comparison


def stage_report(sample: Path, out: Path, figures: dict[str, Any], budget: float) -> None:
    """The client-facing report: the waterfall notebook run on the sample (scrubbed, with HTML)."""
    from gtmkit.reports import run_notebook

    _section("4. engagement report (notebooks/02-run-waterfall.ipynb with papermill)")
    truth = _truth_path(sample)
    run = run_notebook(
        "notebooks/02-run-waterfall.ipynb",
        parameters={
            "path": str(sample),
            "truth_path": str(truth) if truth else "",
            "budget_credits": budget,
            "mode": "sandbox",
            "out_dir": str(out / "report"),
            "batch": True,  # the notebook's batch route: run the parameters, no clicking
        },
        out_dir=out / "report",
        name="engagement_report",
        html=True,
    )
    assert run.html is not None
    print(f"report: {display_path(run.html)} (notebook: {display_path(run.notebook)})")
    figures["report"] = {
        "html": display_path(run.html),
        "credits": run.figures["credits"],
        "coverage": run.figures["coverage"],
        "status": run.figures["status"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gtmkit.demo", description="Run gtmkit on bundled sample data."
    )
    parser.add_argument("--sample", help="lead list to run (default: smallest bundled sample)")
    parser.add_argument(
        "--budget", type=float, default=DEFAULT_BUDGET_CREDITS, help="first run's credit cap"
    )
    parser.add_argument(
        "--top-up", type=float, default=DEFAULT_TOP_UP_CREDITS, help="credit cap of the resume"
    )
    parser.add_argument("--out", default="data/runs/demo", help="output folder (replaced)")
    parser.add_argument(
        "--report",
        action="store_true",
        help="also write the engagement report: notebooks/02-run-waterfall.ipynb run with "
        "papermill on the sample, as a scrubbed notebook and a static HTML page",
    )
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sample = resolve_path(args.sample) if args.sample else default_sample()
    if sample is None:
        print(
            "no sample list under data/samples/: regenerate them with `make samples`",
            file=sys.stderr,
        )
        return 1
    if not sample.is_file():
        print(f"sample list not found: {args.sample}", file=sys.stderr)
        return 1
    out = resolve_path(args.out)
    if out.exists() and any(out.iterdir()) and not (out / "figures.json").exists():
        print(
            f"refusing to replace {args.out}: it is not empty and not a demo output folder",
            file=sys.stderr,
        )
        return 1
    if out.exists():
        shutil.rmtree(out)  # every run starts fresh, so the printed figures are reproducible
    out.mkdir(parents=True)

    print("gtmkit demo: sandbox providers only (no API keys used, no network, no spend)")
    figures: dict[str, Any] = {"sample": display_path(sample), "stages": []}
    loaded = stage_intake(sample, out, figures)
    figures["stages"].append("intake")
    stage_waterfall(loaded, out, figures, args.budget, args.top_up)
    figures["stages"].append("waterfall")
    stage_compare(loaded, sample, out, figures)
    figures["stages"].append("compare")
    if args.report:
        stage_report(sample, out, figures, args.top_up)

    figures = figures_data(figures)
    (out / "figures.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\noutputs in {display_path(out)}/ ({time.perf_counter() - started:.1f} s)")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
