"""The ledger as the engine writes it: group-committed intents and results, the cache it
reads, and the claims that keep two processes from paying for the same lookup.

One ``BEGIN IMMEDIATE`` transaction per event-loop turn carries every intent that became ready
in that turn (the calls wait for it) plus the results and cache entries queued since (nobody
waits for those; they go within ~20 ms). When another live process runs on the same ledger,
the same transaction checks each intent against it — serialized by SQLite's write lock, so the
check and the claim are one step: a lookup that process cached meanwhile is used for free, and
one it is paying for right now is waited for (:class:`LedgerClaims`) instead of paid twice.

Example:
    >>> journal = MemoryJournal("run-1")  # a run without a ledger keeps attempts in memory
    >>> journal.attempts
    []
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime
from typing import Any, Literal

from gtmkit.waterfall.attempt import INSERT_ATTEMPT, Attempt
from gtmkit.waterfall.ledger import (
    HEARTBEAT_EVERY_S,
    Ledger,
    LedgerError,
    translated,
    write_transaction,
)
from gtmkit.waterfall.lookup import Answer, ClaimKey, Failure, Lookup, Sent

_UPSERT_CACHE = (
    "INSERT OR REPLACE INTO cache (provider, endpoint, lookup_key, outcome, fields_json, "
    "email_status, provider_status, confidence, http_status, credits, fetched_at, run_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_FRESH = (
    "SELECT outcome, fields_json, email_status, provider_status, confidence, http_status "
    "FROM cache WHERE provider = ? AND endpoint = ? AND lookup_key = ? AND fetched_at >= ?"
)
_HOLDERS = (
    "SELECT DISTINCT a.run_id FROM attempts a WHERE a.provider = ? AND a.endpoint = ? "
    "AND a.lookup_key = ? AND a.state = 'sent' AND a.run_id != ?"
)
#: an answer another run has read but whose cache entry is still queued (its result row and
#: its cache row can land in different commits, ~20 ms apart): usable as the cache entry
_ANSWERED = (
    "SELECT run_id, outcome, fields_json, email_status, provider_status, confidence, "
    "http_status FROM attempts WHERE provider = ? AND endpoint = ? AND lookup_key = ? "
    "AND state = 'done' AND cached = 0 AND outcome IN ('hit', 'miss') AND run_id != ? "
    "ORDER BY seq DESC"
)
_last_stamp: list[Any] = [0, ""]


def now_iso() -> str:
    """UTC now to the millisecond (formatted once per millisecond: a cached re-run stamps
    tens of thousands of attempts)."""
    ms = time.time_ns() // 1_000_000
    if ms != _last_stamp[0]:
        stamp = datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")
        _last_stamp[0], _last_stamp[1] = ms, stamp
    return str(_last_stamp[1])


def answer_from_cache(row: tuple[Any, ...]) -> Answer:
    outcome, fields_json, email_status, provider_status, confidence, status = row
    fields = json.loads(fields_json) if fields_json and fields_json != "{}" else {}
    return Answer(outcome, fields, email_status, provider_status, confidence, status,
                  fields_json or "{}", cached=True)  # fmt: skip


class MemoryJournal:
    """The journal of a run without a ledger: attempts kept for the result only."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.attempts: list[Attempt] = []
        self._seq = itertools.count(1)

    def attempt(self, lk: Lookup, state: str) -> Attempt:
        return Attempt(
            run_id=self.run_id, seq=next(self._seq), state=state, row_id=lk.row.row_id,
            lookup_key=lk.key, step=lk.step, provider=lk.name, endpoint=lk.endpoint,
            attempt=max(lk.attempt, 1), started_at=now_iso(), worst_case=lk.worst,
            price_usd=lk.price,
        )  # fmt: skip

    async def intend(self, lk: Lookup) -> Attempt | Answer | Failure | Literal[True]:
        return self.attempt(lk, "sent")

    def used(self, lk: Lookup, answer: Answer) -> None:
        lk.row.attempts += 1
        a = self.attempt(lk, "cached")
        a.cached, a.outcome, a.http_status = True, answer.outcome, answer.http_status
        a.latency_s, a.worst_case = 0.0, 0.0
        self._fill(a, answer)
        self.attempts.append(a)

    @staticmethod
    def _fill(a: Attempt, answer: Answer) -> None:
        a.email = answer.fields.get("email") or None
        a.email_status, a.provider_status = answer.email_status, answer.provider_status
        a.confidence, a.fields_json = answer.confidence, answer.fields_json

    def done(self, lk: Lookup, a: Attempt, sent: Sent) -> None:
        f = sent.finding
        a.state = "unknown" if sent.held else "done"
        a.outcome, a.http_status = f.outcome, f.http_status
        a.error_kind = f.error.kind if f.error is not None else None
        a.latency_s = float(f.latency_s or 0.0)
        a.credits, a.credits_held = sent.credits, sent.held
        a.cost_usd, a.billed = sent.credits * lk.price, sent.credits > 0
        self._fill(a, sent.read)
        self.attempts.append(a)
        self._ledger(lk, a)

    def abandoned(self, lk: Lookup, a: Attempt) -> None:
        """The call was cancelled after its intent: its answer will never be read."""
        a.state, a.error_kind, a.credits_held = "unknown", "cancelled", lk.worst
        self.attempts.append(a)
        self._ledger(lk, a)

    def _ledger(self, lk: Lookup, a: Attempt) -> None:
        """Persist a finished attempt (nothing to do without a ledger)."""

    def cache_row(self, key: ClaimKey, answer: Answer, credits: float) -> None:
        """Persist a cache entry (nothing to do without a ledger)."""

    def flush(self) -> None:
        """Commit what is queued (nothing to do without a ledger)."""


