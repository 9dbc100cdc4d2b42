"""Cost-minimal provider orders over a *measured* joint hit pattern, and the Pareto frontier.

The model is the waterfall the engine runs by default: providers are tried in order, a row
stops at the first provider that finds an email, every provider tried on a row that reaches it
is called. What a call costs follows the provider's billing rule:

* ``per_call`` — every answered call is paid, hit or miss;
* ``per_hit`` and ``refund_on_miss`` — only a hit is paid (a refunded miss nets to zero).

Nothing assumes providers are independent: the rows each provider found are kept as a bitset
(bit ``r`` set ⇔ the provider found row ``r`` in the comparison) and the rows that reach step
``k`` are exactly the rows *every* earlier provider missed — an AND of complements. So the
expected cost of step ``k`` depends only on the **set** of providers tried before it, never on
their order, and the cheapest order of a set ``S`` satisfies

    best(S) = min over p in S of  best(S − {p}) + unit(p) · |billed(p) ∩ missed_by_all(S − {p})|

(with measured per-row prices — ``HitPattern.charges``, e.g. a phone reveal billed only with a
mobile — the unit · popcount term becomes a sum over the provider's price tiers: still a
function of the set alone), a dynamic program over the ``2**n`` subsets (``n · 2**(n-1)``
transitions, each one AND and a popcount on Python ints). It is exact, and gives the best
order of *every* subset at once — the frontier for free. ``exact_limit`` (default 16
providers: 65,536 subsets) bounds it; beyond, :func:`frontier` uses a documented heuristic
(see :func:`heuristic_frontier`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import polars as pl

from gtmkit.comparison.errors import CompareError
from gtmkit.errors import NotFound
from gtmkit.schema import BILLING_MODELS, ROW_ID, BillingModel

if TYPE_CHECKING:  # pragma: no cover
    from polars._typing import PolarsDataType

#: Largest provider count solved exactly by default (2**16 subsets, well under a second).
DEFAULT_EXACT_LIMIT = 16


@dataclass(frozen=True, slots=True)
class ProviderCost:
    """What one billed call of a provider costs, and when a call is billed.

    Attributes:
        name: provider name.
        billing: ``per_call`` / ``per_hit`` / ``refund_on_miss``.
        credits_per_billed_call: credits one billed call takes.
        usd_per_credit: list price of one credit.
    """

    name: str
    billing: BillingModel
    credits_per_billed_call: float
    usd_per_credit: float

    def __post_init__(self) -> None:
        if self.billing not in BILLING_MODELS:
            raise CompareError(f"{self.name}: billing must be one of {BILLING_MODELS}")
        if self.credits_per_billed_call < 0 or self.usd_per_credit < 0:
            raise CompareError(f"{self.name}: credits and prices cannot be negative")

    @property
    def usd_per_billed_call(self) -> float:
        return self.credits_per_billed_call * self.usd_per_credit

    @property
    def pays_on_miss(self) -> bool:
        return self.billing == "per_call"


def _mask(bits: Sequence[bool]) -> int:
    # little-endian: row r is bit r
    value = 0
    for r, b in enumerate(bits):
        if b:
            value |= 1 << r
    return value


def _tiers(credits: Sequence[float]) -> tuple[tuple[int, float], ...]:
    """Per-row credits as ``(rows, credits)`` bitset tiers, one per distinct non-zero amount."""
    rows: dict[float, list[bool]] = {}
    for r, amount in enumerate(credits):
        if amount:
            rows.setdefault(float(amount), [False] * len(credits))[r] = True
    return tuple((_mask_fast(bits), amount) for amount, bits in sorted(rows.items()))


def _mask_fast(bits: Sequence[bool]) -> int:
    if not bits:
        return 0
    # build the integer from a bytes string: much faster than shifting per row
    text = "".join("1" if b else "0" for b in reversed(bits))
    return int(text, 2)


@dataclass(frozen=True)
class HitPattern:
    """The measured joint outcome of several providers on the same rows, as bitsets.

    Attributes:
        providers: provider names (index ``i`` in the masks below).
        n_rows: number of rows.
        hit: per provider, rows where it found an email (the waterfall stops there).
        usable: per provider, rows where what it found is usable (verified and correct).
        answered: per provider, rows where its call was answered (not an error): what a
            ``per_call`` provider is billed for.
        costs: per provider billing rule and unit prices.
        row_ids: the ``row_id`` of each bit position.
        charges: optional, per provider, ``(rows, credits)`` tiers measured from what each
            lookup really cost (a phone reveal bills 9 credits with a mobile, 1 without): a
            row reaching the provider costs the credits of the tier it is in. Empty: the
            billing rule prices it (``billed`` rows × ``credits_per_billed_call``). Either way
            a row's cost depends only on whether it reaches the provider, so the dynamic
            program stays exact.
    """

    providers: tuple[str, ...]
    n_rows: int
    hit: tuple[int, ...]
    usable: tuple[int, ...]
    answered: tuple[int, ...]
    costs: tuple[ProviderCost, ...]
    row_ids: tuple[int, ...] = ()
    charges: tuple[tuple[tuple[int, float], ...], ...] = ()

    def __post_init__(self) -> None:
        k = len(self.providers)
        if self.charges and len(self.charges) != k:
            raise CompareError("charges must have one entry per provider (or be empty)")
        if not (len(self.hit) == len(self.usable) == len(self.answered) == len(self.costs) == k):
            raise CompareError("hit/usable/answered/costs must have one entry per provider")
        if len(set(self.providers)) != k:
            raise CompareError(f"duplicate provider names in {self.providers}")
        for c, p in zip(self.costs, self.providers, strict=True):
            if c.name != p:
                raise CompareError(f"costs out of order: {c.name!r} where {p!r} expected")

    # -- construction ----------------------------------------------------------------
    @classmethod
    def from_bools(
        cls,
        providers: Sequence[str],
        hit: Mapping[str, Sequence[bool]],
        costs: Mapping[str, ProviderCost],
        *,
        usable: Mapping[str, Sequence[bool]] | None = None,
        answered: Mapping[str, Sequence[bool]] | None = None,
        row_ids: Sequence[int] | None = None,
        charged_credits: Mapping[str, Sequence[float]] | None = None,
    ) -> HitPattern:
        """Build from per-provider boolean columns (all the same length); ``charged_credits``
        (per provider, per row: what a lookup reaching that row costs) sets ``charges``."""
        lengths = {len(hit[p]) for p in providers}
        if len(lengths) != 1:
            raise CompareError(f"hit columns differ in length: {sorted(lengths)}")
        n = lengths.pop()
        full = [True] * n
        return cls(
            providers=tuple(providers),
            n_rows=n,
            hit=tuple(_mask_fast(hit[p]) for p in providers),
            usable=tuple(_mask_fast((usable or hit)[p]) for p in providers),
            answered=tuple(_mask_fast((answered or {}).get(p, full)) for p in providers),
            costs=tuple(costs[p] for p in providers),
            row_ids=tuple(row_ids) if row_ids is not None else tuple(range(n)),
            charges=tuple(_tiers(charged_credits[p]) for p in providers)
            if charged_credits is not None
            else (),
        )

    @classmethod
    def from_observations(
        cls,
        obs: pl.DataFrame,
        costs: Mapping[str, ProviderCost],
        *,
        providers: Sequence[str] | None = None,
        stop_on: str = "hit",
    ) -> HitPattern:
        """Build from an observation frame (see :mod:`gtmkit.comparison.outcomes`).

        ``usable`` null (truth unknown for that row) counts as not usable — the conservative
        reading.

        Args:
            stop_on: the boolean column a row stops at (default ``hit``; a phone step's
                "first mobile" stops at ``mobile``). Only a stopping find counts as usable.
        Observations with a ``list_credits`` column (a phone step's measured cost per
        lookup) are priced by it (``charges``); a null there falls back to the billing rule.
        """
        if providers is None:
            providers = list(dict.fromkeys(obs["provider"].to_list()))
        if stop_on not in obs.columns:
            raise CompareError(f"no {stop_on!r} column in the observations to stop on")
        measured = "list_credits" in obs.columns
        wide = (
            obs.filter(pl.col("provider").is_in(list(providers)))
            .with_columns(
                pl.col(stop_on).fill_null(False).alias("_stop"),
                (pl.col("usable").fill_null(False) & pl.col(stop_on).fill_null(False)).alias(
                    "_usable"
                ),
                (pl.col("list_credits") if measured else pl.lit(None, pl.Float64)).alias("_paid"),
            )
            .select(ROW_ID, "provider", "_stop", "_usable", "answered", "hit", "_paid")
            .sort(ROW_ID)
        )
        row_ids = wide[ROW_ID].unique(maintain_order=True).to_list()
        cols: dict[str, dict[str, list[bool]]] = {"_stop": {}, "_usable": {}, "answered": {}}
        paid: dict[str, list[float]] = {}
        for p in providers:
            part = wide.filter(pl.col("provider") == p)
            if part[ROW_ID].to_list() != row_ids:
                raise CompareError(f"provider {p!r} was not observed on every row")
            for kind in cols:
                cols[kind][p] = part[kind].to_list()
            if measured:
                c = costs[p]
                by_rule = pl.col("answered") if c.pays_on_miss else pl.col("hit")
                rule = by_rule.cast(pl.Float64) * c.credits_per_billed_call
                paid[p] = part.select(pl.coalesce("_paid", rule))["_paid"].to_list()
        return cls.from_bools(
            providers,
            cols["_stop"],
            costs,
            usable=cols["_usable"],
            answered=cols["answered"],
            row_ids=row_ids,
            charged_credits=paid if measured else None,
        )

    # -- views -------------------------------------------------------------------------
    @property
    def full(self) -> int:
        return (1 << self.n_rows) - 1

    def billed(self, i: int) -> int:
        """Rows on which a call to provider ``i`` is paid if the row reaches it."""
        return self.answered[i] if self.costs[i].pays_on_miss else self.hit[i] & self.answered[i]

    def tiers(self, i: int) -> tuple[tuple[int, float], ...]:
        """``(rows, credits)`` pairs: what a call to provider ``i`` costs on each row it reaches."""
        if self.charges:
            return self.charges[i]
        return ((self.billed(i), self.costs[i].credits_per_billed_call),)

    def credits_on(self, i: int, reach: int) -> float:
        """Credits provider ``i`` charges over the rows ``reach`` (a bitset)."""
        return sum(credits * (reach & rows).bit_count() for rows, credits in self.tiers(i))

    def index(self, name: str) -> int:
        try:
            return self.providers.index(name)
        except ValueError:
            raise NotFound(f"provider {name!r} not in pattern {self.providers}") from None

    def select(self, providers: Sequence[str]) -> HitPattern:
        """The same rows restricted to some providers (in the order given)."""
        idx = [self.index(p) for p in providers]
        return HitPattern(
            providers=tuple(providers),
            n_rows=self.n_rows,
            hit=tuple(self.hit[i] for i in idx),
            usable=tuple(self.usable[i] for i in idx),
            answered=tuple(self.answered[i] for i in idx),
            costs=tuple(self.costs[i] for i in idx),
            row_ids=self.row_ids,
            charges=tuple(self.charges[i] for i in idx) if self.charges else (),
        )

    def take_rows(self, positions: Sequence[int]) -> HitPattern:
        """A pattern over a subset of rows (bit positions), e.g. one segment or one half."""
        positions = list(positions)

        def pick(mask: int) -> int:
            out = 0
            for new, old in enumerate(positions):
                if mask >> old & 1:
                    out |= 1 << new
            return out

        return HitPattern(
            providers=self.providers,
            n_rows=len(positions),
            hit=tuple(pick(m) for m in self.hit),
            usable=tuple(pick(m) for m in self.usable),
            answered=tuple(pick(m) for m in self.answered),
            costs=self.costs,
            row_ids=tuple(self.row_ids[p] for p in positions) if self.row_ids else (),
            charges=tuple(tuple((pick(m), c) for m, c in t) for t in self.charges),
        )

    def with_costs(self, costs: Mapping[str, ProviderCost]) -> HitPattern:
        """The same pattern priced differently (e.g. to test another billing rule)."""
        return HitPattern(
            providers=self.providers,
            n_rows=self.n_rows,
            hit=self.hit,
            usable=self.usable,
            answered=self.answered,
            costs=tuple(costs.get(p, c) for p, c in zip(self.providers, self.costs, strict=True)),
            row_ids=self.row_ids,
            charges=self.charges,
        )


@dataclass(frozen=True)
class OrderStats:
    """What an order does on a pattern's rows (per-row figures are averages over all rows)."""

    order: tuple[str, ...]
    n_rows: int
    coverage: float
    usable_coverage: float
    cost_per_row_usd: float
    credits_per_row: float
    calls_per_row: float
    steps: tuple[dict[str, float | str], ...] = field(default=())

    @property
    def cost_per_covered_usd(self) -> float:
        return self.cost_per_row_usd / self.coverage if self.coverage else math.inf

    @property
    def cost_per_usable_usd(self) -> float:
        return self.cost_per_row_usd / self.usable_coverage if self.usable_coverage else math.inf


