"""Re-import what a person found by hand (the manual LinkedIn hand-off) into a waterfall result,
with source ``manual`` — in the records, the attempts, the ledger and so the report.

The input is the task list of :mod:`gtmkit.integrations.linkedin_handoff` filled in (a CSV
path, its bytes, or a frame) with at least ``row_id`` and ``found_email`` (``email`` is read
too), and optionally ``found_linkedin_url`` (the person's profile, kept in ``linkedin_url``).
Every line is validated, and a line that fails is rejected with its line number and the
reason, never half-applied:

* ``row_id`` must be a row of this run's list (not a duplicate or rejected row: import into the
  row it duplicates), and appear once in the import;
* the email must be a syntactically valid address (``email-validator``, no DNS lookups);
* a profile must be a LinkedIn person URL (``linkedin.com/in/<slug>``), and does not replace a
  different profile the row already has unless ``overwrite=True``;
* a row already ``enriched`` by a provider or by its own list is not overwritten unless
  ``overwrite=True`` (a paid, often verified, result beats a hand-typed one); a row handed off
  with only a personal address from the list takes the find (``replaced`` keeps the old one).

Accepted finds become ``status="enriched"``, ``email_source="manual"``, ``email_status=
"unknown"`` (a person read it, nobody verified it: run a verifier before sending), cost 0;
each is one attempt of provider ``manual`` (endpoint ``handoff``, ``outcome="hit"``, at the
step's declared cost: :class:`~gtmkit.providers.manual.ManualHandoff` bills 0 credits) in
``result.attempts`` and, with ``ledger=``, in the ledger as a run of its own in the result's
chain, through the ledger's run bookkeeping and the attempts' one insert statement. A find that
is only a profile (no email) is an attempt too — ``outcome="miss"`` (the row still has no
email), the profile in its ``fields_json`` — so the ledger, the report and the comparison
count every piece of work a person did, not only the emails.

Example:
    >>> import polars as pl
    >>> from gtmkit.waterfall.result import WaterfallResult
    >>> from gtmkit.waterfall.attempt import attempts_frame
    >>> records = pl.DataFrame({"row_id": [0], "full_name": ["Ada Lovelace"], "email": [None],
    ...     "email_source": [None], "email_status": [None], "email_verified": [False],
    ...     "status": ["manual"], "status_reason": ["handed off"]},
    ...     schema_overrides={"email": pl.String, "email_source": pl.String,
    ...                       "email_status": pl.String})
    >>> result = WaterfallResult(records, attempts_frame([]), pl.DataFrame(), {"manual": 1})
    >>> done = import_manual_finds(pl.DataFrame({"row_id": ["0"], "found_email": ["ada@x.io"]}),
    ...                            result)
    >>> done.result.records.select("email", "email_source", "status").row(0)
    ('ada@x.io', 'manual', 'enriched')
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.providers.manual import ManualHandoff
from gtmkit.providers.normalize import normalize_linkedin
from gtmkit.schema import ROW_ID
from gtmkit.waterfall.attempt import Attempt, attempts_frame
from gtmkit.waterfall.ledger import Ledger
from gtmkit.waterfall.result import STATUSES, WaterfallResult

__all__ = ["MANUAL_SOURCE", "ManualImport", "ManualImportError", "import_manual_finds"]

MANUAL_SOURCE = "manual"
_EMAIL_COLUMNS = ("found_email", "email")
_PROFILE_COLUMN = "found_linkedin_url"
#: rows a find cannot go into: the row a duplicate follows takes the find instead
_CLOSED = ("duplicate", "rejected")


class ManualImportError(GtmkitError, ValueError):
    """The import cannot be read at all (no ``row_id`` or email column, not a CSV)."""


@dataclass
class ManualImport:
    """The outcome of one re-import.

    Attributes:
        result: the waterfall result with the accepted finds applied.
        accepted: ``line``, ``row_id``, ``email``, ``replaced`` (the email it overwrote),
            ``linkedin_url`` (the profile found, if any).
        rejected: ``line``, ``row_id`` (as written), ``reason`` for every line not applied.
    """

    result: WaterfallResult
    accepted: pl.DataFrame
    rejected: pl.DataFrame

    def __repr__(self) -> str:
        return f"ManualImport(accepted={self.accepted.height}, rejected={self.rejected.height})"


def _read(source: str | Path | bytes | pl.DataFrame) -> pl.DataFrame:
    if isinstance(source, pl.DataFrame):
        return source.select(pl.all().cast(pl.String))
    raw = source if isinstance(source, bytes) else Path(source).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
        return pl.read_csv(io.StringIO(text), infer_schema=False)
    except (UnicodeDecodeError, pl.exceptions.PolarsError) as exc:
        raise ManualImportError(
            f"the manual finds could not be read as UTF-8 CSV ({type(exc).__name__}): save the "
            "task list as CSV UTF-8 and import that file"
        ) from exc


def _check_email(raw: str) -> tuple[str | None, str | None]:
    from email_validator import EmailNotValidError, validate_email

    value = raw.strip().lstrip("'")  # a spreadsheet's formula guard, added on export
    try:
        info = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, f"{value!r} is not a valid email address ({exc})"
    return info.normalized.lower(), None


def _check_profile(raw: str) -> tuple[str | None, str | None]:
    """A LinkedIn person profile URL in its canonical ``https://www.linkedin.com/in/<slug>``."""
    value = raw.strip().lstrip("'")
    canonical = normalize_linkedin(value)
    if not canonical.startswith("linkedin.com/in/"):
        return None, (
            f"{value!r} is not a LinkedIn person profile: paste the URL of the person's page "
            "(linkedin.com/in/...), not a search, company or Sales Navigator link"
        )
    return f"https://www.{canonical}", None


