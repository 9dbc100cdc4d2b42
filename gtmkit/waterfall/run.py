"""Running a waterfall: open the ledger (before any money can be spent), connect the
providers, assemble the layer stack, walk the rows with a pool of workers, and build the result.

The pieces are in their own modules (``layers``, ``walk``, ``policy``, ``journal``...); this
one only wires them and keeps the run's clock: the deadline, cancel, the breaker's watchdog,
progress.

Example:
    >>> import polars as pl
    >>> from gtmkit.waterfall import RunOptions, Step, Waterfall
    >>> from gtmkit.waterfall.sync import run_sync
    >>> leads = pl.DataFrame({"row_id": [0], "first_name": ["Ada"], "last_name": ["Byron"],
    ...                       "company_domain": ["acme.io"]})
    >>> wf = Waterfall([Step("pattern")])  # the free local step: no key, no network
    >>> result = run_sync(run_waterfall(wf, leads, RunOptions(ledger=None, progress=False)))
    >>> result.totals["rows"], result.totals["credits"]
    (1, 0.0)
"""

from __future__ import annotations

import asyncio
import gc
import random
import time
from collections.abc import Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import polars as pl

from gtmkit.errors import NotFound
from gtmkit.providers.base import Provider
from gtmkit.schema import ROW_ID
from gtmkit.waterfall.attempt import Attempt
from gtmkit.waterfall.backends import Backends, LocalBackends, RunContext
from gtmkit.waterfall.breaker import CircuitBreaker
from gtmkit.waterfall.budget import RowCap
from gtmkit.waterfall.control import RunControl
from gtmkit.waterfall.interfaces import BudgetAccount, RateLimiter
from gtmkit.waterfall.journal import MemoryJournal
from gtmkit.waterfall.layers import Batch, Cache, Call, Claim, Guard, Meter, Pace, Record
from gtmkit.waterfall.ledger import Ledger, RunInfo, open_ledger
from gtmkit.waterfall.lookup import Failure
from gtmkit.waterfall.options import RunOptions
from gtmkit.waterfall.policy import RowPolicy
from gtmkit.waterfall.pricing import run_prices, worst_cases
from gtmkit.waterfall.progress import Progress
from gtmkit.waterfall.result import WaterfallResult, build_result
from gtmkit.waterfall.rows import prepare_records, representatives
from gtmkit.waterfall.spec import Waterfall
from gtmkit.waterfall.walk import RowWalker

#: after the deadline, how long calls already abandoned get to unwind before workers stop
_DEADLINE_GRACE_S = 2.0


async def run_waterfall(wf: Waterfall, records: Any, options: RunOptions) -> WaterfallResult:
    """Run ``wf`` over ``records`` (see ``Waterfall.run``)."""
    frame, rejected = prepare_records(records)
    ledger, owned = open_ledger(options.ledger)  # a bad ledger fails here, before any call
    try:
        if options.providers is None:
            from gtmkit.providers import connect

            names = list(wf.providers)
            async with connect(names, mode=options.mode, **(options.connect_options or {})) as conn:
                modes = {name: str(conn.mode_of(name)) for name in names}
                return await _run(wf, frame, rejected, {n: conn[n] for n in names}, modes,
                                  ledger, options)  # fmt: skip
        given = options.providers
        if isinstance(given, Mapping) and not hasattr(given, "mode_of"):
            # adapters handed over as they are: whether they are live is the caller's to know
            mapping, modes = dict(given), dict.fromkeys(given, "given")
        else:  # an open connection
            mapping = {n: given[n] for n in wf.providers if n in given}
            modes = {n: str(given.mode_of(n)) for n in mapping}
        missing = [name for name in wf.providers if name not in mapping]
        if missing:
            raise NotFound(f"no provider given for {missing} (have: {sorted(mapping)})")
        return await _run(wf, frame, rejected, mapping, modes, ledger, options)
    finally:
        if owned and ledger is not None:
            ledger.close()