def evaluate_order(pattern: HitPattern, order: Sequence[str]) -> OrderStats:
    """Replay an order on the pattern's rows: coverage, usable coverage, cost, calls.

    Example:
        >>> costs = {p: ProviderCost(p, "per_hit", 1.0, 0.1) for p in "ab"}
        >>> pat = HitPattern.from_bools("ab", {"a": [1, 0, 0, 1], "b": [0, 1, 0, 1]}, costs)
        >>> s = evaluate_order(pat, ["a", "b"])
        >>> s.coverage, round(s.cost_per_row_usd, 3)
        (0.75, 0.075)
    """
    n = pattern.n_rows
    if n == 0:
        raise CompareError("cannot evaluate an order on zero rows")
    remaining = pattern.full
    usable = cost = credits = calls = 0.0
    steps: list[dict[str, float | str]] = []
    for name in order:
        i = pattern.index(name)
        c = pattern.costs[i]
        reached = remaining.bit_count()
        step_credits = pattern.credits_on(i, remaining)
        new_hits = remaining & pattern.hit[i]
        new_usable = (new_hits & pattern.usable[i]).bit_count()
        step_cost = step_credits * c.usd_per_credit
        cost += step_cost
        credits += step_credits
        calls += reached
        usable += new_usable
        steps.append(
            {
                "provider": name,
                "rows_in": reached / n,
                "incremental_coverage": new_hits.bit_count() / n,
                "cost_per_row_usd": step_cost / n,
            }
        )
        remaining &= ~pattern.hit[i]
    covered = n - (remaining & pattern.full).bit_count()
    return OrderStats(
        order=tuple(order),
        n_rows=n,
        coverage=covered / n,
        usable_coverage=usable / n,
        cost_per_row_usd=cost / n,
        credits_per_row=credits / n,
        calls_per_row=calls / n,
        steps=tuple(steps),
    )


