"""The files delivered with a report: the enriched list and, when a step handed contacts to a
person, the manual research list. Both formula-safe CSV (``gtmkit.export_csv``).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> import polars as pl
    >>> from gtmkit.reports.engagement.deliver import deliver
    >>> class Run:
    ...     records = pl.DataFrame({"row_id": [0], "email": ["=cmd()"], "status": ["enriched"]})
    ...     def manual_tasks(self):
    ...         return self.records.head(0)
    >>> folder = Path(tempfile.mkdtemp())
    >>> deliver(Run(), out_dir=folder, stem="acme-2026-12-03")
    ('acme-2026-12-03.enriched.csv',)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["deliver"]


def deliver(result: Any, *, out_dir: str | os.PathLike[str], stem: str) -> tuple[str, ...]:
    """Write ``<stem>.enriched.csv`` (every row of the list, with its email, source, cost and
    status) and, if any, ``<stem>.manual-research.csv``; return their file names."""
    from gtmkit import export_csv

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = {f"{stem}.enriched.csv": result.records}
    manual = result.manual_tasks()
    if manual.height:
        files[f"{stem}.manual-research.csv"] = manual
    for name, frame in files.items():
        scratch = folder / f".{name}.tmp"  # renamed into place: never a half-written list
        export_csv(frame, scratch)
        os.replace(scratch, folder / name)
    return tuple(files)
