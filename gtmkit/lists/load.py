"""``load_list``: file or upload in, canonical records + rejected rows out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from itertools import accumulate
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.lists.dedupe import duplicate_links
from gtmkit.lists.errors import ListError
from gtmkit.lists.headers import PHONE_PRECEDENCE, map_headers, phone_type
from gtmkit.lists.normalize import DERIVED_FIELDS, canonical_frame, normalize_records
from gtmkit.lists.phones import country_code
from gtmkit.lists.ragged import align_ragged
from gtmkit.lists.read import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_UNZIPPED_BYTES,
    SourceInfo,
    read_source,
    with_rows,
)
from gtmkit.schema import CANONICAL_FIELDS, ROW_ID

#: Columns that follow the canonical fields in ``LoadedList.records``, before the source's
#: unmapped columns.
RECORD_EXTRAS: tuple[str, ...] = (*DERIVED_FIELDS, "phone_type", "dedupe_key", "duplicate_of")
REASON = "reason"
_PROFILES = ("https://www.linkedin.com/in/", "https://www.linkedin.com/pub/")
_LINKEDIN_HOST = r"(?i)^\s*(?:https?://)?(?:[a-z]{2,3}\.|www\.|m\.)?linkedin\.com/(?:in|pub)/"


@dataclass(frozen=True, repr=False)
class LoadedList:
    """A lead list after intake.

    Attributes:
        records: Accepted rows: ``row_id``, the canonical fields, ``email_valid``,
            ``email_is_personal``, ``country_code``, ``phone_type`` (which kind of phone
            column ``phone`` came from: ``direct``, ``mobile``, ``phone``, ``work``,
            ``corporate``, ``other`` or ``home``; a row's phone is its first filled phone
            column in that order), ``dedupe_key``, ``duplicate_of`` (the
            ``row_id`` of the first row with the same key, null on first occurrences), then
            the source's unmapped columns untouched.
        rejected: One row per data row not accepted: ``row_id``, ``reason``, then every source
            column with its raw value (nothing is lost).
        mapping: ``{source header: canonical field}`` for the columns that were mapped
            (several phone columns may all map to ``phone``).
        source_info: How the file was read (format, encoding, delimiter, sheets, notes).

    ``len(records) + len(rejected) == source_info.data_rows`` always holds.
    """

    records: pl.DataFrame
    rejected: pl.DataFrame
    mapping: dict[str, str]
    source_info: SourceInfo

    @property
    def duplicates(self) -> int:
        """Accepted rows that repeat an earlier row's person (they link via ``duplicate_of``)."""
        return int(self.records.get_column("duplicate_of").is_not_null().sum())

    @property
    def unmapped(self) -> list[str]:
        """Source columns kept untouched in ``records``: those not mapped to a canonical
        field, and every phone column when there are several."""
        start = 1 + len(CANONICAL_FIELDS) + len(RECORD_EXTRAS)
        return self.records.columns[start:]

    def _headline(self) -> str:
        info = self.source_info
        how: list[str] = [info.format]
        if info.encoding:
            how.append(info.encoding)
        if info.delimiter:
            how.append(f"delimiter {info.delimiter!r}")
        if info.sheet:
            how.append(f"sheet {info.sheet!r}")
        name = repr(info.filename) if info.filename else "upload"
        return (
            f"{name} ({', '.join(how)}): {info.data_rows:,} rows -> "
            f"{self.records.height:,} records ({self.duplicates:,} duplicates linked), "
            f"{self.rejected.height:,} rejected"
        )

    def summary(self) -> str:
        """A few lines for a person: what was read, mapped, kept, rejected and why."""
        info = self.source_info
        lines = [self._headline()]
        if info.sheets and len(info.sheets) > 1:
            lines.append(f"sheets: {', '.join(info.sheets)}")
        mapped = ", ".join(f"{src!r} -> {dst}" for src, dst in self.mapping.items())
        lines.append(f"mapped: {mapped or '(nothing)'}")
        if self.unmapped:
            lines.append(f"kept as-is: {', '.join(self.unmapped)}")
        missing = [f for f in CANONICAL_FIELDS if f not in self.mapping.values()]
        if missing:
            lines.append(f"not in the file: {', '.join(missing)}")
        if self.rejected.height:
            counts = self.rejected.group_by(REASON).len().sort(["len", REASON], descending=True)
            for reason, count in counts.head(5).iter_rows():
                lines.append(f"rejected {count:,}x: {reason}")
        lines.extend(f"note: {note}" for note in info.notes)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<LoadedList {self._headline()}>"

    def _repr_markdown_(self) -> str:
        return "\n".join(f"- {line}" for line in self.summary().splitlines())