# -- exact dynamic program -------------------------------------------------------------
@dataclass(frozen=True)
class _Solved:
    best_cost: list[float]  # per subset: cheapest total cost (sum over rows, usd)
    last: list[int]  # per subset: provider index placed last in that cheapest order
    missed: list[int]  # per subset: rows every provider in it missed


def _solve_exact(pattern: HitPattern) -> _Solved:
    n = len(pattern.providers)
    size = 1 << n
    hit = pattern.hit
    tiers = [
        [(rows, credits * c.usd_per_credit) for rows, credits in pattern.tiers(i)]
        for i, c in enumerate(pattern.costs)
    ]
    full = pattern.full
    # missed[S]: rows all of S missed, built from S minus its lowest bit (one AND per subset)
    missed = [0] * size
    missed[0] = full
    for s in range(1, size):
        low = s & -s
        missed[s] = missed[s ^ low] & ~hit[low.bit_length() - 1]
    best = [0.0] * size
    last = [-1] * size
    inf = math.inf
    for s in range(1, size):
        b_cost = inf
        b_last = -1
        rest = s
        while rest:
            low = rest & -rest
            rest ^= low
            i = low.bit_length() - 1
            prev = s ^ low
            reach = missed[prev]
            total = best[prev]
            for rows, usd in tiers[i]:
                total += usd * (reach & rows).bit_count()
            # ties: keep the lowest provider index last → deterministic orders
            if total < b_cost - 1e-12:
                b_cost = total
                b_last = i
        best[s] = b_cost
        last[s] = b_last
    return _Solved(best, last, missed)


