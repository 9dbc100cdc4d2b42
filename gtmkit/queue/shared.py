"""The engine's money-keeping parts on Redis, shared by every worker of a run.

Each implements one interface of ``gtmkit/waterfall/interfaces.py``; the layers do not change:

* :class:`RedisBudget` (``BudgetAccount``): reserve-then-settle as two Lua scripts, so the
  check "spent + reserved + worst case ≤ cap" and the hold are one atomic step whatever the
  number of workers and calls in flight. Each hold names the chunk execution that owns it
  and is marked ``sent`` by the script that commits the call's intent. When a chunk whose
  worker died is reaped or re-run, :meth:`RedisBudget.release_unsent` frees its holds
  that never reached a send (rows reserve before they wait for the rate limiter, so there
  are many); a hold marked sent stays at its worst case (the call may have been billed).
* :class:`RedisLimiter` (``RateLimiter``): one provider account's in-flight cap (a sorted set of
  leases, so a dead worker's slots come back) and token bucket (the time of the next token),
  taken in one Lua script on the server's clock.
* :class:`RedisCache` (``CacheStore``): what any worker bought, reused by all within the TTL.
* :class:`SharedBreaker`: a provider one worker stops is stopped in all of them.
* :class:`RedisJournal` (``Journal``) and :class:`RedisClaims` (``Claims``): the intent of a
  call and the claim on its lookup are one script — a lookup already answered is used free, a
  lookup another live worker is paying for is waited for, a claim whose owner stopped
  refreshing it expires and is taken over. Every attempt is appended to the run's list.

Example:
    >>> RESERVE.count("redis.call")  # one script: read, check, hold
    13
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import threading
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from gtmkit.queue.keys import cache_key, claim_key, limit_key, run_key
from gtmkit.waterfall.attempt import Attempt
from gtmkit.waterfall.breaker import BreakerPolicy, CircuitBreaker
from gtmkit.waterfall.budget import BudgetError, BudgetExhausted, Reservation
from gtmkit.waterfall.journal import MemoryJournal
from gtmkit.waterfall.limits import LimiterStats
from gtmkit.waterfall.lookup import Answer, ClaimKey, Failure, Lookup, Sent

if TYPE_CHECKING:  # pragma: no cover
    import redis

    from gtmkit.providers.base import Finding

_EPS = 1e-9
#: how long a claim or an in-flight slot lives without its owner's heartbeat
LEASE_S = 5.0
#: how often a live owner refreshes its claims and slots
HEARTBEAT_S = 1.0
#: how often a worker reads which providers the run's other workers stopped
BREAKER_SYNC_S = 0.25

# the budget hash: caps, spent, reserved (holds of live calls) and lost (holds of calls a dead
# execution sent: they may have been billed, so they count as spent until settled)
RESERVE = """
local b = KEYS[1]
local cap_c = tonumber(redis.call('HGET', b, 'cap_credits') or '-1')
local cap_u = tonumber(redis.call('HGET', b, 'cap_usd') or '-1')
local spent_c = tonumber(redis.call('HGET', b, 'spent_credits') or '0')
local spent_u = tonumber(redis.call('HGET', b, 'spent_usd') or '0')
spent_c = spent_c + tonumber(redis.call('HGET', b, 'lost_credits') or '0')
spent_u = spent_u + tonumber(redis.call('HGET', b, 'lost_usd') or '0')
local res_c = tonumber(redis.call('HGET', b, 'reserved_credits') or '0')
local res_u = tonumber(redis.call('HGET', b, 'reserved_usd') or '0')
local c, u, eps = tonumber(ARGV[2]), tonumber(ARGV[3]), 1e-9
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 'ok' end  -- a resent reserve
if cap_c >= 0 and spent_c + res_c + c > cap_c + eps then
  if spent_c + c > cap_c + eps then return 'exhausted' end
  return 'wait'
end
if cap_u >= 0 and spent_u + res_u + u > cap_u + eps then
  if spent_u + u > cap_u + eps then return 'exhausted' end
  return 'wait'
