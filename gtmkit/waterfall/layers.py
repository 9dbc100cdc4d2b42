"""The stack every provider call goes through, one job and one method per layer.

``Claim`` → ``Cache`` → ``Guard`` → ``Meter`` → ``Batch`` → ``Pace`` → ``Record`` →
``Call`` (drawn, with the path of one call, in ``README.md``). Each layer is handed the next
one and its own dependencies, and is tested alone with a fake next layer
(``tests/test_waterfall_layers.py``).
Layers above ``Meter`` see ``Answer | Failure``; below it, ``Sent | Answer | Failure`` (a
``Sent`` is a call that went out, with what it is booked at).

Example:
    >>> import asyncio
    >>> from gtmkit.waterfall.journal import MemoryJournal
    >>> from gtmkit.waterfall.lookup import Lookup, RowAccount
    >>> from gtmkit.providers import provider_class
    >>> calls = []
    >>> async def provider_side(lk):
    ...     calls.append(lk.key)
    ...     return Answer("hit", {"email": "ada@acme.io"}, "valid")
    >>> claim = Claim(provider_side, MemoryJournal("r"), claims=None)
    >>> def ask():
    ...     return Lookup("hunter", provider_class("hunter"), "ada|acme.io", {},
    ...                   RowAccount(1), step=0, worst=1.0, price=0.1)
    >>> async def two_rows_same_person():
    ...     return await asyncio.gather(claim(ask()), claim(ask()))
    >>> [a.cached for a in asyncio.run(two_rows_same_person())], calls
    ([False, True], ['ada|acme.io'])
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from gtmkit.providers.base import Finding
from gtmkit.providers.errors import (
    BadRequest,
    MalformedResponse,
    ProviderDown,
    ProviderError,
    ProviderTimeout,
    RateLimited,
)
from gtmkit.waterfall.attempt import Attempt
from gtmkit.waterfall.breaker import CircuitBreaker
from gtmkit.waterfall.budget import BudgetExhausted, RowCap
from gtmkit.waterfall.control import RunControl
from gtmkit.waterfall.interfaces import BudgetAccount, CacheStore, Claims, RateLimiter
from gtmkit.waterfall.journal import MemoryJournal
from gtmkit.waterfall.lookup import Answer, ClaimKey, Failure, Lookup, Sent
from gtmkit.waterfall.retry import RetryPolicy

Up = Answer | Failure
Down = Sent | Answer | Failure
Next = Callable[[Lookup], Awaitable[Any]]

_EPS = 1e-9
#: error kinds that say nothing about the provider's health (the row's input was refused)
_NOT_HEALTH = frozenset({"bad_request"})


class Claim:
    """One call per lookup: in this process the first row pays and the others await its
    answer; across processes, a lookup another one is paying for is waited for."""

    def __init__(self, inner: Next, journal: MemoryJournal, claims: Claims | None) -> None:
        self.inner, self.journal, self.claims = inner, journal, claims
        self.memo: dict[ClaimKey, Answer] = {}
        #: lookups being paid for in this process; the future is made by the first row that
        #: waits for one (most lookups have nobody waiting: no future to make and resolve)
        self.pending: dict[ClaimKey, asyncio.Future[Up] | None] = {}

    async def __call__(self, lk: Lookup) -> Up:
        key = lk.claim_key
        while True:
            answer = self.memo.get(key)
            if answer is not None:
                self.journal.used(lk, answer)
                return answer.reused()
            if key not in self.pending:
                return await self._lead(lk, key)
            pending = self.pending[key]
            if pending is None:
                pending = self.pending[key] = asyncio.get_running_loop().create_future()
            result = await asyncio.shield(pending)
            if isinstance(result, Failure) and result.kind not in ("row_cap", "busy"):
                return result  # the leader's row cap is its own: try again under ours

    async def _lead(self, lk: Lookup, key: ClaimKey) -> Up:
        self.pending[key] = None
        result: Up = Failure("stopped", f"{lk.name}: interrupted")
        try:
            result = await self.inner(lk)
            while isinstance(result, Failure) and result.kind == "busy":
                other = await self.claims.wait_for(key) if self.claims is not None else None
                if other is not None:
                    self.journal.used(lk, other)
                    result = other
                else:
                    result = await self.inner(lk)
            if isinstance(result, Answer):
                self.memo[key] = result
            return result
        finally:
            future = self.pending.pop(key)
            if future is not None:
                future.set_result(result)


class Cache:
    """An answer bought within the TTL (by any run on the ledger) costs nothing."""

    def __init__(self, inner: Next, store: CacheStore | None, journal: MemoryJournal) -> None:
        self.inner, self.store, self.journal = inner, store, journal

    async def __call__(self, lk: Lookup) -> Up:
        if self.store is None or lk.local:
            return await self.inner(lk)  # type: ignore[no-any-return]
        key = lk.claim_key
        answer = await self.store.get(key)
        if answer is None:
            answer = await _under_legacy_key(self.store, lk)
        if answer is not None:
            self.journal.used(lk, answer)
            return answer
        result: Up = await self.inner(lk)
        if isinstance(result, Answer) and not result.cached:
            self.store.put(key, result)
        return result


async def _under_legacy_key(store: CacheStore, lk: Lookup) -> Answer | None:
    """An answer cached under the key this lookup had before keys listed only the inputs sent
    (``Provider.legacy_lookup_key``): read, never written, so it is not paid for again."""
    # an adapter written against the older protocol has no legacy key (nor changed keys)
    legacy_key = getattr(lk.adapter, "legacy_lookup_key", None)
    legacy = legacy_key(lk.record) if legacy_key is not None else None
    if legacy is None or legacy == lk.key:
        return None
    return await store.get((lk.name, lk.adapter.endpoint, legacy))


class Guard:
    """The circuit breaker and retries. Every retry goes back through the meter below, so
    each paid attempt is reserved, ledgered and settled on its own."""

    def __init__(
        self, inner: Next, *, retry: RetryPolicy, breaker: CircuitBreaker,
        control: RunControl, rng: random.Random,
    ) -> None:  # fmt: skip
        self.inner, self.retry, self.breaker = inner, retry, breaker
        self.control, self.rng = control, rng

    async def __call__(self, lk: Lookup) -> Up:
        failures: Counter[str] | None = None  # made on the first failure: most calls have none
        while True:
            stop = self.control.stopping()
            if stop is not None:
                return Failure("stopped", stop)
            blocked = self.breaker.admit(lk.name)
            if blocked is not None:
                return Failure("disabled", f"{lk.name} disabled: {blocked}")
            lk.epoch = self.breaker.epochs.get(lk.name, 0)
            lk.attempt += 1
            result: Up = await self.inner(lk)
            error = result.error if isinstance(result, Failure) else None
            if error is None:
                if isinstance(result, Answer) and not result.cached:
                    self.breaker.succeeded(lk.name)
                return result
            if error.disables_provider:
                status = f" (HTTP {error.http_status})" if error.http_status else ""
                # it answered: calls already sent are let finish (abandoned ones were billed)
                self.breaker.trip(lk.name, f"{error.kind}{status}", abort=False)
                return Failure("disabled", f"{lk.name} disabled: {self.breaker.reasons[lk.name]}")
            if isinstance(error, RateLimited):
                self.breaker.refused(lk.name)
            elif error.kind not in _NOT_HEALTH:
                self.breaker.failed(lk.name, error.kind)
            if failures is None:
                failures = Counter()
            failures[error.kind] += 1
            if self.retry.should_retry(error, lk.attempt, same_kind=failures[error.kind]):
                await self.control.sleep(self.retry.delay(error, lk.attempt, self.rng))
                continue
            detail = f": {error}" if error.kind in _NOT_HEALTH else ""
            reason = f"{lk.name}: {error.kind} after {lk.attempt} attempt(s){detail}"
            return Failure("error", reason, error=error)


class Meter:
    """The budget: reserve a call's worst case before it goes out, settle to the provider's own
    billing signal after; an unknown outcome stays held at worst case. A provider is confirmed
    to charge what it declares before more than one of its calls is in flight; one that
    charges more is stopped."""

    def __init__(
        self, inner: Next, *, budget: BudgetAccount, row_cap: RowCap, breaker: CircuitBreaker
    ) -> None:
        self.inner, self.budget, self.row_cap, self.breaker = inner, budget, row_cap, breaker
        self._probe: dict[str, asyncio.Lock] = {}
        self._answers: Counter[str] = Counter()
        self.confirmed: set[str] = set()

    async def __call__(self, lk: Lookup) -> Up:
        if lk.local or lk.worst <= 0:
            return self._up(lk, await self.inner(lk))
        account = lk.row
        if not self.row_cap.allows(account.credits + account.held, lk.worst):
            return Failure("row_cap", f"per-row cap: {lk.name} may cost {lk.worst:g} credits")
        try:
            reservation = await self.budget.reserve(lk.worst, lk.worst * lk.price)
        except BudgetExhausted as exc:
            return Failure("budget", str(exc))
        lk.hold = reservation
        try:
            result = await self._probing(lk)
        except BaseException:
            held = lk.worst if lk.sent else 0.0  # cancelled: it may have been billed
            account.held += held
            self.budget.settle_now(reservation, credits=held, usd=held * lk.price)
            raise
        charged = result.credits + result.held if isinstance(result, Sent) else 0.0
        await self.budget.settle(reservation, credits=charged, usd=charged * lk.price)
        return self._up(lk, result)

    async def _probing(self, lk: Lookup) -> Down:
        """The call; one at a time while nothing has confirmed the provider's price."""
        if lk.name not in self.confirmed:
            async with self._probe.setdefault(lk.name, asyncio.Lock()):
                if lk.name not in self.confirmed:
                    # the call before this one may have shown the provider over-charging
                    blocked = self.breaker.blocked(lk.name)
                    if blocked is not None:
                        return Failure("disabled", f"{lk.name} disabled: {blocked}")
                    return await self.inner(lk)  # type: ignore[no-any-return]
            # confirmed while this call waited its turn: it goes without holding the line
        return await self.inner(lk)  # type: ignore[no-any-return]

    def _up(self, lk: Lookup, result: Down) -> Up:
        if not isinstance(result, Sent):
            return result
        account, finding = lk.row, result.finding
        account.credits += result.credits
        account.held += result.held
        account.cost_usd += result.credits * lk.price
        account.attempts += 1
        if result.credits > lk.worst + _EPS:
            self.breaker.trip(
                lk.name,
                f"charged {result.credits:g} credits for one call, more than the {lk.worst:g} "
                "declared for it; stopped so the budget holds (check the plan's prices)",
                abort=False,
            )
        elif result.credits > 0 or self._answers[lk.name] >= 16:
            self.confirmed.add(lk.name)
        self._answers[lk.name] += 1
        if finding.outcome == "error" or finding.error is not None:
            error = finding.error or ProviderDown(f"{lk.name}: error without detail")
            return Failure("error", str(error), error=error)
        answer = result.read
        answer.credits = result.credits
        return answer


