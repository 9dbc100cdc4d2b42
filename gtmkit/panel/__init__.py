"""The JupyterLab panel that runs a waterfall (notebook ``02-run-waterfall``).

Upload a lead list (in chunks, up to 200 MB) or pick one from the server's ``data/`` folder,
correct the column mapping, pick and order provider steps, set a budget, read the estimate
before anything is spent, run with live progress, Cancel and Resume, preview the result and
download it as CSV, Parquet or XLSX. Logic lives here; the notebook only displays the panel.

Example:
    >>> from gtmkit.panel import WaterfallPanel
    >>> panel = WaterfallPanel(path="data/samples/leads_small.csv", budget_credits=60,
    ...                        ledger=None)
    >>> panel.table.filter(panel.table["provider"] == "total")["rows_in"].item() > 0
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "WaterfallPanel": "gtmkit.panel.app",
    "PanelError": "gtmkit.panel.app",
    "Budget": "gtmkit.panel.estimate",
    "ChunkAssembler": "gtmkit.panel.chunks",
    "ChunkedUpload": "gtmkit.panel.upload",
    "RunController": "gtmkit.panel.runner",
    "StepPlan": "gtmkit.panel.steps",
    "UploadError": "gtmkit.panel.chunks",
    "provider_catalog": "gtmkit.panel.steps",
    "result_bytes": "gtmkit.panel.downloads",
}

__all__ = [
    "Budget",
    "ChunkAssembler",
    "ChunkedUpload",
    "PanelError",
    "RunController",
    "StepPlan",
    "UploadError",
    "WaterfallPanel",
    "provider_catalog",
    "result_bytes",
]

if TYPE_CHECKING:  # pragma: no cover
    from gtmkit.panel.app import PanelError, WaterfallPanel
    from gtmkit.panel.chunks import ChunkAssembler, UploadError
    from gtmkit.panel.downloads import result_bytes
    from gtmkit.panel.estimate import Budget
    from gtmkit.panel.runner import RunController
    from gtmkit.panel.steps import StepPlan, provider_catalog
    from gtmkit.panel.upload import ChunkedUpload


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'gtmkit.panel' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value
