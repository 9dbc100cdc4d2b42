"""The async waterfall pipeline.

Each representative row (intake duplicates are copied at the end) is carried through its steps
by one of a pool of worker tasks, so rows move independently: step 2 works on row 1 while
step 1 works on row 2, and a slow provider only holds up the rows waiting for it. Every
provider call goes through the same wrapper — in-run dedupe and ledger cache, exact budget
reservation, the provider's limiter, the ledger intent, the adapter, retries — so adapters stay
small (see ``gtmkit/providers/base.py``).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import itertools
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from gtmkit.providers.base import Provider
from gtmkit.providers.errors import RateLimited
from gtmkit.schema import ROW_ID
from gtmkit.waterfall.budget import Budget, BudgetExhausted, RowCap
from gtmkit.waterfall.ledger import DEFAULT_LEDGER_PATH, Ledger, open_ledger
from gtmkit.waterfall.limits import ProviderLimiter, RateLimitsOption, build_limiters
from gtmkit.waterfall.progress import Progress
from gtmkit.waterfall.result import RowOutcome, WaterfallResult, build_result
from gtmkit.waterfall.retry import CircuitBreaker, RetryPolicy
from gtmkit.waterfall.spec import Step, Waterfall

Mode = Literal["auto", "sandbox", "live"]

_STATUS_RANK = {"valid": 4, "catch_all": 3, "risky": 2, "unknown": 1, None: 0}


@dataclass(slots=True)
class Answer:
    """A provider's answer to one lookup (fresh or from the cache)."""

    outcome: str
    fields: Mapping[str, Any]
    email_status: str | None
    provider_status: str | None
    confidence: float | None
    http_status: int | None
    credits: float
    fields_json: str


@dataclass(slots=True)
class Failure:
    """Why a lookup produced no answer: ``budget``, ``row_cap``, ``disabled`` or ``error``."""

    kind: str
    reason: str


@dataclass(slots=True)
class StepStats:
    rows_in: int = 0
    hits: int = 0


@dataclass(slots=True)
class RowState:
    row_id: int
    index: int
    record: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)
    email_status: str | None = None
    confidence: float | None = None
    email_step: Step | None = None
    credits: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 0
    blocked: str | None = None
    failed: str | None = None
    manual: str | None = None
    weak_input_email: bool = False
    notes: list[str] = field(default_factory=list)

    def current(self) -> dict[str, Any]:
        merged = dict(self.record)
        merged.update(self.values)
        return merged


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


_last_stamp: list[Any] = [0, ""]


def _now_iso() -> str:
    """UTC now, ISO 8601, to the millisecond (formatted once per millisecond: a cached re-run
    stamps tens of thousands of attempts)."""
    ms = time.time_ns() // 1_000_000
    if ms != _last_stamp[0]:
        stamp = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
        _last_stamp[0], _last_stamp[1] = ms, stamp
    return _last_stamp[1]