class Pace:
    """The provider's rate limiter: in-flight cap and token bucket (deepest step first). A
    call that waited for its turn while the breaker stopped the provider does not go."""

    def __init__(
        self, inner: Next, limiters: Mapping[str, RateLimiter], breaker: CircuitBreaker
    ) -> None:
        self.inner, self.limiters, self.breaker = inner, limiters, breaker

    async def __call__(self, lk: Lookup) -> Down:
        limiter = self.limiters[lk.name]
        await limiter.acquire(priority=-lk.step)
        try:
            if self.breaker.epochs.get(lk.name, 0) != lk.epoch:
                reason = self.breaker.reasons.get(lk.name, "stopped")
                return Failure("disabled", f"{lk.name} disabled: {reason}")
            result: Down = await self.inner(lk)
        finally:
            limiter.release()
        if isinstance(result, Sent):
            limiter.observe_finding(result.finding)
        return result

    async def batch(self, items: list[Lookup]) -> list[Down]:
        """One request carrying several lookups takes one slot and one token."""
        name = items[0].name
        limiter = self.limiters[name]
        await limiter.acquire(priority=-min(lk.step for lk in items))
        try:
            epoch = self.breaker.epochs.get(name, 0)
            going = [lk for lk in items if lk.epoch == epoch]
            sent = await self.inner.batch(going) if going else []  # type: ignore[attr-defined]
        finally:
            limiter.release()
        by_id = {id(lk): r for lk, r in zip(going, sent, strict=True)}
        reason = f"{name} disabled: {self.breaker.reasons.get(name, 'stopped')}"
        results: list[Down] = [by_id.get(id(lk), Failure("disabled", reason)) for lk in items]
        for result in results:
            if isinstance(result, Sent):
                limiter.observe_finding(result.finding)
                break  # one request: its headers once
        return results


