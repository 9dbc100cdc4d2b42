"""Small statistics used by the comparison: Wilson score intervals and quantiles.

Why Wilson: on the sample sizes a GTM engineer can afford (a few hundred rows, split by
segment) the normal approximation gives intervals outside [0, 1] and badly under-covers near
0 % or 100 %; the Wilson score interval stays inside [0, 1] and keeps close to its nominal 95 %.
"""

from __future__ import annotations

import math

import polars as pl

from gtmkit.comparison.errors import CompareError

#: z for a two-sided 95 % interval.
Z95 = 1.959963984540054

#: A cell is flagged ``too_wide`` when its Wilson 95 % interval is wider than this (from low to
#: high bound, in rate units). 0.20 means "± 10 percentage points": at a 50 % hit rate that needs
#: about 96 rows; with fewer the ranking of two providers 10 points apart is a coin toss, so the
#: figure should not drive a purchase or an order.
MAX_ACTIONABLE_INTERVAL_WIDTH = 0.20


def wilson_interval(successes: int, n: int, *, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Args:
        successes: number of successes (0..n).
        n: number of trials; ``n == 0`` gives the uninformative interval (0, 1).
        z: normal quantile (1.96 for 95 %).

    Returns:
        ``(low, high)``, both inside ``[0, 1]``.

    Example:
        >>> low, high = wilson_interval(50, 100)
        >>> round(low, 3), round(high, 3)
        (0.404, 0.596)
    """
    if n < 0 or successes < 0 or successes > n:
        raise CompareError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # the exact bounds at 0/n and n/n are 0 and 1; float dust would otherwise leave 5e-17
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def wilson_exprs(successes: str, n: str, *, prefix: str, z: float = Z95) -> list[pl.Expr]:
    """The Wilson interval as polars expressions (``<prefix>_low`` / ``<prefix>_high``)."""
    s = pl.col(successes).cast(pl.Float64)
    m = pl.col(n).cast(pl.Float64)
    p = s / m
    z2 = z * z
    denom = 1.0 + z2 / m
    centre = (p + z2 / (2 * m)) / denom
    half = z * ((p * (1 - p) / m + z2 / (4 * m * m)).sqrt()) / denom
    none = pl.col(successes) == 0
    every = pl.col(successes) == pl.col(n)
    return [
        pl.when(none)
        .then(0.0)
        .otherwise(pl.max_horizontal(centre - half, pl.lit(0.0)))
        .alias(f"{prefix}_low"),
        pl.when(every)
        .then(1.0)
        .otherwise(pl.min_horizontal(centre + half, pl.lit(1.0)))
        .alias(f"{prefix}_high"),
    ]
