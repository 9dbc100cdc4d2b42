"""Canary: fake keys for every provider in the environment; a full demo run (HTML, PDF,
notebook, figures, ledger, log) leaves none of them in any file it writes — nor in Jupyter's
and IPython's state folders — and prints none. The demo never goes live."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._notebooks_helpers import ROOT

pytestmark = pytest.mark.slow

#: One canary per provider key variable (gtmkit.providers reads these).
CANARIES = {
    "APOLLO_API_KEY": "canaryAPOLLO7f3k9q2w8e4r",
    "HUNTER_API_KEY": "canaryHUNTER5d1x8c6v2b9n",
    "PDL_API_KEY": "canaryPDL3m7q1w9e5r2t8y6u",
    "PROSPEO_API_KEY": "canaryPROSPEO4h8j2k6l0z1x",
    "DROPCONTACT_API_KEY": "canaryDROPCONTACT9a3s5d7f",
}


def _pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, subprocess.CompletedProcess]:
    base = tmp_path_factory.mktemp("canary")
    out, state = base / "reports", base / "state"
    env = {**os.environ, **CANARIES}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        env[name] = str(state / name.lower())
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "gtmkit.demo", "--out", str(out), "--date", "2026-12-03"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, state, proc


def test_demo_writes_every_file(demo: tuple) -> None:
    out, _, _ = demo
    stem = "acme-analytics-2026-12-03"
    for suffix in (".html", ".pdf", ".ipynb", ".figures.json", ".ledger.sqlite", ".log",
                   ".enriched.csv"):  # fmt: skip
        assert (out / f"{stem}{suffix}").stat().st_size > 0, suffix
    assert "Acme Analytics" in _pdf_text(out / f"{stem}.pdf")


def test_no_canary_in_any_file_written_or_printed(demo: tuple) -> None:
    out, state, proc = demo
    files = [p for root in (out, state) for p in root.rglob("*") if p.is_file()]
    assert len(files) >= 7
    texts = {p: p.read_bytes().decode("utf-8", "replace") for p in files}
    texts.update({p: _pdf_text(p) for p in files if p.suffix == ".pdf"})
    texts[Path("stdout")] = proc.stdout
    texts[Path("stderr")] = proc.stderr
    for where, text in texts.items():
        for name, key in CANARIES.items():
            assert key not in text, f"{name}'s canary found in {where.name}"
            assert key[6:] not in text, f"part of {name}'s canary found in {where.name}"


def test_the_demo_stayed_simulated(demo: tuple) -> None:
    import json
    import sqlite3

    out, _, proc = demo
    figures = json.loads((out / "acme-analytics-2026-12-03.figures.json").read_text())
    assert figures["data_source"] == "simulated"
    assert "simulated providers only" in proc.stdout
    # every credit is in the ledger, and it adds up to the spend the report shows
    with sqlite3.connect(out / "acme-analytics-2026-12-03.ledger.sqlite") as db:
        (calls, cost) = db.execute("select count(*), sum(cost_usd) from attempts").fetchone()
    assert calls > 0 and cost == pytest.approx(figures["spend_usd"], abs=0.01)
    html = (out / "acme-analytics-2026-12-03.html").read_text(encoding="utf-8")
    assert "Simulated run" in html and "No real provider was called" in html