def _order_of(solved: _Solved, subset: int) -> list[int]:
    order: list[int] = []
    s = subset
    while s:
        i = solved.last[s]
        order.append(i)
        s ^= 1 << i
    order.reverse()
    return order


def best_order(pattern: HitPattern, providers: Sequence[str] | None = None) -> OrderStats:
    """The exact cost-minimal order of a set of providers (all of the pattern's by default)."""
    sub = pattern if providers is None else pattern.select(providers)
    if len(sub.providers) > DEFAULT_EXACT_LIMIT + 4:
        raise CompareError("too many providers for an exact order; use heuristic_order")
    solved = _solve_exact(sub)
    order = _order_of(solved, (1 << len(sub.providers)) - 1)
    return evaluate_order(sub, [sub.providers[i] for i in order])


def brute_force_orders(
    pattern: HitPattern, providers: Sequence[str] | None = None
) -> list[OrderStats]:
    """Every permutation of the providers, evaluated row by row (for tests and audits)."""
    names = list(providers or pattern.providers)
    return [evaluate_order(pattern, perm) for perm in itertools.permutations(names)]


# -- heuristic ---------------------------------------------------------------------------
def heuristic_order(
    pattern: HitPattern,
    providers: Sequence[str] | None = None,
    *,
    start: Sequence[str] | None = None,
    local_search: bool = True,
) -> list[str]:
    """A good order without enumerating subsets: greedy cost-per-new-hit, then local search.

    1. Greedy: repeatedly take the provider with the lowest *expected cost per new hit* on the
       rows still missing (billed rows × unit price ÷ new hits); providers that add no hit go
       last. (Skipped when ``start`` gives an initial order.)
    2. Improve (``local_search=True``): move any single provider to any other position while
       that lowers the cost (insertion local search), until no move helps.

    Costs are evaluated on the measured rows, so correlation between providers is respected.
    """
    names = list(start or providers or pattern.providers)
    idx = [pattern.index(p) for p in names]
    usd = {i: pattern.costs[i].usd_per_credit for i in idx}

    def cost(seq: Sequence[int]) -> float:
        remaining = pattern.full
        total = 0.0
        for i in seq:
            total += usd[i] * pattern.credits_on(i, remaining)
            remaining &= ~pattern.hit[i]
        return total

    remaining = pattern.full
    todo = [] if start else list(idx)
    seq: list[int] = list(idx) if start else []
    while todo:

        def ratio(i: int, remaining: int = remaining) -> tuple[float, int]:
            new = (remaining & pattern.hit[i]).bit_count()
            spend = usd[i] * pattern.credits_on(i, remaining)
            return (spend / new if new else math.inf, i)

        pick = min(todo, key=ratio)
        seq.append(pick)
        todo.remove(pick)
        remaining &= ~pattern.hit[pick]
    current = cost(seq)
    improved = local_search
    while improved:
        improved = False
        for a in range(len(seq)):
            for b in range(len(seq)):
                if a == b:
                    continue
                trial = seq[:a] + seq[a + 1 :]
                trial.insert(b, seq[a])
                c = cost(trial)
                if c < current - 1e-9:
                    seq, current, improved = trial, c, True
    return [pattern.providers[i] for i in seq]


