"""JupyterLab in headless Chromium for the panel's browser test: start a loopback server on a
folder, open a notebook with a fresh kernel, run it, and keep the browser on loopback.

Follows the verified recipe in shared/notebook-stack.md §5 (selectors, ``?reset``, deleting
sessions, no news toast).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._notebooks_helpers import hermetic_jupyter

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


def require_chromium(chromium: Path = CHROMIUM) -> None:
    """Skip where Chromium is not installed; in CI (which installs it) fail instead."""
    if chromium.exists():
        return
    message = f"{chromium} is missing (install it: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Lab:
    """A running JupyterLab: its URL and token, the folder it serves, and its log."""

    url: str
    token: str
    root: Path
    log: Path
    blocked: list[str] = field(default_factory=list)

    def fresh_kernel(self) -> None:
        """Kernel sessions outlive page loads; delete them so a test starts clean."""
        with httpx.Client(base_url=self.url, params={"token": self.token}) as client:
            for session in client.get("/api/sessions").json():
                client.delete(f"/api/sessions/{session['id']}")

    def only_loopback(self, route: Any) -> None:
        """A Playwright route handler: loopback goes through, anything else is aborted and
        remembered in ``blocked``."""
        if route.request.url.startswith((self.url, "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()


@contextmanager
def serve_lab(root: Path, base: Path) -> Iterator[Lab]:
    """JupyterLab on loopback serving ``root``; its state directories under ``base``."""
    require_chromium()
    settings = base / "lab-settings"
    settings.mkdir(parents=True, exist_ok=True)
    # No "get notified about Jupyter news?" toast over the page, and no update checks.
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
    log_path = base / "lab.log"
    with hermetic_jupyter(base / "jupyter") as dirs:
        env = {**os.environ, **dirs, "JUPYTER_PLATFORM_DIRS": "1"}
        command = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
            "--ip=127.0.0.1", f"--port={port}", f"--ServerApp.token={token}",
            f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
            f"--LabApp.app_settings_dir={settings}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]  # fmt: skip
        with log_path.open("w") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                deadline = time.monotonic() + 60
                while True:
                    if server.poll() is not None:
                        pytest.fail(f"jupyter lab exited: {log_path.read_text()[-2000:]}")
                    try:
                        answer = httpx.get(f"{url}/api/status", params={"token": token})
                        if answer.status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        pytest.fail("jupyter lab did not answer within 60 s")
                    time.sleep(0.2)
                yield Lab(url=url, token=token, root=root, log=log_path)
            finally:
                server.terminate()
                try:
                    server.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def open_and_run_all(page: Any, lab: Lab, notebook: str, *, timeout_ms: int = 120_000) -> Any:
    """Open ``notebook`` (no restored tabs), wait for the kernel, Run All, wait for the last
    cell; returns the visible notebook panel's locator."""
    from playwright.sync_api import expect

    page.goto(f"{lab.url}/lab/tree/{notebook}?reset&token={lab.token}")
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    idle = page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\| Idle$"))
    expect(idle).to_be_visible(timeout=60_000)
    run_all(page, panel, timeout_ms=timeout_ms)
    return panel


def run_all(page: Any, panel: Any, *, timeout_ms: int = 120_000) -> None:
    """Run every cell from the Run menu and wait until the last one has run."""
    from playwright.sync_api import expect

    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("li.lm-Menu-item[data-command='runmenu:run-all']").click()
    last_prompt = panel.locator(".jp-CodeCell .jp-InputPrompt").last
    expect(last_prompt).to_have_text(re.compile(r"^\[\d+\]:$"), timeout=timeout_ms)
