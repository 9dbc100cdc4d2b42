"""One record type for every provider call and cache use: ``Attempt``.

The dataclass is the single definition of the attempt layout. The ledger's ``attempts`` table
(:data:`ATTEMPT_DDL`), the insert statement, the polars schema (:data:`ATTEMPT_SCHEMA`) and the
public ``WaterfallResult.attempts`` frame (:func:`attempts_frame`) are all generated from its
fields, so a column cannot be added in one place and forgotten in another.

Money columns: ``credits`` is what the provider *said* it charged (its billing signal);
``credits_held`` is what a call whose outcome is unknown (a timeout after sending, a reset, a
cancelled call) is held at — its worst case — because it may have been billed without the
answer reaching us; ``worst_case`` is what was reserved on the budget before sending.

Example:
    >>> a = Attempt(run_id="r", seq=1, state="done", row_id=7, lookup_key="k", step=0,
    ...             provider="hunter", endpoint="email-finder", attempt=1, started_at="t")
    >>> a.as_row()[:4]
    ('r', 1, 'done', 7)
    >>> ATTEMPT_SCHEMA["credits_held"]
    Float64
"""

from __future__ import annotations

import dataclasses
import operator
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

#: ``sent``: intent committed, answer not yet (in flight); ``done``: answered; ``unknown``: sent
#: but no answer will come (timeout, reset, cancelled): held at worst case; ``lost``: in flight
#: when its process died (found by the next resume), held at worst case; ``cached``: a free
#: reuse of an earlier answer (kept in results, not in the ledger).
AttemptState = Literal["sent", "done", "unknown", "lost", "cached"]


@dataclass(slots=True)
class Attempt:
    """One provider call (or one free reuse of an answer) of one row."""

    run_id: str
    seq: int
    state: str
    row_id: int | None
    lookup_key: str
    step: int
    provider: str
    endpoint: str
    attempt: int
    started_at: str
    outcome: str | None = None
    error_kind: str | None = None
    http_status: int | None = None
    latency_s: float | None = None
    worst_case: float = 0.0
    credits: float = 0.0
    credits_held: float = 0.0
    price_usd: float = 0.0
    cost_usd: float = 0.0
    billed: bool = False
    cached: bool = False
    email: str | None = None
    email_status: str | None = None
    provider_status: str | None = None
    confidence: float | None = None
    fields_json: str | None = None

    def as_row(self) -> tuple[Any, ...]:
        """The values in column order (what the ledger stores)."""
        return tuple(_GETTER(self))


ATTEMPT_COLUMNS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Attempt))
_GETTER = operator.attrgetter(*ATTEMPT_COLUMNS)
_NOT_NULL = {"run_id", "seq", "state", "lookup_key", "step", "provider", "endpoint", "attempt"}
_NOT_NULL |= {"started_at", "worst_case", "credits", "credits_held", "price_usd", "cost_usd"}
_NOT_NULL |= {"billed", "cached"}


def _base_type(annotation: Any) -> type:
    """``int | None`` → ``int``."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        (inner,) = [a for a in typing.get_args(annotation) if a is not type(None)]
        return inner  # type: ignore[no-any-return]
    return annotation  # type: ignore[no-any-return]


_HINTS = typing.get_type_hints(Attempt)
_SQL = {str: "TEXT", int: "INTEGER", float: "REAL", bool: "INTEGER"}
_POLARS: dict[type, Any] = {str: pl.String, int: pl.Int64, float: pl.Float64, bool: pl.Boolean}

#: column name → polars dtype, in column order
ATTEMPT_SCHEMA: dict[str, Any] = {c: _POLARS[_base_type(_HINTS[c])] for c in ATTEMPT_COLUMNS}

ATTEMPT_DDL = (
    "CREATE TABLE IF NOT EXISTS attempts (\n    "
    + ",\n    ".join(
        f"{c} {_SQL[_base_type(_HINTS[c])]}"
        + (" NOT NULL" if c in _NOT_NULL else "")
        + (" DEFAULT 0" if _base_type(_HINTS[c]) in (float, bool) and c in _NOT_NULL else "")
        for c in ATTEMPT_COLUMNS
    )
    + ",\n    PRIMARY KEY (run_id, seq)\n)"
)

#: what identifies a call's row: a later write of the same call (its result over its intent)
#: leaves these alone, so SQLite updates the row in place instead of re-indexing it
_IDENTITY = ("run_id", "seq", "provider", "endpoint", "lookup_key")
INSERT_ATTEMPT = (
    f"INSERT INTO attempts ({', '.join(ATTEMPT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in ATTEMPT_COLUMNS)}) "
    "ON CONFLICT (run_id, seq) DO UPDATE SET "
    + ", ".join(f"{c} = excluded.{c}" for c in ATTEMPT_COLUMNS if c not in _IDENTITY)
)

#: the public ``attempts`` frame: the ledger layout minus bookkeeping, timestamps parsed
PUBLIC_COLUMNS: tuple[str, ...] = tuple(c for c in ATTEMPT_COLUMNS if c not in {"run_id", "seq"})


def attempts_frame(attempts: Sequence[Attempt] | Sequence[tuple[Any, ...]]) -> pl.DataFrame:
    """The public attempts frame from ``Attempt`` objects (or ledger rows)."""
    rows = [a.as_row() if isinstance(a, Attempt) else a for a in attempts]
    frame = pl.DataFrame(rows, schema=ATTEMPT_SCHEMA, orient="row")
    return frame.select(
        *(
            pl.col(c).str.to_datetime(time_zone="UTC", time_unit="us")
            if c == "started_at"
            else pl.col(c)
            for c in PUBLIC_COLUMNS
        )
    )
