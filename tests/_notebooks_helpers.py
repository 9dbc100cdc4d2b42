"""Shared bits of the notebook, demo and browser tests (not a conftest: the lead owns that)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = (
    "01_list_intake.ipynb",
    "02-run-waterfall.ipynb",
    "03_compare_providers.ipynb",
    "05-engagement-report.ipynb",
)
JUPYTER_VARS = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")


@contextmanager
def hermetic_jupyter(base: Path) -> Iterator[dict[str, str]]:
    """Point Jupyter's and IPython's state directories into ``base`` (not the home directory).

    Kernelspecs are still found: the venv's ``python3`` kernel lives under ``sys.prefix``.
    """
    saved = {name: os.environ.get(name) for name in (*JUPYTER_VARS, "JUPYTER_PLATFORM_DIRS")}
    dirs = {
        "JUPYTER_CONFIG_DIR": base / "config",
        "JUPYTER_DATA_DIR": base / "data",
        "JUPYTER_RUNTIME_DIR": base / "runtime",
        "IPYTHONDIR": base / "ipython",
    }
    for name, directory in dirs.items():
        directory.mkdir(parents=True, exist_ok=True)
        os.environ[name] = str(directory)
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"
    try:
        yield {name: str(directory) for name, directory in dirs.items()}
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
