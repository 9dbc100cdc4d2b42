"""The latent "findability" model of coverage (a one-factor Gaussian copula) and its fit.

Providers find the same easy people: a row's outcomes are not independent across providers.
Each row carries a latent findability ``z ~ N(0, 1)``; provider ``p`` finds a row of segment
``s`` when ``sqrt(rho) * z + sqrt(1 - rho) * e > -t[p, s]`` with its own noise ``e ~ N(0, 1)``,
so its marginal hit rate is ``Phi(t[p, s])`` and ``rho`` is the latent correlation between any
two providers (0 = independent, 1 = all find the same people). The sandbox world draws its
answers the same way (``gtmkit/sandbox/oracle.py``), and field-notes §4.5 recommends it.

The fit works on *patterns*: per segment, how many rows had each combination of observed
outcomes (hunter miss + apollo hit...). A waterfall observes later providers only on rows
earlier ones missed; the likelihood of a pattern integrates ``z`` out on a fixed grid, so a
late provider's low hit rate among "hard" rows is not mistaken for a low marginal rate — but
with a pure waterfall ledger, a late provider's marginal rate and ``rho`` trade off against
each other, and their priors decide (say so; a comparison run, where every provider saw every
row, pins ``rho`` down).

For each ``rho`` of a grid, EM (E: posterior of ``z`` per pattern; M: one Newton-solved
threshold per provider and segment, with its Beta prior) gives the posterior mode; the
curvature of the marginal likelihood gives each threshold's variance (Laplace), and the
grid's penalized likelihoods give ``rho`` a discrete posterior. Pure Python: the sums are
over a few dozen patterns and grid nodes, not over rows.

Reference for the copula/probit threshold model: Gaussian copula models of correlated
binary outcomes (e.g. the Vasicek one-factor model), with the latent integral done by
quadrature on an equally spaced grid.

Example:
    >>> grid = Grid()
    >>> round(sum(grid.weights), 6)
    1.0
    >>> p = hit_given_z(0.0, 0.0, 0.4)  # threshold 0 = a 50% marginal rate, at average z
    >>> round(p, 3)
    0.5
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

from gtmkit.twin.priors import Prior

_NORMAL = NormalDist()
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
#: thresholds beyond this are clamped (a hit rate of 0.003% or 99.997%)
T_LIMIT = 4.0


def phi(u: float) -> float:
    return _INV_SQRT_2PI * math.exp(-0.5 * u * u)


def cdf(u: float) -> float:
    return 0.5 * math.erfc(-u / _SQRT2)


def probit(p: float) -> float:
    """Phi^-1(p), with p clamped away from 0 and 1."""
    return _NORMAL.inv_cdf(min(max(p, 1e-6), 1 - 1e-6))


@dataclass(frozen=True)
class Grid:
    """Equally spaced nodes of ``z`` on [-5, 5] with normalized normal weights."""

    size: int = 31
    nodes: tuple[float, ...] = field(init=False)
    weights: tuple[float, ...] = field(init=False)

    def __post_init__(self) -> None:
        nodes = tuple(-5.0 + 10.0 * j / (self.size - 1) for j in range(self.size))
        raw = [phi(z) for z in nodes]
        total = sum(raw)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "weights", tuple(w / total for w in raw))


def hit_given_z(t: float, z: float, rho: float) -> float:
    """P(hit | z) for a provider with threshold ``t`` (marginal hit rate ``Phi(t)``)."""
    s = math.sqrt(1.0 - rho)
    return cdf((t + math.sqrt(rho) * z) / s)


#: one pattern: ((provider, hit?), ...) -> how many rows showed it
Patterns = Mapping[tuple[tuple[str, bool], ...], int]


def pattern_loglik(
    patterns: Patterns, t: Mapping[str, float], rho: float, grid: Grid
) -> tuple[float, list[list[float]]]:
    """Log-likelihood of a segment's patterns, and each pattern's posterior over the grid."""
    s, lam = math.sqrt(1.0 - rho), math.sqrt(rho)
    total = 0.0
    posts: list[list[float]] = []
    for pattern, count in patterns.items():
        weights = list(grid.weights)
        for provider, hit in pattern:
            tp = t[provider]
            for j, z in enumerate(grid.nodes):
                q = cdf((tp + lam * z) / s)
                weights[j] *= q if hit else 1.0 - q
        mass = sum(weights)
        mass = max(mass, 1e-300)
        total += count * math.log(mass)
        posts.append([w / mass for w in weights])
    return total, posts


def _log_prior(t: float, prior: Prior) -> float:
    p = min(max(cdf(t), 1e-12), 1 - 1e-12)
    return (prior.alpha - 1) * math.log(p) + (prior.beta - 1) * math.log(1 - p) - 0.5 * t * t


def _newton_threshold(
    t0: float, hits: Sequence[float], misses: Sequence[float], rho: float, grid: Grid, prior: Prior
) -> float:
    """Maximize sum_j hits_j log q_j + misses_j log(1 - q_j) + log prior over ``t``."""
    s, lam = math.sqrt(1.0 - rho), math.sqrt(rho)
    t = t0
    for _ in range(30):
        grad, hess = 0.0, 0.0
        nodes = [(hits[j], misses[j], (t + lam * z) / s) for j, z in enumerate(grid.nodes)]
        # the Beta prior on Phi(t), with the Jacobian phi(t): a node at z = 0, s = 1
        nodes.append((prior.alpha - 1.0, prior.beta - 1.0, t))
        for j, (a, b, u) in enumerate(nodes):
            scale = 1.0 if j == len(nodes) - 1 else s
            u = min(max(u, -30.0), 30.0)
            density, upper, lower = phi(u), cdf(u), 1.0 - cdf(u)
            if a:
                ratio = density / max(upper, 1e-300)
                grad += a * ratio / scale
                hess += a * (-u * ratio - ratio * ratio) / (scale * scale)
            if b:
                ratio = density / max(lower, 1e-300)
                grad -= b * ratio / scale
                hess += b * (u * ratio - ratio * ratio) / (scale * scale)
        grad -= t  # Jacobian term log phi(t)
        hess -= 1.0
        step = grad / hess if hess < 0 else -0.1 * grad
        new = min(max(t - step, -T_LIMIT), T_LIMIT)
        if abs(new - t) < 1e-7:
            return new
        t = new
    return t


@dataclass(frozen=True)
class SegmentFit:
    """Posterior mode and variance of each provider's threshold in one segment, at one rho."""

    t: dict[str, float]
    var: dict[str, float]
    log_post: float


