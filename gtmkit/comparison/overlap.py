"""Pairwise overlap between providers, and the rows where they disagree.

For an ordered pair (A, B) over the same sampled rows:

* ``both_hit``: rows both found; ``either_hit``; ``jaccard`` = both ÷ either.
* ``overlap_coef`` = both ÷ min(hits A, hits B): 1.0 means the smaller one's finds are all
  inside the larger one's.
* ``gain_b_after_a`` = rows B found among A's misses ÷ A's misses — what B adds *after* A in a
  waterfall. ``incremental_rows`` is the same count.
* ``conflicts``: rows both found with *different* emails; ``conflict_rate`` = conflicts ÷
  both_hit. With truth: ``conflicts_a_right`` / ``conflicts_b_right`` / ``conflicts_none_right``.
  For phones (observations with ``phone`` / ``phone_type``, see ``gtmkit.comparison.phones``)
  a conflict is two different numbers *of the same type*.

Each unordered pair gets one ``relation`` (same on both orderings), first rule that applies:

1. ``conflicting`` — ``conflict_rate`` ≥ :data:`CONFLICT_RATE` (25 %) over at least
   :data:`MIN_BOTH_HIT` (20) shared finds. Why 25 %: good providers are wrong about the
   person or stale on 5–15 % of finds, so two of them, each wrong on ~10 %, already disagree
   on ~19 % of shared rows by chance. Past one in four, at least one of the pair is worse than
   a good provider, and which email to keep needs truth or a verifier. (``conflict_rate``
   itself is always reported, to read against a stricter bar.)
2. ``redundant`` — ``overlap_coef`` ≥ :data:`REDUNDANT_OVERLAP` (0.85): the smaller provider
   adds under 15 % of its finds once the larger one ran.
3. ``complementary`` — otherwise: each finds a worthwhile share of rows the other misses.

Example:
    >>> import polars as pl
    >>> from gtmkit.comparison.overlap import pairwise_overlap
    >>> obs = pl.DataFrame({"row_id": [0, 1, 2] * 2, "provider": ["a"] * 3 + ["b"] * 3,
    ...     "hit": [True, True, False, True, False, True],
    ...     "email": ["x@a.io", "y@a.io", None, "x@a.io", None, "z@a.io"],
    ...     "correct": pl.Series([None] * 6, dtype=pl.Boolean)})
    >>> pairs = pairwise_overlap(obs)
    >>> pairs.select("provider_a", "provider_b", "both_hit", "gain_b_after_a").rows()
    [('a', 'b', 1, 1.0), ('b', 'a', 1, 1.0)]
"""

from __future__ import annotations

import polars as pl

from gtmkit.schema import ROW_ID

#: Share of shared finds with a different email at which a pair is "conflicting".
CONFLICT_RATE = 0.25
#: Shared finds needed before a conflict rate is trusted.
MIN_BOTH_HIT = 20
#: Overlap coefficient at which a pair is "redundant".
REDUNDANT_OVERLAP = 0.85

_EMAIL = pl.col("email").str.strip_chars().str.to_lowercase()
#: A phone as ``+`` and digits; two numbers conflict only when they claim the same type (a
#: mobile and a switchboard for one person are two true answers, not a disagreement).
_PHONE = pl.col("phone").cast(pl.String).str.replace_all(r"[^0-9+]", "")


def _found(obs: pl.DataFrame) -> tuple[pl.Expr, pl.Expr]:
    """What a provider found, normalised, and the kind it must share with another answer to
    conflict with it: the email (one kind), or a phone observation's number and its type."""
    if "phone" in obs.columns and "phone_type" in obs.columns:
        return _PHONE, pl.col("phone_type").fill_null("")
    return _EMAIL, pl.lit("")


