"""Simulating a waterfall on a list from the twin's posterior: expected figures and intervals.

A row's walk through an order of steps is one of a few *paths* (Hunter miss → Apollo hit,
unverified → PDL...), fixed by the steps' stop rules. Given the model's parameters, a path's
probability integrates the row's latent findability out on the grid; the rows of a segment
then fall on the paths as a multinomial draw. Each posterior draw samples the parameters
(rho from its grid posterior, each threshold from its Laplace normal, usable and error rates
from their Betas, latency from its lognormal), then the list's rows — so the intervals hold
both what the twin does not know and the luck of this particular list.

Example:
    >>> import random
    >>> rng = random.Random(1)
    >>> draws = [binomial(rng, 1000, 0.3) for _ in range(200)]
    >>> 280 < sum(draws) / 200 < 320
    True
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from gtmkit.twin.latent import Grid

#: below this many trials a binomial is drawn exactly, above it by its normal approximation
_EXACT_BELOW = 60


def binomial(rng: random.Random, n: int, p: float) -> int:
    """A Binomial(n, p) draw (Python 3.11's ``random`` has none): exact for small ``n``,
    else the normal approximation with continuity correction, clamped to [0, n]."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    if n < _EXACT_BELOW:
        return sum(rng.random() < p for _ in range(n))
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return min(n, max(0, math.floor(rng.gauss(mean, sd) + 0.5)))


def multinomial(rng: random.Random, n: int, probs: Sequence[float]) -> list[int]:
    """Counts of ``n`` rows over categories (sequential binomials)."""
    counts, left, mass = [], n, 1.0
    for p in probs[:-1]:
        k = binomial(rng, left, min(1.0, p / mass) if mass > 1e-12 else 0.0)
        counts.append(k)
        left -= k
        mass -= p
    counts.append(left)
    return counts


@dataclass(frozen=True, slots=True)
class PlanStep:
    """One step of an order as the simulation sees it."""

    provider: str
    stop: str = "first_hit"
    manual: bool = False


@dataclass(frozen=True, slots=True)
class RowPath:
    """One way a row can walk an order: the (step, branch) events — ``u`` usable hit, ``n``
    hit not usable, ``x`` no email (miss or error) — and where it ends."""

    events: tuple[tuple[int, str], ...]
    found: bool
    usable: bool
    handed_off: bool


def paths(steps: Sequence[PlanStep]) -> list[RowPath]:
    """Every path through ``steps`` (the policy's rules: a usable hit ends the walk; a hit that
    is not usable ends it under ``first_hit`` and falls through under ``first_verified``; a
    row still without an acceptable email at a manual step is handed off)."""

    def walk(k: int, found: bool, events: tuple[tuple[int, str], ...]) -> Iterator[RowPath]:
        if k == len(steps):
            yield RowPath(events, found, False, False)
            return
        step = steps[k]
        if step.manual:
            yield RowPath(events, found, False, True)
            return
        yield RowPath((*events, (k, "u")), True, True, False)
        if step.stop == "first_verified":
            yield from walk(k + 1, True, (*events, (k, "n")))
        else:
            yield RowPath((*events, (k, "n")), True, False, False)
        yield from walk(k + 1, found, (*events, (k, "x")))

    return list(walk(0, False, ()))


@dataclass(frozen=True)
class DrawParams:
    """One posterior draw's parameters for one segment: threshold, usable and error rate per
    provider, and per provider the credits of a hit and of a lookup without an email."""

    rho: float
    t: Mapping[str, float]
    usable: Mapping[str, float]
    error: Mapping[str, float]


def path_probabilities(
    steps: Sequence[PlanStep], routes: Sequence[RowPath], params: DrawParams, grid: Grid
) -> list[float]:
    """P(path) for each path, the latent findability integrated out on the grid."""
    lam, s = math.sqrt(params.rho), math.sqrt(1.0 - params.rho)
    hit_curves = {}
    for step in steps:
        if step.manual or step.provider in hit_curves:
            continue
        t = params.t[step.provider]
        hit_curves[step.provider] = [
            0.5 * math.erfc(-((t + lam * z) / s) / math.sqrt(2.0)) for z in grid.nodes
        ]
    out = []
    for route in routes:
        weights = list(grid.weights)
        for k, branch in route.events:
            provider = steps[k].provider
            curve, e, u = hit_curves[provider], params.error[provider], params.usable[provider]
            for j, q in enumerate(curve):
                if branch == "u":
                    weights[j] *= (1 - e) * q * u
                elif branch == "n":
                    weights[j] *= (1 - e) * q * (1 - u)
                else:
                    weights[j] *= e + (1 - e) * (1 - q)
        out.append(sum(weights))
    total = sum(out)
    return [p / total for p in out] if total > 0 else out


__all__ = [
    "DrawParams",
    "PlanStep",
    "RowPath",
    "binomial",
    "multinomial",
    "path_probabilities",
    "paths",
]
