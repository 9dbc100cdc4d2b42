"""Fake providers for the waterfall tests: real ``Provider`` adapters over an
``httpx.MockTransport`` whose handler we control (hits, misses, faults, 429 with Retry-After,
402, latency), plus a deterministic fake world so two runs can be compared row by row.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
import polars as pl

from gtmkit.providers.base import Finding, Provider, RateLimit, Record
from gtmkit.providers.errors import (
    AuthError,
    BadRequest,
    OutOfCredits,
    ProviderDown,
    RateLimited,
)

FIRST = ["ana", "ben", "chloe", "dan", "eve", "farid", "gina", "hugo", "ines", "jon", "kai", "lea"]
LAST = ["martin", "nguyen", "okafor", "petit", "quinn", "rossi", "silva", "tanaka", "ueda", "vidal"]
DOMAINS = [f"co{i}.example" for i in range(40)]


def _h(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big")


def make_records(n: int, *, seed: int = 0, dup_rate: float = 0.0, same_key_rate: float = 0.0):
    """A lead frame: row_id, first_name, last_name, company_domain, email (null), duplicate_of.

    ``dup_rate``: share of rows marked by intake as duplicates of an earlier row;
    ``same_key_rate``: share of rows repeating an earlier person *without* being marked (the
    engine's own lookup dedupe must catch those).
    """
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for i in range(n):
        if rows and rng.random() < dup_rate:
            src = rng.choice(rows)
            rows.append({**src, "row_id": i, "duplicate_of": src["row_id"]})
            continue
        if rows and rng.random() < same_key_rate:
            src = rng.choice(rows)
            rows.append({**src, "row_id": i, "duplicate_of": None})
            continue
        rows.append(
            {
                "row_id": i,
                "first_name": rng.choice(FIRST),
                "last_name": rng.choice(LAST) + str(rng.randrange(1000)),
                "company_domain": rng.choice(DOMAINS),
                "email": None,
                "duplicate_of": None,
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "row_id": pl.Int64,
            "first_name": pl.String,
            "last_name": pl.String,
            "company_domain": pl.String,
            "email": pl.String,
            "duplicate_of": pl.Int64,
        },
    )


@dataclass
class FakeWorld:
    """Who each fake provider finds, with which email and status — a pure function of the key."""

    hit_rates: Mapping[str, float] = field(
        default_factory=lambda: {"alpha": 0.5, "beta": 0.5, "gamma": 0.6}
    )
    seed: int = 0
    #: scripted answers: {(provider, "first|last|domain"): answer dict or None (a miss)}
    script: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict)
    #: scripted verifier verdicts: {email: verdict}
    verdicts: dict[str, str] = field(default_factory=dict)

    def true_email(self, first: str, last: str, domain: str) -> str:
        return f"{first}.{last}@{domain}".lower()

    def catch_all(self, domain: str) -> bool:
        return _h("catch", domain, self.seed) % 100 < 30

    def find(self, provider: str, first: str, last: str, domain: str) -> dict[str, Any] | None:
        key = f"{first}|{last}|{domain}".lower()
        if (provider, key) in self.script:
            answer = self.script[(provider, key)]
            return None if answer is None else {"title": "", "confidence": None, **answer}
        rate = self.hit_rates.get(provider, 0.5)
        if _h(provider, first, last, domain, self.seed) % 1000 >= rate * 1000:
            return None
        roll = _h("q", provider, first, last, domain, self.seed) % 100
        if roll < 10:  # a wrong guess (the verifier says invalid)
            email = f"{first[0]}{last}@{domain}".lower()
        else:
            email = self.true_email(first, last, domain)
        if self.catch_all(domain):
            status = "catch_all"
        elif roll < 45:
            status = "valid" if email == self.true_email(first, last, domain) else "risky"
        else:
            status = "risky"
        confidence = (_h("c", provider, first, last) % 100) / 100
        return {"email": email, "status": status, "confidence": confidence, "title": "VP " + last}

    def verify(self, email: str) -> str:
        if email in self.verdicts:
            return self.verdicts[email]
        local, _, domain = email.partition("@")
        if self.catch_all(domain):
            return "catch_all"
        return "valid" if "." in local else "invalid"


@dataclass
class FakeService:
    """The 'provider side': an async MockTransport handler with billing, faults and latency.

    Args:
        world: the fake world.
        latency_s: simulated service time of every request.
        fault_rate: share of requests answered with a fault (never billed).
        fault_kinds: among "429", "5xx", "timeout", "reset", "malformed".
        disabled: {provider: status} answered to every request (401, 402...).
        billing_log: a file to append one line per billed request (an independent record
            of what was charged, used by the crash test across processes).
    """

    world: FakeWorld = field(default_factory=FakeWorld)
    latency_s: float = 0.0
    fault_rate: float = 0.0
    fault_kinds: Sequence[str] = ("429", "5xx", "timeout", "reset", "malformed")
    fault_seed: int = 0
    disabled: Mapping[str, int] = field(default_factory=dict)
    billing_log: str | None = None
    #: {provider: requests/s} enforced with a token bucket holding 0.2 s worth (429 beyond)
    rate_limits: Mapping[str, float] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    billed: Counter[str] = field(default_factory=Counter)
    billed_keys: Counter[tuple[str, str]] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight_seen: int = 0
    seen_headers: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.fault_seed)
        self._buckets: dict[str, list[float]] = {}  # provider -> [tokens, last refill time]
        self.rejected: Counter[str] = Counter()

    def _allow(self, provider: str) -> bool:
        rate = self.rate_limits.get(provider)
        if rate is None:
            return True
        import time

        capacity = max(1.0, 0.2 * rate)
        now = time.monotonic()
        tokens, last = self._buckets.get(provider, [capacity, now])
        tokens = min(capacity, tokens + (now - last) * rate)
        allowed = tokens >= 1.0
        self._buckets[provider] = [tokens - 1.0 if allowed else tokens, now]
        return allowed

    def _bill(self, provider: str, key: str, credits: float) -> None:
        if credits <= 0:
            return
        self.billed[provider] += credits
        self.billed_keys[(provider, key)] += 1
        if self.billing_log:
            fd = os.open(self.billing_log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, f"{provider}\t{key}\t{credits}\n".encode())
            finally:
                os.close(fd)

    async def handler(self, request: httpx.Request) -> httpx.Response:
        provider = request.url.host.split(".")[0]
        self.calls[provider] += 1
        self.seen_headers.append(dict(request.headers))
        self.in_flight += 1
        self.max_in_flight_seen = max(self.max_in_flight_seen, self.in_flight)
        try:
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
            if not self._allow(provider):
                self.rejected[provider] += 1
                return httpx.Response(429, headers={"Retry-After": "0.05"}, json={})
            if provider in self.disabled:
                return httpx.Response(self.disabled[provider], json={"error": "nope"})
            if self.fault_rate and self._rng.random() < self.fault_rate:
                kind = self._rng.choice(list(self.fault_kinds))
                self.faults[kind] += 1
                if kind == "429":
                    return httpx.Response(429, headers={"Retry-After": "0.01"}, json={})
                if kind == "5xx":
                    return httpx.Response(503, json={"error": "down"})
                if kind == "timeout":
                    raise httpx.ReadTimeout("simulated timeout", request=request)
                if kind == "reset":
                    raise httpx.RemoteProtocolError("connection reset", request=request)
                return httpx.Response(200, content=b'{"email": "trunc')
            params = request.url.params
            if provider == "verifier":
                email = params["email"]
                verdict = self.world.verify(email)
                self._bill(provider, email, 1.0)
                return httpx.Response(
                    200, json={"status": verdict}, headers={"x-credits-charged": "1"}
                )
            if params.get("bad") == "1":
                return httpx.Response(422, json={"error": "bad"})
            first, last, domain = params["first"], params["last"], params["domain"]
            found = self.world.find(provider, first, last, domain)
            key = f"{first}|{last}|{domain}".lower()
            credits = 1.0 if found else 0.0
            self._bill(provider, key, credits)
            return httpx.Response(
                200,
                json={"person": found},
                headers={"x-credits-charged": str(credits)},
            )
        finally:
            self.in_flight -= 1

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


class FakeFinder(Provider):
    """A finder adapter speaking the fake service's API (``GET /<name>/lookup``)."""

    name: ClassVar[str] = "alpha"
    endpoint: ClassVar[str] = "person/lookup"
    default_base_url: ClassVar[str] = "https://fake.test"
    env_var: ClassVar[str | None] = "FAKE_API_KEY"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (("first_name", "last_name", "company_domain"),)
    returns: ClassVar[frozenset[str]] = frozenset({"email", "title"})
    billing = "per_hit"
    max_credits: ClassVar[float] = 1.0
    price_per_credit: ClassVar[float] = 0.1
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=1000.0, max_in_flight=8)

    def lookup_key(self, record: Record) -> str:
        return "|".join(
            str(record.get(f) or "").strip().lower()
            for f in ("first_name", "last_name", "company_domain")
        )

    async def _lookup(self, record: Record) -> Finding:
        assert self.client is not None
        params = {
            "first": record["first_name"],
            "last": record["last_name"],
            "domain": record["company_domain"],
        }
        if record.get("bad"):
            params["bad"] = "1"
        response = await self.client.get(
            f"{self.base_url}/lookup",
            params=params,
            headers={"X-Api-Key": self._key()},
        )
        _raise_for(response, self.name)
        body = response.json()
        credits = float(response.headers.get("x-credits-charged", "0"))
        person = body["person"]
        if person is None:
            return Finding(self.name, self.endpoint, "miss", http_status=200, credits=credits)
        return Finding(
            self.name,
            self.endpoint,
            "hit",
            fields={"email": person["email"], "title": person["title"]},
            email_status=person["status"],
            provider_status=person["status"],
            confidence=person["confidence"],
            credits=credits,
            http_status=200,
        )


