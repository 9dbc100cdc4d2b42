"""The README's quick-start code runs as written (on the sandbox, with a temporary ledger)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_quick_start_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README has a python quick start"
    code = blocks[0]
    monkeypatch.chdir(README.parent)  # the sample path in the README is relative to the repo
    code = code.replace('"data/runs/ledger.sqlite"', repr(str(tmp_path / "ledger.sqlite")))
    code = code.replace("truth=truth)", f"truth=truth, ledger={str(tmp_path / 'c.sqlite')!r})")
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)  # our own documentation
    result, rec = namespace["result"], namespace["rec"]
    assert result.records.height == 300  # every row of leads_small.csv, accepted or not
    assert result.totals["credits"] <= 200
    assert rec.waterfall.steps and 0 < rec.predicted_coverage <= 1