end
local peak_c = math.max(tonumber(redis.call('HGET', b, 'peak_credits') or '0'), spent_c + res_c + c)
local peak_u = math.max(tonumber(redis.call('HGET', b, 'peak_usd') or '0'), spent_u + res_u + u)
redis.call('HSET', b, 'reserved_credits', tostring(res_c + c), 'reserved_usd', tostring(res_u + u),
           'peak_credits', tostring(peak_c), 'peak_usd', tostring(peak_u))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2] .. ' ' .. ARGV[3] .. ' ' .. ARGV[4])
return 'ok'
"""

# drop one hold from a holds hash and its running totals (exactly zero once the hash is empty,
# whatever float drift the totals carry). Shared by SETTLE and RELEASE_UNSENT.
_UNHOLD = """
local function unhold(b, holds, field, c, u, which)
  redis.call('HDEL', holds, field)
  local tc, tu = which .. '_credits', which .. '_usd'
  if redis.call('HLEN', holds) == 0 then
    redis.call('HSET', b, tc, '0', tu, '0')
    return
  end
  local hc = tonumber(redis.call('HGET', b, tc) or '0')
  local hu = tonumber(redis.call('HGET', b, tu) or '0')
  redis.call('HSET', b, tc, tostring(math.max(0, hc - c)), tu, tostring(math.max(0, hu - u)))
end
"""

# a hold settled: dropped (from the live holds, or from the lost ones if its execution was
# taken for dead after sending) and what was charged booked as spent; nothing twice
_SETTLE_FN = """
local function settle(b, reservations, lost, rid, credits, usd)
  local which, holds = 'reserved', reservations
  local held = redis.call('HGET', holds, rid)
  if not held then
    which, holds = 'lost', lost
    held = redis.call('HGET', holds, rid)
  end
  if not held then return 0 end
  local c, u = string.match(held, '^(%S+) (%S+)')
  unhold(b, holds, rid, tonumber(c), tonumber(u), which)
  redis.call('HINCRBYFLOAT', b, 'spent_credits', credits)
  redis.call('HINCRBYFLOAT', b, 'spent_usd', usd)
  return 1
end
"""

# KEYS: budget, reservations, lost holds. ARGV: reservation id, credits, usd charged.
SETTLE = (
    _UNHOLD + _SETTLE_FN + "return settle(KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])"
)

# a hold is "credits usd owner[ sent]", an owner "job:execution". KEYS: budget, reservations,
# RQ's started-job registry, lost holds. ARGV: the execution asking ('' for none), '1' if the
# registry is known. A hold's execution is dead when it is not the asker and it ran the
# asker's job (a job runs once at a time) or its job has no execution in the started registry.
# A dead execution's hold never sent is freed; one sent moves to the lost holds, which count as
# spent (rows waiting for room then learn the budget is exhausted instead of waiting forever).
RELEASE_UNSENT = (
    _UNHOLD
    + """
local live = {}
if ARGV[2] == '1' then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
    live[string.match(member, '^(.*):[^:]*$') or member] = true
  end
end
local mine = string.match(ARGV[1], '^(.*):[^:]*$')
local freed, moved = 0, 0
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  local c, u, owner, sent = string.match(all[i + 1], '^(%S+) (%S+) (%S+) ?(%S*)$')
  local job = owner and string.match(owner, '^(.*):[^:]*$')
  local dead = job and owner ~= ARGV[1] and (job == mine or (ARGV[2] == '1' and not live[job]))
  if dead then
    unhold(KEYS[1], KEYS[2], all[i], tonumber(c), tonumber(u), 'reserved')
    if sent == '' then
      freed = freed + 1
    else
      redis.call('HSET', KEYS[4], all[i], all[i + 1])
      redis.call('HINCRBYFLOAT', KEYS[1], 'lost_credits', c)
      redis.call('HINCRBYFLOAT', KEYS[1], 'lost_usd', u)
      moved = moved + 1
    end
  end
end
return {freed, moved}
"""
)

# KEYS: slots zset, next-token key. ARGV: token, lease ms, max in flight, interval ms (0: none)
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return -1 end
local interval = tonumber(ARGV[4])
if interval > 0 then
  local at = math.max(tonumber(redis.call('GET', KEYS[2]) or '0'), now)
  -- whole milliseconds (a Lua number comes back truncated: 0.8 ms would read as 'go')
  if at > now then return math.max(1, math.ceil(at - now)) end
  redis.call('SET', KEYS[2], tostring(at + interval), 'PX', 60000)
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 0
"""

