"""Runs of the public ``Waterfall`` against a loopback simulation (a real HTTP server on
127.0.0.1), in this process, bounded in time, with the provider side's own meter."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.sandbox.simulation import Simulation
from gtmkit.waterfall import STATUSES
from tests._attack_helpers import FAST_RETRY, waterfall

#: the client timeout of the loopback runs: a held request costs this long
CLIENT_TIMEOUT_S = 0.5


def run_loopback(
    steps: Sequence[str],
    records: pl.DataFrame,
    sim: Simulation,
    base_urls: Mapping[str, str],
    *,
    cap_s: float,
    verify: str | None = None,
    timeout_s: float = CLIENT_TIMEOUT_S,
    **options: Any,
) -> tuple[Any, float]:
    """``run_async`` of ``steps`` over loopback HTTP, cancelled (and failed) after ``cap_s``."""
    options.setdefault("ledger", None)
    options.setdefault("progress", False)
    options.setdefault("retry", FAST_RETRY)
    connect = {"base_urls": dict(base_urls), "timeout": timeout_s, "options": sim.adapter_options}
    wf = waterfall(steps, verify)

    async def go() -> Any:
        return await asyncio.wait_for(
            wf.run_async(records, mode="sandbox", connect_options=connect, **options), cap_s
        )

    started = time.perf_counter()
    try:
        result = asyncio.run(go())
    except TimeoutError:
        raise AssertionError(f"the run did not end within {cap_s:g} s") from None
    return result, time.perf_counter() - started


def assert_every_row_accounted(result: Any, records: pl.DataFrame) -> None:
    """Every input row comes back once, with a known status (and a reason when not done)."""
    out = result.records
    assert out.height == records.height, f"{records.height} rows in, {out.height} out"
    assert sorted(out["row_id"].to_list()) == sorted(records["row_id"].to_list())
    unknown = set(out["status"].to_list()) - set(STATUSES)
    assert not unknown, f"statuses outside the contract: {unknown}"
    assert out["status"].null_count() == 0


def ledger_path(tmp: Path, name: str = "ledger.sqlite") -> str:
    return str(tmp / name)
