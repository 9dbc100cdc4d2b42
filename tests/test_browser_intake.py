"""End to end in a real browser: JupyterLab in Debian's Chromium, driven by Playwright.

Open a temporary copy of the intake notebook, run all cells, upload a sample CSV through the
FileUpload widget, click "Load list", and check the intake summary appears in the widget output.
The browser may only talk to the loopback Jupyter server; every other request is aborted and
counted. Follows the verified recipe in shared/notebook-stack.md §5.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import nbformat
import pytest

from tests._notebooks_helpers import NOTEBOOKS_DIR, ROOT, hermetic_jupyter

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INTAKE = "01_list_intake.ipynb"


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing (install it: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sample_list() -> Path:
    """The intake notebook's default list: the browser uploads the same file."""
    nb = nbformat.read(NOTEBOOKS_DIR / INTAKE, as_version=4)
    (cell,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    namespace: dict[str, object] = {}
    exec(cell.source, namespace)
    return ROOT / str(namespace["path"])


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A JupyterLab server on loopback serving a temp copy of the intake notebook."""
    _require_chromium()
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    # A copy: JupyterLab marks opened notebooks dirty and creates .ipynb_checkpoints/.
    nb = nbformat.read(NOTEBOOKS_DIR / INTAKE, as_version=4)
    (params,) = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    params.source = params.source.replace('"data/runs/intake"', '"runs"')
    assert '"runs"' in params.source
    (root / "runs").mkdir()
    nbformat.write(nb, root / INTAKE)

    # No "get notified about Jupyter news?" toast over the page, and no update checks.
    settings = base / "lab-settings"
    settings.mkdir()
    (settings / "overrides.json").write_text(
        json.dumps(
            {
                "@jupyterlab/apputils-extension:notification": {
                    "fetchNews": "false",
                    "checkForUpdates": False,
                }
            }
        )
    )
    port, token = _free_port(), secrets.token_hex(16)
    with hermetic_jupyter(base / "jupyter") as dirs:
        env = {**os.environ, **dirs, "JUPYTER_PLATFORM_DIRS": "1"}
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={port}",
            f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.terminals_enabled=False",
            f"--LabApp.app_settings_dir={settings}",
            "--LabApp.news_url=None",  # no announcements fetched from the internet
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        log = (base / "lab.log").open("w")
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    pytest.fail(f"jupyter lab exited: {(base / 'lab.log').read_text()[-2000:]}")
                try:
                    if httpx.get(f"{url}/api/status", params={"token": token}).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    pytest.fail("jupyter lab did not answer within 60 s")
                time.sleep(0.2)
            yield {"url": url, "token": token, "root": root, "base": base}
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()


def _fresh_kernel(url: str, token: str) -> None:
    """Kernel sessions outlive page loads; delete them so every test starts clean."""
    with httpx.Client(base_url=url, params={"token": token}) as client:
        for session in client.get("/api/sessions").json():
            client.delete(f"/api/sessions/{session['id']}")


def test_upload_a_list_in_jupyterlab(lab: dict[str, object], tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, token, root = str(lab["url"]), str(lab["token"]), Path(str(lab["root"]))
    sample = _sample_list()
    upload_copy = tmp_path / sample.name
    shutil.copyfile(sample, upload_copy)
    _fresh_kernel(url, token)
    blocked: list[str] = []

    def only_loopback(route) -> None:
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
            # The status bar says "<kernel display name> | Idle" once the kernel is ready (the
            # name depends on how the kernelspec was installed; `make` names it "(gtmkit)").
            idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))
            expect(idle).to_be_visible(timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
            page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
            last_prompt = notebook.locator(".jp-CodeCell .jp-InputPrompt").last
            expect(last_prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=90_000)
            # Run all went through: the batch (path) route printed its figures as JSON.
            figures_output = notebook.locator(".jp-OutputArea-output").last
            expect(figures_output).to_contain_text('"accepted"')
            figures = json.loads(figures_output.inner_text())

            upload = notebook.locator("button.widget-upload")
            with page.expect_file_chooser() as chooser:
                upload.click()
            chooser.value.set_files(str(upload_copy))
            expect(upload).to_contain_text("(1)")
            notebook.locator("button.widget-button", has_text="Load list").click()
            widget_output = notebook.locator(".widget-output")
            summary = re.compile(
                re.escape(sample.name)
                + r": (\d+) rows -> (\d+) accepted, (\d+) rejected, (\d+) duplicates"
            )
            expect(widget_output).to_contain_text(summary, timeout=30_000)
            expect(widget_output).to_contain_text("Column mapping")
            expect(widget_output).to_contain_text("Exported clean records to")
            shown = summary.search(widget_output.inner_text())
            widget_output.scroll_into_view_if_needed()
            page.screenshot(path=str(Path(str(lab["base"])) / "intake-upload.png"))
        finally:
            browser.close()

    # The upload route reports what the path route computed for the same file.
    assert shown is not None
    counts = [int(n) for n in shown.groups()]
    assert counts == [figures[k] for k in ("rows", "accepted", "rejected", "duplicates")]
    assert counts[0] > 0 and counts[1] > 0
    assert (root / "runs" / f"{sample.stem}.clean.csv").exists(), "no clean export from the upload"
    assert blocked == [], f"the browser tried to leave loopback: {blocked}"


def test_missing_chromium_skips_locally_but_fails_in_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium-here")
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _require_chromium()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the browser test"):
        _require_chromium()
