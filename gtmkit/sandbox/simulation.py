"""``simulate(...)``: one simulated provider side — the in-process transport, the adapter
settings that fit its timing, and the independent meter of what it billed.

A test, notebook or benchmark that wants the simulated providers with some behaviour (latency,
faults, rate limits, a credit allowance, a provider charging more than it declares) asks for a
:class:`Simulation` and hands its parts to whoever connects:

* ``sim.transport`` — the :class:`~gtmkit.sandbox.http.transport.SandboxTransport` to send
  requests through (``gtmkit.providers.connect(..., transport=sim.transport)``);
* ``sim.adapter_options`` — per-provider constructor overrides that fit the simulated timing
  (Dropcontact's polling, Hunter's pending-verification wait);
* ``sim.connect_options`` — both, as ``Waterfall.run(..., connect_options=...)`` takes them;
* ``sim.connect(names, **live_options)`` — the same in one call;
* ``sim.serve()`` — the same pipeline on a loopback HTTP server (its ``base_urls``), sharing
  this simulation's credits, jobs and meter;
* ``sim.billed()``, ``sim.billed_requests()``, ``sim.repeated_lookups()``, ``sim.requests()``,
  ``sim.refused()`` — what the *provider side* saw and charged, counted by the simulation
  itself and never by the client under test.

Example:
    >>> from gtmkit.sandbox import simulate
    >>> sim = simulate(charge_credits={"pdl": 5})
    >>> sim.billed(), sim.repeated_lookups()
    ({}, 0)
    >>> sim.adapter_options["dropcontact"]["poll_interval_s"]
    0.0
    >>> sorted(sim.connect_options)
    ['options', 'transport']
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gtmkit.providers.apollo_phone import PhoneInbox
from gtmkit.sandbox.errors import SandboxError
from gtmkit.sandbox.http.app import SandboxApp, resolve_oracle
from gtmkit.sandbox.http.billing import BilledCall
from gtmkit.sandbox.http.transport import SandboxTransport

if TYPE_CHECKING:
    from gtmkit.providers.connect import Connection
    from gtmkit.sandbox.contract import Oracle
    from gtmkit.sandbox.http.faults import FaultConfig
    from gtmkit.sandbox.http.server import LoopbackServer
    from gtmkit.sandbox.world import World

#: Simulated seconds of one "tick" of waiting: a Dropcontact poll interval or Hunter's pending
#: wait at ``latency_scale=1`` (scaled down with the latency, to 0 when latency is off).
_WAIT_TICK_S = 0.05
#: Most polls a Dropcontact lookup makes against the simulation (its batches resolve in
#: simulated time, so a lookup polls more often than it would against the real API).
SANDBOX_MAX_POLLS = 200


def adapter_options(time_scale: float = 0.0) -> dict[str, dict[str, Any]]:
    """Constructor overrides for adapters talking to a simulation whose latencies are
    ``time_scale`` × the realistic ones: its "not ready" answers resolve in simulated time, so a
    poll loop must not sleep real seconds when latency is switched off.

    Example:
        >>> adapter_options(0.0)["hunter_verifier"]
        {'pending_wait_s': 0.0}
        >>> adapter_options(1.0)["dropcontact"]["max_poll_wait_s"]
        0.5
    """
    if not time_scale >= 0:
        raise SandboxError(f"time_scale must be >= 0, got {time_scale!r}")
    tick = _WAIT_TICK_S * time_scale
    return {
        "dropcontact": {
            "poll_interval_s": tick,
            "max_poll_wait_s": max(tick, 0.5 * time_scale),
            "max_polls": SANDBOX_MAX_POLLS,
        },
        "hunter_verifier": {"pending_wait_s": tick},
        # the phone reveal's delivery comes in simulated time too
        "apollo": {"phone_poll_s": max(tick, 0.002)},
    }


class _TemporaryPhoneInbox(PhoneInbox):
    """An Apollo phone inbox in a temporary folder that lives as long as the inbox does: the
    adapters of ``simulate(world).connect(...)`` hold it after the simulation itself is gone
    (the folder belonged to the simulation once, and went with it: every reveal then failed)."""

    def __init__(self) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="gtmkit-apollo-phones-")
        super().__init__(Path(self._folder.name) / "apollo-phones.sqlite")


class Simulation:
    """The simulated providers behind one pipeline, with its transport, adapter settings and
    meter. Build one with :func:`simulate`."""

    def __init__(self, app: SandboxApp, *, time_scale: float) -> None:
        self.app = app
        #: the in-process transport serving the simulated providers' real hosts
        self.transport = SandboxTransport.from_app(app)
        #: per-provider constructor overrides fitting this simulation's timing
        self.adapter_options = adapter_options(time_scale)
        # Apollo's phone deliveries land in an inbox of this simulation's own (a temporary
        # file), so one simulation's reveals are never read by another
        self.phone_inbox: PhoneInbox = _TemporaryPhoneInbox()
        self.adapter_options["apollo"]["phone_inbox"] = self.phone_inbox

    # -- handing it to a client -------------------------------------------------------------
    @property
    def connect_options(self) -> dict[str, Any]:
        """``{"transport": ..., "options": ...}`` for ``Waterfall.run(connect_options=...)``."""
        return {"transport": self.transport, "options": self._options(None)}

    def connect(self, names: Sequence[str] | str, **live_options: Any) -> Connection:
        """``gtmkit.providers.connect(names, mode="sandbox", ...)`` served by this simulation.

        ``live_options`` are the other ``connect`` options (``timeout``, ``base_urls``,
        ``options`` — merged over :attr:`adapter_options` — ``learn_patterns``...).
        """
        from gtmkit.providers.connect import connect

        options = self._options(live_options.pop("options", None))
        return connect(
            names, mode="sandbox", transport=self.transport, options=options, **live_options
        )

    def _options(self, extra: Mapping[str, Mapping[str, Any]] | None) -> dict[str, dict[str, Any]]:
        merged = {name: dict(values) for name, values in self.adapter_options.items()}
        for name, values in (extra or {}).items():
            merged.setdefault(name, {}).update(values)
        return merged

    @contextlib.contextmanager
    def serve(self, *, port: int = 0) -> Iterator[LoopbackServer]:
        """This simulation on a loopback HTTP server for the ``with`` block (``.base_urls``);
        credits, Dropcontact jobs and the meter are shared with :attr:`transport`."""
        from gtmkit.sandbox.http.server import serve_in_thread

        with serve_in_thread(port=port, app=self.app) as server:
            yield server

    # -- the provider side's meter -------------------------------------------------------------
    def billed(self) -> dict[str, float]:
        """Credits each provider charged, over all keys (net of refunds)."""
        return {name: credits for name, credits in self.app.ledger.totals().items() if credits}

    def billed_by_endpoint(self) -> dict[tuple[str, str], float]:
        """Credits charged per (provider, path): Hunter's finder and its verifier bill one
        account but are priced apart."""
        out: dict[tuple[str, str], float] = {}
        for call in self.app.ledger.billed_calls():
            out[(call.provider, call.path)] = (
                out.get((call.provider, call.path), 0.0) + call.credits
            )
        return out

    def billed_calls(self, provider: str | None = None) -> list[BilledCall]:
        """Every call that cost something, in billing order (provider, request, credits)."""
        return self.app.ledger.billed_calls(provider)

    def billed_requests(self, provider: str | None = None) -> Counter[tuple[str, str]]:
        """``(provider, request fingerprint) → times billed``: the same lookup asked the same
        way is the same request, so a count above 1 is a paid lookup paid again."""
        return self.app.ledger.billed_requests(provider)

    def repeated_lookups(self, provider: str | None = None) -> int:
        """Billed calls that repeated a request already billed."""
        return self.app.ledger.repeated_requests(provider)

    def requests(self) -> dict[str, int]:
        """Requests each provider received (answered, refused or faulted)."""
        return dict(self.app.requests_by_provider)

    def refused(self) -> dict[str, int]:
        """Requests each provider's rate limiter refused (injected 429 faults not counted)."""
        return dict(self.app.refused)

    @property
    def injected_faults(self) -> dict[str, int]:
        """Faults injected so far, by kind."""
        return self.app.injected_faults

    def __repr__(self) -> str:
        return f"Simulation(billed={self.billed()}, requests={sum(self.requests().values())})"


