"""The request pipeline shared by the in-process transport and the loopback server.

``SandboxApp.respond(provider, method, path, query, headers, body)`` runs: route → auth (a
missing key is answered the provider's way) → rate limit → fault draw → endpoint handler →
billing → latency. It returns a :class:`~gtmkit.sandbox.http.wire.Reply` whose ``delay_s`` the
front end sleeps before answering, and whose ``action`` (timeout / reset / hang) it enacts.

What the provider side saw is counted here, independently of any client's books:
``ledger`` (credits per key, and every billed call by request fingerprint),
``requests_by_provider`` and ``refused`` (requests the rate limiter turned away).
"""

from __future__ import annotations

import math
import statistics
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from gtmkit.errors import NotFound
from gtmkit.sandbox.contract import SIMULATED_PROVIDERS, Oracle
from gtmkit.sandbox.errors import SandboxError, SandboxServerError
from gtmkit.sandbox.http.api import ProviderAPI, gateway_reply
from gtmkit.sandbox.http.billing import CreditLedger
from gtmkit.sandbox.http.faults import FaultConfig, FaultInjector
from gtmkit.sandbox.http.ratelimit import RateInfo, RateLimiter, parse_rate_limits
from gtmkit.sandbox.http.wire import BadBody, Exchange, Reply, key_digest, unit_float

if TYPE_CHECKING:
    from gtmkit.sandbox.world import World

#: Spread of the lognormal latency used with a median override (``--latency-ms``).
LATENCY_SIGMA = 0.5
#: Raw (unscaled) seconds an error answered before any lookup takes.
ERROR_LATENCY_S = 0.05

_NORMAL = statistics.NormalDist()


def resolve_oracle(world: World | None = None, oracle: Oracle | None = None) -> Oracle:
    """The oracle to serve: an explicit one, else ``ProviderOracle(world or default_world())``."""
    if oracle is not None:
        return oracle
    from gtmkit.sandbox.oracle import ProviderOracle
    from gtmkit.sandbox.world import default_world

    return ProviderOracle(world if world is not None else default_world())