class _Run:
    """State shared by every worker of one run."""

    def __init__(
        self,
        wf: Waterfall,
        providers: Mapping[str, Provider],
        *,
        limiters: Mapping[str, ProviderLimiter],
        budget: Budget,
        row_cap: RowCap,
        ledger: Ledger | None,
        run_id: str,
        ttl_s: float,
        retry: RetryPolicy,
        seed: int,
    ) -> None:
        self.wf = wf
        self.providers = providers
        self.limiters = limiters
        self.budget = budget
        self.row_cap = row_cap
        self.ledger = ledger
        self.run_id = run_id
        self.ttl_s = ttl_s
        self.retry = retry
        self.rng = random.Random(seed)
        self.breaker = CircuitBreaker()
        self.prices = {
            name: float((wf.prices or {}).get(name, getattr(p, "price_per_credit", 0.0) or 0.0))
            for name, p in providers.items()
        }
        self.verify_index = len(wf.steps)
        self.stats = [StepStats() for _ in range(len(wf.steps) + (1 if wf.verify else 0))]
        # the fresh part of the ledger's cache for these providers, read once per run
        self.cache: dict[tuple[str, str, str], tuple[Any, ...]] | None = None
        if ledger is not None and ttl_s > 0:
            pairs = {(n, p.endpoint) for n, p in providers.items()}
            self.cache = ledger.cache_entries(pairs, ttl_s=ttl_s)
        self.memo: dict[tuple[str, str, str], Answer] = {}
        self.inflight: dict[tuple[str, str, str], asyncio.Future[Answer | Failure]] = {}
        self.attempts: list[tuple[Any, ...]] = []
        self.seq = itertools.count(1)
        self.conditions: dict[int, list[bool]] = {}
        self.loop = asyncio.get_running_loop()
        # ledger writes batched per event-loop iteration (one writer transaction per batch)
        self._pending_intent_futs: list[asyncio.Future[None]] = []
        self._pending_records: list[tuple[Any, ...]] = []
        self._pending_cache: list[tuple[Any, ...]] = []
        self._ship_scheduled: Literal["soon", "later", False] = False

    # -- ledger batching ------------------------------------------------------------------
    def _schedule_ship(self, *, urgent: bool) -> None:
        # intents ship at the end of this loop iteration (calls wait for them); results only
        # ride along, or go on their own after a few ms, so they never add a writer wake-up
        if self._ship_scheduled == "soon":
            return
        if urgent:
            self._ship_scheduled = "soon"
            self.loop.call_soon(self._ship)
        elif not self._ship_scheduled:
            self._ship_scheduled = "later"
            self.loop.call_later(0.02, self._ship_later)

    def _ship_later(self) -> None:
        if self._ship_scheduled == "later":
            self._ship()

    def _ship(self) -> None:
        self._ship_scheduled = False
        assert self.ledger is not None
        records, cache, futs = self._pending_records, self._pending_cache, self._pending_intent_futs
        if not records and not cache:
            return
        self._pending_records, self._pending_cache, self._pending_intent_futs = [], [], []
        error: BaseException | None = None
        try:
            self.ledger.write_now(records, cache)
        except Exception as exc:  # surfaced to every call waiting on this commit
            error = exc
            if not futs:
                raise
        _resolve_all(futs, error)

    async def _intent(self, values: tuple[Any, ...]) -> None:
        fut: asyncio.Future[None] = self.loop.create_future()
        self._pending_records.append(values)
        self._pending_intent_futs.append(fut)
        self._schedule_ship(urgent=True)
        await fut

    def _log(
        self, values: tuple[Any, ...], cache: tuple[Any, ...] | None = None, *, ledger: bool = True
    ) -> None:
        self.attempts.append(values)
        if ledger and self.ledger is not None:
            self._pending_records.append(values)
            if cache is not None:
                self._pending_cache.append(cache)
            self._schedule_ship(urgent=False)

    # -- one lookup -----------------------------------------------------------------------
    async def lookup(
        self, row: RowState, step_index: int, name: str, provider: Provider, record: dict[str, Any]
    ) -> Answer | Failure:
        endpoint = provider.endpoint
        key = str(provider.lookup_key(record))
        ck = (name, endpoint, key)
        local = getattr(provider, "kind", "finder") == "local"
        while True:
            answer = self.memo.get(ck)
            if answer is not None:
                self._log_cached(row, step_index, name, endpoint, key, answer)
                return answer
            pending = self.inflight.get(ck)
            if pending is not None:
                shared = await asyncio.shield(pending)
                if isinstance(shared, Answer):
                    self._log_cached(row, step_index, name, endpoint, key, shared)
                    return shared
                if shared.kind in {"error", "disabled", "budget"}:
                    return shared
                continue  # the leader's own per-row cap stopped it: try with ours
            entry = self.cache.get(ck) if self.cache is not None and not local else None
            if entry is not None:
                outcome, fields_json, email_status, provider_status, confidence, status = entry
                answer = Answer(
                    outcome,
                    json.loads(fields_json) if fields_json != "{}" else {},
                    email_status,
                    provider_status,
                    confidence,
                    status,
                    0.0,
                    fields_json,
                )
                self.memo[ck] = answer
                self._log_cached(row, step_index, name, endpoint, key, answer)
                return answer
            fut: asyncio.Future[Answer | Failure] = self.loop.create_future()
            self.inflight[ck] = fut
            result: Answer | Failure = Failure("error", f"{name}: interrupted")
            try:
                result = await self._send(row, step_index, name, provider, record, key, local)
            finally:
                del self.inflight[ck]
                fut.set_result(result)
            if isinstance(result, Answer):
                self.memo[ck] = result
            return result

    def _log_cached(
        self, row: RowState, step: int, name: str, endpoint: str, key: str, a: Answer
    ) -> None:
        row.attempts += 1
        values = (
            self.run_id,
            next(self.seq),
            "cached",
            row.row_id,
            key,
            step,
            name,
            endpoint,
            1,
            _now_iso(),
            a.outcome,
            None,
            a.http_status,
            0.0,
            0.0,
            0,
            0.0,
            1,
            a.fields.get("email") or None,
            a.email_status,
            a.provider_status,
            a.confidence,
            a.fields_json,
        )
        # a cache use sends nothing and costs nothing: it is in the result's attempts, but
        # the ledger keeps only calls (a 20,000-row re-run then writes nothing)
        self._log(values, ledger=False)

    async def _send(
        self,
        row: RowState,
        step: int,
        name: str,
        provider: Provider,
        record: dict[str, Any],
        key: str,
        local: bool,
    ) -> Answer | Failure:
        limiter = self.limiters[name]
        price = self.prices[name]
        worst = float(getattr(provider, "max_credits", 1.0))
        endpoint = provider.endpoint
        attempt = 0
        failures: dict[str, int] = {}
        while True:
            attempt += 1
            if self.breaker.is_open(name):
                return Failure("disabled", f"{name} disabled: {self.breaker.reasons[name]}")
            if not self.row_cap.allows(row.credits, worst):
                return Failure("row_cap", f"per-row cap: {name} may cost {worst:g} credits")
            reservation = None
            if self.budget.limited and worst > 0:
                try:
                    reservation = await self.budget.reserve(worst, worst * price)
                except BudgetExhausted as exc:
                    return Failure("budget", str(exc))
            await limiter.acquire(priority=-step)
            try:
                if self.breaker.is_open(name):
                    if reservation is not None:
                        self.budget.settle(reservation, credits=0.0, usd=0.0)
                    return Failure("disabled", f"{name} disabled: {self.breaker.reasons[name]}")
                seq = next(self.seq)
                started = _now_iso()
                if self.ledger is not None and not local:
                    await self._intent(
                        (self.run_id, seq, "sent", row.row_id, key, step, name, endpoint, attempt,
                         started, None, None, None, None, 0.0, 0, 0.0, 0, None, None, None, None,
                         None)
                    )  # fmt: skip
                finding = await provider.lookup(record)
            finally:
                limiter.release()
            credits = float(finding.credits or 0.0)
            usd = credits * price
            if reservation is not None:
                self.budget.settle(reservation, credits=credits, usd=usd)
            else:
                self.budget.spent_credits += credits
                self.budget.spent_usd += usd
            row.credits += credits
            row.cost_usd += usd
            row.attempts += 1
            fields = dict(finding.fields or {})
            fields_json = json.dumps(fields, sort_keys=True, default=str)
            error = finding.error
            values = (
                self.run_id,
                seq,
                "done",
                row.row_id,
                key,
                step,
                name,
                endpoint,
                attempt,
                started,
                finding.outcome,
                error.kind if error is not None else None,
                finding.http_status,
                float(finding.latency_s or 0.0),
                credits,
                1 if credits > 0 else 0,
                usd,
                0,
                fields.get("email") or None,
                finding.email_status,
                finding.provider_status,
                finding.confidence,
                fields_json,
            )
            limiter.observe(finding.throttle)
            if finding.outcome == "error" or error is not None:
                self._log(values)
                if error is None:
                    return Failure("error", f"{name}: error without detail")
                if isinstance(error, RateLimited):
                    limiter.on_rate_limited(error.retry_after)
                if error.disables_provider:
                    self.breaker.trip(name, error)
                    return Failure("disabled", f"{name} disabled: {self.breaker.reasons[name]}")
                failures[error.kind] = failures.get(error.kind, 0) + 1
                if self.retry.should_retry(error, attempt, same_kind=failures[error.kind]):
                    await asyncio.sleep(self.retry.delay(error, attempt, self.rng))
                    continue
                return Failure("error", f"{name}: {error.kind} after {attempt} attempt(s)")
            limiter.on_success()
            cache = None
            if not local:
                cache = (
                    name,
                    endpoint,
                    key,
                    finding.outcome,
                    fields_json,
                    finding.email_status,
                    finding.provider_status,
                    finding.confidence,
                    finding.http_status,
                    credits,
                    time.time(),
                    self.run_id,
                )
            self._log(values, cache)
            return Answer(
                finding.outcome,
                fields,
                finding.email_status,
                finding.provider_status,
                finding.confidence,
                finding.http_status,
                credits,
                fields_json,
            )

    # -- one row --------------------------------------------------------------------------
    def _applies(self, step_index: int, step: Step, row: RowState) -> bool:
        if isinstance(step.when, str) and step.when == "always":
            return True
        if step_index in self.conditions and not self.conditions[step_index][row.index]:
            return False
        # one C-level set test, not a generator: this runs for every row at every step
        return not row.settled.issuperset(step.fills)

    def _email_settled(self, row: RowState) -> bool:
        if _missing(row.values.get("email")):
            return False
        if row.sources.get("email") == "input" or row.email_step is None:
            return "email" in row.settled  # intake may have flagged the input email as weak
        step = row.email_step
        if row.email_status == "valid":
            return True
        if row.email_status == "catch_all":
            if step.catch_all == "accept":
                return True
            if step.catch_all == "accept_if_confident":
                return (row.confidence or 0.0) >= step.min_confidence
            return False
        return step.stop == "first_hit"

    def _merge(self, row: RowState, step_index: int, step: Step, name: str, a: Answer) -> bool:
        """Fold an answer into the row; returns whether the row's email changed."""
        changed = False
        if a.outcome == "hit":
            self.stats[step_index].hits += 1
        for f in step.fills:
            value = a.fields.get(f)
            if a.outcome != "hit" or _missing(value):
                continue
            if f == "email":
                if a.email_status == "invalid":
                    continue
                current = row.values.get("email")
                weak_input = row.sources.get("email") == "input" and "email" not in row.settled
                if _missing(current) or weak_input:
                    self._set_email(row, step, name, value, a)
                    changed = True
                elif str(current).lower() == str(value).lower():
                    if _STATUS_RANK.get(a.email_status, 0) > _STATUS_RANK.get(row.email_status, 0):
                        row.email_status = a.email_status
                        row.confidence = a.confidence
                elif (
                    a.email_status == "valid"
                    and row.email_status != "valid"
                    and row.sources.get("email") != "input"
                ):
                    # a verified value replaces an unverified guess; the guess stays in attempts
                    self._set_email(row, step, name, value, a)
                    changed = True
            elif _missing(row.values.get(f)):
                row.values[f] = value
                row.sources[f] = name
                row.settled.add(f)
        return changed

    @staticmethod
    def _set_email(row: RowState, step: Step, name: str, value: Any, a: Answer) -> None:
        row.values["email"] = value
        row.sources["email"] = name
        row.email_status = a.email_status
        row.confidence = a.confidence
        row.email_step = step

    def _refresh_email_settled(self, row: RowState) -> None:
        if self._email_settled(row):
            row.settled.add("email")
        else:
            row.settled.discard("email")

    def _fail(self, row: RowState, failure: Failure) -> None:
        if failure.kind in {"budget", "row_cap"}:
            row.blocked = row.blocked or failure.reason
        elif failure.kind == "error":
            row.failed = row.failed or failure.reason
        else:
            row.notes.append(failure.reason)

    async def process(self, row: RowState) -> None:
        steps = self.wf.steps
        for step_index in self.wf.order_for(row.record):
            step = steps[step_index]
            if not self._applies(step_index, step, row):
                continue
            name = step.provider
            provider = self.providers[name]
            if provider.kind == "manual":
                # a hand-off to a person: the row stops here, waiting for them
                row.manual = step.label or "manual research"
                return
            if self.breaker.is_open(name):
                row.notes.append(f"{name} disabled: {self.breaker.reasons[name]}")
                continue
            record = row.current()
            if not provider.can_lookup(record):
                continue
            self.stats[step_index].rows_in += 1
            answer = await self.lookup(row, step_index, name, provider, record)
            if isinstance(answer, Failure):
                self._fail(row, answer)
                if row.blocked:
                    # out of budget: stop here rather than pay a later step out of order; a
                    # resumed run picks the row up at this step
                    return
                continue
            changed = self._merge(row, step_index, step, name, answer)
            if changed and self.wf.verify and row.email_status in {None, "risky", "unknown"}:
                await self._verify(row)
                if row.blocked:
                    return
            self._refresh_email_settled(row)

    async def _verify(self, row: RowState) -> None:
        name = self.wf.verify
        assert name is not None
        provider = self.providers[name]
        if self.breaker.is_open(name):
            row.notes.append(f"{name} disabled: {self.breaker.reasons[name]}")
            return
        record = row.current()
        if not provider.can_lookup(record):
            return
        index = self.verify_index
        self.stats[index].rows_in += 1
        answer = await self.lookup(row, index, name, provider, record)
        if isinstance(answer, Failure):
            self._fail(row, answer)
            return
        verdict = answer.email_status
        if verdict == "valid":
            self.stats[index].hits += 1
            row.email_status = "valid"
        elif verdict == "invalid":
            # the guess does not deliver: drop it (it stays in the attempts) and fall through
            row.values.pop("email", None)
            row.sources.pop("email", None)
            row.email_status = None
            row.confidence = None
            row.email_step = None
            row.notes.append(f"{name}: candidate email invalid")
        elif verdict == "catch_all":
            row.email_status = "catch_all"
        elif verdict in {"risky", "unknown"}:
            row.email_status = verdict


