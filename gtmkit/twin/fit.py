"""Fitting the twin's posterior from observations: hit rates (latent model, per segment,
shrunk towards each provider's overall rate, itself shrunk towards the field notes), usable
and error rates (Beta-Binomial, per segment, shrunk the same way), and per provider what a
lookup costs and how long it takes.

The between-segment spread of each provider (how far a segment may sit from the provider's
overall rate) is estimated from the data (empirical Bayes, method of moments): a provider
whose segments differ a lot lets each segment speak for itself; one whose segments agree
pools them.

Example:
    >>> from collections import Counter
    >>> patterns = {"all": Counter({(("hunter", True),): 55, (("hunter", False),): 45})}
    >>> post = fit_hits(patterns, {}, rho_grid=(0.0, 0.3))
    >>> 0.5 < post.marginal("hunter", "all", 1) < 0.58
    True
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from gtmkit.twin.latent import (
    Grid,
    SegmentFit,
    beta_log_pdf,
    cdf,
    fit_segment,
    pattern_loglik,
    rho_log_prior,
)
from gtmkit.twin.observe import ALL
from gtmkit.twin.priors import ERROR_PRIOR, RHO_PRIOR, USABLE_PRIOR, Prior, hit_prior

#: the latent correlations the posterior of rho is spread over
RHO_GRID: tuple[float, ...] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
#: bounds of a segment prior's weight (pseudo-observations) from empirical Bayes
WEIGHT_BOUNDS = (2.0, 400.0)

PatternTable = Mapping[str, Counter[tuple[tuple[str, bool], ...]]]


def _pooled(patterns: PatternTable) -> Counter[tuple[tuple[str, bool], ...]]:
    total: Counter[tuple[tuple[str, bool], ...]] = Counter()
    for counts in patterns.values():
        total.update(counts)
    return total


def _naive(patterns: PatternTable) -> dict[str, dict[str, tuple[int, int]]]:
    """{provider: {segment: (hits, seen)}} straight from the patterns."""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for segment, counts in patterns.items():
        for pattern, count in counts.items():
            for provider, hit in pattern:
                h, n = out.setdefault(provider, {}).get(segment, (0, 0))
                out[provider][segment] = (h + count * hit, n + count)
    return out


def spread_weight(counts: Mapping[str, tuple[float, float]]) -> float:
    """Empirical-Bayes weight of a segment prior from ``{segment: (successes, trials)}``: the
    between-segment variance left after the binomial noise (method of moments)."""
    usable = [(h, n) for h, n in counts.values() if n > 0]
    trials = sum(n for _, n in usable)
    if len(usable) < 2 or trials == 0:
        return WEIGHT_BOUNDS[1] / 10  # one segment: a moderate pull towards the provider's rate
    mean = sum(h for h, _ in usable) / trials
    spread = sum(n * (h / n - mean) ** 2 for h, n in usable) / trials
    noise = mean * (1 - mean) * len(usable) / trials
    tau2 = max(spread - noise, 1e-4)
    weight = mean * (1 - mean) / tau2 - 1
    return min(max(weight, WEIGHT_BOUNDS[0]), WEIGHT_BOUNDS[1])


@dataclass(frozen=True)
class HitPosterior:
    """The hit model: per rho of the grid, each segment's thresholds (and the provider-level
    ones for segments the ledger never saw); ``rho_weights`` is rho's posterior."""

    rho_grid: tuple[float, ...]
    rho_weights: tuple[float, ...]
    overall: tuple[SegmentFit, ...]
    segments: tuple[dict[str, SegmentFit], ...]
    weights: dict[str, float]
    seen: dict[str, dict[str, int]]

    def threshold(self, provider: str, segment: str, k: int) -> tuple[float, float, str]:
        """``(mean, variance, basis)`` of a provider's threshold in a segment at rho ``k``: the
        segment's own variance plus what it inherits from the provider's overall level (the
        centre it is shrunk towards is itself uncertain)."""
        base = self.overall[k]
        fit = self.segments[k].get(segment)
        if fit is not None and provider in fit.t:
            inherited = self.shrinkage(provider, fit, k) ** 2 * base.var[provider]
            return fit.t[provider], fit.var[provider] + inherited, "segment"
        return base.t[provider], base.var[provider] + self._spread(provider, k), "provider overall"

    def shrinkage(self, provider: str, fit: SegmentFit, k: int) -> float:
        """How much of a segment's threshold is its prior (the provider's overall level): the
        prior's information over the segment's posterior information, in [0, 1]. A shift of
        the overall level moves the segment's estimate by this share of it."""
        t = self.overall[k].t[provider]
        p = min(max(cdf(t), 1e-6), 1 - 1e-6)
        slope = math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)
        prior_info = self.weights[provider] * slope * slope / (p * (1 - p))
        return min(1.0, prior_info * fit.var[provider])

    def _spread(self, provider: str, k: int) -> float:
        """Variance of an unseen segment's threshold around the provider's overall level
        (anywhere the provider's segments spread)."""
        t = self.overall[k].t[provider]
        p = cdf(t)
        tau2 = p * (1 - p) / (self.weights[provider] + 1)
        slope = max(math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi), 1e-6)
        return tau2 / (slope * slope)

    def draw(
        self, rng: random.Random, k: int, segments: Sequence[str], providers: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        """One joint posterior draw of the thresholds of ``providers`` (those the ledger saw)
        in every segment, at rho ``k``: the providers' overall levels are drawn once, jointly,
        and every segment inherits its share of that shift (segments shrunk to the same
        centre move together), then each segment's own deviations are drawn jointly over its
        providers (a late provider's rate and an early one's trade off)."""
        base = self.overall[k]
        shift = base.draw(rng)
        out: dict[str, dict[str, float]] = {}
        for segment in segments:
            fit = self.segments[k].get(segment)
            own = fit.draw(rng) if fit is not None else {}
            drawn = {}
            for p in providers:
                if p not in base.t:
                    continue
                if fit is not None and p in fit.t:
                    drawn[p] = fit.t[p] + self.shrinkage(p, fit, k) * shift[p] + own[p]
                else:
                    spread = rng.gauss(0.0, math.sqrt(self._spread(p, k)))
                    drawn[p] = base.t[p] + shift[p] + spread
            out[segment] = drawn
        return out

    def marginal(self, provider: str, segment: str, k: int) -> float:
        return cdf(self.threshold(provider, segment, k)[0])

    @property
    def rho_mean(self) -> float:
        return sum(r * w for r, w in zip(self.rho_grid, self.rho_weights, strict=True))


def fit_hits(
    patterns: PatternTable,
    explicit: Mapping[str, Prior],
    *,
    rho_grid: Sequence[float] = RHO_GRID,
    rho_prior: Prior = RHO_PRIOR,
    grid: Grid | None = None,
) -> HitPosterior:
    """The hit model's posterior over the grid of rho."""
    grid = grid or Grid()
    pooled = _pooled(patterns)
    naive = _naive(patterns)
    priors = {p: explicit.get(p, hit_prior(p)) for p in naive}
    weights = {p: spread_weight(counts) for p, counts in naive.items()}
    overall, segments, scores = [], [], []
    start: dict[str, float] | None = None
    seg_start: dict[str, dict[str, float]] = {}
    for rho in rho_grid:
        top = fit_segment(pooled, priors, rho, grid, start=start)
        start = top.t
        seg_priors = {
            p: Prior(min(max(cdf(top.t[p]), 1e-4), 1 - 1e-4), weights[p], "provider overall")
            for p in top.t
        }
        fits = {}
        for segment, counts in patterns.items():
            fits[segment] = fit_segment(counts, seg_priors, rho, grid, start=seg_start.get(segment))
            seg_start[segment] = fits[segment].t
        overall.append(top)
        segments.append(fits)
        # rho is scored by the likelihood and the field-notes priors only: the segment priors
        # are fitted from the same data (counting them would count the data twice), and with a
        # pure waterfall ledger the likelihood is nearly flat in rho, so the priors decide
        loglik = sum(pattern_loglik(patterns[s], f.t, rho, grid)[0] for s, f in fits.items())
        anchors = sum(beta_log_pdf(cdf(top.t[p]), priors[p]) for p in top.t)
        scores.append(loglik + anchors + rho_log_prior(rho, rho_prior))
    best = max(scores)
    raw = [math.exp(s - best) for s in scores]
    total = sum(raw)
    seen = {p: {s: n for s, (_, n) in counts.items()} for p, counts in naive.items()}
    return HitPosterior(
        rho_grid=tuple(rho_grid),
        rho_weights=tuple(r / total for r in raw),
        overall=tuple(overall),
        segments=tuple(segments),
        weights=weights,
        seen=seen,
    )


@dataclass(frozen=True)
class RatePosterior:
    """A Beta-Binomial rate per (provider, segment), shrunk towards the provider's rate,
    itself shrunk towards ``prior``: ``beta(provider, segment)`` gives (alpha, beta, n)."""

    cells: dict[tuple[str, str], tuple[float, float, int]]
    overall: dict[str, tuple[float, float, int]]
    weights: dict[str, float]
    #: ``{(provider, segment): (successes, trials)}`` the cells rest on
    counts: Mapping[tuple[str, str], tuple[float, float]] = field(default_factory=dict)

    def draw(
        self, rng: random.Random, providers: Sequence[str], segments: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        """One joint posterior draw of the rate of ``providers`` in every segment: each
        provider's overall rate is drawn once, and every segment's rate is drawn around that
        draw (its Beta-Binomial given the centre), so segments move together as they should
        when the centre they are shrunk to is uncertain."""
        out: dict[str, dict[str, float]] = {s: {} for s in segments}
        for provider in providers:
            if provider not in self.overall:
                continue
            a, b, _ = self.overall[provider]
            centre = rng.betavariate(a, b)
            w = self.weights[provider]
            for segment in segments:
                k, n = self.counts.get((provider, segment), (0.0, 0.0))
                out[segment][provider] = rng.betavariate(
                    max(centre * w + k, 1e-6), max((1 - centre) * w + n - k, 1e-6)
                )
        return out

    def beta(self, provider: str, segment: str) -> tuple[float, float, int, str]:
        cell = self.cells.get((provider, segment))
        if cell is not None:
            return (*cell, "segment")
        a, b, _ = self.overall[provider]
        mean = a / (a + b)
        w = self.weights[provider]
        return mean * w, (1 - mean) * w, 0, "provider overall"


def fit_rate(counts: Mapping[tuple[str, str], tuple[int, int]], prior: Prior) -> RatePosterior:
    """``counts``: ``{(provider, segment): (successes, trials)}``."""
    by_provider: dict[str, dict[str, tuple[float, float]]] = {}
    for (provider, segment), pair in counts.items():
        by_provider.setdefault(provider, {})[segment] = pair
    overall, weights, cells = {}, {}, {}
    for provider, table in by_provider.items():
        hits = sum((v[0] for v in table.values()), 0.0)
        n = sum((v[1] for v in table.values()), 0.0)
        a, b = prior.alpha + hits, prior.beta + n - hits
        overall[provider] = (a, b, int(n))
        weights[provider] = spread_weight(table)
        mean = a / (a + b)
        for segment, (ks, ns) in table.items():
            w = weights[provider]
            cells[(provider, segment)] = (mean * w + ks, (1 - mean) * w + ns - ks, int(ns))
    return RatePosterior(cells=cells, overall=overall, weights=weights, counts=dict(counts))


@dataclass(frozen=True)
class CostFacts:
    """What one lookup of a provider costs and takes, from its ledgered lookups: mean credits
    on a hit, a miss and an error (with how many of each), and the lognormal latency."""

    credits: dict[str, tuple[float, int]]
    log_latency: tuple[float, float, int]

    def credits_for(self, outcome: str) -> float:
        return self.credits[outcome][0]

    @property
    def latency_mean_s(self) -> float:
        mu, sd, _ = self.log_latency
        return math.exp(mu + 0.5 * sd * sd)


def cost_facts(
    lookups: pl.DataFrame, declared: Mapping[str, tuple[str, float]]
) -> dict[str, CostFacts]:
    """Per provider, from the lookups; an outcome never seen is charged as the adapter's
    billing rule says (``declared``: provider -> (billing, credits per lookup))."""
    out = {}
    for provider in lookups["provider"].unique().sort().to_list():
        mine = lookups.filter(pl.col("provider") == provider)
        billing, per_lookup = declared.get(provider, ("per_hit", 1.0))
        rule = {
            "hit": per_lookup,
            "miss": per_lookup if billing == "per_call" else 0.0,
            "error": 0.0,
        }
        credits = {}
        for outcome, default in rule.items():
            sub = mine.filter(pl.col("outcome") == outcome)["credits"]
            credits[outcome] = (float(sub.mean()), sub.len()) if sub.len() else (default, 0)  # type: ignore[arg-type]
        latency = mine.filter(pl.col("latency_s") > 0)["latency_s"]
        if latency.len() >= 2:
            logs = latency.log()
            log_latency = (float(logs.mean()), float(logs.std() or 0.0), latency.len())  # type: ignore[arg-type]
        else:
            log_latency = (math.log(0.5), 0.45, 0)  # field notes: database lookups ~0.5 s
        out[provider] = CostFacts(credits=credits, log_latency=log_latency)
    return out


def rate_counts(
    lookups: pl.DataFrame, column: str, among: pl.Expr
) -> dict[tuple[str, str], tuple[int, int]]:
    """``{(provider, segment): (rows where column is true, rows matching among)}``."""
    table = (
        lookups.filter(among)
        .group_by("provider", "segment")
        .agg(pl.col(column).cast(pl.Int64).sum().alias("k"), pl.len().alias("n"))
    )
    return {(p, s): (int(k), int(n)) for p, s, k, n in table.iter_rows()}


__all__ = [
    "ALL",
    "ERROR_PRIOR",
    "RHO_GRID",
    "USABLE_PRIOR",
    "CostFacts",
    "HitPosterior",
    "RatePosterior",
    "cost_facts",
    "fit_hits",
    "fit_rate",
    "rate_counts",
    "spread_weight",
]
