"""Benchmark: provider comparison, order optimizer and out-of-sample accuracy of its predictions.

What it measures (all on the deterministic simulated world, offline, no spend):

1. ``gtmkit.compare`` of five simulated providers on a sample of the world's people
   (4,000 rows; ``--quick``: 1,000) through the real engine and adapters.
2. Fit/hold-out, for two coverage targets (0.80 and 0.88; ``--quick``: 0.80): the sample is
   split in half (seeded); ``recommend(target_coverage=...)`` is
   fitted on one half, and the recommended waterfall is then **run through the engine** on the
   held-out half with a fresh sandbox connection and no ledger (so every lookup is really sent
   and billed). Realized coverage and cost per row are compared with the prediction.
3. Cost per usable record (verified ``valid`` and the right current email, judged against the
   world's truth) of the recommended order against two naive orders of the same providers:
   highest hit rate first, and cheapest first — each also run through the engine on the
   held-out half. Reported as ratios naive ÷ recommended (> 1 means the naive order is dearer).
4. Optimizer wall time (exact dynamic program, every subset) for 8, 12 and 16 synthetic
   providers over 2,000 rows with a correlated joint hit pattern; the heuristic's time for
   16, 20 and 30 (``--quick``: 16 and 20); and the heuristic's measured gap to exact on 8, 10
   and 12 providers (6 random instances each; 2 with ``--quick``): ``order_gap`` is the extra
   cost of the heuristic's order of a subset on its frontier over that subset's exact best
   order (``subsets_tried``: candidates the heuristic evaluated); ``frontier_cost_gap`` is the
   extra cost per row of the cheapest heuristic subset reaching 60/70/80/90/95/100 % of the
   best coverage over the exact cheapest one.

The last line of output is one JSON object with every figure.

Usage: ``python benchmarks/bench_compare.py [--quick] [--target 0.8] [--target2 0.88] [--seed 0]``
(``--quick`` runs the first target only.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import sys
import time
from typing import Any

import polars as pl

from gtmkit.comparison import (
    HitPattern,
    ProviderCost,
    compare,
    evaluate_order,
    frontier,
    heuristic_frontier,
    split_rows,
)
from gtmkit.providers import connect
from gtmkit.sandbox import default_world
from gtmkit.waterfall import Step, Waterfall

PROVIDERS = ["apollo", "hunter", "pdl", "prospeo", "dropcontact"]
ENGINE = {"progress": False, "rate_limits": "off", "ledger": None}


def _run_fresh(wf: Waterfall, records: pl.DataFrame) -> Any:
    """Run a waterfall on a fresh sandbox connection (no memory of earlier charges)."""
    conn = connect(list(wf.providers), mode="sandbox")
    try:
        providers = {name: conn[name] for name in wf.providers}
        return wf.run(records, providers=providers, **ENGINE)
    finally:
        asyncio.run(conn.aclose())


def _world_records(n: int, seed: int) -> pl.DataFrame:
    people = default_world().people.sample(n=n, seed=seed, shuffle=True)
    return (
        people.select("first_name", "last_name", "full_name", "company_name", "company_domain")
        .with_row_index("row_id")
        .with_columns(pl.col("row_id").cast(pl.Int64))
    )


def _realized(result: Any, truth: pl.DataFrame) -> dict[str, float]:
    recs = result.records.join(truth.select("row_id", "true_email"), on="row_id", how="left")
    n = recs.height
    found = recs.filter(pl.col("email").is_not_null())
    usable = found.filter(
        (pl.col("email_status") == "valid")
        & (pl.col("email").str.to_lowercase() == pl.col("true_email").str.to_lowercase())
    ).height
    cost = float(result.totals["cost_usd"])
    return {
        "coverage": found.height / n,
        "usable_coverage": usable / n,
        "cost_per_row_usd": cost / n,
        "cost_per_usable_usd": cost / usable if usable else float("inf"),
    }


def _synthetic_pattern(k: int, rows: int, seed: int) -> HitPattern:
    """k providers whose hits share a latent 'findability' (correlated, like real coverage)."""
    rng = random.Random(seed)
    latent = [rng.random() for _ in range(rows)]
    hit: dict[str, list[bool]] = {}
    costs: dict[str, ProviderCost] = {}
    for i in range(k):
        name = f"p{i:02d}"
        rate = rng.uniform(0.3, 0.65)
        hit[name] = [0.6 * latent[r] + 0.4 * rng.random() < rate for r in range(rows)]
        billing = rng.choice(["per_call", "per_hit", "refund_on_miss"])
        costs[name] = ProviderCost(name, billing, 1.0, round(rng.uniform(0.01, 0.3), 3))  # type: ignore[arg-type]
    return HitPattern.from_bools(list(hit), hit, costs)


def _heuristic_gap(k: int, rows: int, seed: int) -> dict[str, float]:
    pattern = _synthetic_pattern(k, rows, seed)
    exact = frontier(pattern, method="exact")
    heur = heuristic_frontier(pattern)
    best = {tuple(r["providers"]): r["cost_per_row_usd"] for r in exact.iter_rows(named=True)}
    order_gaps = [
        r["cost_per_row_usd"] / best[tuple(r["providers"])] - 1
        for r in heur.filter(pl.col("pareto")).iter_rows(named=True)
    ]
    frontier_gaps = []
    top = min(exact["coverage"].max(), heur["coverage"].max())
    for target in [top * q for q in (0.6, 0.7, 0.8, 0.9, 0.95, 1.0)]:
        e = exact.filter(pl.col("coverage") >= target - 1e-12)["cost_per_row_usd"].min()
        h = heur.filter(pl.col("coverage") >= target - 1e-12)["cost_per_row_usd"].min()
        frontier_gaps.append(h / e - 1)
    return {
        "subsets_tried": heur.height,
        "order_gap_mean": sum(order_gaps) / len(order_gaps),
        "order_gap_max": max(order_gaps),
        "frontier_cost_gap_mean": sum(frontier_gaps) / len(frontier_gaps),
        "frontier_cost_gap_max": max(frontier_gaps),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000-row sample (under a minute)")
    parser.add_argument("--target", type=float, default=0.80, help="target coverage")
    parser.add_argument("--target2", type=float, default=0.88, help="second target (full run only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = 1000 if args.quick else 4000
    world = default_world()
    records = _world_records(rows, args.seed)
    truth = world.truth(records)
    out: dict[str, Any] = {"bench": "compare", "quick": args.quick, "rows": rows}
    out["machine"] = {"python": platform.python_version(), "platform": platform.platform()}

    # 1. the comparison
    t0 = time.perf_counter()
    conn = connect(PROVIDERS, mode="sandbox")
    try:
        providers = {name: conn[name] for name in PROVIDERS}
        cmp = compare(records, providers, truth=truth, echo=False, **ENGINE)
    finally:
        asyncio.run(conn.aclose())
    out["compare_wall_s"] = round(time.perf_counter() - t0, 3)
    out["compare_lookups"] = cmp.observations.height
    metrics = cmp.metrics
    out["providers"] = {
        r["provider"]: {
            "billing": r["billing"],
            "hit_rate": round(r["hit_rate"], 4),
            "accuracy": round(r["accuracy"], 4),
            "usd_per_hit": round(r["usd_per_hit"], 4),
            "usd_per_usable": round(r["usd_per_usable"], 4) if r["usd_per_usable"] else None,
        }
        for r in metrics.iter_rows(named=True)
    }
    print(metrics.select("provider", "billing", "hit_rate", "accuracy", "usd_per_hit"))

    # 2-3. fit on one half; run the recommendation and two naive orders on the other
    fit, hold = split_rows(records["row_id"].to_list(), 0.5, args.seed)
    held = records.filter(pl.col("row_id").is_in(hold))
    fit_hit_rate = dict(
        cmp.observations.filter(pl.col("row_id").is_in(fit))
        .group_by("provider")
        .agg(pl.col("hit").mean())
        .iter_rows()
    )
    targets = [args.target] if args.quick else [args.target, args.target2]
    scenarios = []
    for target in targets:
        rec = cmp.recommend(target_coverage=target, rows=fit)
        realized = _realized(_run_fresh(rec.waterfall, held), truth)
        replay = evaluate_order(cmp.pattern(rows=hold), rec.order)
        cov_err = realized["coverage"] / rec.predicted_coverage - 1
        cost_err = realized["cost_per_row_usd"] / rec.predicted_cost_per_row_usd - 1
        chosen = list(rec.order)
        naive: dict[str, Any] = {}
        for label, order in (
            ("highest_hit_rate_first", sorted(chosen, key=lambda p: -fit_hit_rate[p])),
            ("cheapest_first", sorted(chosen, key=lambda p: cmp.costs[p].usd_per_billed_call)),
        ):
            got = _realized(_run_fresh(Waterfall([Step(p) for p in order]), held), truth)
            naive[label] = {
                "order": order,
                "cost_per_row_usd": round(got["cost_per_row_usd"], 5),
                "usable_coverage": round(got["usable_coverage"], 4),
                "cost_per_usable_usd": round(got["cost_per_usable_usd"], 5),
                "cost_per_usable_ratio_vs_recommended": round(
                    got["cost_per_usable_usd"] / realized["cost_per_usable_usd"], 4
                ),
            }
        scenarios.append(
            {
                "target_coverage": target,
                "order": chosen,
                "fit_rows": len(fit),
                "holdout_rows": len(hold),
                "predicted_coverage": round(rec.predicted_coverage, 4),
                "realized_coverage": round(realized["coverage"], 4),
                "coverage_rel_error": round(cov_err, 4),
                "predicted_cost_per_row_usd": round(rec.predicted_cost_per_row_usd, 5),
                "realized_cost_per_row_usd": round(realized["cost_per_row_usd"], 5),
                "cost_rel_error": round(cost_err, 4),
                "replayed_holdout_cost_per_row_usd": round(replay.cost_per_row_usd, 5),
                "within_5pct": abs(cov_err) <= 0.05 and abs(cost_err) <= 0.05,
                "realized_usable_coverage": round(realized["usable_coverage"], 4),
                "realized_cost_per_usable_usd": round(realized["cost_per_usable_usd"], 5),
                "naive_orders": naive,
            }
        )
    out["scenarios"] = scenarios

    # 4. optimizer speed (exact) and the heuristic's gap
    timing: dict[str, float] = {}
    for k in (8, 12, 16):
        pattern = _synthetic_pattern(k, 2000, args.seed + k)
        t0 = time.perf_counter()
        front = frontier(pattern, method="exact")
        timing[f"exact_{k}_providers_s"] = round(time.perf_counter() - t0, 3)
        assert front.height == 2**k - 1
    for k in (16, 20) if args.quick else (16, 20, 30):
        pattern = _synthetic_pattern(k, 2000, args.seed + k)
        t0 = time.perf_counter()
        heuristic_frontier(pattern)
        timing[f"heuristic_{k}_providers_s"] = round(time.perf_counter() - t0, 3)
    out["optimizer"] = timing
    instances = 2 if args.quick else 6
    gaps: dict[str, Any] = {}
    for k in (8, 10, 12):
        runs = [_heuristic_gap(k, 2000, args.seed + 100 * k + i) for i in range(instances)]
        gaps[f"{k}_providers"] = {
            "instances": instances,
            "subsets_tried": runs[0]["subsets_tried"],
            "order_gap_mean": round(sum(r["order_gap_mean"] for r in runs) / instances, 6),
            "order_gap_max": round(max(r["order_gap_max"] for r in runs), 6),
            "frontier_cost_gap_mean": round(
                sum(r["frontier_cost_gap_mean"] for r in runs) / instances, 6
            ),
            "frontier_cost_gap_max": round(max(r["frontier_cost_gap_max"] for r in runs), 6),
        }
    out["heuristic_gap"] = gaps
    out["targets_met"] = {
        "recommendation_within_5pct": all(sc["within_5pct"] for sc in scenarios),
        "exact_12_providers_le_2s": timing["exact_12_providers_s"] <= 2.0,
    }
    return out


if __name__ == "__main__":
    result = main(sys.argv[1:])
    print(json.dumps(result))
    raise SystemExit(0 if all(result["targets_met"].values()) else 1)
