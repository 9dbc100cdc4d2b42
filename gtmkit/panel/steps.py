"""Provider steps picked and ordered by a person, each with its price and billing rule.

The catalog is every registered finder (``gtmkit.providers.PROVIDERS``) with what its adapter
declares: the list price of a credit, when a credit is charged, and the worst case one lookup
can cost — the same figures the engine reserves and the estimate prices with. The order of the
ticked rows is the waterfall's order; a verifier and the catch-all policy are chosen beside it.

A panel that starts from a ``Recommendation`` or a pattern keeps that waterfall's steps as they
were documented (labels, stop rules) and its segment routing, which is shown; unticking a step
removes it from the routes too.

Example:
    >>> catalog = {p.name: p for p in provider_catalog()}
    >>> catalog["hunter"].billing_rule
    'charged per email found: 1 credit ($0.10) a hit, misses free'
    >>> catalog["dropcontact"].billing_rule
    'charged per lookup, refunded when nothing is found: 1 credit ($0.08)'
    >>> picker = StepPlan.from_names(["apollo", "hunter"], verify="hunter_verifier")
    >>> [s.provider for s in picker.waterfall().steps], picker.waterfall().verify
    (['apollo', 'hunter'], 'hunter_verifier')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from html import escape
from pathlib import Path
from typing import Any, get_args

import anywidget
import traitlets

from gtmkit.providers import PROVIDERS, provider_class
from gtmkit.waterfall import SpecError, Step, Waterfall
from gtmkit.waterfall.spec import CatchAllPolicy

__all__ = [
    "CATCH_ALL_CHOICES",
    "ProviderInfo",
    "StepList",
    "StepPicker",
    "StepPlan",
    "provider_catalog",
    "routing_html",
]

HERE = Path(__file__).parent

#: What the catch-all dropdown offers, in words a person reads.
CATCH_ALL_CHOICES: dict[str, str] = {
    "accept": "accept catch-all emails",
    "accept_if_confident": "accept catch-all emails the provider is confident in",
    "continue": "keep looking after a catch-all email",
}
assert set(CATCH_ALL_CHOICES) == set(get_args(CatchAllPolicy))


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    """What one provider costs, as its adapter declares it."""

    name: str
    kind: str
    billing: str
    credits_per_lookup: float
    max_credits: float
    price_per_credit: float

    @property
    def billing_rule(self) -> str:
        """When a credit is charged, and what one costs."""
        credits = f"{self.credits_per_lookup:g} credit{'s' if self.credits_per_lookup != 1 else ''}"
        money = f"{credits} (${self.credits_per_lookup * self.price_per_credit:.2f})"
        if self.kind == "manual":
            return "hand-off to a person: rows still missing end 'manual', no credits"
        if self.max_credits == 0:
            return "free: runs locally, no credits"
        if self.billing == "per_call":
            return f"charged per lookup, found or not: {money} a call"
        if self.billing == "refund_on_miss":
            return f"charged per lookup, refunded when nothing is found: {money}"
        return f"charged per email found: {money} a hit, misses free"


def provider_catalog() -> list[ProviderInfo]:
    """Every registered provider, in listing order, with its pricing."""
    out = []
    for name in PROVIDERS:
        cls = provider_class(name)
        out.append(
            ProviderInfo(
                name=name,
                kind=str(getattr(cls, "kind", "finder")),
                billing=str(getattr(cls, "billing", "per_hit")),
                credits_per_lookup=float(getattr(cls, "credits_per_lookup", 1.0)),
                max_credits=float(getattr(cls, "max_credits", 1.0)),
                price_per_credit=float(getattr(cls, "price_per_credit", 0.0)),
            )
        )
    return out


@dataclass
class StepPlan:
    """The steps a person chose: which providers, in which order, verified how.

    ``steps`` holds a :class:`~gtmkit.waterfall.Step` for every provider that can be picked
    (documented ones keep their label and stop rule); ``order`` the ticked ones in order.
    """

    steps: dict[str, Step]
    order: list[str]
    verify: str | None = None
    catch_all: CatchAllPolicy | None = None
    route_by: Mapping[str, Mapping[str, Sequence[str]]] | None = None
    prices: Mapping[str, float] | None = None
    name: str = "panel waterfall"
    source: str | None = None  # "recommendation" or "pattern <name>" when it came from one
    finders: list[str] = field(default_factory=list)

    @classmethod
    def from_names(cls, names: Sequence[str], *, verify: str | None = None) -> StepPlan:
        """Default steps for ``names``, in that order; the other finders offered unticked."""
        return cls.from_waterfall(Waterfall([Step(n) for n in names], verify=verify or None))

    @classmethod
    def from_waterfall(cls, wf: Waterfall, *, source: str | None = None) -> StepPlan:
        """The waterfall's own steps, routing and prices, the other finders offered unticked."""
        finders = [p.name for p in provider_catalog() if p.kind != "verifier"]
        steps = {name: Step(name) for name in finders}
        steps.update({s.provider: s for s in wf.steps})
        policies = {s.catch_all for s in wf.steps}
        return cls(
            steps=steps,
            order=[s.provider for s in wf.steps],
            verify=wf.verify,
            catch_all=policies.pop() if len(policies) == 1 else None,
            route_by=wf.route_by,
            prices=wf.prices,
            name=wf.name,
            source=source,
            finders=list(dict.fromkeys([*(s.provider for s in wf.steps), *finders])),
        )

    def routes(self) -> dict[str, dict[str, list[str]]] | None:
        """The routing restricted to the ticked steps (a segment left with none is dropped)."""
        if not self.route_by:
            return None
        ((column, table),) = self.route_by.items()
        kept = {segment: [p for p in order if p in self.order] for segment, order in table.items()}
        kept = {segment: order for segment, order in kept.items() if order}
        return {column: kept} if kept else None

    def waterfall(self) -> Waterfall:
        """The waterfall these choices describe.

        Raises:
            SpecError: nothing ticked (the message says to tick a provider).
        """
        if not self.order:
            raise SpecError("no provider is ticked: tick at least one step to run")
        steps = [self.steps[name] for name in self.order]
        if self.catch_all is not None:
            steps = [replace(s, catch_all=self.catch_all) for s in steps]
        return Waterfall(
            steps, verify=self.verify, route_by=self.routes(), prices=self.prices, name=self.name
        )


