"""Validation of the twin (``gtmkit.twin``) on the simulated world, where truth is known.

Each trial: a waterfall (hunter → apollo → pdl) runs on list A of the default world with a
fresh ledger; a twin is fitted from that ledger (segments by employee band, the band joined
from the world's truth as a client's list would carry it); the twin predicts the same
waterfall on list B (another sample of the same world, other people), and the waterfall then
really runs on list B with its own fresh ledger. Predicted vs realized: coverage (share of
rows enriched), usable coverage (a ``valid`` email), credits and spend; and whether the stated
95% interval holds the realized value. A second prediction per trial reorders the waterfall
(apollo → hunter → pdl, a what-if the ledger never saw run) and is checked the same way: it
is where the dependence between providers matters.

The noise floor: list B's realized figures carry its own luck (which people it drew, which of
them each provider finds), and the twin learns from one list A of the same size, whose luck it
cannot tell from the providers' rates. The *empirical baseline* predicts list B's figures as
list A's realized figures (the lists are the same size): unbiased, no model at all. Its errors
are reported beside the twin's (``base.<metric>.baseline_*``): a twin that merely matches it has
used all that one list of that size can say; a twin far worse than it is wrong, not unlucky.
The *world-mean* predictor knows even more than any fit could: it predicts each list B by the
mean realized figure of the other trials' lists B (nearly the world's true mean for a list of
that size), so its misses are list B's luck alone (``base.<metric>.world_mean_within_5pct``).

Targets (issue 15): coverage and spend within 5% of realized (mean relative error, and in at
least 95% of the trials), and the 95% intervals hold the realized coverage and spend in at
least 90 of 100 trials. The reordered what-if is reported, not a target.

List size: 3,000 rows by default. At 1,000 rows a list's own luck alone moves its realized
spend by 2.4% (one standard deviation), so no predictor learning from another list of that size
lands within 5% in 95 of 100 trials (the unbiased empirical baseline: 80; the twin: 79;
``benchmarks/README.md``); at 3,000 rows that floor is well inside 5%, and the target measures
the twin rather than the dice. ``--rows 1000`` reproduces the smaller trials.

Usage: ``python benchmarks/bench_twin.py [--quick] [--trials N] [--rows N]`` (quick: 5 trials
of 400 rows; full: 100 trials of 3,000 rows, about 25 minutes on 2 cores). Exits 1 when a target
is missed. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.sandbox import SandboxTransport, default_world
from gtmkit.twin import Twin
from gtmkit.waterfall import Step, Waterfall

WF = Waterfall([Step("hunter"), Step("apollo"), Step("pdl")], name="bench-twin")
REORDERED = ["apollo", "hunter", "pdl"]
SEGMENT = "employee_band"
METRICS = ("coverage", "usable_coverage", "credits", "spend_usd")


def with_segments(world: Any, records: pl.DataFrame) -> pl.DataFrame:
    bands = world.truth(records).select("row_id", SEGMENT)
    return records.join(bands, on="row_id", how="left")


def realized(world: Any, wf: Waterfall, records: pl.DataFrame, ledger: Path) -> dict[str, float]:
    res = wf.run(
        records, mode="sandbox", ledger=ledger, progress=False, rate_limits="off",
        connect_options={"transport": SandboxTransport(world)},
    )  # fmt: skip
    out = res.records
    n = out.height
    usable = out.filter((pl.col("status") == "enriched") & (pl.col("email_status") == "valid"))
    return {
        "coverage": res.totals["enriched"] / n,
        "usable_coverage": usable.height / n,
        "credits": float(res.totals["credits"]),
        "spend_usd": float(res.totals["cost_usd"]),
    }


def trial(world: Any, index: int, rows: int, draws: int, tmp: Path) -> dict[str, Any]:
    fit_list = with_segments(world, world.sample_records(rows, seed=10_000 + index))
    new_list = with_segments(world, world.sample_records(rows, seed=20_000 + index))
    ledger = tmp / f"fit-{index}.sqlite"
    seen = realized(world, WF, fit_list, ledger)
    t0 = time.perf_counter()
    twin = Twin.fit(ledger, records=fit_list, segment_by=SEGMENT)
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = twin.predict(new_list, WF, draws=draws, seed=index)
    predict_s = time.perf_counter() - t0
    from gtmkit.twin.plan import variant_of

    reordered_wf = variant_of(WF, order=REORDERED)
    reordered = twin.predict(new_list, reordered_wf, draws=draws, seed=index)
    truth_base = realized(world, WF, new_list, tmp / f"new-{index}.sqlite")
    truth_reordered = realized(world, reordered_wf, new_list, tmp / f"reorder-{index}.sqlite")
    out: dict[str, Any] = {"fit_s": fit_s, "predict_s": predict_s}
    for label, prediction, truth in (
        ("base", base, truth_base),
        ("reordered", reordered, truth_reordered),
    ):
        for metric in METRICS:
            figure = prediction[metric]
            real = truth[metric]
            out[f"{label}.{metric}.error"] = abs(figure.expected - real) / real if real else 0.0
            out[f"{label}.{metric}.signed"] = (figure.expected - real) / real if real else 0.0
            out[f"{label}.{metric}.inside"] = figure.low <= real <= figure.high
            out[f"{label}.{metric}.width"] = (figure.high - figure.low) / real if real else 0.0
    # the empirical baseline: list A's realized figures as the prediction (same row counts)
    for metric in METRICS:
        real = truth_base[metric]
        out[f"base.{metric}.baseline_error"] = abs(seen[metric] - real) / real if real else 0.0
        out[f"base.{metric}.realized"] = real
    return out


def _world_mean_hits(results: list[dict[str, Any]], metric: str) -> int | None:
    """Trials where the mean realized figure of the *other* trials is within 5% of this one's."""
    real = [r[f"base.{metric}.realized"] for r in results]
    if len(real) < 2:
        return None
    total = sum(real)
    others = [(total - v) / (len(real) - 1) for v in real]
    return sum(abs(o - v) <= 0.05 * v for o, v in zip(others, real, strict=True) if v)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--trials", type=int)
    parser.add_argument("--rows", type=int)
    args = parser.parse_args()
    trials = args.trials or (5 if args.quick else 100)
    rows = args.rows or (400 if args.quick else 3000)
    draws = 200
    world = default_world()
    t0 = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(trials):
            results.append(trial(world, i, rows, draws, Path(tmp)))
            for path in Path(tmp).glob("*.sqlite*"):
                path.unlink()
    figures: dict[str, Any] = {
        "trials": trials, "rows": rows, "draws": draws,
        "wall_s": round(time.perf_counter() - t0, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "fit_s_median": round(statistics.median(r["fit_s"] for r in results), 3),
        "predict_s_median": round(statistics.median(r["predict_s"] for r in results), 3),
    }  # fmt: skip
    for label in ("base", "reordered"):
        for metric in METRICS:
            errors = [r[f"{label}.{metric}.error"] for r in results]
            figures[f"{label}.{metric}.mean_error"] = round(statistics.mean(errors), 4)
            figures[f"{label}.{metric}.max_error"] = round(max(errors), 4)
            figures[f"{label}.{metric}.within_5pct"] = sum(e <= 0.05 for e in errors)
            figures[f"{label}.{metric}.inside_95"] = sum(
                r[f"{label}.{metric}.inside"] for r in results
            )
            figures[f"{label}.{metric}.mean_width"] = round(
                statistics.mean(r[f"{label}.{metric}.width"] for r in results), 4
            )
            figures[f"{label}.{metric}.mean_signed_error"] = round(
                statistics.mean(r[f"{label}.{metric}.signed"] for r in results), 4
            )
    for metric in METRICS:
        baseline = [r[f"base.{metric}.baseline_error"] for r in results]
        figures[f"base.{metric}.baseline_mean_error"] = round(statistics.mean(baseline), 4)
        figures[f"base.{metric}.baseline_within_5pct"] = sum(e <= 0.05 for e in baseline)
        figures[f"base.{metric}.world_mean_within_5pct"] = _world_mean_hits(results, metric)
    misses = []
    for metric in ("coverage", "spend_usd"):
        if figures[f"base.{metric}.mean_error"] > 0.05:
            misses.append(f"{metric}: mean error over 5%")
        if figures[f"base.{metric}.within_5pct"] < 0.95 * trials:
            misses.append(f"{metric}: within 5% in fewer than 95% of trials")
        if figures[f"base.{metric}.inside_95"] < 0.9 * trials:
            misses.append(f"{metric}: 95% interval held the realized value in fewer than 90%")
    figures["targets_met"] = not misses
    figures["missed"] = misses
    for key, value in figures.items():
        print(f"{key:40s} {value}")
    print(json.dumps(figures))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
