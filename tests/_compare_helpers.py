"""Synthetic attempts frames for the compare/chart tests (no engine, no sandbox needed).

Rows get a latent "findability" so providers' hits are correlated — like real coverage, and
unlike an independence model — and segment-dependent strengths so per-segment orders differ.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from gtmkit.comparison import ProviderCost


@dataclass(frozen=True)
class SynthProvider:
    name: str
    base_rate: float  # rough hit rate
    accuracy: float  # share of hits that are the right, current email
    verified: float  # share of hits reported "valid"
    billing: str = "per_hit"
    credits: float = 1.0
    usd_per_credit: float = 0.05
    latency_median_s: float = 1.0
    error_rate: float = 0.0
    segment_boost: tuple[tuple[str, float], ...] = ()  # segment value -> added hit rate


DEFAULT_PROVIDERS = (
    SynthProvider("alpha", 0.55, 0.92, 0.7, "per_hit", 1.0, 0.04, 0.6),
    SynthProvider("beta", 0.50, 0.85, 0.6, "per_call", 1.0, 0.02, 1.2, 0.02),
    SynthProvider("gamma", 0.45, 0.95, 0.8, "per_hit", 2.0, 0.05, 2.5),
    SynthProvider("delta", 0.40, 0.80, 0.5, "refund_on_miss", 1.0, 0.03, 0.9),
    SynthProvider("epsilon", 0.35, 0.90, 0.9, "per_call", 1.0, 0.01, 3.0),
)

SEGMENTS = ("1-10", "11-50", "51-200", "201-1000")


def synth_records(n: int, *, seed: int = 0) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame(
        {
            "row_id": list(range(n)),
            "employee_band": [SEGMENTS[rng.randrange(len(SEGMENTS))] for _ in range(n)],
            "region": [rng.choice(["NA", "EU", "APAC"]) for _ in range(n)],
        }
    )


def synth_attempts(
    records: pl.DataFrame,
    providers: tuple[SynthProvider, ...] = DEFAULT_PROVIDERS,
    *,
    seed: int = 0,
    correlation: float = 0.6,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An attempts frame (engine contract columns) and a truth frame for ``records``."""
    rng = random.Random(seed)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    rows = records["row_id"].to_list()
    bands = records["employee_band"].to_list()
    latent = [rng.random() for _ in rows]
    true_email = [f"person{r}@company{r % 97}.com" for r in rows]
    truth = pl.DataFrame(
        {"row_id": rows, "true_email": true_email, "employee_band": bands},
    )
    out = []
    for step, p in enumerate(providers):
        boost = dict(p.segment_boost)
        for r, band, lat, email in zip(rows, bands, latent, true_email, strict=True):
            rate = min(0.98, p.base_rate + boost.get(band, 0.0))
            score = correlation * lat + (1 - correlation) * rng.random()
            errored = rng.random() < p.error_rate
            hit = (not errored) and score < rate
            latency = p.latency_median_s * math.exp(rng.gauss(0, 0.4))
            found = None
            status = None
            if hit:
                found = email if rng.random() < p.accuracy else f"wrong{r}@company{r % 97}.com"
                status = "valid" if rng.random() < p.verified else "catch_all"
            if errored:
                outcome = "error"
            elif hit:
                outcome = "hit"
            else:
                outcome = "miss"
            billed = (p.billing == "per_call" and not errored) or hit
            credits = p.credits if billed else 0.0
            attempts = [(1, "error", None)] if errored and rng.random() < 0.5 else []
            attempts.append((len(attempts) + 1, outcome, "rate_limited" if errored else None))
            for number, out_kind, kind in attempts:
                last = number == len(attempts)
                out.append(
                    {
                        "row_id": r,
                        "lookup_key": f"{p.name}:{r}",
                        "step": step,
                        "provider": p.name,
                        "endpoint": "find",
                        "outcome": out_kind,
                        "error_kind": kind if out_kind == "error" else None,
                        "http_status": 429 if out_kind == "error" else 200,
                        "latency_s": latency,
                        "credits": credits if last else 0.0,
                        "billed": billed if last else False,
                        "cost_usd": (credits * p.usd_per_credit) if last else 0.0,
                        "attempt": number,
                        "cached": False,
                        "started_at": t0 + timedelta(seconds=r * 10 + step + number * 0.1),
                        "email": found if last else None,
                        "email_status": status if last else None,
                        "provider_status": status,
                        "confidence": 0.9 if found else None,
                        "fields_json": "{}",
                    }
                )
    return pl.DataFrame(out, infer_schema_length=None), truth


def synth_costs(providers: tuple[SynthProvider, ...] = DEFAULT_PROVIDERS) -> dict:
    return {
        p.name: ProviderCost(p.name, p.billing, p.credits, p.usd_per_credit)  # type: ignore[arg-type]
        for p in providers
    }


# -- the simulated world, through the real engine -------------------------------------------
@contextmanager
def connected(sim: Any, names: Sequence[str]) -> Iterator[dict[str, Any]]:
    """The adapters of ``names`` served by the simulation ``sim`` (whose meter the test reads),
    closed after the block."""
    conn = sim.connect(list(names))
    try:
        yield {name: conn[name] for name in names}
    finally:
        asyncio.run(conn.aclose())


@contextmanager
def sandbox_providers(names: Sequence[str], world: Any = None) -> Iterator[dict[str, Any]]:
    """Sandbox adapters (in-process simulated APIs, no latency) for ``compare(providers=...)``."""
    from gtmkit.sandbox import simulate

    with connected(simulate(world), names) as providers:
        yield providers


def world_records(world: Any, n: int, *, seed: int = 0) -> pl.DataFrame:
    """``n`` people of the world as a canonical lead list (name + company), with ``row_id``."""
    people = world.people.sample(n=n, seed=seed, shuffle=True)
    return (
        people.select("first_name", "last_name", "full_name", "company_name", "company_domain")
        .with_row_index("row_id")
        .with_columns(pl.col("row_id").cast(pl.Int64))
    )