def simulate(
    world: World | None = None,
    *,
    latency_scale: float = 0.0,
    latency_ms: float | None = None,
    faults: FaultConfig | None = None,
    rate_limits: bool | Mapping[str, float | bool] | str = False,
    allowance: int | Mapping[str, int] | None = None,
    charge_credits: Mapping[str, float] | None = None,
    dropcontact_ready_polls: int = 0,
    verifier_pending_rate: float = 0.02,
    oracle: Oracle | None = None,
    seed: int = 0,
) -> Simulation:
    """The simulated providers with the behaviour asked for, ready to hand to a client.

    Args:
        world: the world to serve (default: ``default_world()``, the one ``data/samples`` uses).
        latency_scale: multiplier on simulated latencies (0 = answer at once; 1 = realistic).
        latency_ms: median latency override in milliseconds (lognormal around it).
        faults: fault injection (:class:`~gtmkit.sandbox.FaultConfig`): 429s with any
            ``Retry-After``, 5xx, timeouts, resets, malformed bodies, late (billed) answers,
            hangs, bad-key and out-of-credits answers.
        rate_limits: ``True`` for the documented per-provider plan limits, or provider →
            requests/s; the rate-limit headers announce the limit enforced.
        allowance: credits each key starts with (int, or provider → int); ``None`` = plenty.
        charge_credits: provider → credits one billed call costs, in place of the 1 its
            adapter declares (e.g. ``{"pdl": 5}``), reported in the provider's billing signal.
        dropcontact_ready_polls: polls answered "not ready" before a Dropcontact batch is
            returned.
        verifier_pending_rate: share of first Hunter verifications answered 202.
        oracle: serve this ``contract.Oracle`` instead of ``ProviderOracle(world)``.
        seed: seed of latency jitter, request ids and 202 draws.

    Returns:
        a :class:`Simulation`.
    """
    app = SandboxApp(
        resolve_oracle(world, oracle),
        latency_scale=latency_scale,
        latency_ms=latency_ms,
        faults=faults,
        rate_limits=rate_limits,
        credits=allowance,
        charge_credits=charge_credits,
        dropcontact_ready_polls=dropcontact_ready_polls,
        verifier_pending_rate=verifier_pending_rate,
        seed=seed,
    )
    # waits scale with the simulated time: a latency median stands for ~1 s of real latency
    time_scale = latency_scale if latency_ms is None else latency_ms / 1000.0
    return Simulation(app, time_scale=time_scale)


__all__ = ["Simulation", "adapter_options", "simulate"]
