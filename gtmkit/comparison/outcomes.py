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

**One meaning of truth.** Every caller that judges an email against truth — ``compare`` and
its observations, ``accuracy_by_source`` on a waterfall's records (notebook 02), the demo —
goes through :func:`judge_emails`, so the same truth file judges the same email the same way
everywhere:

* per row (``row_id``, ``true_email``): an email equal to ``true_email`` (trimmed, any case) is
  right, any other is wrong. A row present with a blank ``true_email`` means "this person has
  no current work email" (junk rows, people the world does not know): any email found for it is
  wrong. A row absent from the truth is unknown (not judged).
* per email (``email``, ``bounced``): bounced is wrong, delivered is right, never sent is
  unknown. One bounce condemns an address even if another send got through.
* a row with no email is never judged.

Truth files are read by :func:`load_truth` (CSV, TSV or Parquet); a frame goes through
:func:`normalize_truth`. Both raise :class:`TruthError`, which names the expected columns.

Example:
    >>> import polars as pl
    >>> from gtmkit.comparison.outcomes import judge_emails
    >>> found = pl.DataFrame({"row_id": [0, 1, 2, 3, 4],
    ...     "email": ["A@x.io ", "b@y.io", "c@z.io", None, "e@q.io"]})
    >>> truth = pl.DataFrame({"row_id": [0, 1, 2, 3],
    ...     "true_email": ["a@x.io", "bo@y.io", None, "d@x.io"]})
    >>> judge_emails(found, truth)["correct"].to_list()
    [True, False, False, None, None]
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.schema import ROW_ID

__all__ = [
    "ATTEMPT_COLUMNS",
    "TRUTH_SHAPES",
    "AttemptsError",
    "TruthError",
    "accuracy_by_source",
    "attach_judged",
    "attach_truth",
    "judge_emails",
    "load_truth",
    "normalize_truth",
    "observations_from_attempts",
    "truth_from_column",
]


class AttemptsError(GtmkitError, ValueError):
    """An attempts or rows frame lacks the columns the observations are built from."""


class TruthError(GtmkitError, ValueError):
    """A truth file or frame cannot be read as truth; the message names the expected columns."""


