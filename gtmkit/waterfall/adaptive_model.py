"""The model behind ``order="adaptive"``: a Beta posterior per (segment, provider), and the
Thompson-sampled order of a row's email steps.

Per segment and provider two rates are learned, each a Beta distribution:

* ``hit`` — the share of lookups that found an email, among the rows that reached the
  provider (so it is the *conditional* hit rate: a provider placed after others sees the rows
  they missed);
* ``usable`` — the share of its found emails that ended ``valid`` (what a sequencer can send
  to), after the verifier when the waterfall has one.

A segment's prior is its provider's pooled posterior over every segment (a segment the run has
barely seen borrows from the others), worth :data:`SEGMENT_WEIGHT` lookups; the pooled prior is
the twin's posterior when the ledger has history, else the field-notes priors the twin uses
(``gtmkit.twin.priors``) — see ``adaptive_prior.py``.

What an order is worth: a row pays for every provider it reaches as the provider bills (a
``per_hit`` or ``refund_on_miss`` provider only on a hit), and ends with the first email found.
With ``value_usd`` the worth of one usable record, the order that maximizes
``value_usd * usable - cost`` for a row sorts the steps by

    index = value_usd * usable - cost_on_hit - cost_on_miss * (1 - hit) / hit

(an exchange argument: swapping two neighbours changes only the rows both would find, or the
misses one of them pays for). ``value_usd`` is the cost per usable record the best orders
reach under the current posterior means (Dinkelbach's iteration over the list's segment mix),
so minimizing ``cost - value_usd * usable`` per row minimizes the run's cost per usable record.

Thompson sampling: each row draws its own rates from the posterior (a random generator seeded
by the run's seed and the row's id) and takes the order that is best for the draw. Uncertain
providers get tried; as the posterior narrows, rows converge on the best order of their segment.

Example:
    >>> import random
    >>> priors = Priors.field_notes(["hunter", "pdl"])
    >>> post = Posterior(priors, {})
    >>> costs = {"hunter": StepCost(0.10, 0.0), "pdl": StepCost(0.25, 0.0)}
    >>> value = value_of_usable(post, {"all": 10}, ["hunter", "pdl"], costs)
    >>> order, sampled = thompson_order(post, "all", ["hunter", "pdl"], costs, value,
    ...                                 random.Random(0))
    >>> sorted(order), sorted(sampled)
    (['hunter', 'pdl'], ['hunter', 'pdl'])
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: the email status that makes a found email usable (what the comparison calls verified)
USABLE_STATUS = "valid"
#: how many lookups a segment's prior (its provider's pooled posterior) is worth
SEGMENT_WEIGHT = 8.0
#: the most lookups a prior from the ledger's history may be worth: a past list is evidence
#: about this one, not the same list, so this run's own rows soon outweigh it
MAX_PRIOR_WEIGHT = 100.0
#: Dinkelbach iterations for ``value_usd`` (it converges in a handful)
_VALUE_ITERATIONS = 50
_TINY = 1e-9


@dataclass(frozen=True, slots=True)
class Beta:
    """A Beta distribution ``(a, b)``."""

    a: float
    b: float

    @classmethod
    def of(cls, mean: float, weight: float) -> Beta:
        mean = min(max(mean, 1e-4), 1 - 1e-4)
        return cls(mean * weight, (1 - mean) * weight)

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def plus(self, successes: float, trials: float) -> Beta:
        return Beta(self.a + successes, self.b + trials - successes)

    def draw(self, rng: random.Random) -> float:
        return rng.betavariate(max(self.a, _TINY), max(self.b, _TINY))


@dataclass(frozen=True, slots=True)
class ProviderPrior:
    """The prior of one provider's two rates, and what it rests on."""

    hit: Beta
    usable: Beta
    basis: str

    def to_json(self) -> dict[str, Any]:
        return {"hit": [self.hit.a, self.hit.b], "usable": [self.usable.a, self.usable.b],
                "basis": self.basis}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderPrior:
        return cls(Beta(*data["hit"]), Beta(*data["usable"]), str(data["basis"]))


