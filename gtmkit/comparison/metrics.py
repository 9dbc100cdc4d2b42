"""Per-provider (and per provider × segment) metrics from an observation frame.

Coverage, accuracy, cost and speed are measured separately — a provider that "finds" 95 % and
is right 9 % of the time must look bad here, not good.

Definitions (one row per provider, or per provider × segment value):

* ``n``: rows the provider was asked about (a lookup was made or answered from cache).
* ``hits`` / ``hit_rate``: lookups that returned an email; Wilson 95 % interval
  ``hit_rate_low`` / ``hit_rate_high``.
* ``judged``: hits whose correctness is known (truth available). ``accuracy`` = correct ÷
  judged (right person *and* current email), with its Wilson interval; null without truth.
* ``verified_share``: hits whose status is verified (``valid`` by default) ÷ hits.
  ``catch_all_share``: hits on catch-all domains ÷ hits.
* ``usable`` / ``usable_rate``: hits that are verified *and* correct (verified only when no
  truth is known, see ``usable_basis``) ÷ n.
* Credits and money at list price under the provider's billing rule (so a re-run answered
  from the ledger cache still prices the work): ``credits_per_call`` / ``credits_per_hit`` /
  ``credits_per_usable`` and ``usd_per_call`` / ``usd_per_hit`` / ``usd_per_usable``.
  What this run actually paid: ``credits_paid``, ``usd_paid``.
* ``latency_p50_s`` / ``latency_p95_s``: over lookups actually sent (cache answers excluded).
* ``errors``: failed attempts (retries included); ``error_rate``: lookups that ended in an error
  ÷ n.
* Phone steps (observations with a ``mobile`` column, see ``gtmkit.comparison.phones``): a hit
  is a number, ``accuracy`` the share that reaches the person (1 − the wrong-number rate),
  money is what each lookup measurably cost; ``mobiles`` / ``mobile_rate`` (mobiles ÷ n),
  ``usable_mobiles``, ``usd_per_usable_mobile`` and ``credits_held`` (still held at the worst
  case, e.g. Apollo reveals never delivered: they may yet be billed) are added.
* ``too_wide``: the hit-rate or accuracy interval is wider than
  :data:`~gtmkit.comparison.stats.MAX_ACTIONABLE_INTERVAL_WIDTH` (0.20, i.e. ± 10 points);
  ``warning`` says which and how many rows it would take.

Example:
    >>> import polars as pl
    >>> from gtmkit.comparison import ProviderCost, observations_from_attempts, provider_metrics
    >>> attempts = pl.DataFrame({"row_id": [0, 1, 2, 3], "provider": "p", "attempt": 1,
    ...     "outcome": ["hit", "hit", "miss", "hit"], "error_kind": None, "latency_s": 0.5,
    ...     "credits": 1.0, "billed": True, "cost_usd": 0.05, "cached": False,
    ...     "email": ["a@x.io", "b@x.io", None, "d@x.io"],
    ...     "email_status": ["valid", "valid", None, "catch_all"]},
    ...     schema_overrides={"error_kind": pl.String})
    >>> costs = {"p": ProviderCost("p", "per_call", 1.0, 0.05)}
    >>> metrics = provider_metrics(observations_from_attempts(attempts), costs)
    >>> metrics.select("provider", "n", "hits", "hit_rate", "usd_per_hit").row(0)
    ('p', 4, 3, 0.75, 0.06666666666666667)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from gtmkit.comparison.errors import CompareError
from gtmkit.comparison.optimize import ProviderCost
from gtmkit.comparison.stats import MAX_ACTIONABLE_INTERVAL_WIDTH, wilson_exprs


def _cost_frame(costs: Mapping[str, ProviderCost]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "provider": list(costs),
            "_per_call": [c.pays_on_miss for c in costs.values()],
            "_credit_unit": [c.credits_per_billed_call for c in costs.values()],
            "_usd_per_credit": [c.usd_per_credit for c in costs.values()],
            "billing": [c.billing for c in costs.values()],
        },
        schema={
            "provider": pl.String,
            "_per_call": pl.Boolean,
            "_credit_unit": pl.Float64,
            "_usd_per_credit": pl.Float64,
            "billing": pl.String,
        },
    )


def provider_metrics(
    obs: pl.DataFrame,
    costs: Mapping[str, ProviderCost],
    *,
    by: Sequence[str] = (),
    max_interval_width: float = MAX_ACTIONABLE_INTERVAL_WIDTH,
) -> pl.DataFrame:
    """Metrics per provider, or per provider × the ``by`` columns (see module docstring).

    Args:
        obs: observation frame (``gtmkit.comparison.outcomes``), with any ``by`` columns joined.
        costs: billing rule and unit price per provider.
        by: segment columns (e.g. ``["employee_band"]``).
        max_interval_width: interval width above which a cell is flagged ``too_wide``.
    """
    missing = [c for c in by if c not in obs.columns]
    if missing:
        raise CompareError(f"segment column(s) {missing} not in the observations")
    unknown = sorted(set(obs["provider"].unique().to_list()) - set(costs))
    if unknown:
        raise CompareError(f"no billing/price information for provider(s) {unknown}")
    keys = ["provider", *by]
    truth_known = obs["correct"].is_not_null().any()
    called = obs.filter(pl.col("called")).join(_cost_frame(costs), on="provider", how="left")
    billed_row = pl.when(pl.col("_per_call")).then(pl.col("answered")).otherwise(pl.col("hit"))
    rule_credits = billed_row.cast(pl.Float64) * pl.col("_credit_unit")
    # a phone step's lookups carry what they really cost (list_credits, see
    # gtmkit.comparison.phones): a reveal bills more with a mobile; null falls back to the rule
    if "list_credits" in obs.columns:
        list_credits = pl.coalesce(pl.col("list_credits"), rule_credits)
    else:
        list_credits = rule_credits
    sent = ~pl.col("cached")
    agg = called.group_by(keys, maintain_order=True).agg(
        pl.len().alias("n"),
        pl.col("hit").sum().alias("hits"),
        pl.col("correct").is_not_null().sum().alias("judged"),
        pl.col("correct").fill_null(False).sum().alias("correct"),
        pl.col("verified").sum().alias("verified"),
        pl.col("catch_all").sum().alias("catch_alls"),
        pl.col("usable").fill_null(False).sum().alias("usable"),
        (list_credits * pl.col("_usd_per_credit")).sum().alias("_usd"),
        list_credits.sum().alias("_credits"),
        pl.col("credits").sum().alias("credits_paid"),
        pl.col("cost_usd").sum().alias("usd_paid"),
        pl.col("latency_s").filter(sent).quantile(0.5, "linear").alias("latency_p50_s"),
        pl.col("latency_s").filter(sent).quantile(0.95, "linear").alias("latency_p95_s"),
        pl.col("errors").sum().alias("errors"),
        (pl.col("outcome") == "error").sum().alias("_error_lookups"),
        pl.col("billing").first(),
    )
    phone_cols: list[str] = []
    if "mobile" in obs.columns:  # a phone step: how many finds are mobiles, and usable ones
        phone_cols = [
            "mobiles",
            "mobile_rate",
            "usable_mobiles",
            "usd_per_usable_mobile",
            "credits_held",
        ]
        extra = called.group_by(keys, maintain_order=True).agg(
            pl.col("mobile").fill_null(False).sum().alias("mobiles"),
            (pl.col("mobile").fill_null(False) & pl.col("usable").fill_null(False))
            .sum()
            .alias("usable_mobiles"),
            pl.col("credits_held").fill_null(0.0).sum().alias("credits_held")
            if "credits_held" in obs.columns
            else pl.lit(0.0).alias("credits_held"),
        )
        agg = agg.join(extra, on=keys, how="left", nulls_equal=True)
    out = (
        agg.with_columns(
            hit_rate=pl.col("hits") / pl.col("n"),
            accuracy=pl.when(pl.col("judged") > 0).then(pl.col("correct") / pl.col("judged")),
            verified_share=pl.when(pl.col("hits") > 0).then(pl.col("verified") / pl.col("hits")),
            catch_all_share=pl.when(pl.col("hits") > 0).then(pl.col("catch_alls") / pl.col("hits")),
            usable_rate=pl.col("usable") / pl.col("n"),
            credits_per_call=pl.col("_credits") / pl.col("n"),
            credits_per_hit=pl.when(pl.col("hits") > 0).then(pl.col("_credits") / pl.col("hits")),
            credits_per_usable=pl.when(pl.col("usable") > 0).then(
                pl.col("_credits") / pl.col("usable")
            ),
            usd_per_call=pl.col("_usd") / pl.col("n"),
            usd_per_hit=pl.when(pl.col("hits") > 0).then(pl.col("_usd") / pl.col("hits")),
            usd_per_usable=pl.when(pl.col("usable") > 0).then(pl.col("_usd") / pl.col("usable")),
            error_rate=pl.col("_error_lookups") / pl.col("n"),
            usable_basis=pl.lit("verified_and_correct" if truth_known else "verified_only"),
        )
        .with_columns(
            *wilson_exprs("hits", "n", prefix="hit_rate"),
            *wilson_exprs("correct", "judged", prefix="accuracy"),
        )
        .with_columns(
            pl.when(pl.col("judged") > 0).then(pl.col("accuracy_low")).alias("accuracy_low"),
            pl.when(pl.col("judged") > 0).then(pl.col("accuracy_high")).alias("accuracy_high"),
        )
    )
    hit_wide = (pl.col("hit_rate_high") - pl.col("hit_rate_low")) > max_interval_width
    acc_wide = ((pl.col("accuracy_high") - pl.col("accuracy_low")) > max_interval_width).fill_null(
        False
    )
    pct = f"{max_interval_width * 50:.0f}"
    if phone_cols:
        out = out.with_columns(
            mobile_rate=pl.col("mobiles") / pl.col("n"),
            usd_per_usable_mobile=pl.when(pl.col("usable_mobiles") > 0).then(
                pl.col("_usd") / pl.col("usable_mobiles")
            ),
        )
    out = out.with_columns(too_wide=hit_wide | acc_wide).with_columns(
        warning=pl.when(hit_wide)
        .then(
            pl.format(
                "hit-rate interval wider than ±{} points on n={}: measure more rows before acting",
                pl.lit(pct),
                pl.col("n"),
            )
        )
        .when(acc_wide)
        .then(
            pl.format(
                "accuracy interval wider than ±{} points on {} judged hits: too few to act on",
                pl.lit(pct),
                pl.col("judged"),
            )
        )
    )
    return out.select(
        *keys,
        "billing",
        "n",
        "hits",
        "hit_rate",
        "hit_rate_low",
        "hit_rate_high",
        "judged",
        "correct",
        "accuracy",
        "accuracy_low",
        "accuracy_high",
        "verified_share",
        "catch_all_share",
        "usable",
        "usable_rate",
        "usable_basis",
        "credits_per_call",
        "credits_per_hit",
        "credits_per_usable",
        "usd_per_call",
        "usd_per_hit",
        "usd_per_usable",
        "credits_paid",
        "usd_paid",
        "latency_p50_s",
        "latency_p95_s",
        "errors",
        "error_rate",
        "too_wide",
        "warning",
        *phone_cols,
    ).sort(keys)