#: The two shapes truth can take (columns), see the module docstring.
TRUTH_SHAPES: tuple[tuple[str, str], ...] = ((ROW_ID, "true_email"), ("email", "bounced"))

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
        raise AttemptsError(
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
        raise AttemptsError(f"rows frame needs a {ROW_ID!r} column")
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


_SHAPES_TEXT = (
    f"({ROW_ID}, true_email) — the person's current work email per row, blank when the person "
    "has none, e.g. a sample's <name>.truth.csv or World.truth(records) — or (email, bounced) "
    "for bounce outcomes"
)
_TRUE_WORDS = ("true", "1", "yes", "y", "t")
_FALSE_WORDS = ("false", "0", "no", "n", "f")


def _bounced(column: pl.Series) -> pl.Series:
    """A ``bounced`` column as booleans, whatever a spreadsheet wrote (true/false, 1/0, yes/no)."""
    if column.dtype == pl.Boolean:
        return column
    words = column.cast(pl.String).str.strip_chars().str.to_lowercase()
    bad = words.filter(words.is_not_null() & ~words.is_in([*_TRUE_WORDS, *_FALSE_WORDS]))
    if bad.len():
        raise TruthError(
            f"bounced must be true/false (or 1/0, yes/no); got {bad.unique().head(3).to_list()}"
        )
    return words.is_in(list(_TRUE_WORDS)).alias(column.name)


def _row_ids(column: pl.Series) -> pl.Series:
    ids = column.cast(pl.Int64, strict=False)
    bad = column.filter(ids.is_null() & column.is_not_null())
    if bad.len() or ids.null_count():
        shown = bad.head(3).to_list() if bad.len() else ["(blank)"]
        raise TruthError(
            f"{ROW_ID} must be a whole number on every row (the 0-based data-row position in "
            f"the list); got {shown}"
        )
    return ids


def normalize_truth(truth: pl.DataFrame) -> pl.DataFrame:
    """Check a truth frame and return one of its two shapes, normalized.

    * per row: ``row_id`` + ``true_email`` (e.g. ``World.truth(records)``, a sample's truth
      file, or :func:`truth_from_column`). Returns ``row_id`` (Int64) and ``true_email``
      (trimmed, lowercase, null when blank).
    * per email: ``email`` + ``bounced``. Returns ``email`` (normalized) and ``delivered``.

    Raises:
        TruthError: neither shape, a ``row_id`` that is not a whole number, one row with two
            different true emails, or a ``bounced`` value that is not true/false.

    Example:
        >>> truth = pl.DataFrame({"row_id": ["0", "1"], "true_email": [" Ann@Acme.com", ""]})
        >>> normalize_truth(truth).rows()
        [(0, 'ann@acme.com'), (1, None)]
    """
    if ROW_ID in truth.columns and "true_email" in truth.columns:
        email = pl.col("true_email").cast(pl.String).str.strip_chars().str.to_lowercase()
        norm = truth.select(
            _row_ids(truth[ROW_ID]).alias(ROW_ID),
            pl.when(email != "").then(email).alias("true_email"),
        ).unique(keep="first", maintain_order=True)
        clashes = norm.filter(pl.col(ROW_ID).is_duplicated())[ROW_ID].unique().sort()
        if clashes.len():
            raise TruthError(
                f"truth gives {ROW_ID} {clashes.head(5).to_list()} two different true emails: "
                "keep one line per row of the list"
            )
        return norm
    if "email" in truth.columns and "bounced" in truth.columns:
        return (
            truth.select(_NORM_EMAIL.alias("email"), ~_bounced(truth["bounced"]).alias("delivered"))
            .drop_nulls("email")
            # a single bounce condemns an address even if another send got through
            .group_by("email", maintain_order=True)
            .agg(pl.col("delivered").all())
        )
    raise TruthError(f"truth must have columns {_SHAPES_TEXT}; got {truth.columns}")


def load_truth(path: str | os.PathLike[str]) -> pl.DataFrame:
    """Read a truth file (CSV, TSV or Parquet) as a truth frame.

    Every column is kept (segment columns such as ``employee_band`` serve ``segment_by``);
    ``row_id``/``true_email`` or ``email``/``bounced`` come back normalized as by
    :func:`normalize_truth`. CSV cells are read as text, so nothing is reinterpreted.

    Raises:
        TruthError: the file is missing, unreadable, or lacks the expected columns.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "t.csv"
        >>> _ = path.write_text("row_id,true_email,employee_band\\n0,Ann@acme.com,1-10\\n1,,\\n")
        >>> load_truth(path).rows()
        [(0, 'ann@acme.com', '1-10'), (1, None, None)]
    """
    source = Path(path)
    if not source.is_file():
        raise TruthError(f"truth file not found: {source.name} (give a path to a CSV/Parquet file)")
    suffix = source.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(source)
        elif suffix in (".csv", ".tsv", ".txt"):
            separator = "\t" if suffix == ".tsv" else ","
            frame = pl.read_csv(source, separator=separator, infer_schema_length=0)
        else:
            raise TruthError(
                f"{source.name}: a truth file is .csv, .tsv or .parquet, with columns "
                f"{_SHAPES_TEXT}"
            )
    except pl.exceptions.PolarsError as exc:
        raise TruthError(f"{source.name} cannot be read as a truth table: {exc}") from exc
    try:
        norm = normalize_truth(frame)
    except TruthError as exc:
        raise TruthError(f"{source.name}: {exc}") from None
    key = ROW_ID if ROW_ID in norm.columns else "email"
    rest = [c for c in frame.columns if c not in (ROW_ID, "true_email", "email", "bounced")]
    if not rest:
        return norm
    extra = frame.select(rest).with_columns(
        (_row_ids(frame[ROW_ID]) if key == ROW_ID else frame.select(_NORM_EMAIL)["email"]).alias(
            "_key"
        )
    )
    joined = norm.join(
        extra.unique("_key", keep="first", maintain_order=True),
        left_on=key,
        right_on="_key",
        how="left",
    )
    return joined.select(*norm.columns, *rest)


def truth_from_column(records: pl.DataFrame, column: str) -> pl.DataFrame:
    """Truth from a column of the list the client already verified (e.g. ``verified_email``).

    Only rows with a value are truth: a blank there means "not verified", not "has no email",
    so those rows stay unknown.

    Raises:
        TruthError: the column (or ``row_id``) is not in ``records``.

    Example:
        >>> records = pl.DataFrame({"row_id": [0, 1], "verified_email": ["a@x.io", ""]})
        >>> truth_from_column(records, "verified_email").rows()
        [(0, 'a@x.io')]
    """
    missing = [c for c in (ROW_ID, column) if c not in records.columns]
    if missing:
        raise TruthError(f"records have no column(s) {missing} to take the truth from")
    frame = records.select(ROW_ID, pl.col(column).cast(pl.String).alias("true_email"))
    known = pl.col("true_email").str.strip_chars().fill_null("") != ""
    return normalize_truth(frame.filter(known))


def judge_emails(
    found: pl.DataFrame, truth: pl.DataFrame | None, *, email: str = "email"
) -> pl.DataFrame:
    """``found`` with a ``correct`` column: the one judgement of an email against truth.

    ``correct`` is True/False where the truth knows the row (or the address), null where it
    does not, where ``found`` has no email, or when ``truth`` is None. See the module docstring
    for the rules.

    Args:
        found: rows with ``row_id`` (per-row truth) and the email column to judge.
        truth: a truth frame (:func:`load_truth`, :func:`normalize_truth`'s input) or None.
        email: the column of ``found`` holding the email to judge.
    """
    unknown = pl.lit(None, dtype=pl.Boolean)
    if truth is None:
        return found.with_columns(correct=unknown)
    norm = normalize_truth(truth)
    mail = pl.col(email).cast(pl.String).str.strip_chars().str.to_lowercase()
    has_email = mail.fill_null("") != ""
    if "true_email" in norm.columns:
        if ROW_ID not in found.columns:
            raise TruthError(f"per-row truth needs a {ROW_ID!r} column on the judged rows")
        keyed = norm.rename({"true_email": "_true"}).with_columns(_known=pl.lit(True))
        joined = found.with_columns(pl.col(ROW_ID).cast(pl.Int64).alias("_row")).join(
            keyed.rename({ROW_ID: "_row"}), on="_row", how="left"
        )
        verdict = (
            pl.when(~has_email | pl.col("_known").is_null())
            .then(unknown)
            .otherwise((mail == pl.col("_true")).fill_null(False))
        )
        return joined.with_columns(correct=verdict).select(*found.columns, "correct")
    joined = found.with_columns(mail.alias("_mail")).join(
        norm.rename({"email": "_mail"}), on="_mail", how="left"
    )
    verdict = pl.when(has_email).then(pl.col("delivered")).otherwise(unknown)
    return joined.with_columns(correct=verdict).select(*found.columns, "correct")


def attach_truth(obs: pl.DataFrame, truth: pl.DataFrame | None) -> pl.DataFrame:
    """Fill ``correct`` (via :func:`judge_emails`, hits only) and recompute ``usable`` (hit,
    verified and correct).

    With ``truth=None`` the observations are returned unchanged (``usable`` = verified hit).
    """
    return attach_judged(obs, truth, "email", lambda f, t, c: judge_emails(f, t, email=c))


def attach_judged(
    obs: pl.DataFrame,
    truth: pl.DataFrame | None,
    found: str,
    judge: Callable[[pl.DataFrame, pl.DataFrame, str], pl.DataFrame],
) -> pl.DataFrame:
    """``correct`` from ``judge`` over the hits' ``found`` column, then ``usable`` = verified
    and correct: the one way every field (email, phone) is scored against its truth."""
    if truth is None:
        return obs
    judged = judge(
        obs.drop("correct").with_columns(
            pl.when(pl.col("hit")).then(pl.col(found)).alias("_judged")
        ),
        truth,
        "_judged",
    ).drop("_judged")
    return judged.with_columns(usable=pl.col("verified") & pl.col("correct")).select(obs.columns)


def accuracy_by_source(records: pl.DataFrame, truth: pl.DataFrame | None) -> pl.DataFrame:
    """How many enriched emails are right, per source provider, judged by :func:`judge_emails`.

    Args:
        records: ``WaterfallResult.records`` (``row_id``, ``email``, ``email_source``).
        truth: a truth frame (e.g. ``load_truth("data/samples/leads_small.truth.csv")``).

    Returns:
        One row per ``email_source`` (``"input"`` for emails the list already had): ``emails``,
        ``judged`` (emails whose truth is known), ``correct``, ``accuracy`` (null when nothing
        was judged).

    Example:
        >>> records = pl.DataFrame({"row_id": [0, 1, 2], "email": ["a@x.io", "b@y.io", None],
        ...     "email_source": ["hunter", "hunter", None]})
        >>> truth = pl.DataFrame({"row_id": [0, 1], "true_email": ["a@x.io", "bo@y.io"]})
        >>> accuracy_by_source(records, truth).row(0)
        ('hunter', 2, 2, 1, 0.5)
    """
    found = records.filter(pl.col("email").is_not_null()).select(
        ROW_ID, "email", pl.col("email_source").fill_null("input").alias("source")
    )
    judged = judge_emails(found, truth)
    return (
        judged.group_by("source")
        .agg(
            pl.len().alias("emails"),
            pl.col("correct").is_not_null().sum().alias("judged"),
            pl.col("correct").fill_null(False).sum().alias("correct"),
        )
        .with_columns(
            accuracy=pl.when(pl.col("judged") > 0).then(pl.col("correct") / pl.col("judged"))
        )
        .sort("source")
    )