def import_manual_finds(
    source: str | Path | bytes | pl.DataFrame,
    result: WaterfallResult,
    *,
    ledger: Ledger | None = None,
    overwrite: bool = False,
) -> ManualImport:
    """Validate a filled-in task list and apply its finds to ``result`` with source ``manual``.

    Args:
        source: the filled-in task list (CSV path or bytes, or a frame).
        result: the ``WaterfallResult`` the task list came from.
        ledger: an open ledger to book the ``manual`` attempts in (0 credits).
        overwrite: let a find replace an email a provider (or the list) gave the row, or a
            different LinkedIn profile the row already has.

    Raises:
        ManualImportError: the import has no ``row_id`` column or no email column.
    """
    table = _read(source)
    email_col = next((c for c in _EMAIL_COLUMNS if c in table.columns), None)
    if ROW_ID not in table.columns or email_col is None:
        raise ManualImportError(
            f"the import needs a {ROW_ID!r} column and a 'found_email' column (it has "
            f"{table.columns}): fill in the task list from export_tasks and import it as is"
        )
    records = result.records
    by_id = {int(r[ROW_ID]): r for r in records.iter_rows(named=True)}
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: set[int] = set()
    for line, row in enumerate(table.iter_rows(named=True), start=2):  # line 1: the header
        raw_id, raw_email = (row[ROW_ID] or "").strip(), (row[email_col] or "").strip()
        raw_profile = (row.get(_PROFILE_COLUMN) or "").strip()
        if not raw_email and not raw_profile:
            continue  # a blank line, or a task the person did not find: nothing to import
        row_id = int(raw_id) if raw_id.lstrip("-").isdigit() else None
        current = by_id.get(row_id) if row_id is not None else None
        email, bad_email = _check_email(raw_email) if raw_email else (None, None)
        profile, bad_profile = _check_profile(raw_profile) if raw_profile else (None, None)
        reason = _refusal(row_id, raw_id, current, seen, bad_email or bad_profile)
        if reason is None and email and row_id is not None and current is not None:
            reason = _email_conflict(row_id, current, overwrite)
        if reason is None and profile and row_id is not None and current is not None:
            reason = _profile_conflict(row_id, current, profile, overwrite)
        if row_id is not None and current is not None:
            seen.add(row_id)
        if reason or row_id is None or current is None:
            rejected.append({"line": line, ROW_ID: raw_id, "reason": reason})
            continue
        accepted.append({"line": line, ROW_ID: row_id, "email": email,
                         "replaced": current.get("email") if email else None,
                         "linkedin_url": profile})  # fmt: skip
    updated = _apply(result, accepted, ledger)
    return ManualImport(
        result=updated,
        accepted=pl.DataFrame(
            accepted,
            schema={
                "line": pl.Int64,
                ROW_ID: pl.Int64,
                "email": pl.String,
                "replaced": pl.String,
                "linkedin_url": pl.String,
            },
        ),
        rejected=pl.DataFrame(
            rejected, schema={"line": pl.Int64, ROW_ID: pl.String, "reason": pl.String}
        ),
    )