def pairwise_overlap(obs: pl.DataFrame) -> pl.DataFrame:
    """Overlap statistics for every ordered pair of distinct providers (see module docs)."""
    value, kind = _found(obs)
    base = obs.select(
        ROW_ID, "provider", "hit", value.alias("email"), kind.alias("kind"), "correct"
    )
    cols = ("provider", "hit", "email", "kind", "correct")
    a = base.rename({c: f"{c}_a" for c in cols})
    b = base.rename({c: f"{c}_b" for c in cols})
    pairs = a.join(b, on=ROW_ID).filter(pl.col("provider_a") != pl.col("provider_b"))
    both = pl.col("hit_a") & pl.col("hit_b")
    conflict = (
        both & (pl.col("kind_a") == pl.col("kind_b")) & (pl.col("email_a") != pl.col("email_b"))
    )
    stats = pairs.group_by(["provider_a", "provider_b"], maintain_order=True).agg(
        pl.len().alias("rows"),
        pl.col("hit_a").sum().alias("hits_a"),
        pl.col("hit_b").sum().alias("hits_b"),
        both.sum().alias("both_hit"),
        (pl.col("hit_a") | pl.col("hit_b")).sum().alias("either_hit"),
        (~pl.col("hit_a") & pl.col("hit_b")).sum().alias("incremental_rows"),
        (~pl.col("hit_a")).sum().alias("_misses_a"),
        conflict.sum().alias("conflicts"),
        (conflict & pl.col("correct_a").fill_null(False)).sum().alias("conflicts_a_right"),
        (conflict & pl.col("correct_b").fill_null(False)).sum().alias("conflicts_b_right"),
        (conflict & (pl.col("correct_a") == False) & (pl.col("correct_b") == False))  # noqa: E712
        .sum()
        .alias("conflicts_none_right"),
    )
    out = stats.with_columns(
        jaccard=pl.when(pl.col("either_hit") > 0).then(pl.col("both_hit") / pl.col("either_hit")),
        overlap_coef=pl.when(pl.min_horizontal("hits_a", "hits_b") > 0).then(
            pl.col("both_hit") / pl.min_horizontal("hits_a", "hits_b")
        ),
        gain_b_after_a=pl.when(pl.col("_misses_a") > 0).then(
            pl.col("incremental_rows") / pl.col("_misses_a")
        ),
        conflict_rate=pl.when(pl.col("both_hit") > 0).then(
            pl.col("conflicts") / pl.col("both_hit")
        ),
    ).with_columns(
        relation=pl.when(
            (pl.col("both_hit") >= MIN_BOTH_HIT)
            & (pl.col("conflict_rate").fill_null(0.0) >= CONFLICT_RATE)
        )
        .then(pl.lit("conflicting"))
        .when(pl.col("overlap_coef").fill_null(0.0) >= REDUNDANT_OVERLAP)
        .then(pl.lit("redundant"))
        .otherwise(pl.lit("complementary"))
    )
    return out.drop("_misses_a").sort(["provider_a", "provider_b"])


def conflict_rows(obs: pl.DataFrame) -> pl.DataFrame:
    """Rows where at least two providers found different emails, one row per (row, provider hit).

    For a phone comparison (observations with ``phone`` and ``phone_type``): different numbers
    of the same type; the columns are then ``phone``, ``phone_type`` and ``n_phones`` (distinct
    numbers of that type on the row) in place of the email ones.

    Columns: ``row_id``, ``provider``, ``email``, ``email_status``, ``correct`` (null without
    truth), ``n_emails`` (distinct emails found on that row), ``right_provider_count``.
    """
    value, kind = _found(obs)
    if "phone" in obs.columns and "phone_type" in obs.columns:
        found, shown, count = "phone", ["phone", "phone_type"], "n_phones"
    else:
        found, shown, count = "email", ["email", "email_status"], "n_emails"
    hits = obs.filter(pl.col("hit")).with_columns(value.alias(found), kind.alias("_kind"))
    distinct = hits.group_by(ROW_ID, "_kind").agg(
        pl.col(found).n_unique().alias(count),
        pl.col("correct").fill_null(False).sum().alias("right_provider_count"),
    )
    return (
        hits.join(distinct.filter(pl.col(count) > 1), on=[ROW_ID, "_kind"])
        .select(ROW_ID, "provider", *shown, "correct", count, "right_provider_count")
        .sort([ROW_ID, "provider"])
    )
