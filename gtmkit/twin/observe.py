"""From the ledger to what the twin learns from: one *lookup* per (row, provider).

A row's lookup by one provider may be several ledger attempts (retries; a resume continues a
chain of runs): the lookup's outcome is its last answered attempt, its credits and latency are
summed over them. Cache reuses are not in the ledger (they cost nothing and say nothing new).
Calls whose outcome is unknown or lost say nothing about coverage and are left out of the
rates; their held credits stay in the ledger's money totals, not here.

Rows are identified by ``(chain, row_id)``: one list run (with its resumes) is one chain.
Segments come from ``records`` (the list the ledger's rows came from), joined on ``row_id``.

Example:
    >>> import polars as pl
    >>> attempts = pl.DataFrame({
    ...     "row_id": [0, 0, 1], "provider": ["hunter", "apollo", "hunter"],
    ...     "state": ["done"] * 3, "outcome": ["miss", "hit", "hit"],
    ...     "email_status": [None, "valid", "risky"], "credits": [0.0, 1.0, 1.0],
    ...     "latency_s": [0.4, 0.6, 0.5]})
    >>> obs = observe(attempts)
    >>> obs.lookups.height, sorted(obs.patterns["all"].values())
    (3, [1, 1])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from gtmkit.twin.errors import TwinError

#: statuses that make a found email usable without a truth file (the comparison's
#: ``verified_only`` basis)
USABLE_STATUSES: tuple[str, ...] = ("valid",)
#: the segment of every row when no segment column is given
ALL = "all"
UNKNOWN_SEGMENT = "(unknown)"


@dataclass(frozen=True)
class Observations:
    """``lookups``: one row per (chain, row_id, provider) with ``segment``, ``outcome``
    (hit / miss / error), ``usable``, ``credits``, ``latency_s``; ``patterns``: per segment,
    how many rows showed each combination of hits and misses (the dependence between
    providers lives there)."""

    lookups: pl.DataFrame
    patterns: dict[str, Counter[tuple[tuple[str, bool], ...]]]
    segment_by: tuple[str, ...]


def ledger_attempts(ledger: Any) -> pl.DataFrame:
    """The attempts of a ``Ledger``, a ledger path, or an attempts frame, with a ``chain``."""
    from gtmkit.waterfall.ledger import Ledger

    if isinstance(ledger, pl.DataFrame):
        frame = ledger
        if "chain" not in frame.columns:
            chain = pl.col("run_id") if "run_id" in frame.columns else pl.lit("run")
            frame = frame.with_columns(chain.alias("chain"))
        return frame
    if isinstance(ledger, str | Path):
        if not Path(ledger).is_file():
            raise TwinError(f"no ledger at {ledger}: pass an existing ledger file or a Ledger")
        with Ledger(ledger) as opened:
            return ledger_attempts(opened)
    if isinstance(ledger, Ledger):
        attempts = ledger.attempts()
        runs = ledger.runs()
        if runs.height == 0:
            return attempts.with_columns(pl.col("run_id").alias("chain"))
        chains = runs.select(
            "run_id", pl.col("chain_id").fill_null(pl.col("run_id")).alias("chain")
        )
        return attempts.join(chains, on="run_id", how="left").with_columns(
            pl.col("chain").fill_null(pl.col("run_id"))
        )
    raise TwinError(
        f"the twin fits from a gtmkit Ledger, a ledger path or an attempts frame, "
        f"not {type(ledger).__name__}"
    )


def _segments(records: Any, segment_by: tuple[str, ...]) -> pl.DataFrame:
    frame = getattr(records, "records", records)
    if not isinstance(frame, pl.DataFrame):
        raise TwinError(
            f"records must be a polars frame or a LoadedList, not {type(frame).__name__}"
        )
    missing = [c for c in ("row_id", *segment_by) if c not in frame.columns]
    if missing:
        raise TwinError(
            f"records lack column(s) {missing}: the twin joins them to the ledger on row_id and "
            f"segments by {list(segment_by)}"
        )
    keys = [frame.get_column("chain")] if "chain" in frame.columns else []
    return frame.select(*keys, "row_id", segment_key(segment_by).alias("segment")).unique(
        subset=[*(["chain"] if keys else []), "row_id"], keep="first"
    )


def segment_key(segment_by: Sequence[str]) -> pl.Expr:
    """One string per row naming its segment (``"11-50"``, ``"11-50 / Europe"``)."""
    if not segment_by:
        return pl.lit(ALL)
    parts = [pl.col(c).cast(pl.String).fill_null(UNKNOWN_SEGMENT) for c in segment_by]
    return pl.concat_str(parts, separator=" / ")


def observe(
    ledger: Any,
    *,
    records: Any = None,
    segment_by: str | Sequence[str] | None = None,
    runs: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    usable_statuses: Sequence[str] = USABLE_STATUSES,
) -> Observations:
    """Lookups and hit patterns of every row the ledger holds (``runs``: only these runs'
    chains; ``exclude``: providers left out, e.g. verifiers)."""
    attempts = ledger_attempts(ledger)
    by = (segment_by,) if isinstance(segment_by, str) else tuple(segment_by or ())
    if by and records is None:
        raise TwinError(
            f"segment_by={list(by)} needs records= (the list the ledger's rows came from)"
        )
    if runs is not None and "run_id" in attempts.columns:
        chains = attempts.filter(pl.col("run_id").is_in(list(runs)))["chain"].unique()
        attempts = attempts.filter(pl.col("chain").is_in(chains.implode()))
    answered = attempts.filter(
        pl.col("row_id").is_not_null()
        & (pl.col("state") == "done")
        & ~pl.col("provider").is_in(list(exclude))
    )
    if "seq" not in answered.columns:
        answered = answered.with_row_index("seq")
    lookups = (
        answered.sort("seq")
        .group_by("chain", "row_id", "provider", maintain_order=True)
        .agg(
            pl.col("outcome").last(),
            pl.col("email_status").last(),
            pl.col("credits").sum(),
            pl.col("latency_s").fill_null(0.0).sum(),
        )
        .with_columns(
            pl.when(pl.col("outcome").is_in(["hit", "miss"]))
            .then(pl.col("outcome"))
            .otherwise(pl.lit("error"))
            .alias("outcome"),
            (pl.col("outcome") == "hit")
            .and_(pl.col("email_status").is_in(list(usable_statuses)))
            .alias("usable"),
        )
    )
    if records is not None and by:
        segments = _segments(records, by)
        chains = lookups["chain"].unique()
        if "chain" not in segments.columns:
            if chains.len() > 1:
                raise TwinError(
                    f"the ledger holds {chains.len()} runs of lists and records has no 'chain' "
                    "column to say which rows are whose: pass runs=[run_id] (the run these "
                    "records went through) or add a 'chain' column"
                )
            segments = segments.with_columns(
                pl.lit(chains[0] if chains.len() else "run").alias("chain")
            )
        lookups = lookups.join(segments, on=["chain", "row_id"], how="left")
        lookups = lookups.with_columns(pl.col("segment").fill_null(UNKNOWN_SEGMENT))
    else:
        lookups = lookups.with_columns(pl.lit(ALL).alias("segment"))
    patterns: dict[str, Counter[tuple[tuple[str, bool], ...]]] = {}
    informative = lookups.filter(pl.col("outcome") != "error").sort("provider")
    grouped = informative.group_by("chain", "row_id", "segment").agg(
        pl.col("provider"), pl.col("outcome")
    )
    for segment, providers, outcomes in grouped.select(
        "segment", "provider", "outcome"
    ).iter_rows():
        pattern = tuple(zip(providers, (o == "hit" for o in outcomes), strict=True))
        patterns.setdefault(segment, Counter())[pattern] += 1
    return Observations(lookups=lookups, patterns=patterns, segment_by=by)


__all__ = ["ALL", "USABLE_STATUSES", "Observations", "ledger_attempts", "observe", "segment_key"]
