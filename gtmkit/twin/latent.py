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
import random
from collections.abc import Callable, Mapping, Sequence
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
    # each provider's hit curve over the grid once, not once per pattern it appears in (the
    # fit evaluates this thousands of times: it is most of Twin.fit's time)
    curves: dict[str, list[float]] = {}
    for pattern in patterns:
        for provider, _ in pattern:
            if provider not in curves:
                tp = t[provider]
                curves[provider] = [cdf((tp + lam * z) / s) for z in grid.nodes]
    total = 0.0
    posts: list[list[float]] = []
    for pattern, count in patterns.items():
        weights = list(grid.weights)
        for provider, hit in pattern:
            curve = curves[provider]
            if hit:
                weights = [w * q for w, q in zip(weights, curve, strict=True)]
            else:
                weights = [w * (1.0 - q) for w, q in zip(weights, curve, strict=True)]
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
            density, upper = phi(u), cdf(u)
            lower = 1.0 - upper
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
    """Posterior mode of each provider's threshold in one segment, at one rho, and their joint
    covariance (Laplace: the inverse of the log posterior's negative Hessian in all the
    thresholds at once). ``var`` is its diagonal: each threshold's marginal variance, wider
    than its variance with the others held, because a late provider's rate and an early
    one's trade off in the patterns."""

    t: dict[str, float]
    var: dict[str, float]
    log_post: float
    #: the providers in the order of ``cov``'s rows
    order: tuple[str, ...] = ()
    cov: tuple[tuple[float, ...], ...] = ()

    def draw(self, rng: random.Random) -> dict[str, float]:
        """One joint draw of the deviations from the mode (providers in ``order``)."""
        noise = [rng.gauss(0.0, 1.0) for _ in self.order]
        lower = cholesky(self.cov)
        return {
            p: sum(lower[i][j] * noise[j] for j in range(i + 1)) for i, p in enumerate(self.order)
        }


def cholesky(matrix: Sequence[Sequence[float]]) -> list[list[float]]:
    """The lower Cholesky factor of a symmetric positive-definite matrix (a tiny one: a
    segment's providers), with a ridge added when rounding left it indefinite."""
    n = len(matrix)
    ridge = 0.0
    for _ in range(8):
        lower = [[0.0] * n for _ in range(n)]
        ok = True
        for i in range(n):
            for j in range(i + 1):
                acc = matrix[i][j] + (ridge if i == j else 0.0)
                acc -= sum(lower[i][m] * lower[j][m] for m in range(j))
                if i == j:
                    if acc <= 0.0:
                        ok = False
                        break
                    lower[i][i] = math.sqrt(acc)
                else:
                    lower[i][j] = acc / lower[j][j]
            if not ok:
                break
        if ok:
            return lower
        ridge = max(ridge * 10.0, 1e-9)
    return [[math.sqrt(max(matrix[i][i], 1e-12)) if i == j else 0.0 for j in range(n)]
            for i in range(n)]  # fmt: skip


def invert_spd(matrix: Sequence[Sequence[float]]) -> list[list[float]]:
    """The inverse of a small symmetric positive-definite matrix, through its Cholesky factor."""
    n = len(matrix)
    lower = cholesky(matrix)
    inv_lower = [[0.0] * n for _ in range(n)]
    for i in range(n):
        inv_lower[i][i] = 1.0 / lower[i][i]
        for j in range(i):
            inv_lower[i][j] = -sum(lower[i][m] * inv_lower[m][j] for m in range(j, i)) / lower[i][i]
    return [
        [sum(inv_lower[m][i] * inv_lower[m][j] for m in range(max(i, j), n)) for j in range(n)]
        for i in range(n)
    ]


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

    def log_post_at(values: Mapping[str, float]) -> float:
        ll, _ = pattern_loglik(patterns, values, rho, grid)
        return ll + sum(_log_prior(values[p], priors[p]) for p in providers)

    centre = log_post_at(t)
    cov = _laplace_covariance(log_post_at, t, providers, centre)
    var = {p: cov[i][i] for i, p in enumerate(providers)}
    return SegmentFit(
        t=t, var=var, log_post=centre, order=tuple(providers),
        cov=tuple(tuple(row) for row in cov),
    )  # fmt: skip


def _laplace_covariance(
    log_post_at: Callable[[Mapping[str, float]], float],
    t: Mapping[str, float],
    providers: Sequence[str],
    centre: float,
    h: float = 1e-3,
) -> list[list[float]]:
    """The inverse of the negative Hessian of the log posterior at its mode, by central
    differences over every pair of thresholds."""
    n = len(providers)
    if n == 0:
        return []

    def at(moves: Mapping[str, float]) -> float:
        return log_post_at({p: t[p] + moves.get(p, 0.0) for p in providers})

    info = [[0.0] * n for _ in range(n)]
    for i, a in enumerate(providers):
        info[i][i] = -(at({a: h}) - 2.0 * centre + at({a: -h})) / (h * h)
        for j in range(i):
            b = providers[j]
            cross = (
                at({a: h, b: h}) - at({a: h, b: -h}) - at({a: -h, b: h}) + at({a: -h, b: -h})
            ) / (4.0 * h * h)
            info[i][j] = info[j][i] = -cross
    for i in range(n):
        info[i][i] = max(info[i][i], 1e-6)
    return invert_spd(info)


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
    "cholesky",
    "fit_segment",
    "hit_given_z",
    "invert_spd",
    "pattern_loglik",
    "probit",
]
