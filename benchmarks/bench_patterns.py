"""Benchmark: the pattern library's index and search at 1,000 entries, and one write-back.

What it measures (offline, on generated entries in a temporary folder):

1. ``gtmkit.patterns.index`` over 1,000 generated entries (all four categories; every
   waterfall entry carries a generated benchmark block with two measurements, like a used
   library), then ``search(query=..., records=...)`` ranking them for a use-case text and a
   2,000-row list's profile. Target: **index + search ≤ 1 s** (median of the repeats).
   The full run also times 5,000 entries (no target; for scale).
2. One write-back: ``record_benchmark`` + ``save`` of a real sandbox run of the enterprise
   entry on ``data/samples/leads_small.csv`` into a copy of that entry (median of the repeats;
   each repeat is a new benchmark, so each really writes: lock, re-read, merge, atomic write).

The last line of output is one JSON object with every figure; the exit status is 1 when the
index + search target is missed.

Usage: ``python benchmarks/bench_patterns.py [--quick] [--entries 1000]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

import gtmkit
from gtmkit.patterns import index, load, search

ROOT = Path(__file__).resolve().parents[1]
ENTERPRISE = ROOT / "patterns" / "enrichment-waterfalls" / "enterprise-contact-enrichment.md"
SOURCES = {
    "enrichment-waterfalls": ENTERPRISE,
    "integration-architectures": ROOT
    / "patterns/integration-architectures/queue-based-pipeline.md",
    "automation-blueprints": ROOT / "patterns/automation-blueprints/funding-event-enrich-notify.md",
    "data-source-combinations": ROOT
    / "patterns/data-source-combinations/sample-provider-combinations.md",
}
INDUSTRIES = ["SaaS", "Healthcare", "Fintech", "All", "Manufacturing", "E-commerce", "Media"]
STAGES = ["Seed / A", "Series B+", "All", "Enterprise", "SMB"]
TARGET_S = 1.0


def _library(folder: Path, n: int, *, seed_entry: str) -> None:
    """``n`` entries cloned from the library's own, with varied titles, fields and limits."""
    texts = {cat: path.read_text(encoding="utf-8") for cat, path in SOURCES.items()}
    texts["enrichment-waterfalls"] = seed_entry
    cats = list(texts)
    for i in range(n):
        cat = cats[i % len(cats)]
        text = texts[cat]
        first = text.splitlines()[0]
        text = text.replace(first, f"{first} variant {i}", 1)
        text = text.replace("**Industry:** SaaS", f"**Industry:** {INDUSTRIES[i % 7]}", 1)
        text = text.replace("**Industry:** All", f"**Industry:** {INDUSTRIES[(i + 3) % 7]}", 1)
        text = text.replace("<50", f"<{20 + i % 200}", 1)
        text = text.replace("**Company Stage:** Series B+", f"**Company Stage:** {STAGES[i % 5]}")
        target = folder / cat / f"entry-{i:05d}.md"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")


def _used_entry(tmp: Path, result: Any) -> str:
    """The enterprise entry after two write-backs (a used library's entries carry history)."""
    path = tmp / "seed" / "enrichment-waterfalls" / "enterprise-contact-enrichment.md"
    path.parent.mkdir(parents=True)
    shutil.copy(ENTERPRISE, path)
    for day in ("2026-01-05", "2026-02-09"):
        p = load(path)
        p.record_benchmark(result, substitute={"zoominfo": "pdl"}, measured_on=day)
        p.save()
    return path.read_text(encoding="utf-8")


def _time_index_search(folder: Path, records: pl.DataFrame, repeats: int) -> dict[str, Any]:
    index_s, search_s, total_s, cpu_s = [], [], [], []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        frame = index(folder)
        t1 = time.perf_counter()
        ranked = search(query="decision makers at Series B SaaS companies", records=records,
                        entries=frame)  # fmt: skip
        t2 = time.perf_counter()
        cpu_s.append(time.process_time() - c0)
        index_s.append(t1 - t0)
        search_s.append(t2 - t1)
        total_s.append(t2 - t0)
    return {
        "entries": frame.height,
        "ranked": ranked.height,
        "index_s_median": round(statistics.median(index_s), 4),
        "search_s_median": round(statistics.median(search_s), 4),
        "index_plus_search_s_median": round(statistics.median(total_s), 4),
        "index_plus_search_s_best": round(min(total_s), 4),
        "index_plus_search_cpu_s_median": round(statistics.median(cpu_s), 4),
    }


def main(argv: list[str]) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--entries", type=int, default=1000)
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 5
    leads = gtmkit.load_list(ROOT / "data" / "samples" / "leads_small.csv")
    pattern = load(ENTERPRISE)
    result = pattern.run(leads, substitute={"zoominfo": "pdl"}, mode="sandbox", ledger=None,
                         progress=False)  # fmt: skip
    demo = pl.read_csv(ROOT / "data" / "samples" / "leads_demo.truth.csv")
    out: dict[str, Any] = {
        "benchmark": "patterns",
        "load_average_1min": round(os.getloadavg()[0], 2),
        "quick": args.quick,
        "python": platform.python_version(),
        "target_index_plus_search_s": TARGET_S,
    }
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        seed_entry = _used_entry(tmp, result)
        sizes = [args.entries] if args.quick else [args.entries, 5 * args.entries]
        for n in sizes:
            folder = tmp / f"lib{n}"
            _library(folder, n, seed_entry=seed_entry)
            out[f"library_{n}"] = _time_index_search(folder, demo, repeats)
        target = tmp / "wb" / "enrichment-waterfalls" / "enterprise-contact-enrichment.md"
        target.parent.mkdir(parents=True)
        shutil.copy(ENTERPRISE, target)
        walls = []
        for i in range(repeats + 2):
            t0 = time.perf_counter()
            p = load(target)
            p.record_benchmark(
                result, substitute={"zoominfo": "pdl"}, measured_on=f"2026-03-{i + 1:02d}"
            )
            changed = p.save()
            walls.append(time.perf_counter() - t0)
            assert changed
        out["write_back"] = {
            "entry_bytes": target.stat().st_size,
            "wall_s_median": round(statistics.median(walls), 4),
            "wall_s_max": round(max(walls), 4),
            "repeats": len(walls),
        }
    measured = out[f"library_{args.entries}"]["index_plus_search_s_median"]
    out["target_met"] = args.entries < 1000 or measured <= TARGET_S
    return out


if __name__ == "__main__":
    figures = main(sys.argv[1:])
    print(json.dumps(figures))
    sys.exit(0 if figures["target_met"] else 1)
