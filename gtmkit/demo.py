"""``python -m gtmkit.demo`` (what ``make demo`` runs): the whole pipeline on bundled sample data.

load a sample list → estimate and run a budgeted waterfall on the simulated world → per-step
summary → compare every provider on the sample against its ground truth and recommend an order.

No API key, no network, no spend: providers are forced into sandbox mode even when keys are set.
Outputs go under ``data/runs/demo/`` (git-ignored), replaced on every run, so a second run prints
the same figures. The last line printed is one JSON object of the key figures (also written to
``figures.json``).

Example:
    $ python -m gtmkit.demo --budget 150 --out data/runs/demo
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gtmkit.notebook import display_path, resolve_path

#: The demo waterfall: cheap database lookups first, verification of unverified emails.
DEMO_STEPS: tuple[str, ...] = ("hunter", "apollo", "pdl")
DEMO_VERIFIER = "hunter_verifier"
#: Providers compared in the comparison stage.
COMPARE_PROVIDERS: tuple[str, ...] = ("apollo", "hunter", "pdl", "prospeo", "dropcontact")
DEFAULT_BUDGET_CREDITS = 150.0


def _module(name: str) -> Any | None:
    """The module if it exists yet (the toolkit is built in stages); errors inside it propagate."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise


def default_sample() -> Path | None:
    """The smallest bundled sample list that has a truth file beside it."""
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
    ):
        print(f"\n{title}\n{shown}")


def _section(title: str) -> None:
    print(f"\n== {title}")


def stage_intake(sample: Path, out: Path, figures: dict[str, Any]) -> Any | None:
    lists = _module("gtmkit.lists")
    if lists is None or not hasattr(lists, "load_list"):
        print("\n== 1. intake: skipped (gtmkit.lists is not available yet)")
        return None
    from gtmkit.notebook import intake_counts

    _section(f"1. intake: {display_path(sample)}")
    loaded = lists.load_list(sample)
    counts = intake_counts(loaded)
    print(
        f"{counts['rows']} rows -> {counts['accepted']} accepted, {counts['rejected']} rejected, "
        f"{counts['duplicates']} duplicates marked (looked up once, fanned out)"
    )
    mapped = ", ".join(f"{src!r}->{dst}" for src, dst in loaded.mapping.items())
    print(f"column mapping: {mapped}")
    if loaded.rejected.height:
        _print_frame("rejected rows (first 5):", loaded.rejected.head(5))
    lists.export_csv(loaded.records, out / "intake.clean.csv")
    figures["intake"] = counts
    return loaded


def _demo_waterfall(waterfall_mod: Any) -> Any:
    steps = [waterfall_mod.Step(name) for name in DEMO_STEPS]
    return waterfall_mod.Waterfall(steps, verify=DEMO_VERIFIER, name="demo: hunter → apollo → pdl")


def stage_waterfall(loaded: Any, out: Path, figures: dict[str, Any], budget: float) -> Any | None:
    waterfall_mod = _module("gtmkit.waterfall")
    if loaded is None or waterfall_mod is None or not hasattr(waterfall_mod, "Waterfall"):
        print("\n== 2. waterfall: skipped (needs gtmkit.lists and gtmkit.waterfall)")
        return None
    _section(f"2. waterfall on the simulated world, budget {budget:g} credits")
    wf = _demo_waterfall(waterfall_mod)
    estimate = wf.estimate(loaded)
    _print_frame("estimate before spending:", estimate)
    ledger = out / "ledger.sqlite"
    result = wf.run(loaded, budget_credits=budget, ledger=ledger, mode="sandbox", progress=False)
    _print_frame(
        "per-step summary:",
        result.summary,
        [
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
        ],
    )
    import polars as pl

    statuses = result.records.group_by("status").len().sort("status")
    print("\nrow status: " + ", ".join(f"{s}={n}" for s, n in statuses.iter_rows()))
    totals = result.totals
    credits = float(result.attempts["credits"].sum()) if result.attempts.height else 0.0
    print(
        f"spent {credits:g} of {budget:g} credits (${float(totals.get('cost_usd', 0)):.2f}); "
        f"{int(totals.get('enriched', 0))} of {int(totals.get('rows', 0))} rows enriched"
    )
    result.records.write_csv(out / "waterfall.records.csv")
    result.attempts.write_csv(out / "waterfall.attempts.csv")
    result.summary.write_csv(out / "waterfall.summary.csv")

    # Re-running the same list on the same ledger is answered from the cache: it costs nothing.
    rerun = wf.run(loaded, budget_credits=budget, ledger=ledger, mode="sandbox", progress=False)
    rerun_credits = float(rerun.attempts["credits"].sum()) if rerun.attempts.height else 0.0
    rerun_cached = int(rerun.attempts["cached"].sum()) if rerun.attempts.height else 0
    print(f"re-run on the same ledger: {rerun_credits:g} credits, {rerun_cached} cached answers")

    status_counts = dict(statuses.iter_rows())
    figures["waterfall"] = {
        "budget_credits": budget,
        "credits": credits,
        "cost_usd": float(totals.get("cost_usd", 0.0)),
        "rows": result.records.height,
        "enriched": int(status_counts.get("enriched", 0)),
        "status": status_counts,
        "coverage": float(result.summary["cumulative_coverage"].max() or 0.0)
        if result.summary.height
        else 0.0,
        "rerun_credits": rerun_credits,
        "emails_found": int(result.records["email"].is_not_null().sum()),
    }
    del pl
    return result