# -- frontier ----------------------------------------------------------------------------
FRONTIER_SCHEMA: dict[str, PolarsDataType] = {
    "providers": pl.List(pl.String),
    "order": pl.List(pl.String),
    "n_providers": pl.Int64,
    "coverage": pl.Float64,
    "usable_coverage": pl.Float64,
    "cost_per_row_usd": pl.Float64,
    "credits_per_row": pl.Float64,
    "calls_per_row": pl.Float64,
    "cost_per_covered_usd": pl.Float64,
    "cost_per_usable_usd": pl.Float64,
    "pareto": pl.Boolean,
    "method": pl.String,
}


def _mark_pareto(frame: pl.DataFrame, metric: str) -> pl.DataFrame:
    # cheapest first; among equal cost the higher metric first; a row is on the frontier when
    # it beats every cheaper row's metric
    ordered = frame.with_row_index("_i").sort(
        ["cost_per_row_usd", metric, "n_providers"], descending=[False, True, False]
    )
    best = -1.0
    flags = []
    for value in ordered[metric].to_list():
        on = value > best + 1e-12
        flags.append(on)
        best = max(best, value)
    ordered = ordered.with_columns(pl.Series("pareto", flags))
    return ordered.sort("_i").drop("_i")


def _frame(rows: list[OrderStats], method: str, metric: str) -> pl.DataFrame:
    data = [
        {
            "providers": sorted(s.order),
            "order": list(s.order),
            "n_providers": len(s.order),
            "coverage": s.coverage,
            "usable_coverage": s.usable_coverage,
            "cost_per_row_usd": s.cost_per_row_usd,
            "credits_per_row": s.credits_per_row,
            "calls_per_row": s.calls_per_row,
            "cost_per_covered_usd": s.cost_per_covered_usd if s.coverage else None,
            "cost_per_usable_usd": s.cost_per_usable_usd if s.usable_coverage else None,
            "pareto": False,
            "method": method,
        }
        for s in rows
    ]
    frame = pl.DataFrame(data, schema=FRONTIER_SCHEMA)
    return _mark_pareto(frame, metric).sort(["cost_per_row_usd", metric], descending=[False, True])