def _resolve_all(futs: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for fut in futs:
        if not fut.done():
            if error is None:
                fut.set_result(None)
            else:
                fut.set_exception(RuntimeError(f"ledger write failed: {error}"))


# -- inputs -------------------------------------------------------------------------------
def prepare_records(records: Any) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Accept a ``LoadedList`` or a polars frame with ``row_id``; returns (records, rejected)."""
    rejected = None
    frame = records
    if not isinstance(records, pl.DataFrame) and hasattr(records, "records"):
        frame = records.records
        rejected = getattr(records, "rejected", None)
    if not isinstance(frame, pl.DataFrame):
        raise TypeError(
            "records must be a gtmkit.load_list(...) result or a polars DataFrame, "
            f"got {type(records).__name__}"
        )
    if ROW_ID not in frame.columns:
        raise ValueError(
            f"records need a {ROW_ID!r} column (gtmkit.load_list adds it); "
            f"got columns {frame.columns}"
        )
    if frame[ROW_ID].null_count() or frame[ROW_ID].n_unique() != frame.height:
        raise ValueError(f"{ROW_ID!r} must be unique and non-null")
    if rejected is not None and (not isinstance(rejected, pl.DataFrame) or rejected.is_empty()):
        rejected = None
    return frame, rejected


def list_fingerprint(wf: Waterfall, frame: pl.DataFrame) -> str:
    digest = hashlib.sha256(wf.fingerprint().encode())
    try:
        digest.update(frame.write_csv().encode())
    except Exception:  # nested columns: fall back to polars' row hash
        digest.update(str(frame.hash_rows(seed=0).to_list()).encode())
    return digest.hexdigest()[:24]


async def _open_and_run(wf: Waterfall, frame: pl.DataFrame, rejected, options: dict[str, Any]):
    providers = options.pop("providers")
    mode = options.pop("mode")
    connect_options = options.pop("connect_options") or {}
    if providers is None:
        from gtmkit.providers import connect

        async with connect(list(wf.providers), mode=mode, **connect_options) as conn:
            mapping = {name: conn[name] for name in wf.providers}
            sandbox = {name: conn.mode_of(name) == "sandbox" for name in wf.providers}
            return await _run(wf, frame, rejected, mapping, sandbox, **options)
    if isinstance(providers, Mapping):
        mapping = dict(providers)
        sandbox = {name: False for name in mapping}
    else:  # an open connection
        mapping = {name: providers[name] for name in wf.providers if name in providers.names}
        sandbox = {name: providers.mode_of(name) == "sandbox" for name in mapping}
    missing = [name for name in wf.providers if name not in mapping]
    if missing:
        raise KeyError(f"no provider given for {missing} (have: {sorted(mapping)})")
    return await _run(wf, frame, rejected, mapping, sandbox, **options)


async def _run(
    wf: Waterfall,
    frame: pl.DataFrame,
    rejected: pl.DataFrame | None,
    providers: Mapping[str, Provider],
    sandbox: Mapping[str, bool],
    **options: Any,
) -> WaterfallResult:
    """``_run_frozen`` (which names every option) with the pre-run heap frozen for the GC."""
    started = time.perf_counter()
    # objects alive before the run (a notebook's whole heap) need no GC scans while it runs:
    # on a big list the collector otherwise keeps re-walking them
    gc.freeze()
    try:
        return await _run_frozen(
            wf, frame, rejected, providers, sandbox, started=started, **options
        )
    finally:
        gc.unfreeze()


async def _run_frozen(
    wf: Waterfall,
    frame: pl.DataFrame,
    rejected: pl.DataFrame | None,
    providers: Mapping[str, Provider],
    sandbox: Mapping[str, bool],
    *,
    started: float,
    budget_credits: float | None,
    budget_usd: float | None,
    per_row_cap_credits: float | None,
    ledger: str | Path | Ledger | None,
    progress: bool,
    concurrency: int | None,
    cache_ttl_days: float,
    rate_limits: RateLimitsOption,
    max_in_flight: int | None,
    retry: RetryPolicy | None,
    resume: bool,
    seed: int,
) -> WaterfallResult:
    if cache_ttl_days < 0:
        raise ValueError("cache_ttl_days must be >= 0")
    budget = Budget(budget_credits, budget_usd)
    row_cap = RowCap(per_row_cap_credits)
    limiters = build_limiters(providers, rate_limits, sandbox=sandbox, max_in_flight=max_in_flight)
    the_ledger, owned = open_ledger(ledger)
    try:
        if the_ledger is not None:
            info = the_ledger.begin_run(list_fingerprint(wf, frame), name=wf.name, resume=resume)
            run_id, in_flight = info.run_id, info.resumed_in_flight
        else:
            run_id, in_flight = hashlib.sha256(str(time.time_ns()).encode()).hexdigest()[:32], 0
        run = _Run(
            wf,
            providers,
            limiters=limiters,
            budget=budget,
            row_cap=row_cap,
            ledger=the_ledger,
            run_id=run_id,
            ttl_s=cache_ttl_days * 86400.0,
            retry=retry or RetryPolicy(),
            seed=seed,
        )
        for i, step in enumerate(wf.steps):
            if isinstance(step.when, pl.Expr):
                run.conditions[i] = frame.select(step.when.fill_null(False)).to_series().to_list()

        rows, duplicates = _row_states(wf, frame)
        bar = Progress(len(rows) + len(duplicates), enabled=progress, desc=wf.name)
        if in_flight:
            bar.note(
                f"resuming an interrupted run of this list: {in_flight} call(s) were in flight "
                "when it stopped; only those can be paid again"
            )
        queue: asyncio.Queue[RowState] = asyncio.Queue()
        for row in rows:
            queue.put_nowait(row)
        workers = concurrency or max(
            64, min(2048, 8 * sum(lim.max_in_flight for lim in limiters.values()))
        )
        workers = max(1, min(workers, len(rows) or 1))

        async def worker() -> None:
            while True:
                try:
                    row = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await run.process(row)
                bar.row_done(
                    hit=not _missing(row.values.get("email")), credits=budget.spent_credits
                )

        setup_s = time.perf_counter() - started
        tasks = [asyncio.create_task(worker()) for _ in range(workers)]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            if the_ledger is not None:
                run._ship()
                await asyncio.to_thread(the_ledger.flush)
        bar.rows_done(len(duplicates))
        bar.close()
        if the_ledger is not None:
            the_ledger.finish_run(run_id)
        outcomes = {r.row_id: _outcome(r) for r in rows}
        rows_s = time.perf_counter() - started - setup_s
        result = build_result(
            wf,
            frame,
            rejected,
            outcomes,
            duplicates,
            run.attempts,
            run.stats,
            breaker_reasons=dict(run.breaker.reasons),
            totals_extra={
                "run_id": run_id,
                "resumed_in_flight": in_flight,
                "ledger": str(the_ledger.path) if the_ledger is not None else None,
                "budget_peak_committed_credits": budget.peak_committed_credits,
                "budget_peak_committed_usd": budget.peak_committed_usd,
                "elapsed_s": time.perf_counter() - started,
                "throttled": {n: lim.stats.throttled for n, lim in limiters.items()},
                "limits": {
                    n: {
                        "sent": lim.stats.sent,
                        "throttled": lim.stats.throttled,
                        "waited_s": round(lim.stats.waited_s, 3),
                        "final_per_second": lim.per_second,
                    }
                    for n, lim in limiters.items()
                },
            },
        )
        result.totals["timings_s"] = {
            "setup": round(setup_s, 3),
            "rows": round(rows_s, 3),
            "result": round(time.perf_counter() - started - setup_s - rows_s, 3),
        }
        return result
    finally:
        if owned and the_ledger is not None:
            the_ledger.close()


def _row_states(wf: Waterfall, frame: pl.DataFrame) -> tuple[list[RowState], dict[int, int]]:
    fill_fields = {"email", *(f for s in wf.steps for f in s.fills)}
    has_dup = "duplicate_of" in frame.columns
    ids = set(frame[ROW_ID].to_list())
    rows: list[RowState] = []
    duplicates: dict[int, int] = {}
    for index, record in enumerate(frame.iter_rows(named=True)):
        row_id = record[ROW_ID]
        dup = record.get("duplicate_of") if has_dup else None
        if dup is not None and dup in ids and dup != row_id:
            duplicates[row_id] = dup
            continue
        row = RowState(row_id=row_id, index=index, record=record)
        for f in fill_fields:
            if f in record and not _missing(record[f]):
                row.values[f] = record[f]
                row.sources[f] = "input"
                row.settled.add(f)
        if "email" in row.values and (
            record.get("email_is_personal") is True or record.get("email_valid") is False
        ):
            # intake flagged it (webmail or undeliverable): keep it, but look for a work email
            row.settled.discard("email")
            row.weak_input_email = True
        if "email" in row.values and "email_status" in record and record["email_status"]:
            row.email_status = record["email_status"]
        rows.append(row)
    # a duplicate of a duplicate points at the chain's representative
    for row_id, target in list(duplicates.items()):
        seen = {row_id}
        while target in duplicates and target not in seen:
            seen.add(target)
            target = duplicates[target]
        duplicates[row_id] = target
    return rows, duplicates


def _outcome(row: RowState) -> RowOutcome:
    enriched = any(src != "input" for src in row.sources.values())
    has_email = not _missing(row.values.get("email"))
    if row.blocked:
        status, reason = "budget_exhausted", row.blocked
    elif row.failed:
        status, reason = "failed", row.failed
    elif row.manual and not has_email:
        status, reason = "manual", f"handed off to {row.manual}"
    elif enriched:
        status, reason = "enriched", None
    elif has_email and not row.weak_input_email:
        status, reason = "enriched", "already complete in the input"
    else:
        status = "not_found"
        notes = list(dict.fromkeys(row.notes))
        if row.weak_input_email:
            notes.append("only the input email, flagged personal or invalid at intake")
        reason = "; ".join(notes) or "no provider found it"
    return RowOutcome(
        values=dict(row.values),
        sources=dict(row.sources),
        email_status=row.email_status if has_email else None,
        credits=row.credits,
        cost_usd=row.cost_usd,
        attempts=row.attempts,
        status=status,
        reason=reason,
    )


async def run_async(
    wf: Waterfall,
    records: Any,
    *,
    budget_credits: float | None = None,
    budget_usd: float | None = None,
    per_row_cap_credits: float | None = None,
    ledger: str | Path | Ledger | None = DEFAULT_LEDGER_PATH,
    providers: Any = None,
    mode: Mode = "auto",
    progress: bool = True,
    concurrency: int | None = None,
    cache_ttl_days: float = 90,
    rate_limits: RateLimitsOption = "auto",
    max_in_flight: int | None = None,
    retry: RetryPolicy | None = None,
    resume: bool = True,
    seed: int = 0,
    connect_options: Mapping[str, Any] | None = None,
) -> WaterfallResult:
    """Run a waterfall over a list (async). ``Waterfall.run`` is the same from sync code.

    Args:
        wf: the spec.
        records: a ``LoadedList`` (rejected rows are carried into the result) or a polars frame
            with ``row_id`` (and optionally ``duplicate_of``).
        budget_credits: hard cap in credits for this run (``None`` = no cap).
        budget_usd: hard cap in dollars (credits × each provider's price per credit).
        per_row_cap_credits: most credits one row may cost.
        ledger: path of the SQLite ledger (default ``data/ledger.sqlite``), an open
            :class:`Ledger`, or ``None`` for no ledger (no cache, no resume).
        providers: an open ``gtmkit.providers.connect(...)`` connection or ``{name: Provider}``;
            ``None`` opens ``connect(wf.providers, mode=mode, **connect_options)``.
        mode: ``"auto"`` | ``"sandbox"`` | ``"live"`` when the engine opens the providers.
        progress: show tqdm bars (rows done, hits, credits).
        concurrency: rows in flight at once (default: 8× the providers' in-flight caps).
        cache_ttl_days: cache entries older than this are looked up again (0 = no cache).
        rate_limits: ``"auto"``, ``"off"`` or ``{provider: RateLimit | requests per second}``.
        max_in_flight: override every provider's in-flight cap.
        retry: backoff policy (default :class:`RetryPolicy`).
        resume: close earlier interrupted runs of the same spec and list, reporting the calls
            that were in flight when they stopped (``result.totals["resumed_in_flight"]``).
        seed: seeds the retry jitter.
        connect_options: extra keyword arguments for ``gtmkit.providers.connect``.
    """
    frame, rejected = prepare_records(records)
    options = {
        "providers": providers,
        "mode": mode,
        "connect_options": connect_options,
        "budget_credits": budget_credits,
        "budget_usd": budget_usd,
        "per_row_cap_credits": per_row_cap_credits,
        "ledger": ledger,
        "progress": progress,
        "concurrency": concurrency,
        "cache_ttl_days": cache_ttl_days,
        "rate_limits": rate_limits,
        "max_in_flight": max_in_flight,
        "retry": retry,
        "resume": resume,
        "seed": seed,
    }
    return await _open_and_run(wf, frame, rejected, options)