class FakeVerifier(Provider):
    name: ClassVar[str] = "verifier"
    kind = "verifier"
    endpoint: ClassVar[str] = "email/verify"
    default_base_url: ClassVar[str] = "https://verifier.fake.test"
    env_var: ClassVar[str | None] = "FAKE_API_KEY"
    needs: ClassVar[tuple[tuple[str, ...], ...]] = (("email",),)
    billing = "per_call"
    max_credits: ClassVar[float] = 1.0
    price_per_credit: ClassVar[float] = 0.01
    rate_limit: ClassVar[RateLimit] = RateLimit(per_second=1000.0, max_in_flight=8)

    def lookup_key(self, record: Record) -> str:
        return str(record.get("email") or "").strip().lower()

    async def _lookup(self, record: Record) -> Finding:
        assert self.client is not None
        response = await self.client.get(
            f"{self.base_url}/verify",
            params={"email": record["email"]},
            headers={"X-Api-Key": self._key()},
        )
        _raise_for(response, self.name)
        verdict = response.json()["status"]
        return Finding(
            self.name,
            self.endpoint,
            "hit",
            fields={"email": record["email"]},
            email_status=verdict,
            provider_status=verdict,
            credits=float(response.headers.get("x-credits-charged", "0")),
            http_status=200,
        )


