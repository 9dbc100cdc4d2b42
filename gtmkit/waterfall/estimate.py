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


#: weight of the default prior in a ledger estimate (a Beta prior worth this many lookups), so
#: three lucky hits do not promise a 100% hit rate
PRIOR_WEIGHT = 10.0


def history_rates(history: Any, wf: Any = None) -> dict[str, tuple[float, int, str]]:
    """``{provider: (hit rate, observations, basis)}`` from what gtmkit already knows.

    ``history`` is a ``Ledger`` (or its path: every answered call ever paid for, shrunk
    towards the default prior where it is thin), a ``Comparison`` (its measured hit rates),
    a ``Pattern`` (the documented per-step shares of the list, as hit rates of the rows still
    missing), or a mapping / frame of hit rates (``priors``).
    """
    if history is None:
        return {}
    from pathlib import Path

    from gtmkit.waterfall.ledger import Ledger

    if isinstance(history, str | Path):
        if not Path(history).is_file():
            raise EstimateError(f"no ledger at {history}: pass an existing ledger file")
        with Ledger(history) as ledger:
            return history_rates(ledger, wf)
    if isinstance(history, Ledger):
        rows = history._read(
            "SELECT provider, SUM(outcome = 'hit'), COUNT(*) FROM attempts "
            "WHERE state = 'done' AND outcome IN ('hit', 'miss') GROUP BY provider"
        )
        return {
            name: (
                (hits + DEFAULT_HIT_RATE * PRIOR_WEIGHT) / (n + PRIOR_WEIGHT),
                int(n),
                f"ledger history ({int(n)} answered calls)",
            )
            for name, hits, n in rows
        }
    metrics = getattr(history, "metrics", None)
    if isinstance(metrics, pl.DataFrame) and {"provider", "hit_rate"} <= set(metrics.columns):
        n_col = "n" if "n" in metrics.columns else None
        out = {}
        for row in metrics.iter_rows(named=True):
            n = int(row[n_col]) if n_col and row[n_col] is not None else 0
            out[row["provider"]] = (float(row["hit_rate"]), n, f"comparison ({n} rows)")
        return out
    sequence = getattr(history, "sequence", None)
    if sequence is not None and hasattr(history, "plan"):
        return _pattern_rates(history, wf)
    return {name: (rate, 0, "given prior") for name, rate in _rates(history).items()}


def _is_verifier(provider: str | None) -> bool:
    from gtmkit.providers.registry import provider_class

    try:
        return provider is not None and provider_class(provider).kind == "verifier"
    except KeyError:  # a provider gtmkit has no adapter for finds, it does not verify
        return False


def _pattern_rates(pattern: Any, wf: Any) -> dict[str, tuple[float, int, str]]:
    """A pattern documents each step's share of the list (70%, 20%, 8%...); the rows still
    missing at step ``i`` are ``1 - (earlier shares)``, so its hit rate is share / that. Steps
    are matched by position, so a substituted step takes the share documented for it."""
    out: dict[str, tuple[float, int, str]] = {}
    steps = list(getattr(wf, "steps", ()) or ())
    # the waterfall runs a documented verifier step after the finders (``verify=``): match the
    # other steps by position
    documented = [d for d in pattern.sequence if not _is_verifier(d.provider)]
    if len(steps) != len(documented):
        return out  # not this pattern's waterfall: its figures say nothing about these steps
    covered = 0.0
    name = getattr(pattern, "name", "pattern")
    for step, doc in zip(steps, documented, strict=True):
        share = doc.hit_rate
        if share is None:
            continue
        remaining = max(1e-9, 1.0 - covered)
        out[step.provider] = (min(1.0, share / remaining), 0, f"pattern {name} (documented)")
        covered += share
    return out