class Record:
    """The ledger: the intent is committed before the call is sent (that commit is also the
    claim against other processes), the result after."""

    def __init__(self, inner: Callable[[Lookup], Awaitable[tuple[Finding, bool]]],
                 journal: MemoryJournal) -> None:  # fmt: skip
        self.inner, self.journal = inner, journal

    async def __call__(self, lk: Lookup) -> Down:
        verdict = await self.journal.intend(lk)
        if verdict is True:
            return Failure("busy", f"{lk.name}: another process is paying for this lookup")
        if isinstance(verdict, Answer | Failure):
            return verdict  # answered elsewhere, or the run's shared budget has no room
        attempt: Attempt = verdict
        lk.sent = True
        try:
            finding, charge_known = await self.inner(lk)
        except BaseException:
            self.journal.abandoned(lk, attempt)
            raise
        return self._book(lk, attempt, finding, charge_known)

    def _book(self, lk: Lookup, attempt: Attempt, finding: Finding, charge_known: bool) -> Sent:
        credits = float(finding.credits or 0.0)
        held = 0.0 if charge_known else max(0.0, lk.worst - max(credits, 0.0))
        sent = Sent(finding, credits, held)
        self.journal.done(lk, attempt, sent)
        return sent

    async def batch(self, items: list[Lookup]) -> list[Down]:
        """Every lookup of a batched request has its own intent and its own result."""
        verdicts = await asyncio.gather(*(self.journal.intend(lk) for lk in items))
        results: list[Down | None] = []
        going: list[tuple[int, Lookup, Attempt]] = []
        for i, (lk, verdict) in enumerate(zip(items, verdicts, strict=True)):
            if verdict is True:
                results.append(Failure("busy", f"{lk.name}: another process is paying for it"))
            elif isinstance(verdict, Answer | Failure):
                results.append(verdict)
            else:
                results.append(None)
                going.append((i, lk, verdict))
                lk.sent = True
        if going:
            try:
                answers = await self.inner.batch([lk for _, lk, _ in going])  # type: ignore[attr-defined]
            except BaseException:
                for _, lk, attempt in going:
                    self.journal.abandoned(lk, attempt)
                raise
            for (i, lk, attempt), (finding, known) in zip(going, answers, strict=True):
                results[i] = self._book(lk, attempt, finding, known)
        return [r for r in results if r is not None]


