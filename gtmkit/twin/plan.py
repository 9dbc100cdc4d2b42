"""A waterfall on a list, as the twin simulates it: the list's rows grouped by segment and
route (their order of steps), the providers' parameters drawn from the posterior, the rows
dealt over the paths, and the money capped by a budget as the engine caps it.

Example:
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> wf = variant_of(Waterfall([Step("hunter"), Step("apollo")]), drop=["hunter"], add=["pdl"])
    >>> [s.provider for s in wf.steps]
    ['apollo', 'pdl']
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from gtmkit.twin.errors import TwinError
from gtmkit.twin.fit import CostFacts
from gtmkit.twin.latent import probit
from gtmkit.twin.observe import segment_key
from gtmkit.twin.priors import ERROR_PRIOR, USABLE_PRIOR, Prior
from gtmkit.twin.results import METRICS, Prediction, interval
from gtmkit.twin.simulate import (
    DrawParams,
    PlanStep,
    RowPath,
    multinomial,
    path_probabilities,
    paths,
)

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.twin.twin import Twin


def variant_of(
    waterfall: Any,
    *,
    add: Sequence[Any] = (),
    drop: Sequence[str] = (),
    order: Sequence[str] | None = None,
    prices: Mapping[str, float] | None = None,
) -> Any:
    """A copy of ``waterfall`` with steps added (appended), dropped, reordered or repriced."""
    from gtmkit.waterfall import Step, Waterfall

    steps = [s for s in waterfall.steps if s.provider not in set(drop)]
    unknown = sorted(set(drop) - {s.provider for s in waterfall.steps})
    if unknown:
        raise TwinError(f"drop names {unknown}, which are not steps of this waterfall")
    steps += [a if isinstance(a, Step) else Step(str(a)) for a in add]
    if order is not None:
        by_name = {s.provider: s for s in steps}
        if sorted(order) != sorted(by_name):
            raise TwinError(
                f"order must name each step once: the steps are {sorted(by_name)}, "
                f"got {list(order)}"
            )
        steps = [by_name[name] for name in order]
    route_by = waterfall.route_by
    if route_by is not None and (drop or order is not None):
        route_by = None  # a route names the old steps; a reordered or trimmed spec drops it
    new_prices = {**(waterfall.prices or {}), **(prices or {})} or None
    return Waterfall(
        steps, verify=waterfall.verify, route_by=route_by, prices=new_prices, name=waterfall.name
    )


def _need_email(records: Any) -> pl.DataFrame:
    from gtmkit.waterfall.rows import prepare_records

    frame, _ = prepare_records(records)
    if "duplicate_of" in frame.columns:
        frame = frame.filter(pl.col("duplicate_of").is_null())
    if "email" in frame.columns:
        blank = frame["email"].cast(pl.String).fill_null("").str.strip_chars() == ""
        frame = frame.filter(blank)
    return frame


@dataclass(frozen=True)
class Group:
    """Rows of one segment that walk the same order of steps."""

    segment: str
    steps: tuple[PlanStep, ...]
    routes: tuple[RowPath, ...]
    rows: int


@dataclass
class Plan:
    """The simulation of one waterfall on one list."""

    twin: Twin
    groups: list[Group]
    rows: int
    prices: dict[str, float]
    costs: dict[str, CostFacts]
    unseen: dict[str, Prior]
    flags: list[str]
    basis: str

    @classmethod
    def build(
        cls,
        twin: Twin,
        records: Any,
        waterfall: Any,
        *,
        prices: Mapping[str, float] | None = None,
        priors: Mapping[str, Prior | float] | None = None,
        providers: Mapping[str, Any] | None = None,
    ) -> Plan:
        from gtmkit.providers.pricing import adapter_for, price_per_credit

        frame = _need_email(records)
        missing = [c for c in twin.segment_by if c not in frame.columns]
        if missing:
            raise TwinError(
                f"the twin segments by {list(twin.segment_by)} but the list has no {missing} "
                "column: add it, or fit a twin without segment_by"
            )
        explicit = {**twin.priors}
        explicit |= {
            n: p if isinstance(p, Prior) else Prior(float(p), 10.0, "given prior")
            for n, p in dict(priors or {}).items()
        }
        flags: list[str] = []
        manual = {
            s.provider
            for s in waterfall.steps
            if getattr(adapter_for(s.provider, providers), "kind", "finder") == "manual"
        }
        unseen: dict[str, Prior] = {}
        costs = dict(twin.costs)
        from gtmkit.twin.twin import _declared

        for step in waterfall.steps:
            name = step.provider
            if name in manual or name in twin.hits.seen:
                continue
            if name not in explicit:
                raise TwinError(
                    f"the ledger never saw {name!r}: the twin will not guess its hit rate. Pass "
                    f"priors={{{name!r}: Prior(mean, weight, 'where it comes from')}}, e.g. a "
                    "published range's midpoint, and it is flagged in the prediction"
                )
            unseen[name] = explicit[name]
            billing, per_lookup = _declared(name)
            rule = {
                "hit": (per_lookup, 0),
                "miss": (per_lookup if billing == "per_call" else 0.0, 0),
                "error": (0.0, 0),
            }
            costs[name] = CostFacts(credits=rule, log_latency=(math.log(0.5), 0.45, 0))
            flags.append(
                f"{name}: never in the ledger; hit rate from the explicit prior "
                f"({explicit[name].basis})"
            )
        for step in waterfall.steps:
            if not isinstance(step.when, str) or step.when != "missing":
                flags.append(f"{step.provider}: when={step.when!r} is simulated as 'missing'")
            if step.catch_all != "accept":
                flags.append(f"{step.provider}: catch_all={step.catch_all!r} is not simulated")
        if waterfall.verify:
            flags.append(
                f"the verifier {waterfall.verify!r} is not simulated (its calls and credits "
                "are not counted)"
            )
        keys = frame.with_columns(segment_key(twin.segment_by).alias("segment"))[
            "segment"
        ].to_list()
        routed = waterfall.route_by is not None
        rows_iter = frame.iter_rows(named=True) if routed else ({} for _ in keys)
        counts: Counter[tuple[str, tuple[int, ...]]] = Counter()
        default = tuple(range(len(waterfall.steps)))
        for segment, row in zip(keys, rows_iter, strict=True):
            counts[(segment, tuple(waterfall.order_for(row)) if routed else default)] += 1
        groups = []
        for (segment, order), n in sorted(counts.items()):
            steps = tuple(
                PlanStep(
                    waterfall.steps[i].provider,
                    waterfall.steps[i].stop,
                    waterfall.steps[i].provider in manual,
                )
                for i in order
            )
            groups.append(Group(segment, steps, tuple(paths(steps)), n))
        seen_segments = {s for table in twin.hits.seen.values() for s in table}
        new = sorted({g.segment for g in groups} - seen_segments)
        if new and twin.segment_by:
            flags.append(
                "segments the ledger never saw use each provider's overall rate: "
                + ", ".join(new[:5])
            )
        wanted = [s.provider for s in waterfall.steps if s.provider not in manual]
        merged_prices = {**(waterfall.prices or {}), **(prices or {})}
        unit = {p: price_per_credit(p, prices=merged_prices, providers=providers) for p in wanted}
        return cls(twin, groups, len(keys), unit, costs, unseen, flags, twin.basis)

    # -- one draw of the parameters -----------------------------------------------------------
    def _params(
        self, rng: random.Random, k: int, providers: Sequence[str]
    ) -> dict[str, DrawParams]:
        """One joint posterior draw of every segment's parameters: what a segment shares with
        the others (its provider's overall level, the prior of a provider the ledger never
        saw) is drawn once, not once per segment, so the draw's uncertainty does not average
        out over the list's segments."""
        twin = self.twin
        segments = sorted({g.segment for g in self.groups})
        seen = [p for p in providers if p not in self.unseen]
        t = twin.hits.draw(rng, k, segments, seen)
        usable = twin.usable.draw(rng, seen, segments)
        error = twin.errors.draw(rng, seen, segments)
        for p, prior in sorted(self.unseen.items()):
            if p not in providers:
                continue
            shared = (
                probit(rng.betavariate(prior.alpha, prior.beta)),
                rng.betavariate(USABLE_PRIOR.alpha, USABLE_PRIOR.beta),
                rng.betavariate(ERROR_PRIOR.alpha, ERROR_PRIOR.beta),
            )
            for segment in segments:
                t[segment][p], usable[segment][p], error[segment][p] = shared
        rho = twin.hits.rho_grid[k]
        return {s: DrawParams(rho=rho, t=t[s], usable=usable[s], error=error[s]) for s in segments}

    def simulate(
        self,
        *,
        draws: int,
        seed: int,
        budget: float | None = None,
        budget_usd: float | None = None,
        concurrency: int = 8,
    ) -> list[dict[str, Any]]:
        """One dict of totals per posterior draw (``found``, ``usable``, ``credits``,
        ``spend_usd``, ``run_time_s``, ``calls``/``hits``/``step_credits`` per provider)."""
        rng = random.Random(seed)
        twin = self.twin
        ks = rng.choices(range(len(twin.hits.rho_grid)), weights=twin.hits.rho_weights, k=draws)
        out = []
        providers = sorted(self.prices)
        for k in ks:
            latency = {}
            for p in providers:
                mu, sd, n = self.costs[p].log_latency
                latency[p] = math.exp(rng.gauss(mu, sd / math.sqrt(max(n, 1))) + 0.5 * sd * sd)
            params_by_segment = self._params(rng, k, providers)
            found = usable = handed = 0
            credits = usd = seconds = 0.0
            calls = dict.fromkeys(providers, 0)
            hits = dict.fromkeys(providers, 0)
            step_credits = dict.fromkeys(providers, 0.0)
            for group in self.groups:
                params = params_by_segment[group.segment]
                probs = path_probabilities(group.steps, group.routes, params, twin.grid)
                for route, count in zip(
                    group.routes, multinomial(rng, group.rows, probs), strict=True
                ):
                    if not count:
                        continue
                    found += count * route.found
                    usable += count * route.usable
                    handed += count * route.handed_off
                    for index, branch in route.events:
                        p = group.steps[index].provider
                        cost = self.costs[p]
                        charge = (
                            cost.credits_for("hit")
                            if branch != "x"
                            else _no_email_charge(cost, params.error[p])
                        )
                        calls[p] += count
                        hits[p] += count * (branch != "x")
                        step_credits[p] += count * charge
                        credits += count * charge
                        usd += count * charge * self.prices[p]
                        seconds += count * latency[p]
            share = 1.0
            if budget is not None and credits > budget:
                share = min(share, budget / credits)
            if budget_usd is not None and usd > budget_usd:
                share = min(share, budget_usd / usd)
            out.append(
                {
                    "found": found * share, "usable": usable * share, "handed_off": handed * share,
                    "credits": credits * share, "spend_usd": usd * share,
                    "run_time_s": seconds * share / concurrency,
                    "calls": {p: v * share for p, v in calls.items()},
                    "hits": {p: v * share for p, v in hits.items()},
                    "step_credits": {p: v * share for p, v in step_credits.items()},
                    "rho": twin.hits.rho_grid[k],
                }
            )  # fmt: skip
        return out

    def prediction(self, samples: list[dict[str, Any]], *, confidence: float) -> Prediction:
        n = max(self.rows, 1)
        series = {
            "coverage": [d["found"] / n for d in samples],
            "usable_coverage": [d["usable"] / n for d in samples],
            "found": [d["found"] for d in samples],
            "credits": [d["credits"] for d in samples],
            "spend_usd": [d["spend_usd"] for d in samples],
            "run_time_s": [d["run_time_s"] for d in samples],
        }
        figures = []
        for metric in METRICS:
            i = interval(series[metric], confidence)
            figures.append({"metric": metric, "expected": i.expected, "low": i.low, "high": i.high})
        providers = sorted(self.prices)
        steps = pl.DataFrame(
            {
                "provider": providers,
                "calls": [sum(d["calls"][p] for d in samples) / len(samples) for p in providers],
                "hits": [sum(d["hits"][p] for d in samples) / len(samples) for p in providers],
                "credits": [
                    sum(d["step_credits"][p] for d in samples) / len(samples) for p in providers
                ],
                "basis": [
                    "explicit prior (never in the ledger)" if p in self.unseen else "ledger"
                    for p in providers
                ],
            }
        )
        draws = pl.DataFrame({**series, "rho": [d["rho"] for d in samples]})
        return Prediction(
            figures=pl.DataFrame(figures), steps=steps, draws=draws, rows=self.rows,
            confidence=confidence, basis=self.basis, flags=tuple(self.flags),
        )  # fmt: skip


def _no_email_charge(cost: CostFacts, error_rate: float) -> float:
    """Credits of a lookup that brought no email: a miss, or (at ``error_rate``) an error."""
    return (1 - error_rate) * cost.credits_for("miss") + error_rate * cost.credits_for("error")


__all__ = ["Group", "Plan", "variant_of"]
