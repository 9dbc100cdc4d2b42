"""Turn a waterfall run's ``.attempts`` into one observation per (sampled row, provider).

A comparison runs every provider on every sampled row (``when="always"``), so each row has at
most one *lookup* per provider, possibly with several attempts (retries) or answered from the
ledger cache. Everything downstream — metrics, overlap, the hit pattern the optimizer uses —
reads this one tidy frame, so they all agree on what a "hit" or a "usable" record is.

Observation columns: ``row_id``, ``provider``, ``called`` (a lookup was made or answered from
cache), ``outcome`` (final attempt: hit / miss / error; null when not called), ``hit`` (final
outcome is a hit *with an email*), ``email``, ``email_status``, ``verified`` (status in
``usable_statuses``, default ``valid``), ``catch_all``, ``correct`` (email equals the row's true
current email; null when truth is unknown), ``usable`` (hit, verified and correct; without any
truth source: hit and verified), ``answered`` (final attempt was answered, not an error),
``billed`` (any attempt was billed), ``credits``, ``cost_usd`` (sums over attempts),
``latency_s`` (wall time of the final attempt), ``attempts``, ``errors``, ``error_kind``,
``cached``.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from gtmkit.schema import ROW_ID

#: Columns of an attempts frame this module reads (the engine contract has more).
ATTEMPT_COLUMNS: tuple[str, ...] = (
    ROW_ID,
    "provider",
    "outcome",
    "error_kind",
    "latency_s",
    "credits",
    "billed",
    "cost_usd",
    "attempt",
    "cached",
    "email",
    "email_status",
)

_NORM_EMAIL = pl.col("email").str.strip_chars().str.to_lowercase()


def _check_attempts(attempts: pl.DataFrame) -> None:
    missing = [c for c in ATTEMPT_COLUMNS if c not in attempts.columns]
    if missing:
        raise ValueError(
            f"attempts frame lacks column(s) {missing}; expected a WaterfallResult.attempts "
            f"frame with at least {list(ATTEMPT_COLUMNS)}"
        )


def observations_from_attempts(
    attempts: pl.DataFrame,
    *,
    rows: pl.DataFrame | None = None,
    providers: Sequence[str] | None = None,
    usable_statuses: Sequence[str] = ("valid",),
) -> pl.DataFrame:
    """One observation per (row, provider) from an attempts-shaped frame.

    Args:
        attempts: a ``WaterfallResult.attempts`` frame (or one built the same way).
        rows: the sampled rows (needs ``row_id``; an optional ``duplicate_of`` column maps a
            duplicate row to the representative row whose lookup answered for it). Rows with
            no attempt for a provider appear with ``called=False``. Default: the rows seen in
            ``attempts``.
        providers: providers to keep, in this order (default: as first seen in ``attempts``).
        usable_statuses: email statuses that count as verified.

    Returns:
        The observation frame described in the module docstring, sorted by provider order and
        ``row_id``. Truth columns (``correct``) are null until :func:`attach_truth`.
    """
    _check_attempts(attempts)
    if providers is None:
        providers = list(dict.fromkeys(attempts["provider"].to_list()))
    providers = list(providers)
    attempts = attempts.filter(pl.col("provider").is_in(providers))
    order_cols = ["attempt", "started_at"] if "started_at" in attempts.columns else ["attempt"]
    per_lookup = (
        attempts.sort([ROW_ID, "provider", *order_cols])
        .group_by([ROW_ID, "provider"], maintain_order=True)
        .agg(
            pl.col("outcome").last(),
            pl.col("email").last(),
            pl.col("email_status").last(),
            pl.col("error_kind").last(),
            pl.col("latency_s").last().cast(pl.Float64),
            pl.col("credits").cast(pl.Float64).sum(),
            pl.col("cost_usd").cast(pl.Float64).sum(),
            pl.col("billed").any(),
            pl.col("cached").all(),
            (~pl.col("cached")).sum().cast(pl.Int64).alias("attempts"),
            (pl.col("outcome") == "error").sum().cast(pl.Int64).alias("errors"),
        )
        .with_columns(pl.lit(True).alias("called"))
    )
    if rows is None:
        rows = attempts.select(ROW_ID).unique().sort(ROW_ID)
    if ROW_ID not in rows.columns:
        raise ValueError(f"rows frame needs a {ROW_ID!r} column")
    # a duplicate row is answered by its representative's lookup
    if "duplicate_of" in rows.columns:
        source = pl.coalesce(pl.col("duplicate_of").cast(pl.Int64), pl.col(ROW_ID))
    else:
        source = pl.col(ROW_ID)
    row_map = rows.select(pl.col(ROW_ID).cast(pl.Int64), source.alias("_source")).unique(ROW_ID)
    grid = row_map.join(
        pl.DataFrame({"provider": providers, "_p": list(range(len(providers)))}), how="cross"
    )
    obs = grid.join(
        per_lookup.with_columns(pl.col(ROW_ID).cast(pl.Int64)).rename({ROW_ID: "_source"}),
        on=["_source", "provider"],
        how="left",
    )
    statuses = list(usable_statuses)
    obs = obs.with_columns(
        pl.col("called").fill_null(False),
        pl.col("billed").fill_null(False),
        pl.col("cached").fill_null(False),
        pl.col("credits").fill_null(0.0),
        pl.col("cost_usd").fill_null(0.0),
        pl.col("attempts").fill_null(0),
        pl.col("errors").fill_null(0),
    ).with_columns(
        hit=(pl.col("outcome") == "hit") & _NORM_EMAIL.fill_null("").str.len_chars().gt(0),
        answered=pl.col("called") & (pl.col("outcome") != "error").fill_null(False),
    )
    obs = obs.with_columns(
        pl.col("hit").fill_null(False),
        verified=(pl.col("hit") & pl.col("email_status").is_in(statuses)).fill_null(False),
        catch_all=(pl.col("hit") & (pl.col("email_status") == "catch_all")).fill_null(False),
        correct=pl.lit(None, dtype=pl.Boolean),
    ).with_columns(usable=pl.col("verified"))
    return obs.sort(["_p", ROW_ID]).select(
        ROW_ID,
        "provider",
        "called",
        "outcome",
        "hit",
        "email",
        "email_status",
        "verified",
        "catch_all",
        "correct",
        "usable",
        "answered",
        "billed",
        "credits",
        "cost_usd",
        "latency_s",
        "attempts",
        "errors",
        "error_kind",
        "cached",
    )


def normalize_truth(truth: pl.DataFrame) -> pl.DataFrame:
    """Accept the truth sources gtmkit knows and return one shape.

    * per row: ``row_id`` + ``true_email`` (the simulated world's ``World.truth(records)``, or a
      user's column of verified emails renamed to ``true_email``). A row present with a null
      ``true_email`` means "this person has no current email": any email found is wrong.
    * per email: ``email`` + ``bounced`` (bounce outcomes joined back after sending). An
      email that bounced is wrong, one that was delivered is right, others stay unknown.

    Returns:
        Either ``row_id, true_email`` or ``email, delivered`` (normalized lowercase email).
    """
    if ROW_ID in truth.columns and "true_email" in truth.columns:
        return truth.select(
            pl.col(ROW_ID).cast(pl.Int64),
            pl.col("true_email").cast(pl.String).str.strip_chars().str.to_lowercase(),
        ).unique(ROW_ID, keep="first")
    if "email" in truth.columns and "bounced" in truth.columns:
        return (
            truth.select(
                _NORM_EMAIL.alias("email"), (~pl.col("bounced").cast(pl.Boolean)).alias("delivered")
            )
            .drop_nulls("email")
            # a single bounce condemns an address even if another send got through
            .group_by("email")
            .agg(pl.col("delivered").all())
        )
    raise ValueError(
        "truth must have columns (row_id, true_email) — e.g. world.truth(records) or a "
        "verified-email column — or (email, bounced) for bounce outcomes; got "
        f"{truth.columns}"
    )


def attach_truth(obs: pl.DataFrame, truth: pl.DataFrame | None) -> pl.DataFrame:
    """Fill ``correct`` and recompute ``usable`` (hit, verified and correct).

    With ``truth=None`` the observations are returned unchanged (``usable`` = verified hit).
    """
    if truth is None:
        return obs
    norm = normalize_truth(truth)
    email = _NORM_EMAIL
    if "true_email" in norm.columns:
        joined = obs.join(norm, on=ROW_ID, how="left")
        known = pl.col(ROW_ID).is_in(norm[ROW_ID].implode())
        correct = (
            pl.when(~pl.col("hit"))
            .then(None)
            .when(~known)
            .then(None)
            .otherwise((email == pl.col("true_email")).fill_null(False))
        )
        joined = joined.with_columns(correct=correct).drop("true_email")
    else:
        joined = obs.join(norm.rename({"email": "_e"}), left_on=email, right_on="_e", how="left")
        joined = joined.with_columns(
            correct=pl.when(pl.col("hit")).then(pl.col("delivered")).otherwise(None)
        ).drop("delivered", "_e", strict=False)
    return joined.with_columns(usable=pl.col("verified") & pl.col("correct")).select(obs.columns)
