"""``Twin``: a model of the user's providers fitted from their own ledger, which predicts what
a waterfall will find and cost on a list (with intervals), what budget reaches a coverage,
and what changes when providers, order, prices or the list change.

Example:
    >>> import polars as pl
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> attempts = pl.DataFrame({
    ...     "row_id": list(range(40)) * 2,
    ...     "provider": ["hunter"] * 40 + ["apollo"] * 40,
    ...     "state": ["done"] * 80,
    ...     "outcome": (["hit"] * 22 + ["miss"] * 18) + (["hit"] * 15 + ["miss"] * 25),
    ...     "email_status": ["valid"] * 80, "credits": [1.0] * 80, "latency_s": [0.5] * 80})
    >>> twin = Twin.fit(attempts)
    >>> leads = pl.DataFrame({"row_id": list(range(100)), "email": [None] * 100})
    >>> p = twin.predict(leads, Waterfall([Step("hunter"), Step("apollo")]), draws=100)
    >>> 0.55 < p["coverage"].expected < 0.85
    True
    >>> p["coverage"].low < p["coverage"].expected < p["coverage"].high
    True
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from gtmkit.twin.errors import TwinError
from gtmkit.twin.fit import (
    CostFacts,
    HitPosterior,
    RatePosterior,
    cost_facts,
    fit_hits,
    fit_rate,
    rate_counts,
)
from gtmkit.twin.latent import Grid, cdf
from gtmkit.twin.observe import USABLE_STATUSES, ledger_attempts, observe
from gtmkit.twin.plan import Plan, variant_of
from gtmkit.twin.priors import ERROR_PRIOR, USABLE_PRIOR, Prior
from gtmkit.twin.results import BudgetAdvice, Prediction, interval


def _declared(provider: str) -> tuple[str, float]:
    from gtmkit.providers.pricing import adapter_for
    from gtmkit.providers.registry import UnknownProvider

    try:
        attrs = adapter_for(provider)
    except UnknownProvider:
        return "per_hit", 1.0
    return str(getattr(attrs, "billing", "per_hit")), float(
        getattr(attrs, "credits_per_lookup", 1.0)
    )


def _kind(provider: str) -> str:
    from gtmkit.providers.registry import UnknownProvider, provider_class

    try:
        return str(provider_class(provider).kind)
    except (UnknownProvider, KeyError):
        return "finder"


@dataclass
class Twin:
    """The fitted twin (build it with :meth:`Twin.fit`)."""

    hits: HitPosterior
    usable: RatePosterior
    errors: RatePosterior
    costs: dict[str, CostFacts]
    segment_by: tuple[str, ...]
    priors: dict[str, Prior]
    lookups: int
    rows: int
    #: rows that more than one provider answered (what the dependence is learned from)
    shared_rows: int = 0
    grid: Grid = field(default_factory=lambda: Grid(21))

    @classmethod
    def fit(
        cls,
        ledger: Any,
        *,
        records: Any = None,
        segment_by: str | Sequence[str] | None = None,
        priors: Mapping[str, Prior | float] | None = None,
        runs: Sequence[str] | None = None,
        usable_statuses: Sequence[str] = USABLE_STATUSES,
    ) -> Twin:
        """Fit from a ``Ledger`` (or its path, or an attempts frame).

        Args:
            ledger: where the attempts are.
            records: the list the ledger's rows came from (``row_id`` + the segment columns),
                needed with ``segment_by``.
            segment_by: a column (``"employee_band"``) or several; ``None``: one segment.
            priors: ``{provider: Prior or hit rate}``: replaces the field-notes prior of a
                provider, and is the *only* way to use a provider the ledger never saw (it is
                then flagged in every prediction). A bare number is a prior worth 10 lookups.
            runs: only the chains of these run ids (default: every run in the ledger).
            usable_statuses: email statuses that count as usable (default ``valid``).
        """
        explicit = {
            name: p if isinstance(p, Prior) else Prior(float(p), 10.0, "given prior")
            for name, p in dict(priors or {}).items()
        }
        # the ledger is read once: its providers (to leave verifiers out) and the lookups
        attempts = ledger_attempts(ledger)
        names = attempts["provider"].unique().to_list()
        verifiers = sorted({p for p in names if p is not None and _kind(p) == "verifier"})
        obs = observe(
            attempts, records=records, segment_by=segment_by, runs=runs, exclude=verifiers,
            usable_statuses=usable_statuses,
        )  # fmt: skip
        if obs.lookups.height == 0:
            raise TwinError(
                "the ledger holds no answered lookups to fit from: run a waterfall or a "
                "comparison first, or estimate with priors (Waterfall.estimate(priors=...))"
            )
        hits = fit_hits(obs.patterns, explicit)
        answered = pl.col("outcome") != "error"
        usable = fit_rate(
            rate_counts(obs.lookups, "usable", pl.col("outcome") == "hit"), USABLE_PRIOR
        )
        errors = fit_rate(
            rate_counts(
                obs.lookups.with_columns((~answered).alias("failed")), "failed", pl.lit(True)
            ),
            ERROR_PRIOR,
        )
        declared = {p: _declared(p) for p in obs.lookups["provider"].unique().to_list()}
        rows = obs.lookups.select("chain", "row_id").unique().height
        shared = sum(
            c for counts in obs.patterns.values() for pat, c in counts.items() if len(pat) > 1
        )
        return cls(
            hits=hits, usable=usable, errors=errors, costs=cost_facts(obs.lookups, declared),
            segment_by=obs.segment_by, priors=explicit, lookups=obs.lookups.height, rows=rows,
            shared_rows=shared,
        )  # fmt: skip

    # -- what the twin knows ----------------------------------------------------------------
    @property
    def providers(self) -> tuple[str, ...]:
        """Providers the ledger has seen."""
        return tuple(sorted(self.hits.seen))

    @property
    def basis(self) -> str:
        by = f", segments by {' + '.join(self.segment_by)}" if self.segment_by else ""
        return f"twin fitted from the ledger ({self.lookups} lookups on {self.rows} rows{by})"

    def estimates(
        self, *, draws: int = 400, seed: int = 0, confidence: float = 0.95
    ) -> pl.DataFrame:
        """Every estimate with its interval and the number of observations it rests on:
        ``provider``, ``segment``, ``quantity`` (``hit_rate``, ``usable_rate``,
        ``error_rate``, ``credits_per_hit``, ``credits_per_miss``, ``latency_s``,
        ``latent_correlation``), ``mean``, ``low``, ``high``, ``n``, ``basis``."""
        rng = random.Random(seed)
        rows: list[dict[str, Any]] = []

        def add(
            provider: str, segment: str, quantity: str, values: Sequence[float], n: int, basis: str
        ) -> None:
            i = interval(values, confidence)
            rows.append(
                {"provider": provider, "segment": segment, "quantity": quantity,
                 "mean": i.expected, "low": i.low, "high": i.high, "n": n, "basis": basis}
            )  # fmt: skip

        ks = rng.choices(range(len(self.hits.rho_grid)), weights=self.hits.rho_weights, k=draws)
        for provider in self.providers:
            for segment, n in sorted(self.hits.seen[provider].items()):
                samples = []
                for k in ks:
                    t, var, _ = self.hits.threshold(provider, segment, k)
                    samples.append(cdf(rng.gauss(t, math.sqrt(var))))
                add(provider, segment, "hit_rate", samples, n, "ledger, shrunk to the provider")
                for quantity, post in (("usable_rate", self.usable), ("error_rate", self.errors)):
                    a, b, m, _ = post.beta(provider, segment)
                    add(
                        provider,
                        segment,
                        quantity,
                        [rng.betavariate(a, b) for _ in range(draws)],
                        m,
                        "ledger, Beta-Binomial",
                    )
            costs = self.costs[provider]
            for outcome in ("hit", "miss"):
                value, n = costs.credits[outcome]
                add(
                    provider,
                    "all",
                    f"credits_per_{outcome}",
                    [value],
                    n,
                    "ledger" if n else "adapter's billing rule",
                )
            mu, sd, n = costs.log_latency
            add(
                provider,
                "all",
                "latency_s",
                [
                    math.exp(rng.gauss(mu, sd / math.sqrt(max(n, 1))) + sd * sd / 2)
                    for _ in range(draws)
                ],
                n,
                "ledger, lognormal" if n else "field notes: ~0.5 s",
            )
        add(
            "(all pairs)",
            "all",
            "latent_correlation",
            [self.hits.rho_grid[k] for k in ks],
            self.shared_rows,
            "rows several providers saw + field-notes prior",
        )
        return pl.DataFrame(rows)

    # -- predictions ------------------------------------------------------------------------
    def predict(
        self,
        records: Any,
        waterfall: Any,
        *,
        budget: float | None = None,
        budget_usd: float | None = None,
        prices: Mapping[str, float] | None = None,
        priors: Mapping[str, Prior | float] | None = None,
        draws: int = 300,
        seed: int = 0,
        confidence: float = 0.95,
        concurrency: int = 8,
        providers: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Expected coverage, usable coverage, credits, dollars and run time of ``waterfall``
        on ``records``, each with an interval at ``confidence`` from ``draws`` simulations over
        the posterior. ``budget`` (credits) / ``budget_usd`` cap the run as the engine does:
        rows are walked until the money runs out. ``run_time_s`` assumes ``concurrency`` rows
        in flight and no rate limit. ``providers``: adapters that are not registered
        (``{name: Provider}``), for their kind and price.
        """
        _check(draws=draws, confidence=confidence, concurrency=concurrency)
        plan = Plan.build(
            self, records, waterfall, prices=prices, priors=priors, providers=providers
        )
        samples = plan.simulate(
            draws=draws, seed=seed, budget=budget, budget_usd=budget_usd, concurrency=concurrency
        )
        return plan.prediction(samples, confidence=confidence)

    def budget_for(
        self,
        records: Any,
        waterfall: Any,
        *,
        coverage: float = 0.9,
        confidence: float = 0.95,
        usable: bool = False,
        prices: Mapping[str, float] | None = None,
        priors: Mapping[str, Prior | float] | None = None,
        draws: int = 400,
        seed: int = 0,
    ) -> BudgetAdvice:
        """The smallest budget that reaches ``coverage`` (share of the rows needing an email
        that end with one; ``usable=True``: with a usable one) with probability
        ``confidence``. Rows are walked in order until the money runs out, so a budget that
        pays for the share ``c`` of the full run's spend enriches about the share ``c`` of the
        rows."""
        if not 0.0 < coverage <= 1.0:
            raise TwinError(f"coverage is a share of the list, within (0, 1]; got {coverage!r}")
        _check(draws=draws, confidence=confidence, concurrency=1)
        plan = Plan.build(self, records, waterfall, prices=prices, priors=priors)
        samples = plan.simulate(draws=draws, seed=seed)
        need = coverage * plan.rows
        credits, usd = [], []
        for draw in samples:
            got = draw["usable"] if usable else draw["found"]
            share = need / got if got > 0 else math.inf
            credits.append(draw["credits"] * share if share <= 1.0 else math.inf)
            usd.append(draw["spend_usd"] * share if share <= 1.0 else math.inf)
        reachable = sum(math.isfinite(c) for c in credits) / len(credits)
        credits.sort()
        usd.sort()
        pick = min(len(credits) - 1, math.ceil(confidence * len(credits)) - 1)
        best_c = credits[pick] if reachable >= confidence else None
        best_u = usd[pick] if reachable >= confidence else None
        return BudgetAdvice(best_c, best_u, coverage, confidence, reachable, plan.basis)

    def what_if(
        self,
        records: Any,
        waterfall: Any,
        *,
        add: Sequence[Any] = (),
        drop: Sequence[str] = (),
        order: Sequence[str] | None = None,
        prices: Mapping[str, float] | None = None,
        other_records: Any = None,
        priors: Mapping[str, Prior | float] | None = None,
        draws: int = 300,
        seed: int = 0,
        confidence: float = 0.95,
    ) -> pl.DataFrame:
        """The baseline against a variant: ``add`` steps (a ``Step`` or a provider name,
        appended), ``drop`` providers, a new ``order`` (provider names), new ``prices``
        (dollars per credit), or ``other_records`` (a different list). One row per metric and
        scenario, and the variant's change; both use the same random numbers (seed), so the
        difference is the change, not noise."""
        variant = variant_of(waterfall, add=add, drop=drop, order=order, prices=prices)
        base = self.predict(
            records, waterfall, draws=draws, seed=seed, confidence=confidence, priors=priors
        )
        other = self.predict(
            records if other_records is None else other_records, variant, draws=draws, seed=seed,
            confidence=confidence, priors=priors,
        )  # fmt: skip
        frames = [
            base.figures.with_columns(pl.lit("baseline").alias("scenario")),
            other.figures.with_columns(pl.lit("variant").alias("scenario")),
        ]
        out = pl.concat(frames).select("scenario", "metric", "expected", "low", "high")
        change = other.figures["expected"] - base.figures["expected"]
        delta = pl.DataFrame({"metric": base.figures["metric"], "change": change})
        return out.join(delta, on="metric", how="left").with_columns(
            pl.when(pl.col("scenario") == "baseline")
            .then(None)
            .otherwise(pl.col("change"))
            .alias("change"),
            pl.lit("; ".join(other.flags) or None, dtype=pl.String).alias("flags"),
        )


def _check(*, draws: int, confidence: float, concurrency: int) -> None:
    if isinstance(draws, bool) or not isinstance(draws, int) or draws < 10:
        raise TwinError(f"draws must be an integer of at least 10, got {draws!r}")
    if not 0.5 <= confidence < 1.0:
        raise TwinError(f"confidence is a probability within [0.5, 1), got {confidence!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise TwinError(f"concurrency must be a positive integer, got {concurrency!r}")
