"""The rows a run walks: the input checked, duplicates resolved to their representative, and
the identity (fingerprint) that a resume recognises.

Example:
    >>> import polars as pl
    >>> frame = pl.DataFrame({"row_id": [1, 2, 3], "duplicate_of": [None, 1, 2]})
    >>> representatives(frame)  # 3 duplicates 2, which duplicates 1
    {2: 1, 3: 1}
"""

from __future__ import annotations

import hashlib
from typing import Any

import polars as pl

from gtmkit.errors import GtmkitError
from gtmkit.schema import ROW_ID


class RecordsError(GtmkitError, ValueError):
    """The records handed to a run are not usable (what is wrong is in the message)."""


class RecordsTypeError(GtmkitError, TypeError):
    """The records handed to a run are not a list or a frame."""


def prepare_records(records: Any) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Accept a ``LoadedList`` or a polars frame with ``row_id``; returns (records, rejected)."""
    rejected = None
    frame = records
    if not isinstance(records, pl.DataFrame) and hasattr(records, "records"):
        frame = records.records
        rejected = getattr(records, "rejected", None)
    if not isinstance(frame, pl.DataFrame):
        raise RecordsTypeError(
            "records must be a gtmkit.load_list(...) result or a polars DataFrame, "
            f"got {type(records).__name__}"
        )
    if ROW_ID not in frame.columns:
        raise RecordsError(
            f"records need a {ROW_ID!r} column (gtmkit.load_list adds it); "
            f"got columns {frame.columns}"
        )
    if frame[ROW_ID].null_count() or frame[ROW_ID].n_unique() != frame.height:
        raise RecordsError(f"{ROW_ID!r} must be unique and non-null")
    if rejected is not None and (not isinstance(rejected, pl.DataFrame) or rejected.is_empty()):
        rejected = None
    return frame, rejected


def representatives(frame: pl.DataFrame) -> dict[int, int]:
    """``{duplicate row_id: representative row_id}``, following chains of ``duplicate_of``.

    Links to a row that is not in the frame are ignored (that row is enriched on its own). A
    chain that loops back on itself (a cycle, which intake never writes but a hand-edited file
    can hold) is refused, naming the rows: which one is the original is the user's call.

    Raises:
        RecordsError: a cycle in ``duplicate_of``.
    """
    if "duplicate_of" not in frame.columns:
        return {}
    ids = set(frame[ROW_ID].to_list())
    pairs = zip(frame[ROW_ID].to_list(), frame["duplicate_of"].to_list(), strict=True)
    links = {
        row_id: target
        for row_id, target in pairs
        if target is not None and target in ids and target != row_id
    }
    resolved: dict[int, int] = {}
    for start in links:
        path = [start]
        target = links[start]
        while target in links and target not in path:
            path.append(target)
            target = links[target]
        if target in path:
            cycle = [*path[path.index(target) :], target]
            raise RecordsError(
                f"rows {' → '.join(map(str, cycle))} name each other in duplicate_of (a cycle), "
                "so none of them is the original. Point each duplicate at the row to keep, or "
                "drop the duplicate_of column and let gtmkit.load_list find the duplicates."
            )
        resolved[start] = target
    return resolved


def list_fingerprint(spec_fingerprint: str, frame: pl.DataFrame) -> str:
    """The identity of (spec, list): a rerun with both unchanged resumes the same run."""
    digest = hashlib.sha256(spec_fingerprint.encode())
    try:
        digest.update(frame.write_csv().encode())
    except Exception:  # nested columns: fall back to polars' row hash
        digest.update(str(frame.hash_rows(seed=0).to_list()).encode())
    return digest.hexdigest()[:24]