def _raise_for(response: httpx.Response, name: str) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 429:
        retry_after = response.headers.get("Retry-After")
        raise RateLimited(
            f"{name}: rate limited",
            provider=name,
            retry_after=float(retry_after) if retry_after else None,
        )
    if status in (401, 403):
        raise AuthError(f"{name}: auth", provider=name, http_status=status)
    if status == 402:
        raise OutOfCredits(f"{name}: out of credits", provider=name, http_status=status)
    if status >= 500:
        raise ProviderDown(f"{name}: down", provider=name, http_status=status)
    raise BadRequest(f"{name}: bad request", provider=name, http_status=status)


def finder_class(name: str, **attrs: Any) -> type[FakeFinder]:
    return type(f"Fake_{name}", (FakeFinder,), {"name": name, **attrs})


def make_providers(
    client: httpx.AsyncClient,
    names: Sequence[str] = ("alpha", "beta", "gamma"),
    *,
    verifier: bool = True,
    api_key: str = "sk-test-0000",
    **attrs: Any,
) -> dict[str, Provider]:
    providers: dict[str, Provider] = {
        n: finder_class(n, default_base_url=f"https://{n}.fake.test", **attrs)(
            client, api_key=api_key
        )
        for n in names
    }
    if verifier:
        providers["verifier"] = FakeVerifier(client, api_key=api_key)
    return providers


