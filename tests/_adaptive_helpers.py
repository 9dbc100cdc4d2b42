"""Helpers for the adaptive-order tests: lists of the attack world with their segment, a world
where the default order is bad for one segment, and a child process that runs an adaptive
waterfall against a loopback simulation (so it can be SIGKILLed while the provider side, in the
test's process, keeps its own meter)."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.sandbox.oracle import ProviderOracle
from gtmkit.waterfall import Step, Waterfall
from tests._attack_helpers import FAST_RETRY, attack_world

SEGMENT = "employee_band"
STEPS: tuple[str, ...] = ("apollo", "dropcontact", "hunter")


def banded(n: int, *, seed: int = 1) -> pl.DataFrame:
    """``n`` people of the attack world, with their employee band (the segment)."""
    world = attack_world()
    records = world.sample_records(n, seed=seed)
    return records.join(world.truth(records).select("row_id", SEGMENT), on="row_id")


def adaptive(steps: Sequence[str] = STEPS, **spec: Any) -> Waterfall:
    return Waterfall([Step(p) for p in steps], order="adaptive", segment_by=SEGMENT, **spec)


def usable_count(result: Any) -> int:
    records = result.records
    return records.filter(
        (pl.col("status") == "enriched") & (pl.col("email_status") == "valid")
    ).height


class GuessesInSegment(ProviderOracle):
    """The attack world, except that ``provider`` only *guesses* the emails of people at the
    companies in ``domains`` (its status word for an unverified address): its finds there are
    never usable, elsewhere they are as usual."""

    def __init__(self, world: Any, provider: str, domains: Collection[str]) -> None:
        super().__init__(world)
        self.twisted, self.domains = provider, frozenset(d.lower() for d in domains)

    def person(self, provider: str, query: Any) -> Any:
        answer = super().person(provider, query)
        domain = str(query.get("company_domain") or "").lower()
        if provider == self.twisted and answer.found and domain in self.domains:
            return dataclasses.replace(answer, email_status="guessed")
        return answer


def small_company_domains(records: pl.DataFrame, bands: Collection[str]) -> list[str]:
    return records.filter(pl.col(SEGMENT).is_in(list(bands)))["company_domain"].to_list()


# -- the crash test's child ------------------------------------------------------------------


def child_main(config_path: str) -> None:
    """Run the adaptive waterfall described in ``config_path`` against a loopback simulation;
    write its records and decisions (parquet) and totals (JSON) when it finishes."""
    config = json.loads(Path(config_path).read_text())
    records = pl.read_parquet(config["records"])
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    result = adaptive(config["steps"]).run(
        records,
        mode="sandbox",
        ledger=config["ledger"],
        progress=False,
        retry=FAST_RETRY,
        seed=config["seed"],
        connect_options={"base_urls": config["base_urls"], "timeout": 30.0},
        **config["options"],
    )
    out = Path(config["out"])
    result.records.write_parquet(out.with_suffix(".records.parquet"))
    assert result.decisions is not None
    result.decisions.write_parquet(out.with_suffix(".decisions.parquet"))
    totals = {k: v for k, v in result.totals.items() if isinstance(v, int | float | str)}
    out.write_text(json.dumps({"totals": totals, "adaptive": result.totals["adaptive"]}))


def child_config(path: Path, **config: Any) -> Path:
    config.setdefault("steps", list(STEPS))
    config.setdefault("seed", 0)
    config.setdefault("options", {})
    path.write_text(json.dumps(config))
    return path