@dataclass(slots=True)
class _Parts:
    """What one run is made of, built by :func:`_assemble`."""

    info: RunInfo
    budget: BudgetAccount
    limiters: Mapping[str, RateLimiter]
    breaker: CircuitBreaker
    control: RunControl
    journal: MemoryJournal
    walker: RowWalker
    duplicates: dict[int, int]
    backends: Backends
    #: batched providers' queues: told how many rows are walking, so the last batch goes at once
    batch: Batch


def _fields_wanted(wf: Waterfall) -> dict[str, frozenset[str]]:
    """Per provider, the fields its steps fill (a provider in two steps: both steps' fields)."""
    wanted: dict[str, set[str]] = {}
    for step in wf.steps:
        wanted.setdefault(step.provider, set()).update(step.fills)
    return {name: frozenset(fields) for name, fields in wanted.items()}


def _assemble(
    wf: Waterfall,
    frame: pl.DataFrame,
    providers: Mapping[str, Provider],
    modes: Mapping[str, str],
    ledger: Ledger | None,
    options: RunOptions,
) -> _Parts:
    if wf.order == "adaptive":
        from gtmkit.waterfall.adaptive import check_adaptive

        check_adaptive(wf, frame.columns, options.backends)
    conditions = {
        i: frame.select(step.when.fill_null(False)).to_series().to_list()
        for i, step in enumerate(wf.steps)
        if isinstance(step.when, pl.Expr)
    }
    for name, fields in _fields_wanted(wf).items():
        # an adapter that sells a field separately (a phone reveal) asks for it, prices its
        # worst case and keys its lookups by it only when a step wants that field
        want = getattr(providers.get(name), "want_fields", None)
        if callable(want):
            want(fields)
    for adapter in providers.values():
        # a local learner (the pattern guess) starts from the emails the list already holds,
        # so what it knows does not depend on which finders happen to answer first
        learn = getattr(adapter, "observe", None)
        if adapter.kind == "local" and callable(learn):
            learn(frame)
    policy = RowPolicy(wf, conditions)
    duplicates = representatives(frame)
    rows = [
        policy.start(record, index=i)
        for i, record in enumerate(frame.iter_rows(named=True))
        if record[ROW_ID] not in duplicates
    ]
    backends = options.backends or LocalBackends(ledger)
    ctx = RunContext(wf, frame, providers, modes, options)
    info = backends.begin(ctx)
    journal = backends.journal(ctx, info)
    budget = backends.budget(ctx, info)
    limiters = backends.limiters(ctx)
    breaker = backends.breaker(ctx)
    control = RunControl(deadline_s=options.deadline_s, cancel=options.cancel)
    cache = backends.cache(ctx, info, journal)
    claims = backends.claims(ctx, info, control)
    call = Call(breaker, control)
    batch = Batch(Pace(Record(call, journal), limiters, breaker))
    metered = Meter(
        batch, budget=budget, row_cap=RowCap(options.per_row_cap_credits), breaker=breaker
    )
    batch.unconfirmed = lambda name: name not in metered.confirmed  # probes go one at a time
    guarded = Guard(metered, retry=options.retry, breaker=breaker, control=control,
                    rng=random.Random(options.seed))  # fmt: skip
    stack = Claim(Cache(guarded, cache, journal), journal, claims)
    prices = run_prices(wf, providers)
    orderer = None
    if wf.order == "adaptive":
        from gtmkit.waterfall.adaptive import adaptive_order

        orderer = adaptive_order(
            wf, policy, rows, providers=providers, prices=prices, ledger=ledger, info=info,
            seed=options.seed, rerun=options.resume, stopping=control.stopping,
        )  # fmt: skip
    walker = RowWalker(
        policy, providers, stack, breaker=breaker, rows=rows,
        prices=prices, worst=worst_cases(providers), orderer=orderer,
    )  # fmt: skip
    return _Parts(
        info, budget, limiters, breaker, control, journal, walker, duplicates, backends, batch
    )


