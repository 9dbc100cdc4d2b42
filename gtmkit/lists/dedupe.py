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


def dedupe_key() -> pl.Expr:
    """The key one person is looked up by: email, else LinkedIn, else name + company.

    ``email:<address>`` for a valid email; else ``linkedin:<canonical URL>``; else
    ``name:<first>|<last>|<domain>``; else ``name:<first>|<last>|company=<company name>``;
    else null (nothing to match on). Names and company are read from the lowercased,
    space-free helper columns ``__gtmkit_first``, ``__gtmkit_last`` and ``__gtmkit_company``.
    """
    valid = pl.col("email_valid").fill_null(False)
    url = pl.col("linkedin_url")
    profile = ~valid & (
        url.str.starts_with(_PROFILES[0]) | url.str.starts_with(_PROFILES[1])
    ).fill_null(False)
    by_name = ~valid & ~profile
    # Each branch's inputs are nulled off its own rows first, so only the strings a row uses
    # are built (a when/then chain would build every branch for every row).
    first_last = (
        pl.lit("name:")
        + pl.when(by_name).then(pl.col("__gtmkit_first"))
        + pl.lit("|")
        + pl.col("__gtmkit_last")
        + pl.lit("|")
    )
    domain = pl.col("company_domain")
    return pl.coalesce(
        pl.lit("email:") + pl.when(valid).then(pl.col("email")),
        pl.lit("linkedin:") + pl.when(profile).then(url).str.to_lowercase(),
        first_last + domain,
        first_last
        + pl.when(domain.is_null()).then(pl.lit("company="))
        + pl.col("__gtmkit_company"),
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
    # Rows are in row_id order, so a key's first row is its first occurrence. Only the few
    # repeats are matched back to it (cheaper in time and memory than a window over every
    # row's key).
    key = keyed.get_column("dedupe_key")
    first = key.is_first_distinct()
    repeat = (~first & key.is_not_null()).arg_true()
    duplicate_of = pl.repeat(None, keyed.height, dtype=keyed.schema[ROW_ID], eager=True)
    if repeat.len():
        repeated = key.gather(repeat)
        firsts = (
            keyed.select(ROW_ID, "dedupe_key")
            .filter(first)
            .join(repeated.unique().to_frame(), on="dedupe_key", how="semi")
        )
        linked = (
            pl.DataFrame({"dedupe_key": repeated})
            .join(firsts, on="dedupe_key", how="left", maintain_order="left")
            .get_column(ROW_ID)
        )
        duplicate_of = duplicate_of.scatter(repeat, linked)
    return keyed.with_columns(duplicate_of.alias("duplicate_of"))