ENRICHED_COLUMNS = ("row_id", "email", "email_source", "email_status", "email_verified", "status")


def enriched_view(frame: pl.DataFrame, extra: Sequence[str] = ()) -> pl.DataFrame:
    """The columns two runs of the same list must agree on (cost columns differ after a cache)."""
    return frame.select([*ENRICHED_COLUMNS, *extra]).sort("row_id")


def dumps(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, default=str)


# -- the crash test's child process ---------------------------------------------------------
CRASH_WF_STEPS = ("alpha", "beta", "gamma")


def crash_waterfall():
    from gtmkit.waterfall import Step, Waterfall

    return Waterfall(
        [Step("alpha"), Step("beta", stop="first_verified"), Step("gamma")], verify="verifier"
    )


async def crash_run(ledger: str, billing_log: str, n: int, latency_s: float, *, started=None):
    """One run of the crash-test waterfall (used in the child and for the resume)."""
    svc = FakeService(latency_s=latency_s, billing_log=billing_log)
    async with httpx.AsyncClient(transport=svc.transport()) as client:
        providers = make_providers(client)
        if started is not None:
            started()
        from gtmkit.waterfall import RetryPolicy

        return await crash_waterfall().run_async(
            make_records(n, seed=77, dup_rate=0.05, same_key_rate=0.05),
            providers=providers,
            ledger=ledger,
            progress=False,
            max_in_flight=4,
            retry=RetryPolicy(base_s=0.001, max_backoff_s=0.01),
        )


def crash_child_main(argv: Sequence[str]) -> None:
    """``python -c '...crash_child_main(sys.argv[1:])' LEDGER BILLING_LOG N LATENCY OUT``"""
    import sys

    ledger, billing_log, n, latency, out = argv

    def started() -> None:
        sys.stdout.write("started\n")
        sys.stdout.flush()

    res = asyncio.run(crash_run(ledger, billing_log, int(n), float(latency), started=started))
    res.records.write_parquet(out)


def shared_ledger_child_main(argv: Sequence[str]) -> None:
    """``... shared_ledger_child_main(sys.argv[1:])' LEDGER SEED N OUT_JSON``: one run writing to
    a ledger another process is writing to at the same time."""
    ledger, seed, n, out = argv
    records = make_records(int(n), seed=int(seed))
    go_file = ledger + ".go"
    import time

    while not os.path.exists(go_file):  # start together with the other process
        time.sleep(0.002)

    async def go():
        svc = FakeService(latency_s=0.001)
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            from gtmkit.waterfall import RetryPolicy

            return await crash_waterfall().run_async(
                records,
                providers=make_providers(client),
                ledger=ledger,
                progress=False,
                retry=RetryPolicy(base_s=0.001, max_backoff_s=0.01),
            )

    res = asyncio.run(go())
    with open(out, "w") as fh:
        json.dump(
            {
                "run_id": res.totals["run_id"],
                "credits": res.totals["credits"],
                "attempts": res.attempts.height,
                "calls": res.totals["calls"],
            },
            fh,
        )