def fit_segment(
    patterns: Patterns,
    priors: Mapping[str, Prior],
    rho: float,
    grid: Grid,
    start: Mapping[str, float] | None = None,
    iterations: int = 60,
) -> SegmentFit:
    """EM for one segment's thresholds at a fixed ``rho`` (priors per provider)."""
    providers = sorted({p for pattern in patterns for p, _ in pattern})
    t = {p: (start or {}).get(p, probit(priors[p].mean)) for p in providers}
    for _ in range(iterations):
        _, posts = pattern_loglik(patterns, t, rho, grid)
        moved = 0.0
        for provider in providers:
            hits = [0.0] * grid.size
            misses = [0.0] * grid.size
            for (pattern, count), post in zip(patterns.items(), posts, strict=True):
                for name, hit in pattern:
                    if name == provider:
                        target = hits if hit else misses
                        for j, w in enumerate(post):
                            target[j] += count * w
            new = _newton_threshold(t[provider], hits, misses, rho, grid, priors[provider])
            moved = max(moved, abs(new - t[provider]))
            t[provider] = new
        if moved < 1e-5:
            break
    loglik, _ = pattern_loglik(patterns, t, rho, grid)
    log_post = loglik + sum(_log_prior(t[p], priors[p]) for p in providers)
    var = {}
    for provider in providers:
        # observed information of the marginal likelihood in this threshold (others held)
        h = 1e-3

        def at(value: float, provider: str = provider) -> float:
            moved_t = {**t, provider: value}
            ll, _ = pattern_loglik(patterns, moved_t, rho, grid)
            return ll + _log_prior(value, priors[provider])

        centre = log_post - sum(_log_prior(t[p], priors[p]) for p in providers if p != provider)
        curvature = (at(t[provider] + h) - 2.0 * centre + at(t[provider] - h)) / (h * h)
        var[provider] = 1.0 / max(-curvature, 1e-6)
    return SegmentFit(t=t, var=var, log_post=log_post)


def beta_log_pdf(x: float, prior: Prior) -> float:
    """The normalized log density of ``prior`` (a Beta) at ``x``."""
    x = min(max(x, 1e-9), 1 - 1e-9)
    a, b = prior.alpha, prior.beta
    norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    return norm + (a - 1) * math.log(x) + (b - 1) * math.log(1 - x)


def rho_log_prior(rho: float, prior: Prior) -> float:
    return beta_log_pdf(rho, prior)


__all__ = [
    "Grid",
    "Patterns",
    "SegmentFit",
    "beta_log_pdf",
    "cdf",
    "fit_segment",
    "hit_given_z",
    "pattern_loglik",
    "probit",
]