class LedgerJournal(MemoryJournal):
    """The journal of a run with a ledger (see the module docstring)."""

    def __init__(
        self,
        ledger: Ledger,
        run_id: str,
        *,
        ttl_s: float,
        chain_id: str | None = None,
        cap_credits: float | None = None,
        cap_usd: float | None = None,
    ) -> None:
        super().__init__(run_id)
        self.ledger = ledger
        self.ttl_s = ttl_s
        self.chain_id = chain_id or run_id
        self.caps = (cap_credits, cap_usd)
        self._shared = False
        self._watch = False
        self.loop = asyncio.get_running_loop()
        self._intents: list[tuple[Attempt, asyncio.Future[Attempt | Answer | Failure | bool]]] = []
        self._rows: list[tuple[Any, ...]] = []
        self._cache: list[tuple[Any, ...]] = []
        self._scheduled: Literal["soon", "later", None] = None
        self._heartbeat = time.time()
        self.error: LedgerError | None = None

    async def intend(self, lk: Lookup) -> Attempt | Answer | Failure | Literal[True]:
        a = self.attempt(lk, "sent")
        if lk.local:
            return a
        if self.error is not None:
            raise self.error
        fut: asyncio.Future[Attempt | Answer | Failure | bool] = self.loop.create_future()
        self._intents.append((a, fut))
        self._schedule(urgent=True)
        verdict = await fut
        if isinstance(verdict, Answer):
            self.used(lk, verdict)
        return verdict  # type: ignore[return-value]

    def _ledger(self, lk: Lookup, a: Attempt) -> None:
        if not lk.local:
            self._rows.append(a.as_row())
            self._schedule(urgent=False)

    def cache_row(self, key: ClaimKey, answer: Answer, credits: float) -> None:
        self._cache.append((*key, answer.outcome, answer.fields_json, answer.email_status,
                            answer.provider_status, answer.confidence, answer.http_status,
                            credits, time.time(), self.run_id))  # fmt: skip
        self._schedule(urgent=False)

    def _schedule(self, *, urgent: bool) -> None:
        # intents go at the end of this loop turn (their calls wait); results ride along, or
        # go on their own after 20 ms, so they never add a writer wake-up
        if self._scheduled == "soon":
            return
        if urgent:
            self._scheduled = "soon"
            self.loop.call_soon(self.flush)
        elif self._scheduled is None:
            self._scheduled = "later"
            self.loop.call_later(0.02, self._flush_later)

    def _flush_later(self) -> None:
        if self._scheduled == "later":
            self.flush()

    def flush(self) -> None:
        self._scheduled = None
        intents, rows, cache = self._intents, self._rows, self._cache
        if not (intents or rows or cache):
            return
        self._intents, self._rows, self._cache = [], [], []
        try:
            verdicts = self._commit(intents, rows, cache)
        except LedgerError as exc:
            self.error = exc
            for _, fut in intents:
                if not fut.done():
                    fut.set_exception(exc)
            if not intents:
                raise
            return
        for (a, fut), verdict in zip(intents, verdicts, strict=True):
            if not fut.done():
                fut.set_result(a if verdict is None else verdict)

    def _commit(self, intents, rows, cache) -> list[Answer | bool | Failure | None]:  # type: ignore[no-untyped-def]
        ledger = self.ledger
        with ledger.lock, translated(ledger.path), write_transaction(ledger.conn) as conn:
            others, partners, since = self._other_runs(conn)
            # the cache snapshot this run started from misses what other runs bought since:
            # once one has run beside this one, every intent checks the ledger's cache first
            # (even after that run finished, when it is no longer a live claim holder)
            self._watch = self._watch or since
            # once another process continuing this run is seen, the ledger is the budget
            # account for the rest of the run (it may still be spending, or have spent, what
            # this process's own account cannot see)
            self._shared = self._shared or bool(partners)
            room = self._chain_room(conn) if self._shared else None
            verdicts: list[Answer | bool | Failure | None] = []
            go: list[tuple[Any, ...]] = []
            cutoff = time.time() - self.ttl_s
            for a, _ in intents:
                verdict: Answer | bool | Failure | None = None
                if room is not None:
                    verdict = room.take(a.worst_case, a.worst_case * a.price_usd)
                if verdict is None and self._watch:
                    key = (a.provider, a.endpoint, a.lookup_key)
                    fresh = conn.execute(_FRESH, (*key, cutoff)).fetchone() if self.ttl_s else None
                    if fresh is None and self.ttl_s and others:
                        fresh = next(
                            (row[1:] for row in conn.execute(_ANSWERED, (*key, self.run_id))
                             if row[0] in others),
                            None,
                        )  # fmt: skip
                    if fresh is not None:
                        verdict = answer_from_cache(fresh)
                    elif others & {r for (r,) in conn.execute(_HOLDERS, (*key, self.run_id))}:
                        verdict = True
                if verdict is None:
                    go.append(a.as_row())
                verdicts.append(verdict)
            if go or rows:
                conn.executemany(INSERT_ATTEMPT, go + rows)
            if cache:
                conn.executemany(_UPSERT_CACHE, cache)
            now = time.time()
            if now - self._heartbeat > HEARTBEAT_EVERY_S:
                self._heartbeat = now
                conn.execute(
                    "UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (now, self.run_id)
                )
        return verdicts

    def _other_runs(self, conn: Any) -> tuple[set[str], set[str], bool]:
        """Other live runs on the ledger, those of them that continue this run's chain (two
        processes resuming one run share its budget), and whether any other run was running
        or finished since this one began. One query: it runs in every group commit."""
        rows = conn.execute(
            "SELECT o.run_id, o.host, o.pid, o.heartbeat_at, o.chain_id, o.status "
            "FROM runs o, runs me WHERE me.run_id = ? AND o.run_id != me.run_id "
            "AND (o.status = 'running' OR o.finished_at >= me.started_at)",
            (self.run_id,),
        ).fetchall()
        live = [(r, chain) for r, host, pid, beat, chain, status in rows
                if status == "running" and self.ledger.is_alive(host, pid, beat)]  # fmt: skip
        return {r for r, _ in live}, {r for r, chain in live if chain == self.chain_id}, bool(rows)

    def _chain_room(self, conn: Any) -> _ChainRoom | None:
        """What the chain's budget has left, counting every process's calls in flight at
        their worst case (the ledger is then the shared budget account)."""
        cap_credits, cap_usd = self.caps
        if cap_credits is None and cap_usd is None:
            return None
        spent = conn.execute(
            "SELECT COALESCE(SUM(CASE WHEN state = 'sent' THEN worst_case "
            "ELSE credits + credits_held END), 0), "
            "COALESCE(SUM(CASE WHEN state = 'sent' THEN worst_case * price_usd "
            "ELSE cost_usd + credits_held * price_usd END), 0) FROM attempts "
            "WHERE run_id IN (SELECT run_id FROM runs WHERE chain_id = ?)",
            (self.chain_id,),
        ).fetchone()
        return _ChainRoom(cap_credits, cap_usd, float(spent[0]), float(spent[1]))


