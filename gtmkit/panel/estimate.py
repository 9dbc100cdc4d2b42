"""The budget, and the engine's estimate presented before anything is spent.

``Waterfall.estimate`` gives one row per step (expected rows in, calls, hits, credits,
dollars, the worst case) and says what each hit rate rests on (``basis``: the ledger's
history, a comparison, a pattern's documented shares, or the default prior) and on how many
observations (``n``). This module turns that into the table a person reads, works out the most
the run can spend (the worst case, capped by the budget), and decides whether Run must ask
for confirmation.

Example:
    >>> import polars as pl
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> wf = Waterfall([Step("hunter"), Step("pdl")])
    >>> leads = pl.DataFrame({"row_id": [0, 1, 2, 3], "email": [None] * 4})
    >>> table = wf.estimate(leads)
    >>> budget = Budget(unit="credits", amount=3)
    >>> round(spend_ceiling_usd(table, budget, wf), 2)  # 3 credits at most, pdl's $0.25 each
    0.75
    >>> budget.run_options()
    {'budget_credits': 3.0}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Any, Literal

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.providers.pricing import price_per_credit
from gtmkit.reports.wording import counted

__all__ = [
    "Budget",
    "BudgetInputError",
    "EstimateSummary",
    "estimate_html",
    "spend_ceiling_usd",
    "summarize",
]

BudgetUnit = Literal["credits", "usd"]


class BudgetInputError(GtmkitError, ValueError):
    """A budget or per-row cap that is not a usable number; the message says what to enter."""


def _amount(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BudgetInputError(f"{name} must be a number (0 or empty for none), got {value!r}")
    if value < 0:
        raise BudgetInputError(f"{name} cannot be negative (got {value:g}); enter 0 for none")
    return float(value)


@dataclass(frozen=True, slots=True)
class Budget:
    """The run's cap in credits or dollars, and the most one row may cost.

    ``amount=None`` means no cap (the panel insists on one before a run; see the app).
    """

    unit: BudgetUnit = "credits"
    amount: float | None = None
    per_row_cap_credits: float | None = None

    def __post_init__(self) -> None:
        if self.unit not in ("credits", "usd"):
            raise BudgetInputError(f"budget unit must be 'credits' or 'usd', got {self.unit!r}")
        object.__setattr__(self, "amount", _amount("the budget", self.amount))
        cap = _amount("the per-row cap", self.per_row_cap_credits)
        object.__setattr__(self, "per_row_cap_credits", cap or None)  # 0 = no cap

    def run_options(self) -> dict[str, float]:
        """The ``Waterfall.run`` options this budget sets."""
        out: dict[str, float] = {}
        if self.amount is not None:
            out["budget_credits" if self.unit == "credits" else "budget_usd"] = self.amount
        if self.per_row_cap_credits is not None:
            out["per_row_cap_credits"] = self.per_row_cap_credits
        return out

    def describe(self) -> str:
        """``"60 credits"``, ``"$25.00"``, or ``"no cap"``."""
        if self.amount is None:
            return "no cap"
        if self.unit == "credits":
            return counted(self.amount, "credit", number=f"{self.amount:g}")
        return f"${self.amount:,.2f}"


def spend_ceiling_usd(table: pl.DataFrame, budget: Budget, wf: Any) -> float:
    """The most the run can spend in dollars: the worst case, capped by the budget.

    A credit budget is turned into dollars at the dearest credit among the providers, so the
    ceiling is never below what the run could really spend.
    """
    total = table.filter(pl.col("provider") == "total")
    worst = float(total["worst_case_usd"].item())
    if budget.amount is None:
        return worst
    if budget.unit == "usd":
        return min(worst, budget.amount)
    dearest = max((price_per_credit(name, prices=wf.prices) for name in wf.providers), default=0.0)
    return min(worst, budget.amount * dearest)


@dataclass(frozen=True, slots=True)
class EstimateSummary:
    """The estimate's totals and what the budget does to them."""

    rows_in: float
    calls: float
    emails: float
    credits: float
    cost_usd: float
    worst_case_credits: float
    worst_case_usd: float
    ceiling_usd: float
    budget_binds: bool
    bases: tuple[str, ...]


