"""``index``: every entry of the library as one polars frame.

Columns: ``name`` (file name without ``.md``), ``title``, ``category``, ``maturity``,
``use_case``, ``industry``, ``company_stage``, ``steps`` (provider keys of the documented
sequence), ``coverage`` and ``cost_per_record`` (the latest benchmark's measured values),
``measured_on`` (its date), ``measured`` (any benchmark at all), ``measured_live`` (any live
one — else the entry is measured on the simulated world only), ``live_engagements``,
``stale`` (the latest benchmark is older than ``stale_after_days``; contact data decays
2–3 % a month; null when never measured), ``failure_modes``, ``path`` and ``error`` (why the
entry could not be read, with ``on_error="report"``).

``README.md``, ``TEMPLATE.md`` and files whose name starts with ``.`` or ``_`` are not entries.

Example:
    >>> frame = index("patterns")
    >>> "enterprise-contact-enrichment" in frame["name"].to_list()
    True
    >>> sorted(set(frame["category"].to_list()))  # doctest: +NORMALIZE_WHITESPACE
    ['automation-blueprints', 'data-source-combinations', 'enrichment-waterfalls',
     'integration-architectures']
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

import polars as pl

from gtmkit.patterns.errors import PatternError
from gtmkit.patterns.model import Pattern
from gtmkit.patterns.parse import decode, parse_document
from gtmkit.patterns.target import inside_library

#: File names in a library folder that are not entries.
NOT_ENTRIES = frozenset({"README.md", "TEMPLATE.md"})
#: Default age after which a measurement is stale (contact data decays about 2-3 % a month).
STALE_AFTER_DAYS = 90

SCHEMA: dict[str, Any] = {
    "name": pl.String,
    "title": pl.String,
    "category": pl.String,
    "maturity": pl.String,
    "use_case": pl.String,
    "industry": pl.String,
    "company_stage": pl.String,
    "steps": pl.List(pl.String),
    "coverage": pl.Float64,
    "cost_per_record": pl.Float64,
    "measured_on": pl.Date,
    "measured": pl.Boolean,
    "measured_live": pl.Boolean,
    "live_engagements": pl.Int64,
    "stale": pl.Boolean,
    "failure_modes": pl.List(pl.String),
    "path": pl.String,
    "error": pl.String,
}


def entry_paths(patterns_dir: str | Path = "patterns") -> list[Path]:
    """The entry files under ``patterns_dir``, sorted."""
    root = Path(patterns_dir)
    if not root.is_dir():
        raise PatternError(f"no pattern library folder at {root}")
    return sorted(
        p
        for p in root.rglob("*.md")
        if p.name not in NOT_ENTRIES
        and not any(part.startswith((".", "_")) for part in p.relative_to(root).parts)
    )


def entry_row(pattern: Pattern, *, stale_after_days: float, today: date) -> dict[str, Any]:
    """One index row for a loaded entry."""
    latest = pattern.latest
    engagements = pattern.live_engagements
    measured_on = date.fromisoformat(latest.date) if latest else None
    return {
        "name": pattern.name,
        "title": pattern.title,
        "category": pattern.category,
        "maturity": pattern.maturity,
        "use_case": pattern.use_case,
        "industry": pattern.industry,
        "company_stage": pattern.company_stage,
        "steps": [s.provider or s.name for s in pattern.sequence],
        "coverage": latest.measured("coverage") if latest else None,
        "cost_per_record": latest.measured("avg_cost_usd") if latest else None,
        "measured_on": measured_on,
        "measured": latest is not None,
        "measured_live": bool(engagements),
        "live_engagements": len(engagements),
        "stale": None if measured_on is None else (today - measured_on).days > stale_after_days,
        "failure_modes": list(pattern.failure_modes),
        "path": None if pattern.path is None else str(pattern.path),
        "error": None,
    }


def _read(path: Path) -> Pattern:
    """An entry as the index needs it: parsed, its history read only where used."""
    data = path.read_bytes()
    text, bom = decode(data, path=path)
    doc = parse_document(text, bom=bom, path=path)
    pattern = Pattern.from_document(doc, path=path, read_history=False)
    pattern.latest  # noqa: B018 - a broken last history line is this entry's error
    return pattern


def index(
    patterns_dir: str | Path = "patterns",
    *,
    stale_after_days: float = STALE_AFTER_DAYS,
    today: date | None = None,
    on_error: Literal["raise", "report"] = "raise",
) -> pl.DataFrame:
    """Every entry under ``patterns_dir`` (see the module docstring for the columns).

    Args:
        patterns_dir: the library folder.
        stale_after_days: a measurement older than this is ``stale``.
        today: the date staleness is judged on (default: today, UTC).
        on_error: ``"raise"`` a malformed entry's ``PatternError``, or ``"report"`` it in the
            ``error`` column and go on.
    """
    today = today or datetime.now(UTC).date()
    rows: list[dict[str, Any]] = []
    for path in entry_paths(patterns_dir):
        try:
            inside_library(path, verb="read", root=Path(patterns_dir))
            pattern = _read(path)
        except PatternError as exc:
            if on_error == "raise":
                raise
            rows.append({**dict.fromkeys(SCHEMA), "name": path.stem, "path": str(path),
                         "error": str(exc), "steps": [], "failure_modes": []})  # fmt: skip
            continue
        rows.append(entry_row(pattern, stale_after_days=stale_after_days, today=today))
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


__all__ = ["NOT_ENTRIES", "SCHEMA", "STALE_AFTER_DAYS", "entry_paths", "entry_row", "index"]