class SandboxApp:
    """All simulated providers behind one request pipeline.

    Args:
        oracle: who each provider finds (``contract.Oracle``).
        latency_scale: multiplier on the oracle's latencies (0 = answer at once).
        latency_ms: median latency override in milliseconds (lognormal around it, seeded);
            when set, ``latency_scale`` is ignored.
        faults: fault injection config (``None`` = none).
        rate_limits: ``True`` for documented defaults, or provider → requests/s.
        credits: credit allowance per key (int, or provider → int); ``None`` = plenty.
        charge_credits: provider → credits one billed unit (a match, a record) costs, in place
            of 1: a provider charging more than its adapter declares. The provider's own billing
            signal says so (PDL's ``x-call-credits-spent``, Dropcontact's ``credits_left``).
        dropcontact_ready_polls: polls answered "not ready" before a Dropcontact batch is
            returned, on top of its simulated processing time.
        verifier_pending_rate: share of first Hunter verifications answered 202 (still running).
        seed: seed of latency jitter, request ids and 202 draws.
        clock: monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        oracle: Oracle,
        *,
        latency_scale: float = 0.0,
        latency_ms: float | None = None,
        faults: FaultConfig | None = None,
        rate_limits: bool | Mapping[str, float | bool] | str | None = False,
        credits: int | Mapping[str, int] | None = None,
        charge_credits: Mapping[str, float] | None = None,
        dropcontact_ready_polls: int = 0,
        verifier_pending_rate: float = 0.02,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if latency_scale < 0:
            raise SandboxError("latency_scale must be >= 0")
        if latency_ms is not None and latency_ms < 0:
            raise SandboxError("latency_ms must be >= 0")
        if dropcontact_ready_polls < 0:
            raise SandboxError("dropcontact_ready_polls must be >= 0")
        if not 0.0 <= verifier_pending_rate <= 1.0:
            raise SandboxError("verifier_pending_rate must be within [0, 1]")
        self.oracle = oracle
        self.latency_scale = float(latency_scale)
        self.latency_median_s = None if latency_ms is None else latency_ms / 1000.0
        self.faults = faults
        self._injector = FaultInjector(faults) if faults is not None and faults.rate > 0 else None
        self.limiter = RateLimiter(parse_rate_limits(rate_limits))
        self.ledger = CreditLedger(credits)
        self.charge_credits = _charge_overrides(charge_credits)
        self.dropcontact_ready_polls = int(dropcontact_ready_polls)
        self.verifier_pending_rate = float(verifier_pending_rate)
        self.seed = seed
        self.clock = clock
        self.internal_errors = 0
        self.requests = 0
        self.requests_by_provider: Counter[str] = Counter()
        #: requests the rate limiter refused (not the injected "429" faults), per provider
        self.refused: Counter[str] = Counter()
        self._lock = threading.Lock()
        from gtmkit.sandbox.http.registry import API_CLASSES

        self.apis: dict[str, ProviderAPI] = {name: cls(self) for name, cls in API_CLASSES.items()}
        missing = set(SIMULATED_PROVIDERS) - set(self.apis)
        if missing:  # pragma: no cover - guards the registry against drift
            raise SandboxServerError(f"no HTTP API for {sorted(missing)}")

    def credits_per_unit(self, provider: str) -> float:
        """Credits one billed unit costs at this provider (1 unless overridden)."""
        return self.charge_credits.get(provider, 1.0)

    @property
    def injected_faults(self) -> dict[str, int]:
        """Faults injected so far, by kind."""
        return dict(self._injector.injected) if self._injector else {}

    # -- latency -----------------------------------------------------------------------
    def scaled_delay(self, raw_s: float, fingerprint: bytes) -> float:
        """Seconds to wait for an answer whose simulated latency is ``raw_s``."""
        if self.latency_median_s is not None:
            if self.latency_median_s <= 0:
                return 0.0
            u = min(max(unit_float(self.seed, "latency", fingerprint.hex()), 1e-9), 1 - 1e-9)
            return self.latency_median_s * math.exp(LATENCY_SIGMA * _NORMAL.inv_cdf(u))
        return raw_s * self.latency_scale

    # -- the pipeline ----------------------------------------------------------------------
    def respond(
        self,
        provider: str,
        method: str,
        path: str,
        raw_query: str,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Reply:
        """Answer one request (synchronously; the caller sleeps ``reply.delay_s``).

        ``headers`` must have lower-case names. ``path`` is below the provider's API prefix.
        """
        api = self.apis.get(provider)
        if api is None:
            raise NotFound(f"unknown simulated provider {provider!r}")
        self.requests += 1
        self.requests_by_provider[provider] += 1
        ex = Exchange(provider, method, path, raw_query, headers, body)
        routed = api.route(ex)
        if isinstance(routed, Reply):
            return self._finish(routed, ERROR_LATENCY_S, ex)
        key = api.api_key(ex)
        if not key:
            return self._finish(api.unauthorized(ex), ERROR_LATENCY_S, ex)
        ex.key_id = key_digest(key)
        info = self.limiter.admit(provider)
        if not info.allowed:
            self.refused[provider] += 1
            return self._finish(api.rate_limited(ex, info), ERROR_LATENCY_S, ex)
        injector = self._injector
        fault = injector.decide(provider, ex.fingerprint(), path) if injector else None
        if fault is not None:
            return self._fault(api, routed, ex, fault[0], fault[1], info)
        reply = self._run(api, routed, ex)
        reply.headers.extend(api.rate_headers(info))
        return self._finish(reply, reply.delay_s, ex)

    def _run(self, api: ProviderAPI, handler: Callable[[Exchange], Reply], ex: Exchange) -> Reply:
        try:
            return handler(ex)
        except BadBody:  # unparsable JSON body, or a body of the wrong type
            reply = api.bad_body(ex)
            reply.delay_s = ERROR_LATENCY_S
            return reply
        except Exception:  # a bug: answer like a provider would, and keep it visible
            with self._lock:
                self.internal_errors += 1
            traceback.print_exc(file=sys.stderr)
            reply = api.server_error(ex)
            reply.delay_s = ERROR_LATENCY_S
            return reply

    def _finish(self, reply: Reply, raw_delay: float, ex: Exchange) -> Reply:
        if self.latency_median_s is None and self.latency_scale == 0.0:
            reply.delay_s = 0.0
        else:
            reply.delay_s = self.scaled_delay(raw_delay, ex.fingerprint())
        return reply

    def _fault(
        self,
        api: ProviderAPI,
        handler: Callable[[Exchange], Reply],
        ex: Exchange,
        kind: str,
        draw: float,
        info: RateInfo,
    ) -> Reply:
        faults = self.faults
        assert faults is not None
        if kind == "429":
            retry_after = faults.retry_after_s
            refused = RateInfo(
                allowed=False,
                retry_after_s=1.0 if retry_after is None else retry_after,
                per_second=info.per_second,
                minute_limit=info.minute_limit,
                minute_used=info.minute_limit,
                hour_used=info.hour_used,
                day_used=info.day_used,
                minute_reset_s=info.minute_reset_s,
                day_reset_s=info.day_reset_s,
                now=info.now,
                retry_after_value=faults.retry_after_header,
            )
            return self._finish(api.rate_limited(ex, refused), ERROR_LATENCY_S, ex)
        if kind == "5xx":
            status = (500, 502, 503)[min(int(draw * 3), 2)]
            reply = api.server_error(ex) if status == 500 else gateway_reply(status)
            return self._finish(reply, ERROR_LATENCY_S, ex)
        if kind == "401":
            return self._finish(api.unauthorized(ex), ERROR_LATENCY_S, ex)
        if kind == "402":
            return self._finish(api.out_of_credits(ex), ERROR_LATENCY_S, ex)
        if kind in ("hang", "refuse"):
            return Reply(504, b"", action=kind)  # never answered: no latency, no billing
        if kind == "late":
            # processed and billed like any answer, which then comes after the client gave up
            self._run(api, handler, ex)
            return Reply(504, b"", action="timeout", delay_s=faults.timeout_s)
        if kind in ("timeout", "reset"):
            # A reset is an abort mid-connection (ReadError) or a close before any byte of
            # the answer (RemoteProtocolError); which one is part of the seeded draw.
            action = "timeout" if kind == "timeout" else ("reset" if draw < 0.5 else "disconnect")
            reply = Reply(504, b"", action=action)
            finished = self._finish(reply, ERROR_LATENCY_S, ex)
            if kind == "timeout":
                finished.delay_s = faults.timeout_s
            return finished
        if kind == "malformed":
            ex.dry = True  # build the real body without billing it, then cut it short
            real = self._run(api, handler, ex)
            cut = real.body[: max(1, len(real.body) // 2)]
            reply = Reply(200, cut, headers=api.rate_headers(info))
            return self._finish(reply, real.delay_s, ex)
        # "slow": the normal, billed answer, late by slow_s (not scaled: it must be felt even
        # with latency switched off)
        reply = self._run(api, handler, ex)
        reply.headers.extend(api.rate_headers(info))
        finished = self._finish(reply, reply.delay_s, ex)
        finished.delay_s += faults.slow_s
        return finished


def _charge_overrides(spec: Mapping[str, float] | None) -> dict[str, float]:
    """Validate ``charge_credits=``: known providers, finite credits > 0."""
    out: dict[str, float] = {}
    for name, value in (spec or {}).items():
        if name not in SIMULATED_PROVIDERS:
            raise SandboxError(
                f"unknown provider {name!r} in charge_credits (known: {list(SIMULATED_PROVIDERS)})"
            )
        credits = float(value)
        if isinstance(value, bool) or not (math.isfinite(credits) and credits > 0):
            raise SandboxError(
                f"charge_credits[{name!r}] must be a finite number > 0, got {value!r}"
            )
        out[name] = credits
    return out