def _refusal(
    row_id: int | None,
    raw_id: str,
    current: dict[str, Any] | None,
    seen: set[int],
    bad_value: str | None,
) -> str | None:
    """Why a line cannot be applied to its row (``None``: it can)."""
    if row_id is None:
        return f"row_id {raw_id!r} is not a row number"
    if current is None:
        return f"row_id {row_id} is not a row of this run's list"
    if row_id in seen:
        return f"row_id {row_id} appears more than once in the import (first one kept)"
    if current["status"] in _CLOSED:
        return f"row_id {row_id} is a {current['status']} row: {current['status_reason']}"
    if bad_value:
        return bad_value
    return None


def _email_conflict(row_id: int, current: dict[str, Any], overwrite: bool) -> str | None:
    if (
        current["status"] == "enriched"
        and current.get("email_source") not in (None, MANUAL_SOURCE)
        and not overwrite
    ):
        return (
            f"row_id {row_id} already has an email from {current['email_source']}; "
            "pass overwrite=True to replace it"
        )
    return None


def _profile_conflict(
    row_id: int, current: dict[str, Any], profile: str, overwrite: bool
) -> str | None:
    had = current.get("linkedin_url")
    if had and normalize_linkedin(had) != normalize_linkedin(profile) and not overwrite:
        return f"row_id {row_id} already has the profile {had}; pass overwrite=True to replace it"
    return None


def _attempts(result: WaterfallResult, finds: list[dict[str, Any]], run_id: str) -> list[Attempt]:
    steps = result.summary
    manual_step = None
    if steps.height and "provider" in steps.columns:
        hits = steps.filter(pl.col("provider") == MANUAL_SOURCE)["step"].to_list()
        manual_step = hits[0] if hits else None
    step = manual_step if manual_step is not None else steps.height
    now = datetime.now(UTC).isoformat()
    # the hand-off step's declared price (0 credits today), so a priced hand-off books its cost
    credits = float(ManualHandoff.credits_per_lookup)
    cost = credits * float(ManualHandoff.price_per_credit)
    return [
        Attempt(
            run_id=run_id,
            seq=i,
            state="done",
            row_id=f[ROW_ID],
            lookup_key=f"row:{f[ROW_ID]}",
            step=int(step),
            provider=MANUAL_SOURCE,
            endpoint="handoff",
            attempt=1,
            started_at=now,
            outcome="hit" if f["email"] else "miss",
            credits=credits,
            cost_usd=cost,
            billed=cost > 0,
            email=f["email"],
            email_status="unknown" if f["email"] else None,
            provider_status="found by hand" if f["email"] else "profile found by hand, no email",
            fields_json=json.dumps({"linkedin_url": f["linkedin_url"]})
            if f["linkedin_url"]
            else None,
        )
        for i, f in enumerate(finds, start=1)
    ]


def _book(ledger: Ledger, result: WaterfallResult, attempts: list[Attempt], run_id: str) -> None:
    """One ledger run of kind ``manual import`` holding the finds, in the result's chain."""
    chain = result.totals.get("chain_id") or run_id
    ledger.record_finished_run(
        run_id, attempts, name="manual import", fingerprint=f"manual-import:{chain}",
        chain_id=chain, resumed_from=result.totals.get("run_id"),
    )  # fmt: skip


