"""Picking and ordering steps: the catalog's prices are the adapters', the list's order is the
waterfall's, and routing from a recommendation is kept and shown."""

from __future__ import annotations

from typing import Any

import pytest

from gtmkit.panel.steps import StepPicker, StepPlan, provider_catalog, routing_html
from gtmkit.providers import PROVIDERS, provider_class
from gtmkit.providers.pricing import price_per_credit, worst_case_credits
from gtmkit.waterfall import SpecError, Step, Waterfall


def test_the_catalog_is_every_provider_priced_as_the_engine_prices_it() -> None:
    catalog = provider_catalog()
    assert [p.name for p in catalog] == list(PROVIDERS)
    for info in catalog:
        assert info.price_per_credit == price_per_credit(info.name)
        assert info.max_credits == worst_case_credits(info.name)
        assert info.billing == provider_class(info.name).billing
        assert info.billing_rule  # something a person can read for every provider
    rules = {p.name: p.billing_rule for p in catalog}
    assert rules["pdl"] == "charged per email found: 1 credit ($0.25) a hit, misses free"
    assert rules["pattern"] == "free: runs locally, no credits"
    assert rules["manual"].startswith("hand-off to a person")


def test_a_plan_builds_the_waterfall_in_the_order_ticked() -> None:
    plan = StepPlan.from_names(["hunter", "apollo", "pdl"], verify="hunter_verifier")
    assert plan.finders[:3] == ["hunter", "apollo", "pdl"] and "hunter_verifier" not in plan.finders
    plan.order = ["pdl", "hunter"]
    plan.catch_all = "continue"
    wf = plan.waterfall()
    assert [s.provider for s in wf.steps] == ["pdl", "hunter"] and wf.verify == "hunter_verifier"
    assert {s.catch_all for s in wf.steps} == {"continue"}
    plan.order = []
    with pytest.raises(SpecError, match="tick at least one step"):
        plan.waterfall()


def _recommended() -> Waterfall:
    return Waterfall(
        [Step("hunter", label="Hunter (small companies)"), Step("apollo"), Step("pdl",
              stop="first_verified")],
        verify="hunter_verifier",
        route_by={"employee_band": {"1-10": ["hunter", "pdl"], "1000+": ["pdl"]}},
        prices={"pdl": 0.2},
        name="recommended",
    )  # fmt: skip


def test_documented_steps_and_routing_are_kept_and_shown() -> None:
    plan = StepPlan.from_waterfall(_recommended(), source="recommendation")
    wf = plan.waterfall()
    assert wf == _recommended()  # labels, stop rules, routing, prices, name: as given
    shown = routing_html(plan)
    assert "Segment routing" in shown and "from recommendation" in shown
    assert "hunter → pdl" in shown and "employee_band" in shown
    plan.order = ["hunter", "apollo"]  # pdl unticked: it leaves the routes too
    assert plan.routes() == {"employee_band": {"1-10": ["hunter"]}}
    assert plan.waterfall().route_by == {"employee_band": {"1-10": ["hunter"]}}
    plan.order = ["apollo"]
    assert plan.routes() is None and routing_html(plan) == ""


def test_the_widget_list_is_the_plan() -> None:
    changes: list[list[str]] = []
    plan = StepPlan.from_waterfall(_recommended(), source="recommendation")
    picker = StepPicker(plan, lambda p: changes.append(list(p.order)))
    items = picker.list.items
    assert [i["name"] for i in items if i["enabled"]] == ["hunter", "apollo", "pdl"]
    assert items[0]["label"] == "Hunter (small companies)"
    assert items[0]["billing"].startswith("charged per email found")
    # what steps.js does on a drop: the same items, reordered, one ticked more
    dragged: list[dict[str, Any]] = [dict(i) for i in items]
    dragged.insert(0, dragged.pop(2))
    prospeo = next(i for i in dragged if i["name"] == "prospeo")
    prospeo["enabled"] = True
    picker.list.items = dragged
    assert plan.order == ["pdl", "hunter", "apollo", "prospeo"] and changes[-1] == plan.order
    picker.set_order(["prospeo", "hunter"])
    assert plan.order == ["prospeo", "hunter"]
    assert [i["name"] for i in picker.list.items][:2] == ["prospeo", "hunter"]
    assert "employee_band" in picker.routing.value  # hunter still routed
    picker.verify.value = ""
    assert plan.waterfall().verify is None
    picker.catch_all.value = "accept_if_confident"
    assert {s.catch_all for s in plan.waterfall().steps} == {"accept_if_confident"}
    with pytest.raises(SpecError, match="cannot be a step here"):
        picker.set_order(["hunter_verifier"])