def exact_frontier(
    pattern: HitPattern, *, metric: Literal["coverage", "usable_coverage"] = "coverage"
) -> pl.DataFrame:
    """Every non-empty subset with its exact cost-minimal order (see the module docstring).

    The cheapest order of ``S`` is the cheapest order of ``S − {last}`` followed by ``last``,
    so each subset's coverage, usable coverage, credits and calls follow from its predecessor
    with one AND and a popcount — no per-subset replay.
    """
    solved = _solve_exact(pattern)
    k = len(pattern.providers)
    size = 1 << k
    n = pattern.n_rows
    tiers = [pattern.tiers(i) for i in range(k)]
    good = [pattern.hit[i] & pattern.usable[i] for i in range(k)]
    usable = [0] * size
    credits = [0.0] * size
    calls = [0] * size
    # orders as delimited text, split into lists by polars in one vectorized call: building
    # 65k Python lists into a List column costs seconds, the text route milliseconds
    sep = "\x1f"
    orders = [""] * size
    missed = solved.missed
    names = pattern.providers
    for s in range(1, size):
        i = solved.last[s]
        prev = s ^ (1 << i)
        reach = missed[prev]
        usable[s] = usable[prev] + (reach & good[i]).bit_count()
        credits[s] = credits[prev] + sum(c * (reach & rows).bit_count() for rows, c in tiers[i])
        calls[s] = calls[prev] + reach.bit_count()
        orders[s] = f"{orders[prev]}{sep}{names[i]}" if prev else names[i]
    subsets = range(1, size)
    cov = [(n - missed[s].bit_count()) / n for s in subsets]
    use = [usable[s] / n for s in subsets]
    cost = [solved.best_cost[s] / n for s in subsets]
    order_col = pl.Series("order", orders[1:], dtype=pl.String).str.split(sep)
    frame = pl.DataFrame(
        {
            "providers": order_col.list.sort(),
            "order": order_col,
            "n_providers": [s.bit_count() for s in subsets],
            "coverage": cov,
            "usable_coverage": use,
            "cost_per_row_usd": cost,
            "credits_per_row": [credits[s] / n for s in subsets],
            "calls_per_row": [calls[s] / n for s in subsets],
            "cost_per_covered_usd": [c / v if v else None for c, v in zip(cost, cov, strict=True)],
            "cost_per_usable_usd": [c / v if v else None for c, v in zip(cost, use, strict=True)],
            "pareto": [False] * (size - 1),
            "method": ["exact"] * (size - 1),
        },
        schema=FRONTIER_SCHEMA,
    )
    return _mark_pareto(frame, metric).sort(["cost_per_row_usd", metric], descending=[False, True])