def summarize(table: pl.DataFrame, budget: Budget, wf: Any) -> EstimateSummary:
    """The total row, the spend ceiling, and whether the budget can stop the run early."""
    total = table.filter(pl.col("provider") == "total").row(0, named=True)
    if budget.amount is None:
        binds = False
    elif budget.unit == "usd":
        binds = budget.amount < total["worst_case_usd"]
    else:
        binds = budget.amount < total["worst_case_credits"]
    steps = table.filter(pl.col("provider") != "total")
    finders = steps.filter(pl.col("step") < len(wf.steps))  # the verifier's "hits" are not emails
    return EstimateSummary(
        rows_in=float(total["rows_in"]),
        calls=float(total["calls"]),
        emails=float(finders["hits"].sum()),
        credits=float(total["credits"]),
        cost_usd=float(total["cost_usd"]),
        worst_case_credits=float(total["worst_case_credits"]),
        worst_case_usd=float(total["worst_case_usd"]),
        ceiling_usd=spend_ceiling_usd(table, budget, wf),
        budget_binds=binds,
        bases=tuple(dict.fromkeys(str(b) for b in steps["basis"].to_list())),
    )


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _twin_line(table: pl.DataFrame) -> str:
    """What the estimate rests on: the twin (gtmkit.twin) with its interval, or independent
    steps."""
    if "model" not in table.columns or "hits_low" not in table.columns:
        return ""
    total = table.filter(pl.col("provider") == "total").row(0, named=True)
    if not str(total["model"]).startswith("twin"):
        # say so: a user reading two estimates should know which one rests on their history
        return (
            "<div class='gtmkit-estimate-model'>Estimated with the steps independent: no "
            "answered lookups in the ledger to fit the twin from yet. Providers tend to find "
            "the same easy people, so the later steps may find fewer than this says.</div>"
        )
    if total["hits_low"] is None:
        return ""
    return (
        f"<div class='gtmkit-estimate-model'>Estimated by the {escape(str(total['model']))}: "
        f"providers find the same easy people, so the later steps see more rows than "
        f"independent steps would. 95% interval: {_num(total['hits_low'], 0)}–"
        f"{counted(total['hits_high'], 'email', number=_num(total['hits_high'], 0))}, "
        f"${total['cost_low_usd']:,.2f}–"
        f"${total['cost_high_usd']:,.2f}.</div>"
    )


def estimate_html(table: pl.DataFrame, budget: Budget, wf: Any) -> str:
    """The estimate as the panel shows it: one row per step, the total, and the budget line."""
    summary = summarize(table, budget, wf)
    labels = {s.provider: (s.label or s.provider) for s in wf.steps}
    if wf.verify:
        labels[wf.verify] = f"{wf.verify} (verifier)"
    head = (
        "<tr><th>step</th><th>provider</th><th>hit rate</th><th>rests on</th><th>rows in</th>"
        "<th>calls</th><th>hits</th><th>credits</th><th>cost</th><th>worst case</th></tr>"
    )
    body = []
    for row in table.iter_rows(named=True):
        total = row["provider"] == "total"
        rate = "" if row["hit_rate"] is None else f"{row['hit_rate']:.0%}"
        name = "expected total" if total else labels.get(row["provider"], row["provider"])
        basis = escape(str(row["basis"])) + (f" (n={row['n']})" if row["n"] and not total else "")
        body.append(
            f"<tr class='{'gtmkit-total' if total else 'gtmkit-step-row'}'>"
            f"<td>{'' if total else int(row['step']) + 1}</td>"
            f"<td>{escape(name)}</td>"
            f"<td>{rate}</td><td>{'' if total else basis}</td>"
            f"<td>{_num(row['rows_in'])}</td><td>{_num(row['calls'])}</td>"
            f"<td>{_num(summary.emails if total else row['hits'])}</td>"
            f"<td>{_num(row['credits'])}</td>"
            f"<td>${row['cost_usd']:,.2f}</td>"
            f"<td>{_num(row['worst_case_credits'])} cr · ${row['worst_case_usd']:,.2f}</td></tr>"
        )
    if summary.rows_in == 0:
        verdict = "Every accepted row already has an email: nothing to look up, nothing to spend."
    elif budget.amount is None:
        verdict = "No budget set: enter one before running."
    elif summary.budget_binds:
        verdict = (
            f"The budget ({escape(budget.describe())}) is below the worst case: the run stops "
            "when it is spent, and rows it did not reach end <code>budget_exhausted</code> "
            "(Resume with a larger budget continues them)."
        )
    else:
        verdict = f"The budget ({escape(budget.describe())}) covers the worst case."
    cap_credits = budget.per_row_cap_credits or 0.0
    cap = (
        f" At most {counted(cap_credits, 'credit', number=f'{cap_credits:g}')} per row."
        if budget.per_row_cap_credits
        else ""
    )
    priors = [b for b in summary.bases if b.startswith("default prior")]
    caveat = (
        " Steps on the default prior are a guess: run a comparison, use a pattern, or let the "
        "ledger build history to estimate from what gtmkit measured."
        if priors
        else ""
    )
    return (
        f"<table class='gtmkit-estimate'>{head}{''.join(body)}</table>{_twin_line(table)}"
        f"<div class='gtmkit-estimate-line'>Expected <b>{_num(summary.credits)} credits "
        f"(${summary.cost_usd:,.2f})</b> for about "
        f"{counted(summary.emails, 'email', number=_num(summary.emails, 0))} found; "
        f"worst case {_num(summary.worst_case_credits)} credits "
        f"(${summary.worst_case_usd:,.2f}); the most this run can spend is "
        f"<b>${summary.ceiling_usd:,.2f}</b>. {verdict}{cap}{caveat}</div>"
    )