# KEYS: claim, cache, inflight hash, reservations. ARGV: owner, lease ms, cache cutoff (s),
# field, intent, the call's hold ('' when unmetered)
INTEND = """
local cached = redis.call('GET', KEYS[2])
if cached then
  local entry = cjson.decode(cached)
  if tonumber(entry['fetched_at']) >= tonumber(ARGV[3]) then return {'cached', cached} end
end
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return {'busy', holder} end
if ARGV[6] ~= '' then
  -- released: this chunk was re-run after this worker was taken for dead; do not send
  local held = redis.call('HGET', KEYS[4], ARGV[6])
  if not held then return {'released', ''} end
  if not string.find(held, ' sent$') then
    redis.call('HSET', KEYS[4], ARGV[6], held .. ' sent')  -- from now on it may be billed
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
redis.call('HSET', KEYS[3], ARGV[4], ARGV[5])
return {'go', ''}
"""

# KEYS: claim, inflight hash, attempts list, cache, budget, reservations, lost holds.
# ARGV: owner, field, attempt, cache entry, the call's hold ('' when unmetered), credits and
# usd it is settled at. The hold is settled here, with the attempt, so a worker killed after
# the answer is booked leaves no hold behind (the engine's settle then finds nothing to do).
DONE = (
    _UNHOLD
    + _SETTLE_FN
    + """
if redis.call('HDEL', KEYS[2], ARGV[2]) == 1 then  -- once, even when resent
  redis.call('RPUSH', KEYS[3], ARGV[3])
end
if ARGV[4] ~= '' then redis.call('SET', KEYS[4], ARGV[4]) end
if ARGV[5] ~= '' then settle(KEYS[5], KEYS[6], KEYS[7], ARGV[5], ARGV[6], ARGV[7]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""
)


class _Reservation(Reservation):
    __slots__ = ("rid",)

    def __init__(self, credits: float, usd: float, rid: str) -> None:
        super().__init__(credits, usd)
        self.rid = rid


class RedisBudget:
    """The run's budget in the Redis hash ``gtmkit:run:{id}:budget`` (see the module doc);
    ``owner`` is the chunk execution its holds belong to."""

    def __init__(self, conn: redis.Redis, run_id: str, *, owner: str = "-") -> None:
        self.conn, self.owner = conn, owner
        self.keys = [run_key(run_id, "budget"), run_key(run_id, "reservations")]
        self.lost_key = run_key(run_id, "lost")
        self._reserve = conn.register_script(RESERVE)
        self._settle = conn.register_script(SETTLE)
        self._release = conn.register_script(RELEASE_UNSENT)
        caps = conn.hmget(self.keys[0], ["cap_credits", "cap_usd"])
        self.cap_credits = _cap(caps[0])
        self.cap_usd = _cap(caps[1])

    @staticmethod
    def create(conn: redis.Redis, run_id: str, credits: float | None, usd: float | None) -> None:
        """Open the run's account (``None``: no cap)."""
        conn.hset(
            run_key(run_id, "budget"),
            mapping={
                "cap_credits": "-1" if credits is None else repr(float(credits)),
                "cap_usd": "-1" if usd is None else repr(float(usd)),
                "spent_credits": "0",
                "spent_usd": "0",
                "reserved_credits": "0",
                "reserved_usd": "0",
            },
        )

    def _field(self, name: str) -> float:
        value = self.conn.hget(self.keys[0], name)
        return float(value) if value is not None else 0.0

    @property
    def limited(self) -> bool:
        return self.cap_credits is not None or self.cap_usd is not None

    # the protocol's report attributes, read from the shared account (writes are ignored)
    @property
    def spent_credits(self) -> float:
        return self._field("spent_credits")

    @spent_credits.setter
    def spent_credits(self, value: float) -> None:
        pass

    @property
    def spent_usd(self) -> float:
        return self._field("spent_usd")

    @spent_usd.setter
    def spent_usd(self, value: float) -> None:
        pass

    @property
    def peak_committed_credits(self) -> float:
        return self._field("peak_credits")

    @peak_committed_credits.setter
    def peak_committed_credits(self, value: float) -> None:
        pass

    @property
    def peak_committed_usd(self) -> float:
        return self._field("peak_usd")

    @peak_committed_usd.setter
    def peak_committed_usd(self, value: float) -> None:
        pass

    @property
    def overspent_credits(self) -> float:
        if self.cap_credits is None:
            return 0.0
        return max(0.0, self.spent_credits - self.cap_credits)

    def held_credits(self) -> float:
        """Reservations not settled: calls in flight, and calls a worker that died had sent
        (held at worst case for good: they may have been billed)."""
        return self._field("reserved_credits") + self._field("lost_credits")

    def lost_credits(self) -> float:
        """The worst case of the calls dead executions had sent, counted as spent."""
        return self._field("lost_credits")

    def lost_usd(self) -> float:
        return self._field("lost_usd")

    def try_reserve(self, credits: float, usd: float) -> Reservation | Literal[False] | None:
        """A reservation, ``None`` (wait: calls in flight may free room) or ``False`` (it can
        never fit)."""
        rid = uuid.uuid4().hex
        verdict = self._reserve(keys=self.keys,
                                args=[rid, repr(credits), repr(usd), self.owner])  # fmt: skip
        verdict = verdict.decode() if isinstance(verdict, bytes) else verdict
        if verdict == "ok":
            return _Reservation(credits, usd, rid)
        return None if verdict == "wait" else False

    async def reserve(self, credits: float, usd: float) -> Reservation:
        delay = 0.002
        while True:
            reservation = self.try_reserve(credits, usd)
            if reservation is False:
                raise BudgetExhausted(self._exhausted(credits, usd))
            if reservation is not None:
                return reservation
            await asyncio.sleep(delay)
            delay = min(0.05, delay * 1.5)

    async def settle(self, reservation: Reservation, *, credits: float, usd: float) -> None:
        self.settle_now(reservation, credits=credits, usd=usd)

    def settle_now(self, reservation: Reservation, *, credits: float, usd: float) -> None:
        if reservation.settled or not isinstance(reservation, _Reservation):
            raise BudgetError("reservation settled twice (an engine bug: please report it)")
        reservation.settled = True
        keys = [*self.keys, self.lost_key]
        self._settle(keys=keys, args=[reservation.rid, repr(credits), repr(usd)])

    def release_unsent(self, started_registry: str | None) -> int:
        """Free the holds of dead chunk executions that never reached a send, and count the
        ones they sent as spent at worst case (see ``RELEASE_UNSENT``); returns how many were
        freed. ``started_registry`` is the key of RQ's ``StartedJobRegistry`` of the run's
        queue (``None``: only this execution's job's earlier runs are known dead). An execution
        only stalled, not dead, finds its hold gone and does not send."""
        keys = [*self.keys, started_registry or self.keys[1], self.lost_key]
        asker = self.owner if ":" in self.owner else ""
        known = "0" if started_registry is None else "1"
        freed, _moved = self._release(keys=keys, args=[asker, known])
        return int(freed)

    def _exhausted(self, credits: float, usd: float) -> str:
        spent, lost = self.spent_credits, self.lost_credits()
        held = f", {lost:g} of them held for calls of a worker that died" if lost else ""
        if self.cap_credits is not None and spent + lost + credits > self.cap_credits + _EPS:
            return (
                f"budget exhausted: {spent + lost:g} of {self.cap_credits:g} credits spent "
                f"(all workers{held})"
            )
        usd_spent = self.spent_usd + self.lost_usd()
        return f"budget exhausted: ${usd_spent:.4f} of ${self.cap_usd or 0:.4f} spent"


def _cap(raw: Any) -> float | None:
    if raw is None:
        return None
    value = float(raw)
    return None if value < 0 else value


class Leases:
    """Keys this process owns for a while (claims, in-flight slots), refreshed by one thread
    every :data:`HEARTBEAT_S` until :meth:`stop`. A killed process stops refreshing them, so
    they expire and other workers take over."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        self.claims: dict[str, str] = {}  # claim key -> owner
        self.slots: dict[str, set[str]] = {}  # slots zset -> tokens
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gtmkit-leases", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with self._lock:
                claims = list(self.claims)
                slots = {k: list(v) for k, v in self.slots.items() if v}
            try:
                pipe = self.conn.pipeline(transaction=False)
                for key in claims:
                    pipe.pexpire(key, int(LEASE_S * 1000))
                until = int((time.time() + LEASE_S) * 1000)
                for key, tokens in slots.items():
                    pipe.zadd(key, dict.fromkeys(tokens, until), xx=True)
                pipe.execute()
            except Exception:  # Redis away for a moment: the next beat tries again
                continue

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class RedisLimiter:
    """One provider account's pace, shared by every worker (see the module doc). Within a
    process one coroutine at a time asks Redis; the others queue behind it locally."""

    def __init__(
        self,
        conn: redis.Redis,
        account: str,
        *,
        per_second: float,
        max_in_flight: int,
        leases: Leases,
    ) -> None:
        self.conn, self.account, self.leases = conn, account, leases
        self.per_second = float(per_second)
        self.max_in_flight = int(max_in_flight)
        self.announced: float | None = None
        self.stats = LimiterStats()
        self.keys = [limit_key(account, "slots"), limit_key(account, "next")]
        self._acquire = conn.register_script(ACQUIRE)
        self._interval_ms = 0 if math.isinf(self.per_second) else 1000.0 / self.per_second
        self._mine: list[str] = []
        self._turn: asyncio.Lock | None = None
        self._freed: asyncio.Event | None = None

    async def acquire(self, priority: int = 0) -> None:
        if self._turn is None or self._freed is None:
            self._turn, self._freed = asyncio.Lock(), asyncio.Event()
        freed = self._freed
        token = uuid.uuid4().hex
        started = time.perf_counter()
        async with self._turn:
            delay = 0.001
            while True:
                args: list[str | int] = [token, int(LEASE_S * 1000), self.max_in_flight,
                                         repr(self._interval_ms)]  # fmt: skip
                wait = int(self._acquire(keys=self.keys, args=args))
                if wait == 0:
                    break
                if wait > 0:
                    await asyncio.sleep(wait / 1000.0)
                    continue
                # every slot taken: a call of this process returning wakes us at once; one of
                # another worker's is seen at the next poll
                freed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(freed.wait(), delay)
                delay = min(0.02, delay * 1.5)
        self._mine.append(token)
        self.leases.slots.setdefault(self.keys[0], set()).add(token)
        self.stats.sent += 1
        self.stats.waited_s += time.perf_counter() - started

    def release(self) -> None:
        if not self._mine:
            return
        token = self._mine.pop()
        self.leases.slots.get(self.keys[0], set()).discard(token)
        self.conn.zrem(self.keys[0], token)
        if self._freed is not None:
            self._freed.set()

    def observe_finding(self, finding: Finding) -> None:
        if finding.error is not None and finding.error.kind == "rate_limited":
            self.stats.throttled += 1


def answer_json(answer: Answer, credits: float) -> str:
    return json.dumps(
        {
            "outcome": answer.outcome,
            "fields_json": answer.fields_json,
            "email_status": answer.email_status,
            "provider_status": answer.provider_status,
            "confidence": answer.confidence,
            "http_status": answer.http_status,
            "credits": credits,
            "fetched_at": time.time(),
        }
    )


def answer_from_json(raw: str | bytes) -> Answer:
    entry = json.loads(raw)
    fields_json = entry.get("fields_json") or "{}"
    return Answer(
        entry["outcome"],
        json.loads(fields_json) if fields_json != "{}" else {},
        entry.get("email_status"),
        entry.get("provider_status"),
        entry.get("confidence"),
        entry.get("http_status"),
        fields_json,
        cached=True,
        credits=float(entry.get("credits") or 0.0),
    )


def cache_cutoff(ttl_s: float, started: float) -> float:
    """The oldest answer reused: bought within the TTL (``ttl_s`` > 0), or during this run,
    which started at ``started`` (a resumed run never pays again for what it bought)."""
    if ttl_s <= 0:
        return started
    within = time.time() - ttl_s
    return min(within, started) if started > 0 else within


class RedisCache:
    """Answers any worker bought, within ``ttl_s``; with the cache off (``ttl_s=0``), those
    bought during this run (``run_started``): a lookup is paid once a run."""

    def __init__(self, conn: redis.Redis, *, ttl_s: float, run_started: float = 0.0) -> None:
        self.conn, self.ttl_s, self.run_started = conn, ttl_s, run_started

    def cutoff(self) -> float:
        return cache_cutoff(self.ttl_s, self.run_started)

    async def get(self, key: ClaimKey) -> Answer | None:
        raw = self.conn.get(cache_key(key))
        if raw is None or json.loads(raw)["fetched_at"] < self.cutoff():
            return None
        return answer_from_json(raw)

    def put(self, key: ClaimKey, answer: Answer) -> None:
        # the journal stored it with the claim's release (one step, so nobody pays between)
        return None


class RedisClaims:
    """Waits for a lookup another worker is paying for: its answer once stored, ``None`` once
    its claim is released without one or has expired (its owner died)."""

    def __init__(self, conn: redis.Redis, *, stopping: Any) -> None:
        self.conn, self._stopping = conn, stopping

    async def wait_for(self, key: ClaimKey) -> Answer | None:
        since = time.time() - 1.0
        delay = 0.005
        while not self._stopping():
            await asyncio.sleep(delay)
            delay = min(0.2, delay * 1.5)
            raw, holder = self.conn.mget([cache_key(key), claim_key(key)])
            if raw is not None and json.loads(raw)["fetched_at"] >= since:
                return answer_from_json(raw)
            if holder is None:
                return None
        return None


class RedisJournal(MemoryJournal):
    """Intent and claim in one script before the call; the result, the cache entry and the
    claim's release in one script after; every attempt appended to the run's list."""

    def __init__(
        self, conn: redis.Redis, run_id: str, *, execution: str, ttl_s: float, leases: Leases
    ) -> None:
        super().__init__(run_id)
        self.conn, self.execution, self.leases = conn, execution, leases
        #: a lookup bought during this run is reused even with the cache off or once its TTL
        #: ran out (paid once a run, however late the run is resumed)
        self.cutoff = cache_cutoff(ttl_s, run_started(conn, run_id))
        self._intend = conn.register_script(INTEND)
        self._done = conn.register_script(DONE)
        self.reservations = run_key(run_id, "reservations")
        self.budget_keys = [run_key(run_id, p) for p in ("budget", "reservations", "lost")]
        self.inflight = run_key(run_id, "inflight")
        self.list = run_key(run_id, "attempts")

    def _field(self, a: Attempt) -> str:
        return f"{self.execution}:{a.seq}"

    async def intend(self, lk: Lookup) -> Attempt | Answer | Failure | Literal[True]:
        a = self.attempt(lk, "sent")
        if lk.local:
            return a
        key = lk.claim_key
        claim = claim_key(key)
        verdict, body = self._intend(
            keys=[claim, cache_key(key), self.inflight, self.reservations],
            args=[self.execution, int(LEASE_S * 1000), repr(self.cutoff), self._field(a),
                  self._row(a), getattr(lk.hold, "rid", "")],
        )  # fmt: skip
        verdict = verdict.decode() if isinstance(verdict, bytes) else verdict
        if verdict == "released":
            return Failure("stopped", f"{lk.name}: this chunk was re-run by another worker")
        if verdict == "cached":
            answer = answer_from_json(body)
            self.used(lk, answer)
            return answer
        if verdict == "busy":
            return True
        self.leases.claims[claim] = self.execution
        return a

    def _row(self, a: Attempt) -> str:
        return json.dumps([self.execution, *a.as_row()])

    def used(self, lk: Lookup, answer: Answer) -> None:
        super().used(lk, answer)
        self.conn.rpush(self.list, self._row(self.attempts[-1]))

    def done(self, lk: Lookup, a: Attempt, sent: Sent) -> None:
        self._cache_next = ""
        answer = sent.read
        if not lk.local and sent.finding.error is None and answer.outcome in ("hit", "miss"):
            self._cache_next = answer_json(answer, sent.credits)
        super().done(lk, a, sent)

    def _ledger(self, lk: Lookup, a: Attempt) -> None:
        if lk.local:
            return
        cache_entry, self._cache_next = getattr(self, "_cache_next", ""), ""
        claim = claim_key(lk.claim_key)
        # the charge the engine's Meter settles the hold at: what was billed, plus the worst
        # case of what may have been billed unseen
        charged = a.credits + a.credits_held
        self._done(
            keys=[claim, self.inflight, self.list, cache_key(lk.claim_key), *self.budget_keys],
            args=[self.execution, self._field(a), self._row(a), cache_entry,
                  getattr(lk.hold, "rid", ""), repr(charged), repr(charged * lk.price)],
        )  # fmt: skip
        self.leases.claims.pop(claim, None)


def run_started(conn: redis.Redis, run_id: str) -> float:
    raw = conn.hget(run_key(run_id, "meta"), "created_at")
    return float(raw) if raw is not None else time.time()


def shared_limiters(
    conn: redis.Redis, local: Mapping[str, Any], providers: Mapping[str, Any], leases: Leases
) -> dict[str, RedisLimiter]:
    """One shared limiter per account, configured as the direct run's limiter would be
    (providers on one base URL share one, as they do in process)."""
    by_local: dict[int, RedisLimiter] = {}
    out: dict[str, RedisLimiter] = {}
    for name, limiter in local.items():
        shared = by_local.get(id(limiter))
        if shared is None:
            account = getattr(providers.get(name), "base_url", None) or name
            shared = RedisLimiter(
                conn,
                f"{name}@{account}",
                per_second=limiter.per_second,
                max_in_flight=limiter.max_in_flight,
                leases=leases,
            )
            by_local[id(limiter)] = shared
        out[name] = shared
    return out


class SharedBreaker(CircuitBreaker):
    """The circuit breaker every worker of a run sees: a provider one worker stops (for the
    run, or for a cool-down) is stopped in every worker within a quarter of a second — each
    reads the run's ``breaker`` hash at most every :data:`BREAKER_SYNC_S` when it asks."""

    def __init__(self, policy: BreakerPolicy | None, conn: redis.Redis, run_id: str) -> None:
        super().__init__(policy)
        self.conn, self.key = conn, run_key(run_id, "breaker")
        self._synced = -math.inf
        self._applying = False

    def _open(self, provider: str, reason: str, *, abort: bool = True) -> None:
        super()._open(provider, reason, abort=abort)
        if self._applying:
            return  # told by another worker: not ours to publish again
        reopen = self._of(provider).reopen_at
        until = 0.0 if provider in self._permanent or reopen is None else (
            time.time() + max(0.0, reopen - time.monotonic())
        )  # fmt: skip
        with contextlib.suppress(Exception):
            self.conn.hset(self.key, provider, json.dumps({"reason": reason, "until": until}))

    def blocked(self, provider: str, *, now: float | None = None) -> str | None:
        self._sync()
        return super().blocked(provider, now=now)

    def _sync(self) -> None:
        mono = time.monotonic()
        if mono - self._synced < BREAKER_SYNC_S:
            return
        self._synced = mono
        try:
            entries = self.conn.hgetall(self.key)
        except Exception:  # Redis away for a moment: this worker's own view stands
            return
        for raw_name, raw in entries.items():
            name = raw_name.decode() if isinstance(raw_name, bytes) else str(raw_name)
            entry = json.loads(raw)
            reopen = self._of(name).reopen_at
            if name in self._permanent or (reopen is not None and reopen > mono):
                continue  # already stopped here
            until = float(entry["until"])
            if until and until <= time.time():
                continue  # that pause is over
            self._applying = True
            try:
                reason = f"stopped by another worker: {entry['reason']}"
                if not until:
                    self.trip(name, reason)
                else:
                    health = self._of(name)
                    health.probing = False
                    health.reopen_at = mono + (until - time.time())
                    self._open(name, reason)
            finally:
                self._applying = False
