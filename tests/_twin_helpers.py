"""Shared checks for the second wave of adapters (ZoomInfo, Lusha, Findymail, LeadMagic) on
their simulated twins: lookups through the in-process sandbox, and compare() with no special
case."""

from __future__ import annotations

import asyncio
from typing import Any

import polars as pl
from _compare_helpers import sandbox_providers, world_records
from _providers_helpers import run

from gtmkit.sandbox import simulate

NAME_AND_DOMAIN = ("first_name", "last_name", "company_domain")


def twin_lookups(
    world: Any, name: str, n: int = 150, fields: tuple[str, ...] = NAME_AND_DOMAIN
) -> tuple[list[Any], list[dict[str, Any]], Any]:
    """(findings, people, simulation) for the first ``n`` people of ``world``."""
    people = world.people.head(n).to_dicts()
    records = [{k: p[k] for k in fields} for p in people]
    sim = simulate(world)

    async def main() -> list[Any]:
        async with sim.connect([name]) as conn:
            return list(await asyncio.gather(*(conn[name].lookup(r) for r in records)))

    return run(main()), people, sim


def check_twin(world: Any, name: str, *, min_correct: float = 0.8) -> list[Any]:
    """Hit rate plausible, hits mostly the right current email, credits = what it billed."""
    found, people, sim = twin_lookups(world, name)
    hits = [(f, p) for f, p in zip(found, people, strict=True) if f.outcome == "hit"]
    assert 0.3 * len(people) < len(hits) < 0.8 * len(people), (name, len(hits))
    assert sum(f.email == p["email"] for f, p in hits) >= min_correct * len(hits)
    assert sum(f.credits for f in found) == sim.billed()[name] == len(hits)
    return [f for f, _ in hits]


def check_compare(world: Any, name: str, *, seed: int, min_accuracy: float = 0.8) -> None:
    """The provider beside Hunter in compare(), its metrics, the optimizer and a chart."""
    import json

    import gtmkit
    import gtmkit.charts

    records = world_records(world, 150, seed=seed)
    with sandbox_providers([name, "hunter"], world) as providers:
        cmp = gtmkit.compare(
            records, providers, truth=world.truth(records), ledger=None, progress=False,
            rate_limits="off", echo=False,
        )  # fmt: skip
    row = cmp.metrics.filter(pl.col("provider") == name).row(0, named=True)
    assert 0.35 <= row["hit_rate"] <= 0.70, row
    assert row["accuracy"] is not None and min_accuracy <= row["accuracy"] <= 1.0, row
    recommended = cmp.recommend(target_coverage=0.5)
    assert recommended.order and set(recommended.order) <= {name, "hunter"}
    assert name in json.dumps(gtmkit.charts.hit_rate_vs_cost(cmp.metrics).to_dict())
