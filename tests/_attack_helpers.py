"""Helpers for the money attacks: a small simulated world, runs against ``gtmkit.sandbox``
simulations, and child processes that run a waterfall against a loopback simulation so they can
be SIGKILLed while the provider side (in this process) keeps counting what it billed.

The meter is always the simulation's own (``Simulation.billed()``, ``billed_requests()``,
``requests()``) or a counting proxy, never the engine's books.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl

from gtmkit.sandbox import World
from gtmkit.sandbox.simulation import Simulation
from gtmkit.waterfall import RetryPolicy, Step, Waterfall

ROOT = Path(__file__).resolve().parents[1]
FAST_RETRY = RetryPolicy(base_s=0.001, max_backoff_s=0.01)
#: A waterfall over four providers with a verifier: several paid calls per row.
FULL_STEPS: tuple[str, ...] = ("hunter", "apollo", "pdl")
FULL_VERIFY = "hunter_verifier"


@functools.cache
def attack_world() -> World:
    """A small deterministic world (about 2,200 people), generated once per process."""
    return World.generate(seed=3, companies=200)


def world_records(n: int, *, seed: int = 1) -> pl.DataFrame:
    return attack_world().sample_records(n, seed=seed)


def waterfall(steps: Sequence[str] = FULL_STEPS, verify: str | None = FULL_VERIFY) -> Waterfall:
    return Waterfall([Step(name) for name in steps], verify=verify)


def billed_total(sim: Simulation) -> float:
    return float(sum(sim.billed().values()))


def run_in_process(wf: Waterfall, records: pl.DataFrame, sim: Simulation, **options: Any) -> Any:
    """``wf.run`` on the sandbox, served in process by ``sim`` (no ledger unless given)."""
    options.setdefault("ledger", None)
    options.setdefault("progress", False)
    options.setdefault("retry", FAST_RETRY)
    connect_options = {**sim.connect_options, **options.pop("connect_options", {})}
    return wf.run(records, mode="sandbox", connect_options=connect_options, **options)


async def run_bounded(
    wf: Waterfall, records: pl.DataFrame, sim: Simulation, cap_s: float, **options: Any
) -> tuple[Any, float]:
    """``run_async`` cancelled after ``cap_s`` seconds (so a run that would take minutes on a
    broken engine fails the test in bounded time instead of holding the machine)."""
    options.setdefault("ledger", None)
    options.setdefault("progress", False)
    options.setdefault("retry", FAST_RETRY)
    connect_options = {**sim.connect_options, **options.pop("connect_options", {})}
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(
            wf.run_async(records, mode="sandbox", connect_options=connect_options, **options),
            cap_s,
        )
    except TimeoutError:
        raise AssertionError(
            f"the run did not finish within {cap_s:.0f} s (cancelled): a dead provider held it"
        ) from None
    return result, time.perf_counter() - started


class CountingTransport(httpx.AsyncBaseTransport):
    """A counting proxy: every request passes through to ``inner``; counts per host, and the
    most requests seen in flight at once per host."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.sent: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.sent.append(request)
        self.requests[host] = self.requests.get(host, 0) + 1
        self.in_flight[host] = self.in_flight.get(host, 0) + 1
        self.max_in_flight[host] = max(self.max_in_flight.get(host, 0), self.in_flight[host])
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight[host] -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


# -- child processes on a loopback simulation ----------------------------------------------


@dataclass
class ChildRun:
    """What a child needs to run one waterfall against a loopback simulation."""

    ledger: str
    records: str  # parquet
    base_urls: Mapping[str, str]
    out: str  # JSON written when the run finishes
    steps: Sequence[str] = FULL_STEPS
    verify: str | None = FULL_VERIFY
    options: Mapping[str, Any] | None = None  # budget_credits, budget_usd, max_in_flight...
    prices: Mapping[str, float] | None = None
    timeout_s: float = 30.0
    go_file: str | None = None  # wait for this file before starting (start together)

    def write(self, path: Path) -> Path:
        path.write_text(json.dumps(self.__dict__, default=list))
        return path