class Call:
    """The adapter. It never raises; anything unexpected from it fails the row, not the run.
    Calls of a provider the breaker stops are abandoned at once (their charge unknown), and
    the run's deadline bounds every call."""

    def __init__(self, breaker: CircuitBreaker, control: RunControl) -> None:
        self.breaker, self.control = breaker, control
        self._scopes: dict[str, dict[asyncio.Timeout, str]] = {}
        breaker.on_open.append(self.abort)

    async def __call__(self, lk: Lookup) -> tuple[Finding, bool]:
        (answer,) = await self._guarded(lk.name, [lk], lambda: _one(lk))
        return answer

    async def batch(self, items: list[Lookup]) -> list[tuple[Finding, bool]]:
        """One request for several lookups (``adapter.lookup_batch``): one finding each."""
        adapter = items[0].adapter

        async def send() -> list[Finding]:
            lookup_batch = getattr(adapter, "lookup_batch")  # noqa: B009 (batch adapters only)
            findings = list(await lookup_batch([lk.record for lk in items]))
            if len(findings) != len(items):
                raise MalformedResponse(
                    f"{items[0].name}: {len(findings)} answers to {len(items)} records"
                )
            return findings

        return await self._guarded(items[0].name, items, send)

    async def _guarded(
        self, name: str, items: list[Lookup], send: Callable[[], Awaitable[list[Finding]]]
    ) -> list[tuple[Finding, bool]]:
        scopes = self._scopes.setdefault(name, {})
        self.breaker.sent(name)
        scope = asyncio.timeout_at(self.control.loop_deadline())
        try:
            async with scope:
                scopes[scope] = "the run's deadline passed"
                findings = await send()
            return [(f, bool(getattr(f, "charge_known", True))) for f in findings]
        except TimeoutError:
            why = scopes.get(scope, "stopped")
            error: ProviderError = ProviderTimeout(f"{name}: abandoned ({why})")
        except Exception as exc:  # an adapter bug must cost one row, never the run
            error = BadRequest(f"{name}: the adapter failed on this row ({type(exc).__name__})")
        finally:
            scopes.pop(scope, None)
            self.breaker.answered(name)
        error.provider = name
        return [(Finding(name, lk.endpoint, "error", error=error), False) for lk in items]

    def abort(self, provider: str) -> None:
        """Abandon every call of a provider the breaker just stopped."""
        loop_now = asyncio.get_running_loop().time()
        scopes = self._scopes.get(provider, {})
        for scope in list(scopes):
            if scope.expired():
                continue  # already timing out (the run's deadline): nothing to abandon
            scopes[scope] = f"{provider} stopped: {self.breaker.reasons.get(provider, '')}"
            scope.reschedule(loop_now)


async def _one(lk: Lookup) -> list[Finding]:
    return [await lk.adapter.lookup(lk.record)]


