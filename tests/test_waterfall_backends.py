"""The shared parts of a run come from ``RunOptions(backends=...)``: a deployment's own budget
account, limiters, claims and cache drop in without touching the engine."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import httpx

from gtmkit.waterfall import Budget, Step, Waterfall
from gtmkit.waterfall.backends import LocalBackends
from tests._waterfall_helpers import FakeService, make_providers, make_records


class SharedAccount(Budget):
    """Stands in for a shared (e.g. Redis) account another process already spent from."""

    reservations = 0

    async def reserve(self, credits: float, usd: float):  # type: ignore[override]
        SharedAccount.reservations += 1
        return await super().reserve(credits, usd)


class Shared(LocalBackends):
    built: ClassVar[list[str]] = []

    def budget(self, ctx, info):
        Shared.built.append("budget")
        return SharedAccount(credits=10, spent_credits=4)  # 4 already spent elsewhere

    def limiters(self, ctx):
        Shared.built.append("limiters")
        return super().limiters(ctx)


def test_a_deployment_supplies_its_own_budget_account():
    svc = FakeService()

    async def go():
        async with httpx.AsyncClient(transport=svc.transport()) as client:
            return await Waterfall([Step("alpha"), Step("beta")]).run_async(
                make_records(80, seed=2),
                providers=make_providers(client, ["alpha", "beta"], verifier=False),
                ledger=None,
                progress=False,
                backends=Shared(ledger=None),
            )

    result = asyncio.run(go())
    assert Shared.built == ["budget", "limiters"]
    assert SharedAccount.reservations > 0
    # the account's own cap (10, 4 of it spent elsewhere) is what held: 6 credits here at most
    assert sum(svc.billed.values()) <= 6
    assert result.totals["budget_exhausted"] > 0
