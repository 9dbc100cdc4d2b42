"""Find duplicate people on normalized keys; mark and link them, never drop them."""

from __future__ import annotations

import polars as pl

from gtmkit.lists.distinct import per_distinct
from gtmkit.schema import ROW_ID

_PROFILE = "https://www.linkedin.com/"


def _squash(values: pl.Series) -> pl.DataFrame:
    """Lowercase with every space removed: "Van der Berg" and "vander berg" match."""
    return pl.DataFrame({"v": values.str.to_lowercase().str.replace_all(r"\s+", "")})


def dedupe_key() -> pl.Expr:
    """The key one person is looked up by: email, else LinkedIn, else name + company.

    ``email:<address>`` for a valid email; else ``linkedin:<canonical URL>``; else
    ``name:<first>|<last>|<domain>``; else ``name:<first>|<last>|company=<company name>``;
    else null (nothing to match on). Names and company are read from the lowercased,
    space-free helper columns ``__gtmkit_first``, ``__gtmkit_last`` and ``__gtmkit_company``.
    """
    first_last = pl.col("__gtmkit_first") + pl.lit("|") + pl.col("__gtmkit_last") + pl.lit("|")
    return (
        pl.when(pl.col("email_valid").fill_null(False))
        .then(pl.lit("email:") + pl.col("email"))
        .when(pl.col("linkedin_url").str.starts_with(_PROFILE))
        .then(pl.lit("linkedin:") + pl.col("linkedin_url").str.to_lowercase())
        .when(pl.col("company_domain").is_not_null())
        .then(pl.lit("name:") + first_last + pl.col("company_domain"))
        .otherwise(pl.lit("name:") + first_last + pl.lit("company=") + pl.col("__gtmkit_company"))
    )


def mark_duplicates(records: pl.DataFrame) -> pl.DataFrame:
    """Add ``dedupe_key`` and ``duplicate_of`` (row_id of the key's first row, else null).

    Example:
        >>> frame = pl.DataFrame(
        ...     {
        ...         "row_id": [0, 1, 2],
        ...         "email": ["a@x.com", "a@x.com", None],
        ...         "email_valid": [True, True, None],
        ...         "linkedin_url": [None, None, None],
        ...         "first_name": ["A", "A", None],
        ...         "last_name": ["B", "B", None],
        ...         "company_domain": ["x.com", "x.com", None],
        ...         "company_name": [None, None, None],
        ...     },
        ...     schema_overrides={"linkedin_url": pl.String, "company_name": pl.String},
        ... )
        >>> mark_duplicates(frame)["duplicate_of"].to_list()
        [None, 0, None]
    """
    squashed = {
        f"__gtmkit_{name.split('_')[0]}": per_distinct(
            records.get_column(name), _squash
        ).to_series()
        for name in ("first_name", "last_name", "company_name")
    }
    keyed = records.with_columns(**squashed).with_columns(dedupe_key().alias("dedupe_key"))
    keyed = keyed.drop(squashed)
    first = pl.col(ROW_ID).min().over("dedupe_key")
    return keyed.with_columns(
        pl.when(pl.col("dedupe_key").is_not_null() & (first != pl.col(ROW_ID)))
        .then(first)
        .alias("duplicate_of")
    )