@dataclass(frozen=True)
class Priors:
    """Where the run starts: per provider (``pooled``) and, from the twin, per segment it has
    seen (``segments[segment][provider]``)."""

    pooled: Mapping[str, ProviderPrior]
    segments: Mapping[str, Mapping[str, ProviderPrior]]
    basis: str

    @classmethod
    def field_notes(cls, providers: Sequence[str], basis: str = "field notes") -> Priors:
        """The field-notes priors the twin shrinks towards (``gtmkit.twin.priors``)."""
        from gtmkit.twin.priors import USABLE_PRIOR, hit_prior

        pooled = {}
        for name in providers:
            hit = hit_prior(name)
            pooled[name] = ProviderPrior(
                Beta(hit.alpha, hit.beta),
                Beta(USABLE_PRIOR.alpha, USABLE_PRIOR.beta),
                f"{hit.basis}; {USABLE_PRIOR.basis}",
            )
        return cls(pooled, {}, basis)

    def to_json(self) -> dict[str, Any]:
        return {
            "basis": self.basis,
            "pooled": {p: v.to_json() for p, v in self.pooled.items()},
            "segments": {
                s: {p: v.to_json() for p, v in t.items()} for s, t in self.segments.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Priors:
        return cls(
            {p: ProviderPrior.from_json(v) for p, v in data["pooled"].items()},
            {
                s: {p: ProviderPrior.from_json(v) for p, v in t.items()}
                for s, t in data["segments"].items()
            },
            str(data["basis"]),
        )


#: per (segment, provider): [hits, lookups, usable, hits judged]
Counts = dict[tuple[str, str], list[float]]


def add_counts(total: Counts, more: Counts) -> Counts:
    """``total`` plus ``more`` (a new table; neither is changed)."""
    out = {key: list(value) for key, value in total.items()}
    for key, value in more.items():
        cell = out.setdefault(key, [0.0, 0.0, 0.0, 0.0])
        for i, v in enumerate(value):
            cell[i] += v
    return out


@dataclass(frozen=True, slots=True)
class StepCost:
    """Dollars one lookup costs when it finds an email and when it does not."""

    hit_usd: float
    miss_usd: float


@dataclass(frozen=True, slots=True)
class Cell:
    """One (segment, provider)'s posterior and how many of this run's lookups it rests on."""

    hit: Beta
    usable: Beta
    lookups: int


class Posterior:
    """The priors plus the counts of the rows learned from (see the module docstring)."""

    def __init__(self, priors: Priors, counts: Counts) -> None:
        self.priors, self.counts = priors, counts
        pooled: dict[str, list[float]] = {}
        for (_, provider), value in counts.items():
            cell = pooled.setdefault(provider, [0.0, 0.0, 0.0, 0.0])
            for i, v in enumerate(value):
                cell[i] += v
        self._pooled = pooled
        self._cells: dict[tuple[str, str], Cell] = {}

    def pooled(self, provider: str) -> tuple[Beta, Beta]:
        prior = self.priors.pooled[provider]
        hits, seen, usable, judged = self._pooled.get(provider, (0.0, 0.0, 0.0, 0.0))
        return prior.hit.plus(hits, seen), prior.usable.plus(usable, judged)

    def cell(self, segment: str, provider: str) -> Cell:
        key = (segment, provider)
        found = self._cells.get(key)
        if found is not None:
            return found
        given = self.priors.segments.get(segment, {}).get(provider)
        if given is not None:
            hit0, usable0 = given.hit, given.usable
        else:
            hit_pool, usable_pool = self.pooled(provider)
            hit0 = Beta.of(hit_pool.mean, SEGMENT_WEIGHT)
            usable0 = Beta.of(usable_pool.mean, SEGMENT_WEIGHT)
        hits, seen, usable, judged = self.counts.get(key, (0.0, 0.0, 0.0, 0.0))
        found = self._cells[key] = Cell(
            hit0.plus(hits, seen), usable0.plus(usable, judged), int(seen)
        )
        return found


def step_index(hit: float, usable: float, cost: StepCost, value_usd: float) -> float:
    """What placing a step earlier is worth per row reaching it (see the module docstring)."""
    hit = max(hit, 1e-6)
    return value_usd * usable - cost.hit_usd - cost.miss_usd * (1.0 - hit) / hit


def best_order(
    rates: Mapping[str, tuple[float, float]],
    providers: Sequence[str],
    costs: Mapping[str, StepCost],
    value_usd: float,
) -> list[tuple[str, float]]:
    """Providers sorted by their index (ties keep the spec's order), with the index."""
    scored = [(p, step_index(*rates[p], costs[p], value_usd)) for p in providers]
    ranked = sorted(range(len(scored)), key=lambda i: (-scored[i][1], i))
    return [scored[i] for i in ranked]


def expected(
    rates: Mapping[str, tuple[float, float]], order: Sequence[str], costs: Mapping[str, StepCost]
) -> tuple[float, float]:
    """Expected dollars and usable records per row of ``order`` (steps independent given the
    conditional rates)."""
    reach, cost, usable = 1.0, 0.0, 0.0
    for name in order:
        hit, use = rates[name]
        cost += reach * (hit * costs[name].hit_usd + (1.0 - hit) * costs[name].miss_usd)
        usable += reach * hit * use
        reach *= 1.0 - hit
    return cost, usable


def value_of_usable(
    posterior: Posterior,
    weights: Mapping[str, int],
    providers: Sequence[str],
    costs: Mapping[str, StepCost],
) -> float:
    """The cost per usable record of the best orders under the posterior means, over the
    list's segment mix (``weights``: rows per segment). Dinkelbach: order for a value, price
    the orders, take their ratio as the next value, until it settles."""
    means = {
        s: {p: (posterior.cell(s, p).hit.mean, posterior.cell(s, p).usable.mean) for p in providers}
        for s in weights
    }

    def ratio(orders: Mapping[str, Sequence[str]]) -> float:
        spend = usable = 0.0
        for segment, count in weights.items():
            c, u = expected(means[segment], orders[segment], costs)
            spend, usable = spend + count * c, usable + count * u
        return spend / usable if usable > _TINY else 0.0

    value = ratio({s: providers for s in weights})
    for _ in range(_VALUE_ITERATIONS):
        orders = {s: [p for p, _ in best_order(means[s], providers, costs, value)] for s in weights}
        new = ratio(orders)
        if not math.isfinite(new) or abs(new - value) <= 1e-12:
            break
        value = new
    return value


def thompson_order(
    posterior: Posterior,
    segment: str,
    providers: Sequence[str],
    costs: Mapping[str, StepCost],
    value_usd: float,
    rng: random.Random,
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """One row's order: draw every provider's rates from the segment's posterior, sort by the
    drawn index. Returns the order and, per provider, what was drawn and what it rested on."""
    rates: dict[str, tuple[float, float]] = {}
    for name in providers:  # always in the spec's order: the draws depend on the seed only
        cell = posterior.cell(segment, name)
        rates[name] = (cell.hit.draw(rng), cell.usable.draw(rng))
    ranked = best_order(rates, providers, costs, value_usd)
    sampled = {}
    for name, index in ranked:
        cell = posterior.cell(segment, name)
        sampled[name] = {
            "hit": round(rates[name][0], 6),
            "usable": round(rates[name][1], 6),
            "index_usd": round(index, 6),
            "hit_mean": round(cell.hit.mean, 6),
            "usable_mean": round(cell.usable.mean, 6),
            "lookups": cell.lookups,
        }
    return [name for name, _ in ranked], sampled


__all__ = [
    "MAX_PRIOR_WEIGHT",
    "SEGMENT_WEIGHT",
    "USABLE_STATUS",
    "Beta",
    "Cell",
    "Counts",
    "Posterior",
    "Priors",
    "ProviderPrior",
    "StepCost",
    "add_counts",
    "best_order",
    "expected",
    "step_index",
    "thompson_order",
    "value_of_usable",
]
