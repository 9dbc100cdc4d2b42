"""The manual LinkedIn hand-off: rows the paid steps left without an email, as a task list a
person works through on LinkedIn (and fills in for :mod:`gtmkit.waterfall.manual`).

Each task carries who to look for (name, company, title, the profile URL if known, an address
the list had that is not a work email), a LinkedIn
people-search link, what the waterfall already tried per provider (from the result's attempts,
or the ledger's for the whole chain of resumes), and empty ``found_*`` columns to fill in.

The search link is LinkedIn's people-search results page with the words in ``keywords``
(``https://www.linkedin.com/search/results/people/?keywords=...``). LinkedIn documents no URL
format for it: this is the address its own search box produces, so it is **not verified**
against a LinkedIn reference. The words are encoded with :func:`urllib.parse.quote` (spaces as
``%20``, ``&``, ``#``, ``+`` and non-ASCII letters percent-encoded), so a company like
"AT&T" or "Óptima #1" cannot break the query.

Example:
    >>> linkedin_search_url("Luis García", "AT&T")
    'https://www.linkedin.com/search/results/people/?keywords=Luis%20Garc%C3%ADa%20AT%26T'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import polars as pl

from gtmkit.schema import ROW_ID

__all__ = ["MISSING_STATUSES", "TASK_COLUMNS", "export_tasks", "linkedin_search_url", "task_list"]

SEARCH_BASE = "https://www.linkedin.com/search/results/people/"
#: statuses of rows that ended without an email after the paid steps (a ``stopped`` row is
#: resumed by the next run instead, a ``duplicate`` follows its first row)
MISSING_STATUSES: tuple[str, ...] = ("manual", "not_found", "failed", "budget_exhausted")
#: the columns a person fills in (what :func:`gtmkit.waterfall.manual.import_manual_finds` reads)
FOUND_COLUMNS: tuple[str, ...] = ("found_email", "found_linkedin_url", "notes")
TASK_COLUMNS: tuple[str, ...] = (
    ROW_ID, "name", "company", "title", "linkedin_url", "linkedin_search", "tried",
    "status", "email_in_list", *FOUND_COLUMNS,
)  # fmt: skip


def linkedin_search_url(name: str, company: str | None = None) -> str:
    """A LinkedIn people-search link for a person at a company, properly URL-encoded."""
    words = " ".join(part for part in (name.strip(), (company or "").strip()) if part)
    return f"{SEARCH_BASE}?{urlencode({'keywords': words}, quote_via=quote)}"


def _name(row: dict[str, Any]) -> str:
    full = (row.get("full_name") or "").strip()
    if full:
        return str(full)
    return " ".join(str(row.get(k) or "").strip() for k in ("first_name", "last_name")).strip()


def _tried(attempts: pl.DataFrame) -> dict[int, str]:
    """``row_id -> "hunter: miss; apollo: error (rate_limited)"``, providers in first-try order."""
    if attempts.height == 0 or ROW_ID not in attempts.columns:
        return {}
    paid = attempts.filter(pl.col("provider") != "manual").sort("started_at", nulls_last=True)
    out: dict[int, dict[str, str]] = {}
    for row in paid.iter_rows(named=True):
        if row[ROW_ID] is None:
            continue
        outcome = row["outcome"] or row["state"]
        if row.get("error_kind"):
            outcome = f"{outcome} ({row['error_kind']})"
        if row.get("cached"):
            outcome += ", cached"
        # the last word per provider wins (a retry that answered replaces its error)
        out.setdefault(int(row[ROW_ID]), {})[str(row["provider"])] = str(outcome)
    return {r: "; ".join(f"{p}: {o}" for p, o in tried.items()) for r, tried in out.items()}


def _ledger_attempts(ledger: Any, result: Any) -> pl.DataFrame:
    """The attempts of the result's whole chain of resumes, from the ledger."""
    chain = result.totals.get("chain_id")
    runs = ledger.runs()
    ids = runs.filter(pl.col("chain_id") == chain)["run_id"].to_list() if chain else []
    frames: list[pl.DataFrame] = [ledger.attempts(run_id) for run_id in ids]
    if not frames:
        own: pl.DataFrame = result.attempts
        return own
    return pl.concat(frames)


def task_list(
    result: Any, *, ledger: Any = None, statuses: tuple[str, ...] = MISSING_STATUSES
) -> pl.DataFrame:
    """The manual research task list: one row per row still missing an email.

    Args:
        result: a ``WaterfallResult``.
        ledger: an open ``gtmkit.waterfall.ledger.Ledger``: "tried" then covers every run of
            the chain (resumes included), not only this one.
        statuses: which row statuses count as still missing.
    """
    records: pl.DataFrame = result.records
    # the status says it: a row handed off may still carry the personal address of the list
    missing = records.filter(pl.col("status").is_in(list(statuses)))
    attempts = _ledger_attempts(ledger, result) if ledger is not None else result.attempts
    tried = _tried(attempts)
    rows = []
    for row in missing.iter_rows(named=True):
        name = _name(row)
        company = str(row.get("company_name") or row.get("company_domain") or "")
        rows.append(
            {
                ROW_ID: row[ROW_ID],
                "name": name,
                "company": company,
                "title": row.get("title"),
                "linkedin_url": row.get("linkedin_url"),
                "linkedin_search": linkedin_search_url(name, company) if name else None,
                "tried": tried.get(int(row[ROW_ID]), "nothing (no provider could take the row)"),
                "status": row["status"],
                "email_in_list": row.get("email"),
                **dict.fromkeys(FOUND_COLUMNS),
            }
        )
    schema = {c: pl.String for c in TASK_COLUMNS} | {ROW_ID: records.schema[ROW_ID]}
    return pl.DataFrame(rows, schema=schema)


def export_tasks(result: Any, path: str | Path, *, ledger: Any = None) -> Path:
    """Write the task list as formula-safe CSV (atomically: a temporary file renamed)."""
    import os

    from gtmkit import export_csv

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.with_name(f".{target.name}.tmp")
    export_csv(task_list(result, ledger=ledger), scratch)
    os.replace(scratch, target)
    return target