class _ChainRoom:
    """The chain budget's room during one commit: each intent takes its worst case."""

    def __init__(self, cap_credits: float | None, cap_usd: float | None, credits: float,
                 usd: float) -> None:  # fmt: skip
        self.caps, self.credits, self.usd = (cap_credits, cap_usd), credits, usd

    def take(self, credits: float, usd: float) -> Failure | None:
        cap_credits, cap_usd = self.caps
        over_credits = cap_credits is not None and self.credits + credits > cap_credits + 1e-9
        over_usd = cap_usd is not None and self.usd + usd > cap_usd + 1e-9
        if over_credits or over_usd:
            return Failure(
                "budget",
                f"budget exhausted: another process continuing this run holds the rest "
                f"({self.credits:g} credits, ${self.usd:.2f} spent or in flight)",
            )
        self.credits += credits
        self.usd += usd
        return None


class LedgerCache:
    """The cache as a run sees it: a snapshot of the ledger's fresh entries taken at the
    start (one query per provider), plus what this run buys as it goes."""

    def __init__(self, ledger: Ledger, journal: MemoryJournal, pairs: Any, *, ttl_s: float):
        self._rows = ledger.cache_entries(pairs, ttl_s=ttl_s) if ttl_s > 0 else {}
        self._answers: dict[ClaimKey, Answer] = {}
        self._journal = journal

    async def get(self, key: ClaimKey) -> Answer | None:
        answer = self._answers.get(key)
        if answer is None:
            row = self._rows.get(key)
            if row is None:
                return None
            answer = self._answers[key] = answer_from_cache(row)
        return answer

    def put(self, key: ClaimKey, answer: Answer) -> None:
        self._answers[key] = answer.reused()
        self._journal.cache_row(key, answer, answer.credits)


