"""Helpers for the pattern-library tests: synthetic waterfall results shaped like the engine's
contract (records / attempts / summary / totals), hand-edited entry texts, and the check that
everything outside gtmkit's generated lines is byte-for-byte what a person wrote."""

from __future__ import annotations

import random
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from gtmkit.patterns.parse import BEGIN, END, split_lines
from gtmkit.waterfall import WaterfallResult

REPO = Path(__file__).resolve().parents[1]
LIBRARY = REPO / "patterns"
PRICES = {"hunter": 0.10, "apollo": 0.05, "pdl": 0.25, "prospeo": 0.04, "manual": 0.0}


def copy_library(tmp: Path) -> Path:
    """A private copy of ``patterns/`` (tests never write to the repository's entries)."""
    target = tmp / "patterns"
    shutil.copytree(LIBRARY, target)
    return target


def fake_result(
    providers: Sequence[str],
    *,
    n: int = 120,
    seed: int = 0,
    hit_rates: Sequence[float] | None = None,
    elapsed_s: float | None = None,
) -> WaterfallResult:
    """A deterministic result of a waterfall over ``providers`` (``manual`` last = hand-off).

    Each finder step finds an email for a share of the rows still missing one; rows left at a
    ``manual`` step end ``manual``, else ``not_found``. Costs: per hit at :data:`PRICES`.
    """
    rng = random.Random(seed)
    finders = [p for p in providers if p != "manual"]
    rates = list(hit_rates) if hit_rates is not None else [rng.uniform(0.2, 0.6) for _ in finders]
    started = datetime(2025, 6, 1, tzinfo=UTC) + timedelta(days=seed % 300)
    records, attempts = [], []
    rows_in = [0] * len(providers)
    hits = [0] * len(providers)
    for row_id in range(n):
        email = source = None
        cost = 0.0
        for step, provider in enumerate(finders):
            rows_in[step] += 1
            found = rng.random() < rates[step]
            paid = PRICES.get(provider, 0.1) if found else 0.0
            cost += paid
            attempts.append(
                {
                    "row_id": row_id, "step": step, "provider": provider,
                    "outcome": "hit" if found else "miss",
                    "email": f"p{row_id}@co{row_id % 7}.example" if found else None,
                    "cost_usd": paid, "credits": 1.0 if found else 0.0, "billed": found,
                    "cached": False, "latency_s": 0.01, "started_at": started,
                }
            )  # fmt: skip
            if found:
                hits[step] += 1
                email, source = f"p{row_id}@co{row_id % 7}.example", provider
                break
        if email is not None:
            status, reason = "enriched", None
        elif providers[-1] == "manual":
            status, reason = "manual", "handed off to Manual research"
        else:
            status, reason = "not_found", "no provider found an email"
        records.append(
            {
                "row_id": row_id, "full_name": f"Person {row_id}",
                "company_domain": f"co{row_id % 7}.example", "email": email,
                "email_source": source, "email_status": "valid" if email else None,
                "email_verified": email is not None and row_id % 3 != 0,
                "credits": 1.0 if email else 0.0, "cost_usd": cost, "attempts": 1,
                "status": status, "status_reason": reason, "duplicate_of": None,
            }
        )  # fmt: skip
    summary = []
    cumulative = 0.0
    for step, provider in enumerate(providers):
        incremental = hits[step] / n if provider != "manual" else 0.0
        cumulative += incremental
        cost = hits[step] * PRICES.get(provider, 0.1)
        summary.append(
            {
                "step": step, "provider": provider, "rows_in": rows_in[step],
                "calls": rows_in[step], "hits": hits[step],
                "incremental_coverage": incremental, "cumulative_coverage": cumulative,
                "credits": float(hits[step]), "cost_usd": cost,
                "cost_per_hit": cost / hits[step] if hits[step] else None,
            }
        )  # fmt: skip
    attempts_frame = pl.DataFrame(attempts).with_columns(
        pl.col("started_at").dt.replace_time_zone("UTC")
    )
    totals = {"rows": n, "elapsed_s": elapsed_s if elapsed_s is not None else 0.5 + seed / 100}
    return WaterfallResult(
        records=pl.DataFrame(records), attempts=attempts_frame, summary=pl.DataFrame(summary),
        totals=totals,
    )  # fmt: skip


def strip_generated(text: str) -> str:
    """``text`` without the generated block and gtmkit's Version History lines."""
    out: list[str] = []
    inside = False
    for line in split_lines(text):
        if line.lstrip().startswith(BEGIN):
            inside = True
            continue
        if inside:
            inside = line.strip() != END
            continue
        if line.lstrip().startswith("- v") and "gtmkit benchmark " in line:
            continue
        out.append(line)
    return "".join(out)


def assert_person_text_kept(original: str, written: str) -> None:
    """Everything a person wrote survives byte for byte (gtmkit's own lines aside).

    The one allowed difference: when the file ended without a newline on the line gtmkit
    appended after, that line now ends with the file's newline.
    """
    kept = strip_generated(written)
    if kept == original:
        return
    nl = "\r\n" if "\r\n" in original else "\n"
    assert not original.endswith("\n") and kept == original + nl, (
        "text outside the generated lines changed"
    )


HAND_EDITED = (
    "# 🚀  Hand-Edited   Waterfall  \r\n"
    "\r\n"
    "**Maturity:**   🔬 Experimental  \r\n"
    "**Use Case:** SMB lists — “quoted” use case, with trailing spaces   \r\n"
    "**Industry:**\tSaaS\r\n"
    "\r\n"
    "## Architecture 🧭\r\n"
    "\r\n"
    "Some prose a person wrote.  \r\n"
    "1)   **Hunter**  ->  ~40% ,  $0.10 per contact   \r\n"
    "2. People Data Labs → 20% hit rate, $0.25/contact\r\n"
    "3.  Manual LinkedIn   (final 5%)\r\n"
    "\r\n"
    "## 📈 Performance Metrics\r\n"
    "\r\n"
    "- **Coverage:** 65% of rows  \r\n"
    "- **Cost:** $0.09 per record\r\n"
    "- my own note, keep me 👍🏽   \r\n"
    "\r\n"
    "## Notes (an extra section)\r\n"
    "\r\n"
    "Tabs\there, odd   spacing, 'single' and \"double\" quotes.\r\n"
    "\r\n"
    "## Version History\r\n"
    "\r\n"
    "- v1.0 (2025-01-15): first written by hand\r\n"
)
