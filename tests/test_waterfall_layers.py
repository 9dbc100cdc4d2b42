"""Each layer of the call stack alone, with a fake next layer (``gtmkit/waterfall/layers.py``)."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from gtmkit.providers.base import Finding
from gtmkit.providers.errors import AuthError, BadRequest, ProviderDown, RateLimited
from gtmkit.waterfall.breaker import BreakerPolicy, CircuitBreaker
from gtmkit.waterfall.budget import Budget, RowCap
from gtmkit.waterfall.control import RunControl
from gtmkit.waterfall.journal import MemoryJournal
from gtmkit.waterfall.layers import Cache, Call, Claim, Guard, Meter, Pace, Record
from gtmkit.waterfall.limits import ProviderLimiter
from gtmkit.waterfall.lookup import Answer, Failure, Lookup, RowAccount, Sent
from gtmkit.waterfall.retry import RetryPolicy


class FakeAdapter:
    """Just what a Lookup reads from an adapter."""

    endpoint = "person/lookup"
    kind = "finder"

    def __init__(self, answer: Any = None, *, hang: bool = False, boom: bool = False) -> None:
        self.answer, self.hang, self.boom, self.calls = answer, hang, boom, 0

    async def lookup(self, record: Any) -> Finding:
        self.calls += 1
        if self.boom:
            raise ZeroDivisionError("adapter bug")
        if self.hang:
            await asyncio.sleep(3600)
        return self.answer or Finding("p", self.endpoint, "hit", fields={"email": "a@b.io"})


def lookup(key: str = "k", *, worst: float = 1.0, price: float = 0.1, adapter=None) -> Lookup:
    return Lookup(
        name="p", adapter=adapter or FakeAdapter(), key=key, record={}, row=RowAccount(1),
        step=0, worst=worst, price=price,
    )  # fmt: skip


def hit(**kw: Any) -> Answer:
    return Answer("hit", {"email": "a@b.io"}, "valid", **kw)


def sent(credits: float = 1.0, held: float = 0.0, error=None) -> Sent:
    outcome = "error" if error is not None else "hit"
    finding = Finding("p", "person/lookup", outcome, fields={"email": "a@b.io"}, error=error)
    return Sent(finding, credits, held)


class Counter:
    """A fake next layer: answers from a script and counts calls."""

    def __init__(self, *answers: Any, delay: float = 0.0) -> None:
        self.answers, self.delay, self.calls = list(answers), delay, 0

    async def __call__(self, lk: Lookup) -> Any:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def run(coro):
    return asyncio.run(coro)


# -- Claim -------------------------------------------------------------------------------
def test_claim_pays_one_call_for_many_rows_asking_the_same_lookup():
    inner = Counter(hit(), delay=0.01)
    journal = MemoryJournal("r")
    claim = Claim(inner, journal, claims=None)

    async def main():
        return await asyncio.gather(*(claim(lookup("same")) for _ in range(20)))

    answers = run(main())
    assert inner.calls == 1
    assert sum(not a.cached for a in answers) == 1  # the leader's answer; 19 free reuses
    assert sum(a.cached for a in answers) == 19
    assert [a.state for a in journal.attempts] == ["cached"] * 19


def test_claim_waits_for_another_process_then_uses_its_answer():
    class OtherProcess:
        waited = 0

        async def wait_for(self, key):
            self.waited += 1
            return hit(cached=True)

    other = OtherProcess()
    inner = Counter(Failure("busy", "another process pays"))
    answer = run(Claim(inner, MemoryJournal("r"), other)(lookup()))
    assert isinstance(answer, Answer) and inner.calls == 1 and other.waited == 1


def test_claim_takes_over_a_stale_claim():
    class Gone:
        async def wait_for(self, key):
            return None  # the owner died: take over

    inner = Counter(Failure("busy", "x"), hit())
    answer = run(Claim(inner, MemoryJournal("r"), Gone())(lookup()))
    assert isinstance(answer, Answer) and inner.calls == 2


def test_claim_followers_retry_under_their_own_row_cap():
    inner = Counter(Failure("row_cap", "leader's cap"), hit(), delay=0.01)
    claim = Claim(inner, MemoryJournal("r"), None)

    async def main():
        return await asyncio.gather(claim(lookup()), claim(lookup()))

    first, second = run(main())
    assert isinstance(first, Failure) and isinstance(second, Answer)


# -- Cache -------------------------------------------------------------------------------
class Store:
    def __init__(self, answers=None):
        self.answers, self.put_calls = dict(answers or {}), []

    async def get(self, key):
        return self.answers.get(key)

    def put(self, key, answer):
        self.put_calls.append(key)
        self.answers[key] = answer


def test_cache_answers_free_and_stores_what_was_bought():
    inner = Counter(hit(credits=1.0))
    store = Store()
    cache = Cache(inner, store, MemoryJournal("r"))
    run(cache(lookup("a")))
    assert store.put_calls == [("p", "person/lookup", "a")] and inner.calls == 1
    store.answers[("p", "person/lookup", "b")] = hit(cached=True)
    answer = run(cache(lookup("b")))
    assert answer.cached and inner.calls == 1


# -- Guard -------------------------------------------------------------------------------
def guard(inner, **policy):
    breaker = CircuitBreaker(BreakerPolicy(**policy))
    control = RunControl(deadline_s=None, cancel=None)
    retry = RetryPolicy(base_s=0.0, max_backoff_s=0.0)
    return Guard(
        inner, retry=retry, breaker=breaker, control=control, rng=random.Random(0)
    ), breaker


def test_guard_retries_transient_errors_then_answers():
    down = ProviderDown("down", provider="p", http_status=503)
    inner = Counter(Failure("error", "x", error=down), Failure("error", "x", error=down), hit())
    layer, _ = guard(inner)
    lk = lookup()
    assert isinstance(run(layer(lk)), Answer)
    assert inner.calls == 3 and lk.attempt == 3


def test_guard_never_retries_a_bad_request_and_names_it():
    inner = Counter(Failure("error", "x", error=BadRequest("field title is 70000 characters")))
    layer, _ = guard(inner)
    result = run(layer(lookup()))
    assert inner.calls == 1
    assert result.kind == "error" and "title is 70000 characters" in result.reason


def test_guard_trips_the_breaker_on_auth_and_stops_asking():
    inner = Counter(Failure("error", "x", error=AuthError("bad key", http_status=401)))
    layer, breaker = guard(inner)
    assert run(layer(lookup())).kind == "disabled"
    assert run(layer(lookup())).kind == "disabled"
    assert inner.calls == 1 and breaker.is_open("p")


def test_guard_opens_after_consecutive_failures():
    down = ProviderDown("down", provider="p")
    inner = Counter(Failure("error", "x", error=down))
    layer, breaker = guard(inner, consecutive_failures=4)
    results = [run(layer(lookup(str(i)))) for i in range(3)]
    assert results[-1].kind == "disabled" and "4 calls in a row" in breaker.reasons["p"]


def test_guard_stops_when_the_run_is_cancelled():
    import threading

    event = threading.Event()
    event.set()
    inner = Counter(hit())
    layer = Guard(
        inner, retry=RetryPolicy(), breaker=CircuitBreaker(),
        control=RunControl(deadline_s=None, cancel=event), rng=random.Random(0),
    )  # fmt: skip
    assert run(layer(lookup())).kind == "stopped" and inner.calls == 0


# -- Meter -------------------------------------------------------------------------------
def meter(inner, *, budget=None, cap=None):
    breaker = CircuitBreaker()
    return Meter(inner, budget=budget or Budget(), row_cap=RowCap(cap), breaker=breaker), breaker


def test_meter_books_what_the_provider_charged_and_the_row_pays_it():
    budget = Budget(credits=10)
    layer, _ = meter(Counter(sent(credits=1.0)), budget=budget)
    lk = lookup(price=0.5)
    answer = run(layer(lk))
    assert answer.credits == 1.0 and budget.spent_credits == 1.0
    assert (lk.row.credits, lk.row.cost_usd, lk.row.attempts) == (1.0, 0.5, 1)
    assert budget.reserved_credits == 0


def test_meter_holds_an_unknown_outcome_at_its_worst_case():
    budget = Budget(credits=10)
    timeout = ProviderDown("timed out")
    layer, _ = meter(Counter(sent(credits=0.0, held=3.0, error=timeout)), budget=budget)
    lk = lookup(worst=3.0)
    result = run(layer(lk))
    assert result.kind == "error" and budget.spent_credits == 3.0 and lk.row.held == 3.0


def test_meter_refuses_what_the_budget_cannot_hold_and_the_row_cap():
    inner = Counter(sent(credits=1.0))
    layer, _ = meter(inner, budget=Budget(credits=0.5))
    assert run(layer(lookup())).kind == "budget" and inner.calls == 0
    layer, _ = meter(inner, cap=0.5)
    assert run(layer(lookup())).kind == "row_cap" and inner.calls == 0


def test_meter_stops_a_provider_that_charges_more_than_it_declares():
    layer, breaker = meter(Counter(sent(credits=5.0)), budget=Budget(credits=20))
    run(layer(lookup(worst=1.0)))
    assert breaker.is_open("p") and "charged 5 credits" in breaker.reasons["p"]


def test_meter_sends_one_call_at_a_time_until_a_charge_confirms_the_price():
    in_flight, peak, charge = 0, 0, [0.0]

    async def provider_side(lk):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return sent(credits=charge[0])

    layer, _ = meter(provider_side, budget=Budget(credits=100))

    async def wave(n):
        await asyncio.gather(*(layer(lookup(str(i))) for i in range(n)))

    async def main():
        await wave(8)  # misses cost nothing and say nothing about the price: one at a time
        assert peak == 1 and "p" not in layer.confirmed
        charge[0] = 1.0
        await wave(8)  # the first billed answer confirms it: the calls queued behind it overlap

    run(main())
    assert "p" in layer.confirmed and peak > 1


def test_meter_holds_a_cancelled_call_that_was_sent():
    budget = Budget(credits=10)

    async def never(lk):
        lk.sent = True
        await asyncio.sleep(3600)

    layer, _ = meter(never, budget=budget)

    async def main():
        task = asyncio.create_task(layer(lookup(worst=2.0)))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert budget.spent_credits == 2.0 and budget.reserved_credits == 0


# -- Pace --------------------------------------------------------------------------------
def test_pace_caps_calls_in_flight_and_learns_from_refusals():
    limiter = ProviderLimiter(float("inf"), 2)
    in_flight, peak = 0, 0

    async def inner(lk):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1
        return sent(error=RateLimited("slow down", retry_after=1.0))

    async def main():
        pace = Pace(inner, {"p": limiter}, CircuitBreaker())
        await asyncio.gather(*(pace(lookup()) for _ in range(6)))

    run(main())
    assert peak == 2 and limiter.stats.throttled == 6


def test_pace_drops_a_call_admitted_before_the_breaker_stopped_its_provider():
    breaker = CircuitBreaker()
    inner = Counter(sent())
    pace = Pace(inner, {"p": ProviderLimiter(float("inf"), 2)}, breaker)
    lk = lookup()  # admitted at epoch 0
    breaker.trip("p", "auth (HTTP 401)")
    result = run(pace(lk))
    assert result.kind == "disabled" and inner.calls == 0


# -- Record ------------------------------------------------------------------------------
def test_record_writes_the_intent_before_the_call_and_the_result_after():
    journal = MemoryJournal("r")
    seen_state = []

    async def call(lk):
        seen_state.append(lk.sent)
        return Finding("p", "person/lookup", "hit", fields={"email": "a@b.io"}, credits=1.0), True

    result = run(Record(call, journal)(lookup()))
    assert seen_state == [True]  # the intent was committed first
    assert isinstance(result, Sent) and (result.credits, result.held) == (1.0, 0.0)
    (attempt,) = journal.attempts
    assert (attempt.state, attempt.credits, attempt.billed) == ("done", 1.0, True)


def test_record_holds_an_answer_whose_charge_is_unknown():
    journal = MemoryJournal("r")

    async def call(lk):
        return Finding("p", "person/lookup", "error", error=ProviderDown("reset")), False

    result = run(Record(call, journal)(lookup(worst=2.0)))
    assert (result.credits, result.held) == (0.0, 2.0)
    assert journal.attempts[0].state == "unknown" and journal.attempts[0].credits_held == 2.0


def test_record_reports_another_process_paying():
    class Busy(MemoryJournal):
        async def intend(self, lk):
            return True

    result = run(Record(None, Busy("r"))(lookup()))  # type: ignore[arg-type]
    assert result.kind == "busy"


# -- Call --------------------------------------------------------------------------------
def test_call_turns_an_adapter_bug_into_a_failed_row():
    layer = Call(CircuitBreaker(), RunControl(deadline_s=None, cancel=None))
    finding, known = run(layer(lookup(adapter=FakeAdapter(boom=True))))
    assert finding.error.kind == "bad_request" and "ZeroDivisionError" in str(finding.error)
    assert known is False  # it may have been sent before it failed


def test_call_abandons_the_calls_of_a_provider_the_breaker_stops():
    breaker = CircuitBreaker()
    layer = Call(breaker, RunControl(deadline_s=None, cancel=None))

    async def main():
        task = asyncio.create_task(layer(lookup(adapter=FakeAdapter(hang=True))))
        await asyncio.sleep(0.01)
        breaker.trip("p", "not answering")
        return await asyncio.wait_for(task, 1.0)

    finding, known = run(main())
    assert finding.error.kind == "timeout" and "stopped" in str(finding.error)
    assert known is False


def test_call_is_bounded_by_the_run_deadline():
    layer = Call(CircuitBreaker(), RunControl(deadline_s=0.05, cancel=None))
    finding, known = run(asyncio.wait_for(layer(lookup(adapter=FakeAdapter(hang=True))), 2.0))
    assert "deadline" in str(finding.error) and known is False