class LedgerClaims:
    """Waits for a lookup another live process on the ledger is paying for."""

    def __init__(self, ledger: Ledger, run_id: str, *, ttl_s: float, stopping: Any) -> None:
        self.ledger, self.run_id, self.ttl_s = ledger, run_id, ttl_s
        self._stopping = stopping

    async def wait_for(self, key: ClaimKey) -> Answer | None:
        delay = 0.02
        while not self._stopping():
            await asyncio.sleep(delay)
            delay = min(0.5, delay * 1.5)
            if self.ttl_s:
                cutoff = time.time() - self.ttl_s
                fresh = self.ledger._read(_FRESH, (*key, cutoff))
                if fresh:
                    return answer_from_cache(fresh[0])
            holders = {r for (r,) in self.ledger._read(_HOLDERS, (*key, self.run_id))}
            if not holders & self._alive(holders):
                return None  # answered without a cacheable result, or its owner is gone
        return None

    def _alive(self, run_ids: set[str]) -> set[str]:
        if not run_ids:
            return set()
        marks = ", ".join("?" for _ in run_ids)
        rows = self.ledger._read(
            f"SELECT run_id, host, pid, heartbeat_at FROM runs WHERE status = 'running' "
            f"AND run_id IN ({marks})",
            tuple(run_ids),
        )
        return {r for r, host, pid, beat in rows if self.ledger.is_alive(host, pid, beat)}
