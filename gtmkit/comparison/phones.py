"""Observations for a phone step: the same tidy frame as emails, scored against true numbers.

A comparison of a phone step (``compare(..., field="phone")``) runs ``Step(p, fills=("phone",),
when="always")`` per provider, and turns its attempts into the observation frame every metric,
overlap and optimizer reads (see ``gtmkit.comparison.outcomes``), so a phone is scored exactly
like an email — hit rate, accuracy, cost per usable find, by segment — with no provider named.

What changes for a phone (columns added or read differently):

* ``phone`` / ``phone_type`` (``mobile`` / ``direct`` / ``office``): what the lookup returned
  (the engine's ``fields_json``). ``hit``: a number came back. ``mobile``: it is a mobile.
  ``email`` / ``email_status`` stay null, ``catch_all`` False.
* ``verified`` = ``hit``: a number has no deliverability status to check.
* ``correct``: the number reaches the person — it is their mobile, their direct line or their
  company's switchboard (``true_mobile`` / ``true_direct`` / ``true_office``, the shape of
  ``World.truth(records)`` or a file of dialled outcomes). A number for a row the truth knows,
  matching none of them, is a wrong number (churned, reassigned, a colleague's): ``1 −
  accuracy`` is the wrong-number rate. Numbers are compared as digits with their ``+``.
* ``usable``: a number that reaches the person; without any truth, a number found (the
  email's status in the same answer says nothing about a phone).
* ``list_credits``: what the lookup cost when it was bought (measured, not the adapter's
  nominal price: a phone reveal bills 8 credits only when it returns a mobile, Lusha bills a
  contact returned with or without a number). The metrics and the optimizer price phone
  lookups with it. A lookup answered from the ledger cache costs what the ledger's sent
  attempt of the same lookup cost (``bought_credits``, :func:`with_bought_credits`), else the
  mean a sent lookup of the same kind (outcome, phone type) cost in this run, so a re-run
  still prices the work.
* ``credits_held``: credits the engine still holds for the lookup at its worst case — an
  Apollo reveal whose number never arrived "may still be billed" — money on the line that
  ``list_credits`` does not count.

Sources: the phone types and billing are the adapters' (``gtmkit.providers``: Apollo's reveal,
Lusha, ZoomInfo, PDL, Prospeo), the wrong-number ranges ``../shared/field-notes.md`` §4.3, §4.5.

Example:
    >>> import polars as pl
    >>> found = pl.DataFrame({"row_id": [0, 1, 2], "phone": ["+1 415 555 0100", "+14155550199",
    ...     None]})
    >>> truth = pl.DataFrame({"row_id": [0, 1, 2], "true_mobile": ["+14155550100", "+1415", "+1"],
    ...     "true_direct": [None, None, None], "true_office": ["+1999", "+1998", "+1997"]})
    >>> judge_phones(found, truth)["correct"].to_list()
    [True, False, None]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from gtmkit.comparison.errors import CompareError
from gtmkit.comparison.outcomes import TruthError, attach_judged, observations_from_attempts
from gtmkit.providers.pricing import adapter_for, worst_case_credits
from gtmkit.schema import ROW_ID

__all__ = [
    "PHONE_TRUTH_COLUMNS",
    "attach_phone_truth",
    "check_phone_sellers",
    "judge_phones",
    "phone_observations",
    "phone_worst_case",
    "with_bought_credits",
]

#: The columns of per-row phone truth (any one is enough; a null means "has none").
PHONE_TRUTH_COLUMNS: tuple[str, ...] = ("true_mobile", "true_direct", "true_office")


def check_phone_sellers(
    names: Sequence[str], *, providers: Mapping[str, Any] | None = None
) -> None:
    """Refuse, before anything is spent, providers whose adapter returns no ``phone``.

    Raises:
        CompareError: names the providers and says what to do.
    """
    mute = [
        name
        for name in names
        if (returns := getattr(adapter_for(name, providers), "returns", None)) is not None
        and "phone" not in returns
    ]
    if mute:
        raise CompareError(
            f"{mute} return no phone numbers: compare phones with providers that sell them "
            "(e.g. apollo, lusha, zoominfo, pdl, prospeo) or drop these from providers="
        )


def phone_worst_case(name: str, *, providers: Mapping[str, Any] | None = None) -> float:
    """The most credits one phone lookup of ``name`` can cost.

    An adapter that sells the phone apart (Apollo's reveal, Prospeo's mobile) prices its
    worst case only once told a step wants ``phone`` (``want_fields``), as the engine does
    before a run; this asks the same question before the estimate. A registered class is
    instantiated for it (no key is needed to read a price).
    """
    adapter = adapter_for(name, providers)
    if isinstance(adapter, type):
        try:
            adapter = adapter()
        except TypeError:  # a class that needs arguments: its declared worst case stands
            return worst_case_credits(name, providers=providers)
    want = getattr(adapter, "want_fields", None)
    if callable(want):
        want(frozenset({"phone"}))
    return worst_case_credits(name, providers={name: adapter})


def with_bought_credits(attempts: pl.DataFrame, ledger: Any) -> pl.DataFrame:
    """``attempts`` with ``bought_credits`` on its cached attempts: what the ledger's last
    answered, sent attempt of the same (provider, endpoint, lookup) cost when it was bought.

    A cached attempt itself costs 0 (nothing was sent), and a phone's price depends on what
    came back (Apollo's mobile 9, its direct line 1), so the ledger's history is the only
    honest price for a re-run. ``ledger``: a path or ``Ledger`` (``None``: unchanged).
    """
    if ledger is None or not attempts["cached"].any():
        return attempts
    from gtmkit.waterfall.ledger import open_ledger

    reader, owned = open_ledger(ledger)
    if reader is None:
        return attempts
    try:
        history = reader.attempts()
    finally:
        if owned:
            reader.close()
    key = ["provider", "endpoint", "lookup_key"]
    bought = (
        history.filter(~pl.col("cached") & (pl.col("outcome") != "error"))
        .sort("started_at")
        .group_by(key)
        .agg(pl.col("credits").cast(pl.Float64).last().alias("bought_credits"))
    )
    return (
        attempts.with_row_index("_pos")
        .join(bought, on=key, how="left")
        .sort("_pos")
        .drop("_pos")
        .with_columns(
            pl.when(pl.col("cached")).then(pl.col("bought_credits")).alias("bought_credits")
        )
    )


def _digits(expr: pl.Expr) -> pl.Expr:
    """A number as ``+`` and digits: spaces, dashes and brackets are formatting, not identity."""
    return expr.cast(pl.String).str.replace_all(r"[^0-9+]", "")


def phone_observations(
    attempts: pl.DataFrame,
    *,
    rows: pl.DataFrame | None = None,
    providers: Sequence[str] | None = None,
) -> pl.DataFrame:
    """One observation per (row, provider) of a phone step (see the module docstring)."""
    base = observations_from_attempts(attempts, rows=rows, providers=providers)
    fields = pl.col("fields_json").fill_null("{}")
    order_cols = ["attempt", "started_at"] if "started_at" in attempts.columns else ["attempt"]
    per_lookup = (
        attempts.sort([ROW_ID, "provider", *order_cols])
        .group_by([ROW_ID, "provider"], maintain_order=True)
        .agg(
            fields.last().alias("_fields"),
            pl.col("credits").cast(pl.Float64).filter(~pl.col("cached")).sum().alias("_paid"),
            (~pl.col("cached")).any().alias("_sent"),
            (
                pl.col("bought_credits").filter(pl.col("cached")).last()
                if "bought_credits" in attempts.columns
                else pl.lit(None, dtype=pl.Float64)
            ).alias("_bought"),
            pl.col("credits_held").cast(pl.Float64).sum().alias("credits_held")
            if "credits_held" in attempts.columns
            else pl.lit(0.0).alias("credits_held"),
        )
        .with_columns(
            pl.col("_fields").str.json_path_match("$.phone").alias("phone"),
            pl.col("_fields").str.json_path_match("$.phone_type").alias("phone_type"),
            pl.col(ROW_ID).cast(pl.Int64),
        )
        .drop("_fields")
    )
    # a duplicate row is answered by its representative's lookup, as for emails
    source = base.select(ROW_ID, "provider")
    if rows is not None and "duplicate_of" in rows.columns:
        dup = rows.select(
            pl.col(ROW_ID).cast(pl.Int64),
            pl.coalesce(pl.col("duplicate_of").cast(pl.Int64), pl.col(ROW_ID)).alias("_source"),
        )
        source = source.join(dup, on=ROW_ID, how="left")
    else:
        source = source.with_columns(pl.col(ROW_ID).alias("_source"))
    obs = base.with_row_index("_pos").join(
        source.join(
            per_lookup.rename({ROW_ID: "_source"}), on=["_source", "provider"], how="left"
        ).drop("_source"),
        on=[ROW_ID, "provider"],
        how="left",
    )
    found = pl.col("phone").fill_null("").str.len_chars() > 0
    obs = obs.with_columns(
        hit=pl.col("called") & (pl.col("outcome") == "hit").fill_null(False) & found,
    ).with_columns(
        pl.when(pl.col("hit")).then(pl.col("phone")).alias("phone"),
        pl.when(pl.col("hit")).then(pl.col("phone_type")).alias("phone_type"),
        mobile=pl.col("hit") & (pl.col("phone_type") == "mobile").fill_null(False),
        verified=pl.col("hit"),
        # without truth a found number is the usable one (attach_phone_truth narrows it to
        # numbers that reach the person); the email's status says nothing about a phone
        usable=pl.col("hit"),
        catch_all=pl.lit(False),
        email=pl.lit(None, dtype=pl.String),
        email_status=pl.lit(None, dtype=pl.String),
    )
    # a cached lookup costs nothing now but was bought once: price it at what a sent lookup
    # of the same kind (provider, outcome, phone type) cost, so a re-run still prices the work
    kind = ["provider", "outcome", "phone_type"]
    sent_mean = (
        obs.filter(pl.col("_sent").fill_null(False))
        .group_by(kind)
        .agg(pl.col("_paid").mean().alias("_kind_mean"))
    )
    obs = obs.join(sent_mean, on=kind, how="left", nulls_equal=True).with_columns(
        list_credits=pl.when(~pl.col("called"))
        .then(0.0)
        .when(pl.col("_sent").fill_null(False))
        .then(pl.col("_paid"))
        .when(pl.col("_bought").is_not_null())
        .then(pl.col("_bought"))
        .otherwise(pl.col("_kind_mean"))  # null when no sent lookup of that kind: rule-priced
    )
    obs = obs.with_columns(pl.col("credits_held").fill_null(0.0))
    columns = [*base.columns, "phone", "phone_type", "mobile", "list_credits", "credits_held"]
    return obs.sort("_pos").select(columns)


def judge_phones(
    found: pl.DataFrame, truth: pl.DataFrame | None, *, phone: str = "phone"
) -> pl.DataFrame:
    """``found`` with a ``correct`` column: does the number reach the person?

    True when it equals one of the row's true numbers, False when the truth knows the row and
    none matches (a wrong number), null without truth, for a row the truth does not have, or
    where ``found`` has no number.

    Raises:
        TruthError: ``truth`` lacks ``row_id`` or every one of :data:`PHONE_TRUTH_COLUMNS`.
    """
    unknown = pl.lit(None, dtype=pl.Boolean)
    if truth is None:
        return found.with_columns(correct=unknown)
    have = [c for c in PHONE_TRUTH_COLUMNS if c in truth.columns]
    if ROW_ID not in truth.columns or not have:
        raise TruthError(
            f"phone truth needs {ROW_ID!r} and at least one of {list(PHONE_TRUTH_COLUMNS)} "
            "(the person's true numbers in E.164, e.g. World.truth(records)); got "
            f"{truth.columns}"
        )
    keyed = (
        truth.select(pl.col(ROW_ID).cast(pl.Int64).alias("_row"), *have)
        .unique("_row", keep="first", maintain_order=True)
        .with_columns(_known=pl.lit(True))
    )
    number = _digits(pl.col(phone))
    has_number = number.fill_null("") != ""
    joined = found.with_columns(pl.col(ROW_ID).cast(pl.Int64).alias("_row")).join(
        keyed.rename({c: f"_t_{c}" for c in have}), on="_row", how="left"
    )
    # the truth columns were renamed so they cannot shadow columns of ``found``
    matches = pl.any_horizontal(
        [(number == _digits(pl.col(f"_t_{c}"))).fill_null(False) for c in have]
    )
    verdict = pl.when(~has_number | pl.col("_known").is_null()).then(unknown).otherwise(matches)
    return joined.with_columns(correct=verdict).select(*found.columns, "correct")


def attach_phone_truth(obs: pl.DataFrame, truth: pl.DataFrame | None) -> pl.DataFrame:
    """Fill ``correct`` (hits only) and recompute ``usable`` (a number that reaches the person).

    With ``truth=None`` the observations are returned unchanged (``usable`` = a number found).
    """
    return attach_judged(obs, truth, "phone", lambda f, t, c: judge_phones(f, t, phone=c))
