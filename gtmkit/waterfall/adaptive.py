"""``order="adaptive"``: each row's order of email steps, chosen as rows complete.

The engine asks :class:`AdaptiveOrder` for a row's order (``RowWalker`` awaits
:meth:`AdaptiveOrder.order` before the row's first step), tells it what each step answered
(:meth:`~AdaptiveOrder.saw`) and when the row is done (:meth:`~AdaptiveOrder.finished`).
Nothing else in the engine changes: the budget, the per-row cap, rate limits, the cache, the
claims and the ledger see ordinary lookups in another order, so every money invariant holds as
it does for a static order.

**Deterministic under a seed.** Rows are taken in blocks of ``block_size`` positions of the
list. The rows of block ``b`` are ordered from a posterior that has learned from exactly the
rows of blocks ``0 .. b-2`` (one block of lag, so block ``b-1`` can still be in flight while
``b`` starts): a row waits, if it must, until those blocks are done. Each row draws its rates
with a generator seeded by ``(seed, row_id)``. So which order a row gets depends on the seed,
the list and what the providers answered — not on timing or concurrency — and a resumed run,
whose earlier rows come back from the cache with the same answers, takes the same decisions.

**Recorded.** Every decision — the row's segment, its order, the rates drawn per provider,
the posterior means and lookup counts they rested on, and the worth of a usable record — is
written to the ledger (``adaptive_orders``, see :mod:`gtmkit.waterfall.adaptive_log`) and
returned as ``result.decisions``; the chain's seed, block size and prior go to
``adaptive_runs``. A resumed run walks each row already decided in its recorded order, and
so does a rerun of the same spec on the same list with the same seed: from the cache it
reproduces the run, at no cost (``resume=False`` learns afresh, from the ledger's history).

**What is ordered.** Steps that look for an email with a paid provider. A manual hand-off, a
free local step (the pattern guess) and a step that does not fill ``email`` keep their place.
The model and its index: :mod:`gtmkit.waterfall.adaptive_model`; the starting prior (the
twin's posterior when the ledger has history, else the field notes):
:mod:`gtmkit.waterfall.adaptive_prior`.

Example:
    >>> block_size_for(5000), block_size_for(300), block_size_for(100_000)
    (100, 25, 250)
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gtmkit.twin.observe import UNKNOWN_SEGMENT
from gtmkit.waterfall.adaptive_log import Decision, DecisionLog
from gtmkit.waterfall.adaptive_model import (
    USABLE_STATUS,
    Counts,
    Posterior,
    Priors,
    StepCost,
    add_counts,
    thompson_order,
    value_of_usable,
)
from gtmkit.waterfall.lookup import Answer
from gtmkit.waterfall.policy import RowPolicy, RowState, missing

#: blocks of lag between the rows a posterior learned from and the rows it orders
LAG = 1
#: how often a row waiting for its block's posterior checks whether the run is stopping
_WAIT_POLL_S = 0.05


def block_size_for(rows: int) -> int:
    """Rows per block: about 50 blocks a list, between 25 and 250 rows each."""
    return max(25, min(250, rows // 50))


def segment_of(record: Mapping[str, Any], columns: Sequence[str]) -> str:
    """The segment a row belongs to (``"11-50"``, ``"11-50 / Europe"``; ``"all"`` without
    columns), spelled as the twin spells segments."""
    if not columns:
        return "all"
    parts = []
    for column in columns:
        value = record.get(column)
        parts.append(UNKNOWN_SEGMENT if value is None or missing(value) else str(value))
    return " / ".join(parts)


def row_rng(seed: int, row_id: int) -> random.Random:
    """The generator of one row's draws: a function of the seed and the row only."""
    digest = hashlib.blake2b(f"adaptive|{seed}|{row_id}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def orderable(policy: RowPolicy, providers: Mapping[str, Any]) -> list[int]:
    """The steps an adaptive run orders: those looking for an email with a paid provider (a
    manual hand-off, a free local guess and a step for other fields keep their place)."""
    return [
        i for i, step in enumerate(policy.steps)
        if "email" in step.fills
        and getattr(providers[step.provider], "kind", "finder") not in ("manual", "local")
    ]  # fmt: skip


def step_costs(
    wf: Any, providers: Mapping[str, Any], prices: Mapping[str, float], names: Sequence[str]
) -> tuple[dict[str, StepCost], float]:
    """Per provider, dollars per lookup on a hit and on a miss (its billing rule), and what one
    verification costs (0 without a verifier)."""
    costs = {}
    for name in names:
        adapter = providers[name]
        credits = float(getattr(adapter, "credits_per_lookup", 1.0))
        usd = credits * prices[name]
        miss = usd if getattr(adapter, "billing", "per_hit") == "per_call" else 0.0
        costs[name] = StepCost(usd, miss)
    verify = wf.verify
    verify_usd = 0.0
    if verify:
        credits = float(getattr(providers[verify], "credits_per_lookup", 1.0))
        verify_usd = credits * prices[verify]
    return costs, verify_usd


class AdaptiveOrder:
    """The per-row order policy of one adaptive run (see the module docstring).

    Args:
        policy: the run's row rules (its steps and their ``wants``).
        rows: the rows the walker walks, by position.
        providers: the run's adapters; ``prices``: dollars per credit.
        settings: the chain's ``seed``, ``segment_by``, ``block_size`` and ``prior`` (JSON of
            :class:`~gtmkit.waterfall.adaptive_model.Priors`), as :class:`DecisionLog` keeps them.
        log: where decisions are recorded and earlier ones read back.
        stopping: the run's stop signal (a waiting row gives up when it says why).
    """

    def __init__(
        self,
        policy: RowPolicy,
        rows: Sequence[RowState],
        providers: Mapping[str, Any],
        prices: Mapping[str, float],
        settings: Mapping[str, Any],
        log: DecisionLog,
        stopping: Callable[[], str | None],
    ) -> None:
        self.policy, self.log, self.stopping = policy, log, stopping
        self.priors = Priors.from_json(settings["prior"])
        self.seed, self.block_size = int(settings["seed"]), int(settings["block_size"])
        segment_by = list(settings["segment_by"])
        block_size = self.block_size
        steps = policy.steps
        #: step indices the policy orders, and their providers (in the spec's order)
        self.indices = orderable(policy, providers)
        self.names = [steps[i].provider for i in self.indices]
        self._index_of = {steps[i].provider: i for i in self.indices}
        self.costs, verify_usd = step_costs(policy.wf, providers, prices, self.names)
        if verify_usd:
            # an unverified find is checked by the verifier: part of what such a find costs
            self._verify_usd = verify_usd
        else:
            self._verify_usd = 0.0
        self.segments = [segment_of(row.record, segment_by) for row in rows]
        self.row_ids = [row.row_id for row in rows]
        self.weights: dict[str, int] = {}
        for segment in self.segments:
            self.weights[segment] = self.weights.get(segment, 0) + 1
        blocks = max(1, -(-len(rows) // block_size))
        self._left = [
            min(block_size, len(rows) - b * block_size) for b in range(blocks)
        ]  # rows of each block not yet finished
        self._done = [asyncio.Event() for _ in range(blocks)]
        self._learned: list[Counts] = [{} for _ in range(blocks)]
        #: posterior (and the worth of a usable record) of each block, taken once
        self._posteriors: dict[int, tuple[Posterior, float]] = {}
        #: ``_prefix[k]``: what blocks ``0 .. k`` taught, built in block order once each is done
        self._prefix: list[Counts] = []
        self._seen: dict[int, list[tuple[int, Answer]]] = {}
        self._waiters, self._halted = 0, False
        self._ready = -1  # blocks 0 .. _ready are known to be done
        self._watcher: asyncio.Task[None] | None = None
        self.recorded = log.recorded()
        self.reused = 0
        self.decided = 0

    # -- the engine's three calls --------------------------------------------------------
    async def order(self, position: int, row: RowState) -> list[int]:
        """The step indices ``row`` goes through: the spec's, with its email steps in the
        order decided for it."""
        static = self.policy.order(row)
        if not self.indices or not any(self.policy.wants(row, i) for i in self.indices):
            return static  # nothing to look for: nothing to decide
        recorded = self.recorded.get(row.row_id)
        if recorded is not None and set(recorded.order) == set(self.names):
            self.reused += 1
            self.log.add(recorded)
            return self._arrange(static, recorded.order)
        block = position // self.block_size
        taken = await self._posterior(block)
        if taken is None or self.stopping() is not None:
            # the run is stopping: rows cut short teach only part of what they would, so
            # nothing is decided now (the row's first lookup ends it ``stopped``; a resume
            # decides it from complete rows)
            return static
        posterior, value = taken
        segment = self.segments[position]
        costs = self._costs_in(posterior, segment)
        order, sampled = thompson_order(
            posterior, segment, self.names, costs, value, row_rng(self.seed, row.row_id)
        )
        decision = Decision(row.row_id, block, segment, tuple(order), sampled, round(value, 6),
                            self.log.run_id)  # fmt: skip
        self.decided += 1
        self.log.add(decision)
        return self._arrange(static, decision.order)

    def saw(self, position: int, index: int, answer: Answer) -> None:
        """Step ``index`` answered the row at ``position``."""
        if index in self._index_of.values():
            self._seen.setdefault(position, []).append((index, answer))

    def finished(self, position: int, row: RowState) -> None:
        """The row's walk ended: learn from its answers, and release its block when it was the
        block's last row."""
        block = position // self.block_size
        learned = self._learned[block]
        segment = self.segments[position]
        for index, answer in self._seen.pop(position, ()):
            found = answer.outcome == "hit" and not missing(answer.fields.get("email"))
            name = self.policy.steps[index].provider
            cell = learned.setdefault((segment, name), [0.0, 0.0, 0.0, 0.0])
            cell[0] += found
            cell[1] += 1
            if found:
                # the kept email is judged after the verifier; one dropped, by its own status
                kept = row.email_step == index and row.has_email
                status = row.email_status if kept else answer.email_status
                cell[2] += status == USABLE_STATUS
                cell[3] += 1
        self._left[block] -= 1
        if self._left[block] == 0:
            self._done[block].set()

    # -- the rest ------------------------------------------------------------------------
    def _costs_in(self, posterior: Posterior, segment: str) -> dict[str, StepCost]:
        """The step costs, each hit carrying the verification an unusable find may need."""
        if not self._verify_usd:
            return self.costs
        out = {}
        for name, cost in self.costs.items():
            unusable = 1.0 - posterior.cell(segment, name).usable.mean
            out[name] = StepCost(cost.hit_usd + self._verify_usd * unusable, cost.miss_usd)
        return out

    def _arrange(self, static: Sequence[int], order: Sequence[str]) -> list[int]:
        """``static`` with its orderable steps replaced, slot by slot, by ``order``."""
        chosen = iter(self._index_of[name] for name in order)
        orderable = set(self.indices)
        return [next(chosen) if index in orderable else index for index in static]

    async def _posterior(self, block: int) -> tuple[Posterior, float] | None:
        """The posterior block ``block`` is ordered from (``None`` if the run stops first)."""
        taken = self._posteriors.get(block)
        if taken is not None:
            return taken
        last = block - LAG - 1  # the last block it learns from
        for earlier in range(self._ready + 1, last + 1):
            if not await self._wait_for(earlier):
                return None
            self._ready = max(self._ready, earlier)  # it and every block before it are done
        taken = self._posteriors.get(block)  # another row of the block may have taken it
        if taken is None and self.stopping() is None:
            while len(self._prefix) <= last:
                before = self._prefix[-1] if self._prefix else {}
                self._prefix.append(add_counts(before, self._learned[len(self._prefix)]))
            posterior = Posterior(self.priors, self._prefix[last] if last >= 0 else {})
            value = value_of_usable(posterior, self.weights, self.names, self.costs)
            taken = self._posteriors[block] = (posterior, value)
            self.log.flush()  # the blocks before were decided: write them in one go
        return taken

    async def _wait_for(self, block: int) -> bool:
        """Wait until ``block`` is done; ``False`` when the run stops first."""
        event = self._done[block]
        if not event.is_set():
            self._waiters += 1
            if self._watcher is None or self._watcher.done():
                self._watcher = asyncio.create_task(self._watch())
            try:
                await event.wait()
            finally:
                self._waiters -= 1
        return not self._halted

    async def _watch(self) -> None:
        """While rows wait: when the run is told to stop, release them all (one poller for
        every waiting row)."""
        while self._waiters > 0:
            if self.stopping() is not None:
                self._halted = True
                for event in self._done:
                    event.set()
                return
            await asyncio.sleep(_WAIT_POLL_S)

    async def close(self) -> None:
        """At the end of the run: stop the poller, write the decisions not yet written."""
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        self.log.flush()

    def summary(self) -> dict[str, Any]:
        """What the run did, for ``result.totals["adaptive"]``."""
        return {
            "decided": self.decided,
            "reused": self.reused,
            "block_size": self.block_size,
            "blocks": len(self._done),
            "seed": self.seed,
            "prior": self.priors.basis,
            "steps": list(self.names),
        }


__all__ = ["LAG", "AdaptiveOrder", "block_size_for", "row_rng", "segment_of", "step_costs"]


def check_adaptive(wf: Any, columns: Sequence[str], backends: Any) -> None:
    """Refuse, before anything is registered or spent, what an adaptive run cannot do."""
    from gtmkit.waterfall.backends import LocalBackends
    from gtmkit.waterfall.options import RunOptionsError
    from gtmkit.waterfall.spec import SpecError

    if backends is not None and not isinstance(backends, LocalBackends):
        raise RunOptionsError(
            "order='adaptive' learns from every row of the run in one process: run it directly "
            "(not on the queue tier's shared backends), or use a static order there"
        )
    absent = [c for c in (wf.segment_by or ()) if c not in columns]
    if absent:
        raise SpecError(
            f"segment_by names column(s) {absent} that the list does not have (its columns: "
            f"{sorted(columns)}); add them to the list or change segment_by"
        )


def adaptive_order(
    wf: Any,
    policy: RowPolicy,
    rows: Sequence[RowState],
    *,
    providers: Mapping[str, Any],
    prices: Mapping[str, float],
    ledger: Any,
    info: Any,
    seed: int,
    rerun: bool,
    stopping: Callable[[], str | None],
) -> AdaptiveOrder:
    """The order policy of a run: the chain's recorded settings and prior when it resumes (or,
    with ``rerun``, those of the earlier chain it reruns), else new ones — the prior from the
    ledger's history (``adaptive_prior``) — recorded before any row is decided."""
    from gtmkit.waterfall.adaptive_prior import seed_priors

    chain_id = info.chain_id
    log = DecisionLog(ledger, chain_id=chain_id, run_id=info.run_id)
    segment_by = list(wf.segment_by or ())
    names = [policy.steps[i].provider for i in orderable(policy, providers)]
    settings = log.settings()
    if settings is None and rerun:
        replayed = log.rerun_of(info.fingerprint, seed)
        settings = None if replayed is None else log.begin(replayed)
    if settings is None:  # a new chain: its prior from the history, recorded before any row
        priors = seed_priors(ledger, chain_id=chain_id, providers=names, segment_by=segment_by)
        settings = log.begin(
            {"seed": seed, "segment_by": segment_by, "block_size": block_size_for(len(rows)),
             "prior": priors.to_json()}
        )  # fmt: skip
    return AdaptiveOrder(policy, rows, providers, prices, settings, log, stopping)