def heuristic_frontier(
    pattern: HitPattern,
    *,
    metric: Literal["coverage", "usable_coverage"] = "coverage",
    swap_rounds: int = 2,
) -> pl.DataFrame:
    """Frontier for too many providers to enumerate subsets (the documented heuristic).

    Two greedy chains of subsets, each subset ordered by :func:`heuristic_order`:

    * forward selection — start from nothing; each round, try adding every remaining provider
      and keep the one with the best gain in ``metric`` per extra dollar per row (a candidate
      both better and no dearer wins outright);
    * backward elimination — start from every provider; each round, try dropping each one
      (its order is the current order without it) and drop the one that loses the least
      ``metric`` per dollar saved.

    then a swap refinement (``swap_rounds`` rounds): every subset on the frontier so far tries
    exchanging one member for one outsider (each swap ordered greedily), and every subset that
    ends on the frontier gets the local search last.

    Every candidate evaluated (``n²`` to a few thousand subsets) is kept and the Pareto
    frontier is taken over all of them. ``benchmarks/bench_compare.py`` measures the gap to
    the exact frontier on 8–12 providers.
    """
    seen: dict[frozenset[str], OrderStats] = {}

    def score(s: OrderStats, base: OrderStats | None) -> float:
        gain = float(getattr(s, metric)) - (float(getattr(base, metric)) if base else 0.0)
        extra = s.cost_per_row_usd - (base.cost_per_row_usd if base else 0.0)
        if extra > 1e-15:
            return gain / extra
        return math.inf if gain > 0 else -math.inf

    # forward selection
    chosen: list[str] = []
    current: OrderStats | None = None
    remaining = list(pattern.providers)
    while remaining:
        best: tuple[float, str, OrderStats] | None = None
        for p in remaining:
            key = frozenset([*chosen, p])
            if key not in seen:
                seen[key] = evaluate_order(pattern, heuristic_order(pattern, [*chosen, p]))
            cand = (score(seen[key], current), p, seen[key])
            if best is None or cand[0] > best[0]:
                best = cand
        assert best is not None
        chosen.append(best[1])
        remaining.remove(best[1])
        current = best[2]

    # backward elimination from the full set
    order = heuristic_order(pattern)
    full = evaluate_order(pattern, order)
    seen.setdefault(frozenset(order), full)
    current = full
    while len(order) > 1:
        pick: tuple[float, int] | None = None
        for pos in range(len(order)):
            trial = order[:pos] + order[pos + 1 :]
            stats = evaluate_order(pattern, trial)
            # loss of metric per dollar saved: lower is better to drop
            saved = current.cost_per_row_usd - stats.cost_per_row_usd
            loss = getattr(current, metric) - getattr(stats, metric)
            ratio = loss / saved if saved > 1e-15 else (math.inf if loss > 0 else -math.inf)
            if pick is None or ratio < pick[0]:
                pick = (ratio, pos)
        assert pick is not None
        order = heuristic_order(pattern, start=order[: pick[1]] + order[pick[1] + 1 :])
        current = evaluate_order(pattern, order)
        key = frozenset(order)
        if key not in seen or current.cost_per_row_usd < seen[key].cost_per_row_usd:
            seen[key] = current
    # swap refinement: for each subset on the frontier so far, try exchanging one member for
    # one outsider (keeping its position, then local search); keep what reaches the same
    # metric for less money. Repeats while it finds something, at most ``swap_rounds`` times.
    for _ in range(swap_rounds):
        front = _pareto_stats(list(seen.values()), metric)
        found = False
        for stats in front:
            members = list(stats.order)
            outside = [p for p in pattern.providers if p not in members]
            for pos in range(len(members)):
                for q in outside:
                    trial = [*members[:pos], q, *members[pos + 1 :]]
                    key = frozenset(trial)
                    if key in seen:
                        continue
                    # greedy order only: the local search is kept for the final frontier
                    order = heuristic_order(pattern, trial, local_search=False)
                    swapped = evaluate_order(pattern, order)
                    seen[key] = swapped
                    if (
                        getattr(swapped, metric) >= getattr(stats, metric) - 1e-12
                        and swapped.cost_per_row_usd < stats.cost_per_row_usd - 1e-15
                    ):
                        found = True
        if not found:
            break
    # polish: local search on every subset that ended on the frontier
    for stats in _pareto_stats(list(seen.values()), metric):
        polished = evaluate_order(pattern, heuristic_order(pattern, start=stats.order))
        if polished.cost_per_row_usd < stats.cost_per_row_usd:
            seen[frozenset(stats.order)] = polished
    return _frame(list(seen.values()), "heuristic", metric)