def _apply(
    result: WaterfallResult, finds: list[dict[str, Any]], ledger: Ledger | None
) -> WaterfallResult:
    if not finds:
        return result
    import uuid

    profiles = {f[ROW_ID]: f["linkedin_url"] for f in finds if f["linkedin_url"]}
    # every find is an attempt (a profile-only one too), booked before anything else changes
    run_id = uuid.uuid4().hex
    attempts = _attempts(result, finds, run_id)
    if ledger is not None:
        _book(ledger, result, attempts, run_id)
    with_attempts = WaterfallResult(
        records=result.records,
        attempts=pl.concat([result.attempts, attempts_frame(attempts)], how="vertical_relaxed"),
        summary=result.summary,
        totals=result.totals,
    )
    finds = [f for f in finds if f["email"]]  # an email find is the one that ends the task
    if not finds:
        return _with_profiles(with_attempts, result.records, profiles)
    email_of = {f[ROW_ID]: f["email"] for f in finds}
    ids = pl.Series(list(email_of), dtype=result.records.schema[ROW_ID])
    hit = pl.col(ROW_ID).is_in(ids.implode())
    found = pl.col(ROW_ID).replace_strict(email_of, default=None, return_dtype=pl.String)
    records = result.records
    if "duplicate_of" in records.columns:  # a duplicate shows its first row's email
        follows = pl.col("duplicate_of").is_in(ids.implode())
        records = records.with_columns(
            pl.when(follows)
            .then(pl.col("duplicate_of").replace_strict(email_of, default=None,
                                                        return_dtype=pl.String))
            .otherwise(pl.col("email")).alias("email"),
            pl.when(follows).then(pl.lit(MANUAL_SOURCE)).otherwise(pl.col("email_source"))
            .alias("email_source"),
        )  # fmt: skip
    records = records.with_columns(
        pl.when(hit).then(found).otherwise(pl.col("email")).alias("email"),
        pl.when(hit).then(pl.lit(MANUAL_SOURCE)).otherwise(pl.col("email_source"))
        .alias("email_source"),
        pl.when(hit).then(pl.lit("unknown")).otherwise(pl.col("email_status"))
        .alias("email_status"),
        pl.when(hit).then(pl.lit(False)).otherwise(pl.col("email_verified"))
        .alias("email_verified"),
        pl.when(hit).then(pl.lit("enriched")).otherwise(pl.col("status")).alias("status"),
        pl.when(hit).then(pl.lit("found by manual research")).otherwise(pl.col("status_reason"))
        .alias("status_reason"),
    )  # fmt: skip
    new_attempts = with_attempts.attempts
    summary = result.summary
    if summary.height and MANUAL_SOURCE in summary["provider"].to_list():
        n = max(1, records.filter(~pl.col("status").is_in(list(_CLOSED))).height)
        share = len(finds) / n
        is_manual = pl.col("provider") == MANUAL_SOURCE
        summary = summary.with_columns(
            pl.when(is_manual).then(pl.col("hits") + len(finds)).otherwise(pl.col("hits"))
            .alias("hits"),
            pl.when(is_manual).then(pl.col("incremental_coverage") + share)
            .otherwise(pl.col("incremental_coverage")).alias("incremental_coverage"),
        )  # fmt: skip
        summary = summary.with_columns(
            pl.col("incremental_coverage").cum_sum().alias("cumulative_coverage")
        )
    counts = records.group_by("status").len()
    by_status = dict(zip(counts["status"].to_list(), counts["len"].to_list(), strict=True))
    totals = dict(result.totals)
    totals.update({s: int(by_status.get(s, 0)) for s in STATUSES})
    totals["emails_found"] = int(records["email"].is_not_null().sum())
    totals["manual_found"] = int(totals.get("manual_found", 0)) + len(finds)
    updated = WaterfallResult(
        records=records, attempts=new_attempts, summary=summary, totals=totals
    )
    return _with_profiles(updated, records, profiles)


def _with_profiles(
    result: WaterfallResult, records: pl.DataFrame, profiles: dict[int, str]
) -> WaterfallResult:
    """The found LinkedIn profiles in ``linkedin_url`` (a column added if the list had none)."""
    if not profiles:
        return result
    if "linkedin_url" not in records.columns:
        records = records.with_columns(pl.lit(None, dtype=pl.String).alias("linkedin_url"))
    ids = pl.Series(list(profiles), dtype=records.schema[ROW_ID])
    found = pl.col(ROW_ID).replace_strict(profiles, default=None, return_dtype=pl.String)
    records = records.with_columns(
        pl.when(pl.col(ROW_ID).is_in(ids.implode())).then(found)
        .otherwise(pl.col("linkedin_url")).alias("linkedin_url")
    )  # fmt: skip
    totals = dict(result.totals)
    totals["manual_profiles"] = int(totals.get("manual_profiles", 0)) + len(profiles)
    return WaterfallResult(
        records=records, attempts=result.attempts, summary=result.summary, totals=totals
    )