def load_list(
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    sheet: str | int | None = None,
    mapping: Mapping[str, str | None] | None = None,
    default_country: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_unzipped_bytes: int = DEFAULT_MAX_UNZIPPED_BYTES,
) -> LoadedList:
    """Load a lead list: read, map headers, normalize, reject the unusable, link duplicates.

    Args:
        source: A path, or the bytes of an upload (pass ``filename=`` with it).
        filename: The upload's file name (used in messages and as a format hint).
        sheet: Workbook sheet name or 0-based index; default: the first non-empty sheet.
        mapping: ``{source header: canonical field or None}`` overriding the automatic
            header matching (``None`` keeps a column unmapped). Headers are trimmed, and a
            repeated header is named with a suffix (``"Email (2)"``), as in ``.records``.
        default_country: Country (ISO code or name) for phone numbers on rows without one.
        max_bytes: Refuse files or uploads larger than this.
        max_unzipped_bytes: Refuse workbooks whose parts inflate past this (zip bombs).

    Returns:
        A :class:`LoadedList`.

    Raises:
        ListError: The file cannot be read as a lead list (the message says why and what to
            do); nothing partial is returned.

    Example:
        >>> data = b"Name,E-mail,Company\\nAnn Lee,ANN@Acme.com,Acme\\nBob,,\\n"
        >>> leads = load_list(data, filename="leads.csv")
        >>> leads.records.select("row_id", "first_name", "email", "company_domain").row(0)
        (0, 'Ann', 'ann@acme.com', 'acme.com')
        >>> leads.rejected.select("row_id", "reason").row(0)[0]
        1
    """
    region = None
    if default_country is not None:
        region = country_code(default_country)
        if region is None:
            raise ListError(
                f"default_country={default_country!r} is not a known country; "
                "use an ISO code such as 'US' or 'GB'."
            )
    table = read_source(
        source,
        filename=filename,
        sheet=sheet,
        max_bytes=max_bytes,
        max_unzipped_bytes=max_unzipped_bytes,
    )
    raw = table.frame
    label = repr(table.info.filename) if table.info.filename else "The file"
    filled = pl.any_horizontal(
        [pl.col(c).str.strip_chars().str.len_bytes().fill_null(0) > 0 for c in raw.columns]
    )
    nonempty = raw.select(filled.alias("nonempty")).to_series()
    positions = nonempty.arg_true()
    if positions.len() == 0:
        what = "only a header row" if raw.height == 0 or table.headers else "no data"
        raise ListError(
            f"{label} has {what} and no data rows (headers: {table.headers}). "
            "Export the list again with its rows."
        )
    # Blank rows after the last filled one are export artefacts; blank rows in between are
    # real rows (rejected as empty) so row_id keeps matching the source's row positions.
    data_rows = int(positions[-1]) + 1
    raw = raw.slice(0, data_rows)
    row_ids = pl.int_range(0, data_rows, dtype=pl.Int64, eager=True).alias(ROW_ID)
    nonempty = nonempty.slice(0, data_rows)
    table = with_rows(table, data_rows)

    field_of = _profiles_by_content(raw, map_headers(table.headers, mapping), mapping or {})
    if not field_of:
        shown = table.headers[:8] + (["..."] if len(table.headers) > 8 else [])
        raise ListError(
            f"None of the columns of {label} {shown} looks like a lead field (email, name, "
            "company, website, LinkedIn, phone...). Make sure the first row is the header "
            "row, or say which column is which with mapping={'Column': 'email', ...}."
        )
    raw, ragged_notes = align_ragged(
        raw, table.headers, table.overflow, field_of, table.info.delimiter
    )
    overflow = [c for c in table.overflow if raw.get_column(c).is_not_null().any()]
    raw = raw.select(*table.headers, *overflow)
    table = replace(
        table,
        frame=raw,
        overflow=overflow,
        info=replace(table.info, notes=(*table.info.notes, *ragged_notes)),
    )
    phones = [src for src, field in field_of.items() if field == "phone"]
    # With several phone columns, each is also kept as it was (the row's phone is one of them).
    unmapped = [h for h in table.headers if h not in field_of or (len(phones) > 1 and h in phones)]
    unmapped += overflow  # values past the header's width, kept in extra_field_* columns
    reserved = {ROW_ID, *CANONICAL_FIELDS, *RECORD_EXTRAS}
    intake = _PartIntake(
        field_of=field_of,
        phones=phones,
        kept=[pl.col(h).alias(f"{h} (source)" if h in reserved else h) for h in unmapped],
        source_columns=[*table.headers, *table.overflow],
        region=region,
    )
    info = table.info
    # The rows are taken in parts: each part's source columns are let go of once its records
    # and rejected rows are made, so the source and the normalized copy never both exist
    # whole (that overlap was intake's peak memory). Every step is per row except linking
    # duplicates, which runs once over all the records.
    parts = [
        (
            raw.slice(start, _PART_ROWS),
            row_ids.slice(start, _PART_ROWS),
            nonempty.slice(start, _PART_ROWS),
        )
        for start in range(0, data_rows, _PART_ROWS)
    ]
    del raw, table, row_ids, nonempty  # the parts hold the only references left
    kept_parts: list[pl.DataFrame] = []
    rejected_parts: list[pl.DataFrame] = []
    while parts:
        part = parts.pop(0)
        accepted_part, rejected_part = intake.run(*part)
        del part
        kept_parts.append(accepted_part)
        rejected_parts.append(rejected_part)
    rejected = pl.concat(rejected_parts)
    # Each part's columns are one chunk, so the parts stacked (no copy) line up column by
    # column; the links are cut to the same chunks, or every later expression over the
    # records would copy them whole to line them up.
    records = pl.concat(kept_parts)
    links = duplicate_links(records)
    heights = list(accumulate((part.height for part in kept_parts), initial=0))
    records = pl.concat(
        [
            part.with_columns(link.slice(start, end - start) for link in links)
            for part, start, end in zip(kept_parts, heights, heights[1:], strict=False)
        ]
    )
    del kept_parts, links
    records = records.select(
        ROW_ID,
        *CANONICAL_FIELDS,
        *RECORD_EXTRAS,
        *[c for c in records.columns if c not in reserved],
    )
    if records.height + rejected.height != data_rows:  # pragma: no cover - invariant guard
        raise AssertionError("row accounting broke: records + rejected != data rows")
    return LoadedList(records=records, rejected=rejected, mapping=field_of, source_info=info)


