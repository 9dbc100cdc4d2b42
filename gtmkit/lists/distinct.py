"""Do expensive work once per distinct value, and spread slow library calls over cores.

Lead lists repeat themselves (companies, titles, countries, first names). Everything here
turns "per row" into "per distinct value" and back, which is what keeps intake vectorized.

Example:
    >>> import polars as pl
    >>> from gtmkit.lists.distinct import map_distinct
    >>> companies = pl.Series(["acme", "globex", "acme", None])
    >>> map_distinct(companies, str.upper, return_dtype=pl.String).to_list()  # 2 calls, not 4
    ['ACME', 'GLOBEX', 'ACME', None]
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pragma: no cover
    from polars._typing import PolarsDataType


def distinct_codes(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Split ``values`` into (per-row codes, distinct values): ``distinct.gather(codes)`` is
    ``values`` again. A fresh categorical mapping makes this far cheaper than unique + join.
    """
    categories = pl.Categories.random()
    # Keep the categorical series alive until the mapping is read: a mapping nothing uses
    # any more may be freed, and would then read back empty.
    categorical = values.cast(pl.Categorical(categories))
    codes = categorical.to_physical()
    # Each code's value read from the row where it first occurs: ``categories.to_series()``
    # builds the same series from a Python list, one call per distinct value.
    first = codes.arg_unique()
    at = codes.gather(first)
    filled = at.is_not_null()
    at, first = at.filter(filled), first.filter(filled)
    size = int(at.max()) + 1 if at.len() else 0  # type: ignore[arg-type]
    distinct = pl.repeat(None, size, dtype=pl.String, eager=True).scatter(
        at, values.gather(first).cast(pl.String)
    )
    if distinct.null_count() or distinct.len() != at.len():
        # Defensive fallback, should the mapping ever not match the series.
        distinct = values.drop_nulls().unique(maintain_order=True)
        codes = values.replace_strict(
            distinct, pl.int_range(distinct.len(), eager=True), default=None, return_dtype=pl.UInt32
        )
    return codes, distinct


def per_distinct(values: pl.Series, transform: Callable[[pl.Series], pl.DataFrame]) -> pl.DataFrame:
    """Run ``transform`` once over the distinct values and spread its columns back to rows.

    Lead lists repeat themselves (companies, titles, countries, first names), so most work
    runs on far fewer values than there are rows. A column that is mostly distinct (emails)
    is transformed directly: finding its distinct values would cost more than it saves.
    """
    estimate = values.approx_n_unique() if values.len() > 10_000 else None
    if isinstance(estimate, int) and estimate > 0.5 * values.len():
        # Transform only the filled cells; a null cell's outputs are all null.
        rows = values.is_not_null().arg_true()
        if rows.len() == values.len():
            return transform(values)
        filled = transform(values.gather(rows))
        return pl.DataFrame(
            [
                pl.repeat(None, values.len(), dtype=dtype, eager=True)
                .alias(name)
                .scatter(rows, filled[name])
                for name, dtype in filled.schema.items()
            ]
        )
    codes, distinct = distinct_codes(values)
    return transform(distinct).select(pl.all().gather(codes))


def map_distinct(
    values: pl.Series,
    function: Callable[[str], str | None],
    *,
    return_dtype: PolarsDataType,
    parallel: bool = False,
) -> pl.Series:
    """Apply a Python ``function`` once per distinct non-null value and spread the results.

    ``parallel=True`` lets a slow function (tens of microseconds a call) use every core
    once there are at least :data:`PARALLEL_MIN_VALUES` distinct values.
    """
    codes, distinct = distinct_codes(values)
    items = distinct.to_list()
    results = apply_all(function, items) if parallel else apply_each(function, items)
    return pl.Series(values.name, results, dtype=return_dtype).gather(codes)


#: Distinct values from which a slow library call is shared with worker processes (a worker
#: costs about half a second to start, so smaller batches are quicker in-process).
PARALLEL_MIN_VALUES = 60_000


def apply_each(function: Callable[[str], str | None], chunk: list[str]) -> list[str | None]:
    return [function(value) for value in chunk]


# A worker reads (module, function name, values) pickled on stdin and writes the results.
_WORKER = (
    "import importlib, pickle, sys\n"
    "module, name, values = pickle.load(sys.stdin.buffer)\n"
    "function = getattr(importlib.import_module(module), name)\n"
    "pickle.dump([function(v) for v in values], sys.stdout.buffer, protocol=5)\n"
)


def apply_all(function: Callable[[str], str | None], values: list[str]) -> list[str | None]:
    """``[function(v) for v in values]``, shared with worker processes when it pays off.

    The libraries are pure Python and hold the GIL, so threads cannot help. Each worker is a
    plain ``python -c`` child given its share on stdin: unlike ``multiprocessing`` this never
    re-imports the caller's script and is safe beside polars' thread pool. This process works
    on the first share meanwhile. Any worker failure falls back to computing in-process.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = min((cpus or 1) - 1, 7)
    if len(values) < PARALLEL_MIN_VALUES or workers < 1:
        return apply_each(function, values)
    import pickle
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    size = -(-len(values) // (workers + 1))
    chunks = [values[i : i + size] for i in range(0, len(values), size)]
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])  # the folder holding gtmkit/
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)

    def run(chunk: list[str]) -> list[str | None]:
        payload = pickle.dumps((function.__module__, function.__name__, chunk), protocol=5)
        try:
            done = subprocess.run(
                [sys.executable, "-c", _WORKER],
                input=payload,
                capture_output=True,
                env=env,
                check=True,
                timeout=120 + len(chunk) // 1000,  # a stuck worker falls back in-process
            )
            results = pickle.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, pickle.UnpicklingError, EOFError):
            return apply_each(function, chunk)
        if not isinstance(results, list) or len(results) != len(chunk):
            return apply_each(function, chunk)
        return results

    with ThreadPoolExecutor(max_workers=len(chunks) - 1) as pool:
        others = pool.map(run, chunks[1:])
        first = apply_each(function, chunks[0])
        return first + [result for part in others for result in part]