def stage_compare(loaded: Any, sample: Path, out: Path, figures: dict[str, Any]) -> Any | None:
    compare_mod = _module("gtmkit.compare")
    if loaded is None or compare_mod is None or not hasattr(compare_mod, "compare"):
        print("\n== 3. compare: skipped (needs gtmkit.lists and gtmkit.compare)")
        return None
    import polars as pl

    truth_path = _truth_path(sample)
    truth = pl.read_csv(truth_path) if truth_path is not None else None
    _section("3. compare providers on the sample against ground truth")
    comparison = compare_mod.compare(
        loaded,
        list(COMPARE_PROVIDERS),
        truth=truth,
        ledger=out / "ledger.sqlite",
        mode="sandbox",
        progress=False,
    )
    metrics = comparison.metrics
    provider_rows = metrics.filter(pl.col("segment").is_null()) if "segment" in metrics else metrics
    _print_frame("per-provider metrics:", provider_rows)
    provider_rows.write_csv(out / "compare.metrics.csv")
    recommendation = comparison.recommend(target_coverage=0.8)
    print(f"\nrecommended for 80% coverage: {recommendation}")
    figures["compare"] = {
        "providers": list(COMPARE_PROVIDERS),
        "recommended": [step.provider for step in recommendation.waterfall.steps]
        if hasattr(recommendation, "waterfall")
        else str(recommendation),
    }
    return comparison


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gtmkit.demo", description="Run gtmkit on bundled sample data."
    )
    parser.add_argument("--sample", help="lead list to run (default: smallest bundled sample)")
    parser.add_argument("--budget", type=float, default=DEFAULT_BUDGET_CREDITS, help="credit cap")
    parser.add_argument("--out", default="data/runs/demo", help="output folder (replaced)")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sample = resolve_path(args.sample) if args.sample else default_sample()
    if sample is None or not sample.exists():
        print(
            "no sample list found under data/samples/ (regenerate them with `make samples`)",
            file=sys.stderr,
        )
        return 1
    out = resolve_path(args.out)
    if out.exists():
        shutil.rmtree(out)  # every run starts fresh, so the printed figures are reproducible
    out.mkdir(parents=True)

    print("gtmkit demo: sandbox providers only (no API keys used, no network, no spend)")
    figures: dict[str, Any] = {"sample": display_path(sample), "stages": []}
    loaded = stage_intake(sample, out, figures)
    if stage_waterfall(loaded, out, figures, args.budget) is not None:
        figures["stages"].append("waterfall")
    if stage_compare(loaded, sample, out, figures) is not None:
        figures["stages"].append("compare")
    if loaded is not None:
        figures["stages"].insert(0, "intake")

    from gtmkit.notebook import _jsonable

    figures = _jsonable(figures)
    (out / "figures.json").write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    print(f"\noutputs in {display_path(out)}/ ({time.perf_counter() - started:.1f} s)")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
