"""Expected calls, credits and dollars of a waterfall before running it.

Each step's hit rate comes from ``priors`` (a mapping, or a comparison run's frame with
``provider`` and ``hit_rate`` columns); rows reaching a step are the rows that missed every
earlier one. Assuming misses independent across providers *understates* the rows reaching late
steps when coverage is correlated (it usually is), so a comparison run's measured rates — which
already carry that correlation when measured in waterfall order — beat the defaults.

Example:
    >>> import polars as pl
    >>> from gtmkit.waterfall import Step, Waterfall
    >>> leads = pl.DataFrame({"row_id": [0, 1], "email": [None, None]})
    >>> table = estimate(Waterfall([Step("hunter")]), leads, priors={"hunter": 0.5})
    >>> table.filter(pl.col("provider") == "total")["hits"].item()
    1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from gtmkit.providers.pricing import adapter_for, price_per_credit, worst_case_credits
from gtmkit.waterfall.validate import NumberError, finite

#: Hit-rate prior when nothing better is known: the middle of the published 40–65% range for
#: one provider finding an email (../shared/DESIGN.md "Facts to respect").
DEFAULT_HIT_RATE = 0.5
#: Share of found emails a verifier confirms as valid (unknown without a comparison run).
DEFAULT_VERIFY_RATE = 0.6


class EstimateError(NumberError):
    """Priors that are not hit rates."""


def _rates(priors: Any) -> dict[str, float]:
    if priors is None:
        return {}
    if isinstance(priors, pl.DataFrame):
        if not {"provider", "hit_rate"} <= set(priors.columns):
            raise EstimateError("priors frame needs 'provider' and 'hit_rate' columns")
        priors = dict(zip(priors["provider"].to_list(), priors["hit_rate"].to_list(), strict=True))
    rates = {
        str(k): finite(f"priors[{k!r}]", v, error=EstimateError) for k, v in dict(priors).items()
    }
    for name, rate in rates.items():
        if rate > 1:
            raise EstimateError(f"priors[{name!r}] is a hit rate, within 0..1; got {rate!r}")
    return rates


def estimate(
    wf: Any,
    records: Any,
    *,
    priors: Mapping[str, float] | pl.DataFrame | None = None,
    providers: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """One row per step plus a ``total`` row: expected rows in, calls, hits, credits, dollars,
    and the worst case (every call billed at the provider's maximum).

    Args:
        wf: the :class:`~gtmkit.waterfall.spec.Waterfall`.
        records: a ``LoadedList`` or polars frame (rows with an email already skip the steps
            that fill only the email).
        priors: ``{provider: hit_rate}`` or a frame with ``provider``/``hit_rate`` columns.
        providers: ``{name: Provider}`` when they are not registered adapters.
    """
    from gtmkit.waterfall.rows import prepare_records

    frame, _ = prepare_records(records)
    if "duplicate_of" in frame.columns:
        frame = frame.filter(pl.col("duplicate_of").is_null())
    need = frame.height
    if "email" in frame.columns:
        blank = frame["email"].cast(pl.String).fill_null("").str.strip_chars() == ""
        need = int(blank.sum())
    rates = _rates(priors)
    rows = []
    remaining = float(need)
    found_total = 0.0
    for index, step in enumerate(wf.steps):
        attrs = adapter_for(step.provider, providers)
        rate = rates.get(step.provider, DEFAULT_HIT_RATE)
        entering = (
            float(frame.height)
            if isinstance(step.when, str) and step.when == "always"
            else remaining
        )
        hits = entering * rate
        per_call = float(getattr(attrs, "credits_per_lookup", 1.0) or 0.0)
        worst = worst_case_credits(step.provider, providers=providers)
        billing = getattr(attrs, "billing", "per_hit")
        credits = entering * per_call if billing == "per_call" else hits * per_call
        price = price_per_credit(step.provider, prices=wf.prices, providers=providers)
        rows.append(
            {
                "step": index,
                "provider": step.provider,
                "hit_rate": rate,
                "rows_in": entering,
                "calls": entering,
                "hits": hits,
                "credits": credits,
                "cost_usd": credits * price,
                "worst_case_credits": entering * worst,
                "worst_case_usd": entering * worst * price,
            }
        )
        found_total += hits
        remaining = max(0.0, remaining - hits)
    if wf.verify:
        attrs = adapter_for(wf.verify, providers)
        per_call = float(getattr(attrs, "credits_per_lookup", 1.0) or 0.0)
        worst = worst_case_credits(wf.verify, providers=providers)
        price = price_per_credit(wf.verify, prices=wf.prices, providers=providers)
        # every found email may need verifying in the worst case; the expectation assumes the
        # finders' unverified share is unknown, so it counts them all
        rows.append(
            {
                "step": len(wf.steps),
                "provider": wf.verify,
                "hit_rate": rates.get(wf.verify, DEFAULT_VERIFY_RATE),
                "rows_in": found_total,
                "calls": found_total,
                "hits": found_total * rates.get(wf.verify, DEFAULT_VERIFY_RATE),
                "credits": found_total * per_call,
                "cost_usd": found_total * per_call * price,
                "worst_case_credits": found_total * worst,
                "worst_case_usd": found_total * worst * price,
            }
        )
    out = pl.DataFrame(rows)
    total = out.select(
        pl.lit(None, dtype=pl.Int64).alias("step"),
        pl.lit("total").alias("provider"),
        pl.lit(None, dtype=pl.Float64).alias("hit_rate"),
        pl.lit(float(need)).alias("rows_in"),
        *(pl.col(c).sum() for c in ("calls", "hits", "credits", "cost_usd")),
        *(pl.col(c).sum() for c in ("worst_case_credits", "worst_case_usd")),
    )
    return pl.concat([out, total], how="vertical_relaxed")
