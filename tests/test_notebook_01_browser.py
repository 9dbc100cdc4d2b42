"""Notebook 01 in a real browser: JupyterLab started by ``gtmkit lab`` (what ``make lab`` runs),
driven in Debian's Chromium by Playwright.

Run all cells; upload a list through the panel and see the intake summary; upload a file over
the panel's limit and get the size message (not a silent loss: ``gtmkit lab`` lets the file
through the websocket so the notebook can say what to do); then upload a list again and see
that the panel still works; save, and check that what the git filter would commit of the saved
file holds none of the leads' emails. The browser may only talk to the loopback server: every other
request is aborted and counted. Screenshots go to ``artifacts/notebook-01/``.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest

import gtmkit
from gtmkit.gitfilter import strip
from gtmkit.lists.upload import UPLOAD_LIMIT_BYTES
from tests._lab_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    require_chromium,
    stop,
    wait_for_lab,
)
from tests._notebooks_helpers import NOTEBOOKS_DIR, ROOT, hermetic_jupyter

pytestmark = [pytest.mark.browser, pytest.mark.slow]

INTAKE = "01-list-intake.ipynb"
SHOTS = ARTIFACTS / "notebook-01"


def _default_list() -> Path:
    """The notebook's default list: the browser uploads the same file."""
    nb = nbformat.read(NOTEBOOKS_DIR / INTAKE, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, object] = {}
    exec(cell.source, namespace)
    return ROOT / str(namespace["path"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``gtmkit lab`` on loopback serving a temporary copy of notebook 01."""
    require_chromium()
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    (root / "runs").mkdir(parents=True)
    # A copy: JupyterLab marks opened notebooks dirty and autosaves them.
    nb = nbformat.read(NOTEBOOKS_DIR / INTAKE, as_version=4)
    (params,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    params.source = params.source.replace('"data/runs/intake"', '"runs"')
    assert '"runs"' in params.source
    nbformat.write(nb, root / INTAKE)
    served = base / "served.ipynb"
    shutil.copyfile(root / INTAKE, served)
    # No "get notified about Jupyter news?" toast over the page.
    settings = base / "lab-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(
        json.dumps({"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}})
    )
    port, token = free_port(), secrets.token_hex(16)
    with hermetic_jupyter(base / "jupyter") as dirs:
        env = {**os.environ, **dirs, "JUPYTER_TOKEN": token}
        command = [
            *(sys.executable, "-m", "gtmkit", "lab", str(root), "--port", str(port)),
            *("--", f"--LabApp.app_settings_dir={settings}", "--ServerApp.terminals_enabled=False"),
        ]
        log_path = base / "lab.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            url = f"http://127.0.0.1:{port}"
            try:
                wait_for_lab(server, url, token, log_path)
                yield {"url": url, "token": token, "root": root, "served": served}
            finally:
                stop(server)


def _fresh_kernel(url: str, token: str) -> None:
    """Kernel sessions outlive page loads; delete them so the test starts clean."""
    with httpx.Client(base_url=url, headers={"Authorization": f"token {token}"}) as client:
        for session in client.get("/api/sessions").json():
            client.delete(f"/api/sessions/{session['id']}")


def _summary(name: str) -> re.Pattern[str]:
    return re.compile(
        re.escape(name) + r": (\d+) rows -> (\d+) accepted, (\d+) rejected, (\d+) duplicates"
    )


def _oversized_list(path: Path) -> Path:
    """A real CSV just over the panel's limit (it would load, were it allowed)."""
    row = b"Ann,Lee,ann.lee@example.com,Acme\n"
    rows = UPLOAD_LIMIT_BYTES // len(row) + 30_000
    path.write_bytes(b"First Name,Last Name,Email,Company\n" + row * rows)
    assert path.stat().st_size > UPLOAD_LIMIT_BYTES
    return path


def test_upload_size_message_and_the_panel_keeps_working(
    lab: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, token, root = str(lab["url"]), str(lab["token"]), Path(lab["root"])
    sample = _default_list()
    first = tmp_path / sample.name
    shutil.copyfile(sample, first)
    second = tmp_path / f"again-{sample.name}"
    shutil.copyfile(sample, second)
    big = _oversized_list(tmp_path / "big-export.csv")
    big_mb = f"{big.stat().st_size / 1024**2:.1f} MB"
    SHOTS.mkdir(parents=True, exist_ok=True)
    _fresh_kernel(url, token)
    blocked: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith((url, "data:", "blob:", "about:")):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", only_loopback)
            page.goto(f"{url}/lab/tree/{INTAKE}?reset&token={token}")
            notebook = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
            idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))
            expect(idle).to_be_visible(timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
            last_prompt = notebook.locator(".jp-CodeCell .jp-InputPrompt").last
            expect(last_prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=90_000)
            figures_output = notebook.locator(".jp-OutputArea-output").last
            expect(figures_output).to_contain_text('"accepted"')
            figures = json.loads(figures_output.inner_text())

            upload = notebook.locator("button.widget-upload")
            load = notebook.locator("button.widget-button", has_text="Load list")
            output = notebook.locator(".widget-output")

            def send(path: Path) -> None:
                with page.expect_file_chooser() as chooser:
                    upload.click()
                chooser.value.set_files(str(path))
                expect(upload).to_contain_text("(1)")
                page.wait_for_timeout(1500)  # the browser reads the file, then syncs it
                load.click()

            send(first)
            expect(output).to_contain_text(_summary(first.name), timeout=30_000)
            expect(output).to_contain_text("Exported clean records to")
            shown = _summary(first.name).search(output.inner_text())
            output.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "1-upload.png"))

            send(big)
            expect(output).to_contain_text(f"{big.name} is {big_mb}", timeout=60_000)
            expect(output).to_contain_text("`path` parameter")
            output.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "2-too-large.png"))

            send(second)
            expect(output).to_contain_text(_summary(second.name), timeout=30_000)
            again = _summary(second.name).search(output.inner_text())
            output.scroll_into_view_if_needed()
            page.screenshot(path=str(SHOTS / "3-next-upload.png"))

            # Save, as autosave would: the file on disk now holds the run's outputs.
            before_save = (root / INTAKE).stat().st_mtime_ns
            notebook.locator(".jp-Cell").first.click()
            page.keyboard.press("Control+s")
            deadline = time.monotonic() + 30
            while (root / INTAKE).stat().st_mtime_ns == before_save:
                assert time.monotonic() < deadline, "JupyterLab did not save the notebook"
                page.wait_for_timeout(200)
        finally:
            browser.close()

    # The upload route reports what the path route computed for the same file, both times.
    assert shown is not None and again is not None
    counts = [int(n) for n in shown.groups()]
    assert counts == [int(n) for n in again.groups()]
    assert counts == [figures[k] for k in ("rows", "accepted", "rejected", "duplicates")]
    assert counts[0] > 0 and counts[1] > 0
    exports = sorted(p.name for p in (root / "runs").iterdir())
    assert exports == sorted({f"{sample.stem}.clean.csv", f"{second.stem}.clean.csv"}), exports
    assert blocked == [], f"the browser tried to leave loopback: {blocked}"

    # What Lab saved has the leads' emails; what the git filter would commit has none of them,
    # and is exactly the notebook as it was served.
    saved = (root / INTAKE).read_text(encoding="utf-8")
    emails = [e for e in gtmkit.load_list(sample).records["email"].drop_nulls() if e in saved]
    assert emails, "Lab's saved notebook shows no lead email: the check below would prove nothing"
    stored = nbformat.writes(strip(nbformat.reads(saved, as_version=4))) + "\n"
    assert [e for e in emails if e in stored] == []
    assert stored == Path(lab["served"]).read_text(encoding="utf-8")


def test_missing_chromium_skips_locally_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_chromium(tmp_path / "no-chromium-here")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser test"):
        require_chromium(tmp_path / "no-chromium-here")