async def _run(
    wf: Waterfall,
    frame: pl.DataFrame,
    rejected: pl.DataFrame | None,
    providers: Mapping[str, Provider],
    modes: Mapping[str, str],
    ledger: Ledger | None,
    options: RunOptions,
) -> WaterfallResult:
    started = time.perf_counter()
    # objects alive before the run (a notebook's whole heap) need no GC scans while it runs
    gc.freeze()
    try:
        parts = _assemble(wf, frame, providers, modes, ledger, options)
        setup_s = time.perf_counter() - started
        stopped = await _walk_all(wf, parts, options)
        walker = parts.walker
        for position, walked in enumerate(walker.walked):
            if not walked and stopped:  # never started: cancelled or out of time
                walker.states[position] = walker.policy.failed(
                    walker.states[position], Failure("stopped", stopped)
                )
        parts.journal.flush()
        if walker.orderer is not None:
            await walker.orderer.close()
        parts.backends.finish(parts.info, _final_status(walker, stopped, parts.journal.attempts))
        rows_s = time.perf_counter() - started - setup_s
        result = _result(wf, frame, rejected, parts, options, started)
        #: per provider: "sandbox", "live", "local", or "given" (adapters handed in as they are)
        result.totals["modes"] = {name: modes.get(name, "given") for name in providers}
        if walker.orderer is not None:  # order="adaptive": which order each row got, and why
            result.decisions = walker.orderer.log.frame()
            result.totals["adaptive"] = walker.orderer.summary()
        #: per batched provider: requests, mean records per request, share of full requests
        result.totals["batches"] = parts.batch.fill()
        result.totals["timings_s"] = {
            "setup": round(setup_s, 3),
            "rows": round(rows_s, 3),
            "result": round(time.perf_counter() - started - setup_s - rows_s, 3),
        }
        return result
    finally:
        gc.unfreeze()


async def _walk_all(wf: Waterfall, parts: _Parts, options: RunOptions) -> str | None:
    """Walk every row with a pool of workers; returns why the run stopped early, if it did."""
    walker, control, breaker, batch = parts.walker, parts.control, parts.breaker, parts.batch
    total = len(walker.states) + len(parts.duplicates)
    bar = Progress(total, enabled=options.progress, desc=wf.name,
                   budget_credits=options.budget_credits,
                   details=lambda: _per_provider(parts))  # fmt: skip
    if parts.info.resumed_from and parts.info.spent_credits and options.budget_credits is not None:
        bar.note(
            f"continuing the run of this list that did not finish: the "
            f"{parts.info.spent_credits:g} credits it spent count against budget_credits="
            f"{options.budget_credits:g} (pass a larger budget to spend more, or resume=False "
            "to start a new run)"
        )
    if parts.info.resumed_in_flight:
        bar.note(
            f"resuming an interrupted run of this list: {parts.info.resumed_in_flight} call(s) "
            "were in flight when it stopped; only those can be paid again"
        )
    positions = iter(range(len(walker.states)))

    async def worker() -> None:
        for position in positions:
            if control.stopping():
                return
            batch.row_started()
            try:
                await walker.walk(position)
            finally:
                batch.row_ended()
            bar.row_done(hit=walker.states[position].has_email,
                         credits=parts.budget.spent_credits)  # fmt: skip

    async def watchdog() -> None:
        while True:  # a hung provider answers nothing, so nothing else would notice
            await asyncio.sleep(0.25)
            for name in breaker.watched():
                breaker.check(name)
            bar.stopping = control.stopping()

    size = options.concurrency or max(
        64, min(2048, 8 * sum(lim.max_in_flight for lim in parts.limiters.values()))
    )
    tasks = [asyncio.create_task(worker()) for _ in range(max(1, min(size, len(walker.states))))]
    dog = asyncio.create_task(watchdog())
    try:
        deadline = control.loop_deadline()
        async with asyncio.timeout_at(None if deadline is None else deadline + _DEADLINE_GRACE_S):
            await asyncio.gather(*tasks)
    except TimeoutError:
        pass  # the deadline passed: rows still walking end ``stopped`` with what they have
    finally:
        dog.cancel()
        for task in tasks:
            task.cancel()
        for task in (*tasks, dog):
            with suppress(asyncio.CancelledError, TimeoutError):
                await task
    bar.rows_done(len(parts.duplicates))
    stopped = control.stopping()
    bar.stopping = stopped
    bar.close(finished=True)
    for position, walked in enumerate(walker.walked):
        if walked and not walker.finished[position]:  # cut off mid-walk at the deadline
            walker.states[position] = walker.policy.failed(
                walker.states[position], Failure("stopped", stopped or "run interrupted")
            )
    return stopped


