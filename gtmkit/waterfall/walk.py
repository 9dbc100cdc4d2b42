"""``RowWalker``: carries one row through its steps, asking ``RowPolicy`` what to do and the
layer stack for every provider call.

Rows move independently: step 2 works on row 1 while step 1 works on row 2, and a slow
provider only holds up the rows waiting for it.

Example:
    >>> stats = StepStats()
    >>> stats.rows_in, stats.hits
    (0, 0)
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gtmkit.providers.base import Provider
from gtmkit.waterfall.breaker import CircuitBreaker
from gtmkit.waterfall.lookup import Answer, Failure, Lookup, RowAccount
from gtmkit.waterfall.policy import RowPolicy, RowState

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.waterfall.adaptive import AdaptiveOrder


@dataclass(slots=True)
class StepStats:
    """Rows that reached a step, and how many of them it found."""

    rows_in: int = 0
    hits: int = 0


class RowWalker:
    """Walks rows; ``states[i]`` always holds row ``i``'s latest state, so a row cut off by the
    deadline mid-walk still ends with what it had."""

    def __init__(
        self,
        policy: RowPolicy,
        providers: Mapping[str, Provider],
        stack: Callable[[Lookup], Awaitable[Answer | Failure]],
        *,
        breaker: CircuitBreaker,
        prices: Mapping[str, float],
        worst: Mapping[str, float],
        rows: Sequence[RowState],
        orderer: AdaptiveOrder | None = None,
    ) -> None:
        self.policy, self.providers, self.stack = policy, providers, stack
        #: ``order="adaptive"``: decides each row's order and learns from its answers
        self.orderer = orderer
        self.breaker, self.prices, self.worst = breaker, prices, worst
        verify = policy.wf.verify
        self.verify_index = len(policy.steps)
        self.stats = [StepStats() for _ in range(len(policy.steps) + (1 if verify else 0))]
        self.states: list[RowState] = list(rows)
        self.accounts = [RowAccount(row.row_id) for row in rows]
        self.walked: list[bool] = [False] * len(rows)
        self.finished: list[bool] = [False] * len(rows)

    async def walk(self, position: int) -> None:
        """Walk one row to its end (``finished`` stays false if the walk is cut off)."""
        self.walked[position] = True
        await self._steps(position)
        self.finished[position] = True
        if self.orderer is not None:
            self.orderer.finished(position, self.states[position])

    async def _steps(self, position: int) -> None:
        row = self.states[position]
        account = self.accounts[position]
        policy = self.policy
        missed_free: list[int] = []  # local learner steps that had nothing to go on yet
        orderer = self.orderer
        order = policy.order(row) if orderer is None else await orderer.order(position, row)
        for index in order:
            if not policy.wants(row, index):
                continue
            step = policy.steps[index]
            name = step.provider
            adapter = self.providers[name]
            if adapter.kind == "manual":
                row = self.states[position] = policy.handed_off(row, step)
                return
            blocked = self.breaker.blocked(name)
            if blocked is not None:
                row = self.states[position] = policy.skipped(row, f"{name} disabled: {blocked}")
                continue
            if adapter.kind != "local" and missed_free:
                # before paying: a free step that learned this row's domain meanwhile goes first
                row = self.states[position] = await self._ask_again(row, account, missed_free)
                if not policy.wants(row, index):
                    continue
            record = row.current()
            if not adapter.can_lookup(record):
                continue
            self.stats[index].rows_in += 1
            result = await self.stack(self._lookup(name, adapter, record, account, index))
            if adapter.kind == "local" and isinstance(result, Answer) and result.outcome != "hit":
                missed_free.append(index)
            if isinstance(result, Failure):
                row = self.states[position] = policy.failed(row, result)
                if row.ended:
                    return
                continue
            if result.outcome == "hit":
                self.stats[index].hits += 1
            if orderer is not None:
                orderer.saw(position, index, result)
            row, changed = policy.merge(row, index, result)
            self.states[position] = row
            if policy.needs_verification(row, changed):
                row = self.states[position] = await self._verify(row, account)
                if row.ended:
                    return

    async def _ask_again(self, row: RowState, account: RowAccount, missed: list[int]) -> RowState:
        """Re-ask free local steps whose learner now knows something about this row."""
        for index in list(missed):
            step = self.policy.steps[index]
            adapter = self.providers[step.provider]
            record = row.current()
            knows = getattr(adapter, "knows", None)
            if not self.policy.wants(row, index) or not (callable(knows) and knows(record)):
                continue
            missed.remove(index)
            result = await self.stack(self._lookup(step.provider, adapter, record, account, index))
            if isinstance(result, Answer) and result.outcome == "hit":
                self.stats[index].hits += 1
                row, changed = self.policy.merge(row, index, result)
                if self.policy.needs_verification(row, changed):
                    row = await self._verify(row, account)
        return row

    async def _verify(self, row: RowState, account: RowAccount) -> RowState:
        name = self.policy.wf.verify
        assert name is not None
        adapter = self.providers[name]
        blocked = self.breaker.blocked(name)
        if blocked is not None:
            return self.policy.skipped(row, f"{name} disabled: {blocked}")
        record = row.current()
        if not adapter.can_lookup(record):
            return row
        index = self.verify_index
        self.stats[index].rows_in += 1
        result = await self.stack(self._lookup(name, adapter, record, account, index))
        if isinstance(result, Failure):
            return self.policy.failed(row, result)
        if result.email_status == "valid":
            self.stats[index].hits += 1
        return self.policy.verified(row, result)

    def _lookup(
        self, name: str, adapter: Provider, record: Any, account: RowAccount, index: int
    ) -> Lookup:
        return Lookup(
            name=name,
            adapter=adapter,
            key=str(adapter.lookup_key(record)),
            record=record,
            row=account,
            step=index,
            worst=self.worst[name],
            price=self.prices[name],
        )