def child_main(config_path: str) -> None:
    """Entry point of a child: run the waterfall described in ``config_path``.

    Prints ``ready`` once imported (before waiting for a go file), then writes a JSON summary
    of the result to ``out``.
    """
    config = json.loads(Path(config_path).read_text())
    records = pl.read_parquet(config["records"])
    wf = Waterfall(
        [Step(name) for name in config["steps"]],
        verify=config["verify"],
        prices=config["prices"],
    )
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if config["go_file"]:
        while not os.path.exists(config["go_file"]):
            time.sleep(0.001)
    result = wf.run(
        records,
        mode="sandbox",
        ledger=config["ledger"],
        progress=False,
        retry=FAST_RETRY,
        connect_options={"base_urls": config["base_urls"], "timeout": config["timeout_s"]},
        **(config["options"] or {}),
    )
    totals = {
        k: v
        for k, v in result.totals.items()
        if isinstance(v, int | float | str | bool | type(None)) and not isinstance(v, dict)
    }
    statuses = result.records["status"].value_counts().rows()
    Path(config["out"]).write_text(json.dumps({"totals": totals, "statuses": dict(statuses)}))


def spawn(config: Path, *, entry: str = "tests._attack_helpers") -> subprocess.Popen[bytes]:
    """Start a child on ``config`` (running ``child_main`` of the module ``entry``); returns
    once it has imported gtmkit (printed ``ready``)."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import sys; from {entry} import child_main; child_main(sys.argv[1])",
            str(config),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if line != b"ready":
        child.kill()
        child.wait()
        raise AssertionError(f"child did not start: {line!r}")
    return child


def kill_when(
    child: subprocess.Popen[bytes],
    condition: Callable[[], bool],
    *,
    timeout_s: float = 120.0,
) -> bool:
    """SIGKILL ``child`` as soon as ``condition()`` holds; False when the child exited first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child.poll() is not None:
            return False
        if condition():
            child.send_signal(signal.SIGKILL)
            child.wait()
            return True
        time.sleep(0.002)
    child.kill()
    child.wait()
    raise AssertionError("the child neither reached the kill point nor finished in time")


def finish(child: subprocess.Popen[bytes], *, timeout_s: float = 120.0) -> None:
    """Wait for a child to end on its own; it must succeed."""
    try:
        code = child.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise AssertionError("the child run did not finish in time") from None
    assert code == 0, f"the child run failed (exit {code})"


def read_out(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


# -- a full disk, deterministically: a file-size limit in a child process ---------------------

#: Bytes any file of the child may grow to: less than a ledger's schema, so the first write of
#: a new ledger (and of a run on an existing one) cannot complete.
FILE_SIZE_LIMIT = 10_000


def full_disk_child_main(ledger: str, out: str) -> None:
    """Run a small waterfall with every file capped at :data:`FILE_SIZE_LIMIT` bytes (writes
    beyond it fail as on a full disk); write what was raised and what the provider saw."""
    import resource

    from gtmkit.errors import GtmkitError
    from gtmkit.sandbox import simulate

    records = world_records(10)
    sim = simulate(attack_world())
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write returns an error instead
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, hard))
    raised: BaseException | None = None
    try:
        run_in_process(waterfall(["hunter"], None), records, sim, ledger=ledger)
    except BaseException as exc:  # reported to the parent, which judges it
        raised = exc
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    report = {
        "raised": None if raised is None else type(raised).__name__,
        "gtmkit_error": isinstance(raised, GtmkitError),
        "message": "" if raised is None else str(raised),
        "requests": sim.requests(),
    }
    Path(out).write_text(json.dumps(report))


def run_full_disk_child(ledger: Path, out: Path) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tests._attack_helpers import full_disk_child_main; "
            "full_disk_child_main(sys.argv[1], sys.argv[2])",
            str(ledger),
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return read_out(out)