def estimate(
    wf: Any,
    records: Any,
    *,
    priors: Mapping[str, float] | pl.DataFrame | None = None,
    providers: Mapping[str, Any] | None = None,
    history: Any = None,
) -> pl.DataFrame:
    """One row per step plus a ``total`` row: expected rows in, calls, hits, credits, dollars,
    and the worst case (every call billed at the provider's maximum).

    Args:
        wf: the :class:`~gtmkit.waterfall.spec.Waterfall`.
        records: a ``LoadedList`` or polars frame (rows with an email already skip the steps
            that fill only the email).
        priors: ``{provider: hit_rate}`` or a frame with ``provider``/``hit_rate`` columns.
        providers: ``{name: Provider}`` when they are not registered adapters.
        history: what gtmkit knows instead of a flat prior: a ``Ledger`` or its path, a
            ``Comparison`` or a ``Pattern`` (see :func:`history_rates`). ``priors`` win over
            it for the providers they name.

    Each step's row says what its hit rate rests on (``basis``) and on how many observations
    (``n``): the default prior is a guess, and says so. When ``history`` is a ledger holding
    answered lookups, the expected rows in, calls, hits and credits come from the twin fitted
    from it (:mod:`gtmkit.twin`: providers find the same easy people, so late steps see more
    rows than independent steps would say); ``model`` says which, and the total row carries the
    twin's 95% interval (``hits_low``/``hits_high``, ``cost_low_usd``/``cost_high_usd``).
    """
    from gtmkit.waterfall.rows import prepare_records

    frame, _ = prepare_records(records)
    if "duplicate_of" in frame.columns:
        frame = frame.filter(pl.col("duplicate_of").is_null())
    need = frame.height
    if "email" in frame.columns:
        blank = frame["email"].cast(pl.String).fill_null("").str.strip_chars() == ""
        need = int(blank.sum())
    known = history_rates(history, wf)
    known |= {name: (rate, 0, "given prior") for name, rate in _rates(priors).items()}
    rates = {name: rate for name, (rate, _, _) in known.items()}
    # a ledger with answered lookups: the twin's figures, correlation between providers known
    from gtmkit.twin.for_estimate import INDEPENDENT, twin_estimate

    twin = twin_estimate(history, wf, records, priors=rates, providers=providers)

    def basis(name: str, default: str) -> tuple[str, int]:
        if name in known:
            return known[name][2], known[name][1]
        return default, 0

    rows = []
    remaining = float(need)
    found_total = 0.0
    for index, step in enumerate(wf.steps):
        attrs = adapter_for(step.provider, providers)
        manual = getattr(attrs, "kind", "finder") == "manual"
        rate = 0.0 if manual else rates.get(step.provider, DEFAULT_HIT_RATE)
        why, n = (
            ("hand-off to a person", 0)
            if manual
            else basis(step.provider, f"default prior ({DEFAULT_HIT_RATE:.0%}, published range)")
        )
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
        if twin is not None and step.provider in twin.steps:
            entering, hits, credits = twin.steps[step.provider]
        price = price_per_credit(step.provider, prices=wf.prices, providers=providers)
        rows.append(
            {
                "step": index,
                "provider": step.provider,
                "hit_rate": rate,
                "basis": why,
                "n": n,
                "rows_in": entering,
                "calls": entering,
                "hits": hits,
                "credits": credits,
                "cost_usd": credits * price,
                "worst_case_credits": entering * worst,
                "worst_case_usd": entering * worst * price,
                "model": INDEPENDENT if twin is None else twin.model,
            }
        )
        found_total += hits
        remaining = max(0.0, remaining - hits)
    if wf.verify:
        attrs = adapter_for(wf.verify, providers)
        per_call = float(getattr(attrs, "credits_per_lookup", 1.0) or 0.0)
        worst = worst_case_credits(wf.verify, providers=providers)
        price = price_per_credit(wf.verify, prices=wf.prices, providers=providers)
        why, n = basis(wf.verify, f"default prior ({DEFAULT_VERIFY_RATE:.0%} confirmed valid)")
        # every found email may need verifying in the worst case; the expectation assumes the
        # finders' unverified share is unknown, so it counts them all
        rows.append(
            {
                "step": len(wf.steps),
                "provider": wf.verify,
                "hit_rate": rates.get(wf.verify, DEFAULT_VERIFY_RATE),
                "basis": why,
                "n": n,
                "rows_in": found_total,
                "calls": found_total,
                "hits": found_total * rates.get(wf.verify, DEFAULT_VERIFY_RATE),
                "credits": found_total * per_call,
                "cost_usd": found_total * per_call * price,
                "worst_case_credits": found_total * worst,
                "worst_case_usd": found_total * worst * price,
                "model": INDEPENDENT if twin is None else twin.model,
            }
        )
    out = pl.DataFrame(rows)
    total = out.select(
        pl.lit(None, dtype=pl.Int64).alias("step"),
        pl.lit("total").alias("provider"),
        pl.lit(None, dtype=pl.Float64).alias("hit_rate"),
        pl.lit("sum of the steps").alias("basis"),
        pl.col("n").sum(),
        pl.lit(float(need)).alias("rows_in"),
        *(pl.col(c).sum() for c in ("calls", "hits", "credits", "cost_usd")),
        *(pl.col(c).sum() for c in ("worst_case_credits", "worst_case_usd")),
        pl.col("model").first(),
    )
    # the twin's interval of the total (emails found, dollars); null on the steps' rows
    low_high = (None, None, None, None) if twin is None else (*twin.hits, *twin.cost_usd)
    bounds = ("hits_low", "hits_high", "cost_low_usd", "cost_high_usd")
    out = pl.concat([out, total], how="vertical_relaxed")
    return out.with_columns(
        pl.when(pl.col("provider") == "total").then(pl.lit(v, dtype=pl.Float64)).alias(name)
        for name, v in zip(bounds, low_high, strict=True)
    )