class StepList(anywidget.AnyWidget):
    """The draggable list: ``items`` is ``[{name, label, enabled, billing}, ...]`` in order."""

    _esm = HERE / "steps.js"
    _css = HERE / "panel.css"

    items = traitlets.List(traitlets.Dict()).tag(sync=True)


def _label(step: Step) -> str:
    return step.label or step.provider


class StepPicker:
    """The step list, the verifier and catch-all dropdowns, and the routing note.

    ``on_change(plan)`` is called after every change with the new :class:`StepPlan`.
    """

    def __init__(self, plan: StepPlan, on_change: Callable[[StepPlan], object]) -> None:
        import ipywidgets as w

        self.plan = plan
        self.on_change = on_change
        catalog = {p.name: p for p in provider_catalog()}
        self._catalog = catalog
        self.list = StepList(items=self._items())
        self.list.observe(self._reordered, names="items")
        verifiers = [p.name for p in catalog.values() if p.kind == "verifier"]
        self.verify = w.Dropdown(
            options=[("none", ""), *((f"{v} — {catalog[v].billing_rule}", v) for v in verifiers)],
            value=plan.verify or "",
            description="Verifier",
            layout=w.Layout(width="640px"),
        )
        self.catch_all = w.Dropdown(
            options=[("as each step says", ""), *((t, k) for k, t in CATCH_ALL_CHOICES.items())],
            value=plan.catch_all or "",
            description="Catch-all",
            layout=w.Layout(width="640px"),
        )
        self.verify.observe(self._verifier, names="value")
        self.catch_all.observe(self._policy, names="value")
        self.routing = w.HTML(routing_html(plan))
        self.widget = w.VBox([self.list, self.verify, self.catch_all, self.routing])

    def _items(self) -> list[dict[str, Any]]:
        ticked = self.plan.order
        rest = [n for n in self.plan.finders if n not in ticked]
        return [
            {
                "name": name,
                "label": _label(self.plan.steps[name]),
                "enabled": name in ticked,
                "billing": self._catalog[name].billing_rule,
            }
            for name in [*ticked, *rest]
        ]

    def set_order(self, names: Sequence[str]) -> None:
        """Tick exactly ``names``, in that order (what dragging and ticking do)."""
        unknown = [n for n in names if n not in self.plan.steps]
        if unknown:
            raise SpecError(f"{unknown} cannot be a step here; choose from {self.plan.finders}")
        rest = [n for n in self.plan.finders if n not in names]
        by_name = {i["name"]: i for i in self._items()}
        self.list.items = [{**by_name[n], "enabled": n in names} for n in [*names, *rest]]

    def _reordered(self, change: dict[str, Any]) -> None:
        items = change["new"]
        self.plan.order = [i["name"] for i in items if i.get("enabled")]
        self.plan.finders = [i["name"] for i in items]
        self.routing.value = routing_html(self.plan)
        self.on_change(self.plan)

    def _verifier(self, change: dict[str, Any]) -> None:
        self.plan.verify = change["new"] or None
        self.on_change(self.plan)

    def _policy(self, change: dict[str, Any]) -> None:
        self.plan.catch_all = change["new"] or None
        self.on_change(self.plan)


def routing_html(plan: StepPlan) -> str:
    """The segment routing as a small table, when the steps came with one."""
    routes = plan.routes()
    if not routes:
        return ""
    ((column, table),) = routes.items()
    rows = "".join(
        f"<tr><td>{escape(str(segment))}</td><td>{escape(' → '.join(order))}</td></tr>"
        for segment, order in table.items()
    )
    origin = escape(plan.source or "the steps given")
    return (
        f"<div class='gtmkit-routing'><b>Segment routing</b> (from {origin}): rows whose "
        f"<code>{escape(column)}</code> is one of these try only their providers, in this "
        f"order; other rows use the list above.<table><tr><th>{escape(column)}</th>"
        f"<th>order</th></tr>{rows}</table></div>"
    )