def _pareto_stats(stats: list[OrderStats], metric: str) -> list[OrderStats]:
    best = -1.0
    out = []
    for s in sorted(stats, key=lambda s: (s.cost_per_row_usd, -getattr(s, metric))):
        if getattr(s, metric) > best + 1e-12:
            out.append(s)
            best = getattr(s, metric)
    return out


def frontier(
    pattern: HitPattern,
    *,
    method: Literal["auto", "exact", "heuristic"] = "auto",
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    metric: Literal["coverage", "usable_coverage"] = "coverage",
) -> pl.DataFrame:
    """Cost-minimal order, coverage, usable coverage and expected cost per row for subsets.

    Args:
        pattern: the measured joint hit pattern.
        method: ``exact`` (dynamic program over all subsets), ``heuristic`` (forward
            selection, see :func:`heuristic_frontier`) or ``auto`` (exact up to
            ``exact_limit`` providers).
        exact_limit: provider count above which ``auto`` switches to the heuristic.
        metric: what the Pareto flag trades against cost.

    Returns:
        One row per subset (every subset when exact), columns ``providers``, ``order``,
        ``n_providers``, ``coverage``, ``usable_coverage``, ``cost_per_row_usd``,
        ``credits_per_row``, ``calls_per_row``, ``cost_per_covered_usd``,
        ``cost_per_usable_usd``, ``pareto``, ``method``; sorted by cost.
    """
    if not pattern.providers:
        raise CompareError("no providers to optimize")
    if pattern.n_rows == 0:
        raise CompareError("no rows in the hit pattern")
    use_exact = method == "exact" or (method == "auto" and len(pattern.providers) <= exact_limit)
    if use_exact:
        return exact_frontier(pattern, metric=metric)
    return heuristic_frontier(pattern, metric=metric)


def timed_frontier(
    pattern: HitPattern,
    *,
    method: Literal["auto", "exact", "heuristic"] = "auto",
    exact_limit: int = DEFAULT_EXACT_LIMIT,
    metric: Literal["coverage", "usable_coverage"] = "coverage",
) -> tuple[pl.DataFrame, float]:
    """``frontier`` plus its wall time in seconds (used by the benchmark)."""
    t0 = time.perf_counter()
    out = frontier(pattern, method=method, exact_limit=exact_limit, metric=metric)
    return out, time.perf_counter() - t0
