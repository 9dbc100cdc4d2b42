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

#: Packages that hold secrets of their own (CRM tokens, webhook secrets) list their variables
#: in a ``SECRET_ENV_VARS`` tuple; those not on this branch yet are skipped until merged.
SECRET_HOOKS = ("gtmkit.sync", "gtmkit.integrations")


def secret_env_vars() -> tuple[str, ...]:
    """Every secret variable gtmkit reads: each registered adapter's key variable, any other
    ``*_ENV`` variable name its module declares (ZoomInfo's OAuth client id beside its
    secret), and every hooked package's ``SECRET_ENV_VARS``. Derived, so a new provider or
    package cannot be forgotten."""
    import importlib
    import re

    from gtmkit.providers.registry import provider_class, provider_names

    found: list[str] = []
    for name in provider_names():
        cls = provider_class(name)
        if cls.env_var:
            found.append(cls.env_var)
        module = sys.modules[cls.__module__]
        found += [
            value
            for attr, value in vars(module).items()
            if attr.endswith("_ENV")
            and isinstance(value, str)
            and re.fullmatch(r"[A-Z0-9_]+", value)
        ]
    for package in SECRET_HOOKS:
        try:
            module = importlib.import_module(package)
        except ModuleNotFoundError:
            continue
        found += list(getattr(module, "SECRET_ENV_VARS", ()))
    return tuple(dict.fromkeys(found))


def _canary(variable: str, index: int) -> str:
    # Every third key ends in a newline (a secret made from a file), every other one carries a
    # quote or a backslash (what repr, JSON and URL encoding each escape differently).
    tails = ("", "\n", "")
    marks = ("", '"q', "\\b")
    return (
        f"canary{variable.split('_')[0]}{index:02d}x7f3k9{marks[index % 3]}q2w8{tails[index % 3]}"
    )


#: One canary per secret variable (see :func:`secret_env_vars`).
CANARIES = {variable: _canary(variable, i) for i, variable in enumerate(secret_env_vars())}


def test_every_provider_key_variable_has_a_canary() -> None:
    from gtmkit.providers.registry import provider_class, provider_names

    for name in provider_names():
        variable = provider_class(name).env_var
        assert variable is None or variable in CANARIES, name
    for expected in ("APOLLO_API_KEY", "LUSHA_API_KEY", "FINDYMAIL_API_KEY", "LEADMAGIC_API_KEY",
                     "ZOOMINFO_CLIENT_ID", "ZOOMINFO_CLIENT_SECRET"):  # fmt: skip
        assert expected in CANARIES, expected
    assert any(k.endswith("\n") for k in CANARIES.values())
    assert any('"' in k for k in CANARIES.values()) and any("\\" in k for k in CANARIES.values())


def _spellings(key: str) -> set[str]:
    """The key and the part of it that would be recognisable, as written, escaped or encoded."""
    import json
    from urllib.parse import quote

    core = key.strip()
    return {core, core[6:], json.dumps(core)[1:-1], repr(core)[1:-1], quote(core, safe="")}


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
            for spelling in _spellings(key):
                assert spelling not in text, f"{name}'s canary found in {where.name}"


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