class Batch:
    """Lookups of a provider that takes many records per request (``batch_size`` > 1, e.g.
    ZoomInfo's 25) wait to share one request; each still gets its own result, its own
    reservation (the Meter above reserved each one's worst case, so the batch's is held) and
    its own ledger rows. Other providers pass straight through.

    A batch goes when it is full; when no other row could join it (every row the engine is
    walking is waiting in it: the last rows of a list, or fewer workers than a batch); while
    the provider's price is not confirmed (the Meter sends one call at a time then, so nobody
    else can come); or after lingering for about one of the provider's recent requests (queue
    wait included: when requests are paced, a slot is worth filling), between ``linger_s``
    and ``max_linger_s``. Waiting one request's time at most doubles a row's time at this step
    and saves requests the plan counts per second, hour and day.
    """

    #: weight of the newest request in the provider's request-time average
    _EWMA = 0.2

    def __init__(
        self, inner: Pace, *, linger_s: float = 0.01, max_linger_s: float = 1.0,
        unconfirmed: Callable[[str], bool] | None = None,
    ) -> None:  # fmt: skip
        self.inner, self.linger_s, self.max_linger_s = inner, linger_s, max(linger_s, max_linger_s)
        #: the Meter's word on a provider still probing its price (set by the engine)
        self.unconfirmed = unconfirmed
        #: rows the engine is walking (``row_started`` / ``row_ended``); None: not told
        self.walking: int | None = None
        self._queues: dict[str, list[tuple[Lookup, asyncio.Future[Down]]]] = {}
        self._sizes: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._sending: set[asyncio.Task[None]] = set()
        self._request_s: dict[str, float] = {}
        #: per provider, the size of every request sent (the fill figure)
        self.sent: dict[str, list[int]] = {}

    def row_started(self) -> None:
        self.walking = (self.walking or 0) + 1

    def row_ended(self) -> None:
        """A row left the engine: the rows waiting may now be all that is left."""
        self.walking = max(0, (self.walking or 0) - 1)
        for name in [n for n, q in self._queues.items() if q and self._nobody_else(n)]:
            self._flush(name, self._sizes[name])

    def linger(self, name: str) -> float:
        """How long a batch of this provider waits to fill: about one recent request."""
        return min(self.max_linger_s, max(self.linger_s, self._request_s.get(name, 0.0)))

    def fill(self) -> dict[str, dict[str, float]]:
        """Per provider: requests sent, mean records per request, share of full requests."""
        out: dict[str, dict[str, float]] = {}
        for name, sizes in self.sent.items():
            size = self._sizes[name]
            out[name] = {
                "requests": len(sizes),
                "batch_size": size,
                "mean_batch": round(sum(sizes) / len(sizes), 3),
                "full_share": round(sum(s >= size for s in sizes) / len(sizes), 3),
            }
        return out

    async def __call__(self, lk: Lookup) -> Down:
        size = int(getattr(lk.adapter, "batch_size", 1) or 1)
        if size <= 1 or lk.local:
            return await self.inner(lk)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Down] = loop.create_future()
        name = lk.name
        self._sizes[name] = size
        queue = self._queues.setdefault(name, [])
        queue.append((lk, future))
        probing = self.unconfirmed is not None and self.unconfirmed(name)
        if len(queue) >= size or probing or self._nobody_else(name):
            self._flush(name, size)
        elif name not in self._timers:
            self._timers[name] = loop.call_later(self.linger(name), self._flush, name, size)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            if (lk, future) in queue:  # not sent yet: nothing to hold
                queue.remove((lk, future))
            raise

    def _nobody_else(self, name: str) -> bool:
        """Every row the engine is walking waits in this provider's queue."""
        return self.walking is not None and self.walking <= len(self._queues.get(name, ()))

    def _flush(self, name: str, size: int) -> None:
        timer = self._timers.pop(name, None)
        if timer is not None:
            timer.cancel()
        queue = self._queues.get(name, [])
        while queue:
            group, queue[:] = queue[:size], queue[size:]
            task = asyncio.ensure_future(self._send(name, group))
            self._sending.add(task)  # keep a reference until it is done
            task.add_done_callback(self._sending.discard)

    async def _send(self, name: str, group: list[tuple[Lookup, asyncio.Future[Down]]]) -> None:
        self.sent.setdefault(name, []).append(len(group))
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            results = await self.inner.batch([lk for lk, _ in group])
        except BaseException as exc:
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        took = loop.time() - started
        before = self._request_s.get(name)
        self._request_s[name] = took if before is None else before + self._EWMA * (took - before)
        for (_, future), result in zip(group, results, strict=True):
            if not future.done():
                future.set_result(result)
