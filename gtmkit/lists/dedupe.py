"""Find duplicate people on normalized keys; mark and link them, never drop them."""

from __future__ import annotations

import polars as pl

from gtmkit.lists.distinct import per_distinct
from gtmkit.schema import ROW_ID

#: A LinkedIn *person* profile: a company page (``/company/...``) names many people.
_PROFILES = ("https://www.linkedin.com/in/", "https://www.linkedin.com/pub/")


def _squash(values: pl.Series) -> pl.DataFrame:
    """Lowercase with every space removed: "Van der Berg" and "vander berg" match."""
    return pl.DataFrame({"v": values.str.to_lowercase().str.replace_all(r"\s+", "")})


def dedupe_keys(records: pl.DataFrame) -> pl.Series:
    """The key each person is looked up by: email, else LinkedIn, else name + company.

    ``email:<address>`` for a valid email; else ``linkedin:<canonical URL>``; else
    ``name:<first>|<last>|<domain>``; else ``name:<first>|<last>|company=<company name>``
    (names and company lowercased with every space removed); else null (nothing to match on).
    """
    valid = pl.col("email_valid").fill_null(False)
    url = pl.col("linkedin_url")
    profile = ~valid & (
        url.str.starts_with(_PROFILES[0]) | url.str.starts_with(_PROFILES[1])
    ).fill_null(False)
    staged = records.select(
        pl.coalesce(
            pl.lit("email:") + pl.when(valid).then(pl.col("email")),
            pl.lit("linkedin:") + pl.when(profile).then(url).str.to_lowercase(),
        ).alias("dedupe_key"),
        (~valid & ~profile).alias("by_name"),
    )
    keys = staged.get_column("dedupe_key")
    # Few rows fall back to names: their keys are built on those rows alone.
    rows = staged.get_column("by_name").arg_true()
    if rows.len() == 0:
        return keys
    named = records.select("first_name", "last_name", "company_name", "company_domain")[rows]
    named = named.with_columns(
        per_distinct(named.get_column(name), _squash).to_series().alias(name)
        for name in ("first_name", "last_name", "company_name")
    )
    first_last = (
        pl.lit("name:") + pl.col("first_name") + pl.lit("|") + pl.col("last_name") + pl.lit("|")
    )
    domain = pl.col("company_domain")
    by_name = named.select(
        pl.coalesce(
            first_last + domain,
            first_last
            + pl.when(domain.is_null()).then(pl.lit("company="))
            + pl.col("company_name"),
        )
    ).to_series()
    return keys.scatter(rows, by_name)


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
    return records.with_columns(duplicate_links(records))


def duplicate_links(records: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
    """The ``dedupe_key`` and ``duplicate_of`` columns :func:`mark_duplicates` adds."""
    key = dedupe_keys(records).alias("dedupe_key")
    # Rows are in row_id order, so a key's first row is its first occurrence. Only the few
    # repeats are matched back to it (cheaper in time and memory than a window over every
    # row's key).
    first = key.is_first_distinct()
    repeat = (~first & key.is_not_null()).arg_true()
    duplicate_of = pl.repeat(None, records.height, dtype=records.schema[ROW_ID], eager=True)
    if repeat.len():
        repeated = key.gather(repeat)
        # Only the first rows of repeated keys are gathered (not every first row's key).
        at = (first & key.is_in(repeated.unique().implode())).arg_true()
        firsts = pl.DataFrame([key.gather(at), records.get_column(ROW_ID).gather(at)])
        linked = (
            pl.DataFrame({"dedupe_key": repeated})
            .join(firsts, on="dedupe_key", how="left", maintain_order="left")
            .get_column(ROW_ID)
        )
        duplicate_of = duplicate_of.scatter(repeat, linked)
    return key, duplicate_of.alias("duplicate_of")