def _final_status(walker: RowWalker, stopped: str | None, attempts: Sequence[Attempt]) -> str:
    """How the run ends in the ledger: ``incomplete`` when its budget cut rows short, or when a
    paid call's outcome is still unknown (held at worst case), so a rerun continues it (and its
    budget) rather than starting over. The rerun asks those lookups again, and the provider may
    have billed the first ask: a fresh budget would let the two together pass the cap."""
    if stopped:
        return "stopped"
    if any(state.ended in ("budget", "row_cap") for state in walker.states):
        return "incomplete"
    if any(a.credits_held > 0 for a in attempts):
        return "incomplete"
    return "finished"


def _ledger_path(options: RunOptions) -> str | None:
    if options.ledger is None:
        return None
    return str(getattr(options.ledger, "path", options.ledger))


def _per_provider(parts: _Parts) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for a in parts.journal.attempts:
        entry = out.setdefault(a.provider, {"calls": 0, "hits": 0, "credits": 0.0})
        if not a.cached:
            entry["calls"] += 1
        entry["hits"] += a.outcome == "hit"
        entry["credits"] += a.credits
    return out


def _result(
    wf: Waterfall,
    frame: pl.DataFrame,
    rejected: pl.DataFrame | None,
    parts: _Parts,
    options: RunOptions,
    started: float,
) -> WaterfallResult:
    walker, budget = parts.walker, parts.budget
    outcomes = {}
    for row, account in zip(walker.states, walker.accounts, strict=True):
        outcome = walker.policy.outcome(row)
        outcome.credits, outcome.cost_usd = account.credits, account.cost_usd
        outcome.attempts = account.attempts
        outcomes[row.row_id] = outcome
    limiters = parts.limiters
    return build_result(
        wf, frame, rejected, outcomes, parts.duplicates, parts.journal.attempts, walker.stats,
        breaker_reasons=dict(parts.breaker.history),
        totals_extra={
            "run_id": parts.info.run_id,
            "chain_id": parts.info.chain_id,
            "resumed_in_flight": parts.info.resumed_in_flight,
            "ledger": _ledger_path(options),
            "budget_credits": options.budget_credits,
            "budget_usd": options.budget_usd,
            "spent_credits_all_resumes": budget.spent_credits,
            "spent_usd_all_resumes": budget.spent_usd,
            "overspent_credits": budget.overspent_credits,
            "budget_peak_committed_credits": budget.peak_committed_credits,
            "budget_peak_committed_usd": budget.peak_committed_usd,
            "elapsed_s": time.perf_counter() - started,
            "refused_calls": sum(lim.stats.throttled for lim in set(limiters.values())),
            "throttled": {n: lim.stats.throttled for n, lim in limiters.items()},
            "limits": {
                n: {
                    "sent": lim.stats.sent,
                    "throttled": lim.stats.throttled,
                    "waited_s": round(lim.stats.waited_s, 3),
                    "final_per_second": lim.per_second,
                    "announced_per_second": lim.announced,
                }
                for n, lim in limiters.items()
            },
        },
    )  # fmt: skip