#: Rows normalized together. Fewer rows per part cost a little time (each part works out its
#: own distinct values); more let a large list's source and normalized copies overlap longer.
_PART_ROWS = 200_000


@dataclass(frozen=True)
class _PartIntake:
    """What turns one part of the source's rows into (records, rejected rows)."""

    field_of: dict[str, str]
    phones: list[str]
    kept: list[pl.Expr]
    source_columns: list[str]
    region: str | None

    def run(
        self, raw: pl.DataFrame, row_ids: pl.Series, nonempty: pl.Series
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        # One chunk per column: polars re-chunks a whole frame whose columns are chunked
        # differently before every expression over it (a full copy each time).
        raw, nonempty = raw.rechunk(), nonempty.rechunk()
        phone, kind = _choose_phone(raw, self.phones)
        sources = {
            field: raw.get_column(src) for src, field in self.field_of.items() if field != "phone"
        }
        if phone is not None:
            sources["phone"] = phone
        canon = canonical_frame(sources, raw.height)
        del sources, phone  # ``raw`` keeps the source columns for the rejected rows
        canon = normalize_records(canon.insert_column(0, row_ids), default_country=self.region)
        canon = canon.with_columns(
            pl.when(pl.col("phone").is_not_null()).then(pl.lit(kind)).alias("phone_type")
        )
        reason = _reject_reason(canon, nonempty)
        accepted = reason.is_null()
        rejected = pl.concat(
            [
                pl.DataFrame([row_ids, reason.alias(REASON)]),
                raw.select(
                    pl.col(h).alias(f"{h} (source)" if h in (ROW_ID, REASON) else h)
                    for h in self.source_columns
                ),
            ],
            how="horizontal",
        ).filter(~accepted)
        combined = pl.concat([canon, raw.select(self.kept)], how="horizontal")
        del canon, raw  # the combined frame holds the only references left
        return _filter_releasing(combined, accepted).rechunk(), rejected


def _filter_releasing(frame: pl.DataFrame, keep: pl.Series) -> pl.DataFrame:
    """``frame.filter(keep)``, column by column, letting go of each source column once it is
    copied: the peak holds one column twice, not the whole frame."""
    if keep.all():
        return frame
    columns = []
    for name in list(frame.columns):
        columns.append(frame.drop_in_place(name).filter(keep))
    return pl.DataFrame(columns)


def _choose_phone(raw: pl.DataFrame, phones: list[str]) -> tuple[pl.Series | None, pl.Series]:
    """Each row's phone and its type: the first phone column, by :data:`PHONE_PRECEDENCE`
    (then file order), holding a digit on that row."""
    if not phones:
        return None, pl.repeat(None, raw.height, dtype=pl.String, eager=True).alias("phone_type")
    ranked = sorted(phones, key=lambda h: (PHONE_PRECEDENCE.index(phone_type(h)), phones.index(h)))
    if len(ranked) == 1:
        only = ranked[0]
        return raw.get_column(only), pl.repeat(phone_type(only), raw.height, eager=True)
    value: Any = pl  # a when/then chain, first filled column first
    kind: Any = pl
    for header in ranked:
        filled = pl.col(header).str.contains(r"\d").fill_null(False)
        value = value.when(filled).then(pl.col(header))
        kind = kind.when(filled).then(pl.lit(phone_type(header)))
    chosen = raw.select(
        value.otherwise(None).alias("phone"), kind.otherwise(None).alias("phone_type")
    )
    return chosen.get_column("phone"), chosen.get_column("phone_type")


def _profiles_by_content(
    raw: pl.DataFrame, field_of: dict[str, str], overrides: Mapping[str, str | None]
) -> dict[str, str]:
    """A website/URL column that holds LinkedIn person profiles is the ``linkedin_url``.

    LinkedIn's own ``Connections.csv`` calls the profile column ``URL``; scrapers call it
    ``companyUrl`` or ``url``. When no column is mapped to ``linkedin_url`` and most filled
    values of the column mapped to ``website`` (or ``company_domain``) are person profiles,
    that column is mapped to ``linkedin_url`` instead. Columns named in ``mapping=`` are left
    as the person said.
    """
    if "linkedin_url" in field_of.values():
        return field_of
    for header, field in field_of.items():
        if field not in ("website", "company_domain") or header in overrides:
            continue
        sample = raw.get_column(header).drop_nulls().head(1000)
        if sample.len() and sample.str.contains(_LINKEDIN_HOST).mean() >= 0.5:  # type: ignore[operator]
            return {h: ("linkedin_url" if h == header else f) for h, f in field_of.items()}
    return field_of


def _reject_reason(canon: pl.DataFrame, nonempty: pl.Series) -> pl.Series:
    """Why each row is rejected (null: accepted)."""
    col = pl.col
    has_email = col("email_valid").fill_null(False)
    url = col("linkedin_url")
    has_profile = (url.str.starts_with(_PROFILES[0]) | url.str.starts_with(_PROFILES[1])).fill_null(
        False
    )
    has_name = col("first_name").is_not_null() & col("last_name").is_not_null()
    has_company = col("company_name").is_not_null() | col("company_domain").is_not_null()
    findable = has_email | has_profile | (has_name & has_company)
    frame = canon.with_columns(
        pl.lit(nonempty).alias("_filled"),
    )
    nothing = (
        "nothing to look the person up by: no valid email, no LinkedIn profile URL, "
        "and no first + last name with a company or domain"
    )
    reason = (
        pl.when(~col("_filled"))
        .then(pl.lit("empty row"))
        .when(findable)
        .then(None)
        .when(col("email").is_not_null() & ~has_email)
        .then(
            pl.concat_str(
                pl.lit("invalid email '"),
                col("email"),
                pl.lit("', and no LinkedIn profile URL or name + company to fall back on"),
            )
        )
        .when(has_name)
        .then(pl.lit("name but no company, domain, email or LinkedIn profile URL to look it up by"))
        .otherwise(pl.lit(nothing))
    )
    return frame.select(reason.alias(REASON)).to_series()
