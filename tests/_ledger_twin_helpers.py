"""Synthetic ledgers for the twin's tests: attempts frames drawn from a known latent
findability model, so a test can check the twin recovers what it was built from.

Each row of segment ``s`` has a findability ``z``; provider ``p`` finds it when
``sqrt(rho) z + sqrt(1 - rho) e > -probit(rate[s][p])``. ``order=None`` lets every provider
see every row (a comparison); an order walks it as a waterfall (stop at the first hit).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from statistics import NormalDist

import polars as pl

_N = NormalDist()


def draw_rows(
    n: int, rates: Mapping[str, Mapping[str, float]], rho: float, *, seed: int
) -> tuple[list[str], list[dict[str, bool]]]:
    """Segments and each provider's would-be outcome for ``n`` rows (segments in turn)."""
    rng = random.Random(seed)
    segments = list(rates)
    seg_of, outcomes = [], []
    for i in range(n):
        segment = segments[i % len(segments)]
        z = rng.gauss(0, 1)
        row = {}
        for provider, rate in rates[segment].items():
            latent = math.sqrt(rho) * z + math.sqrt(1 - rho) * rng.gauss(0, 1)
            row[provider] = latent > -_N.inv_cdf(rate)
        seg_of.append(segment)
        outcomes.append(row)
    return seg_of, outcomes


def synthetic_ledger(
    n: int,
    rates: Mapping[str, Mapping[str, float]],
    rho: float,
    *,
    order: Sequence[str] | None = None,
    seed: int = 0,
    usable_share: float = 0.7,
    credits_per_hit: float = 1.0,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(attempts, records)``: the attempts a run would ledger, and the list with ``segment``."""
    segments, outcomes = draw_rows(n, rates, rho, seed=seed)
    rng = random.Random(seed + 1)
    rows: list[dict[str, object]] = []
    for row_id, (segment, outcome) in enumerate(zip(segments, outcomes, strict=True)):
        walk = list(order) if order is not None else list(rates[segment])
        for provider in walk:
            hit = outcome[provider]
            status = "valid" if rng.random() < usable_share else "risky"
            rows.append(
                {
                    "row_id": row_id, "provider": provider, "state": "done",
                    "outcome": "hit" if hit else "miss",
                    "email_status": status if hit else None,
                    "credits": credits_per_hit if hit else 0.0, "latency_s": 0.5,
                }
            )  # fmt: skip
            if hit and order is not None:
                break
    records = pl.DataFrame(
        {"row_id": list(range(n)), "segment": segments, "email": [None] * n},
        schema={"row_id": pl.Int64, "segment": pl.String, "email": pl.String},
    )
    return pl.DataFrame(rows), records


def new_list(n: int, segments: Sequence[str]) -> pl.DataFrame:
    """A list to predict: ``n`` rows needing an email, segments in turn."""
    return pl.DataFrame(
        {"row_id": list(range(n)), "segment": [segments[i % len(segments)] for i in range(n)],
         "email": [None] * n},
        schema={"row_id": pl.Int64, "segment": pl.String, "email": pl.String},
    )  # fmt: skip


def true_coverage(rates: Mapping[str, float], rho: float, order: Sequence[str]) -> float:
    """Exact P(some provider in ``order`` finds a row) under the model (quadrature)."""
    steps = 2001
    total = 0.0
    for j in range(steps):
        z = -8 + 16 * j / (steps - 1)
        miss = 1.0
        for provider in order:
            t = _N.inv_cdf(rates[provider])
            miss *= 1 - _N.cdf((t + math.sqrt(rho) * z) / math.sqrt(1 - rho))
        total += (1 - miss) * _N.pdf(z) * 16 / (steps - 1)
    return total
