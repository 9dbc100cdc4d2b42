"""Shared bits of the tests that start JupyterLab and drive it in Debian's Chromium: the
browser, free ports, waiting for the server, stopping it, which addresses a port listens on,
and a served Lab (``serve_lab``) that opens a notebook with a fresh kernel and keeps the
browser on loopback (the recipe in shared/notebook-stack.md §5). Not a conftest."""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
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

from tests._notebooks_helpers import ROOT, hermetic_jupyter

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
#: Screenshots a person looks at (git-ignored).
ARTIFACTS = ROOT / "artifacts"


def require_chromium(chromium: Path = CHROMIUM) -> None:
    """Skip without Chromium locally; under CI (``CI`` set) a missing browser is a failure."""
    if chromium.exists():
        return
    message = f"{chromium} is missing (install it: apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI must run the browser test")
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_lab(
    process: subprocess.Popen[bytes], url: str, token: str, log: Path, timeout: float = 60
) -> None:
    """Wait until the server answers ``/api/status`` with the token; fail with its log."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited ({process.returncode}): {log.read_text()[-3000:]}")
        try:
            answer = httpx.get(f"{url}/api/status", headers={"Authorization": f"token {token}"})
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"JupyterLab did not answer within {timeout:.0f} s: {log.read_text()}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server started with ``start_new_session=True``: its whole process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def listening_addresses(port: int) -> set[str]:
    """The local addresses with a socket listening on TCP ``port`` (from ``/proc/net``)."""
    found: set[str] = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if int(port_hex, 16) == port and fields[3] == "0A":  # 0A: LISTEN
                found.add(_address(address, width))
    return found


def _address(hex_address: str, width: int) -> str:
    raw = bytes.fromhex(hex_address)
    if width == 8:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
    return socket.inet_ntop(socket.AF_INET6, words)


def screenshot_report(html: Path, png: Path) -> dict[str, object]:
    """Open a static HTML report in Chromium, offline (only ``file:`` and ``data:`` load), and
    save a full-page screenshot. Returns what a reader would have seen go wrong: the images
    that did not render and the requests that tried to leave the machine."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    png.parent.mkdir(parents=True, exist_ok=True)
    left: list[str] = []

    def offline(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(("file:", "data:", "about:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            left.append(url)
            route.abort()  # type: ignore[attr-defined]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            page.route("**/*", offline)
            page.goto(html.resolve().as_uri(), wait_until="load")
            images = page.eval_on_selector_all(
                "img",
                "els => els.map(e => [e.complete && e.naturalWidth > 0, e.src.slice(0, 40)])",
            )
            text = page.inner_text("body")
            page.screenshot(path=str(png), full_page=True)
            # the full page is too tall to read at once: also one picture per screen
            height = int(page.evaluate("document.documentElement.scrollHeight"))
            for number, top in enumerate(range(0, height, 1400), start=1):
                clip = {"x": 0, "y": top, "width": 1100, "height": min(1400, height - top)}
                part = png.with_name(f"{png.stem}-{number}.png")
                page.screenshot(path=str(part), full_page=True, clip=clip)
        finally:
            browser.close()
    return {
        "images": len(images),
        "broken_images": [name for ok, name in images if not ok],
        "left_the_machine": left,
        "text": text,
    }


def project_copy(base: Path) -> Path:
    """A throwaway git work tree that looks like the project to ``make``: the Makefile,
    pyproject.toml, .gitattributes and notebooks/ copied (and committed), the package, the
    samples and the virtualenv linked. ``make git-filters`` there writes *its* git config, never
    the real repository's (whose config other work trees share)."""
    import shutil

    cksum = subprocess.run(
        ["cksum", "pyproject.toml"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()[0]
    if not (ROOT / ".venv" / f".installed-{cksum}").exists():
        pytest.fail("the virtualenv is older than pyproject.toml: run `make install` first")
    root = base / "project"
    (root / "data").mkdir(parents=True)
    for name in ("Makefile", "pyproject.toml", ".gitattributes", ".gitignore"):
        shutil.copyfile(ROOT / name, root / name)
    # Older than the venv's install stamp, so make never reinstalls the package from the copy.
    os.utime(root / "pyproject.toml", (0, 0))
    shutil.copytree(ROOT / "notebooks", root / "notebooks", ignore=_checkpoints)
    (root / "gtmkit").symlink_to(ROOT / "gtmkit")  # the project root is the copy
    (root / ".venv").symlink_to(ROOT / ".venv")
    (root / "data" / "samples").symlink_to(ROOT / "data" / "samples")
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@localhost"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    copied = ["Makefile", "pyproject.toml", ".gitattributes", ".gitignore", "notebooks"]
    subprocess.run([*git, "add", *copied], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "copy"], cwd=root, check=True)
    return root


def _checkpoints(_: str, names: list[str]) -> list[str]:
    return [n for n in names if n == ".ipynb_checkpoints"]


def run_make(project: Path, *targets: str, timeout: float = 120) -> str:
    """``make TARGET...`` in ``project``; fails the test with make's output if it fails."""
    made = subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    return made.stdout


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
    port, token = free_port(), secrets.token_hex(16)
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


def only_local_files(refused: list[str]) -> Any:
    """A Playwright route handler that lets ``file:`` and ``data:`` URLs load and aborts (and
    records in ``refused``) every other request: a static report must need nothing else."""

    def route(handler: Any) -> None:
        url = handler.request.url
        if url.startswith(("file:", "data:")):
            handler.continue_()
        else:
            refused.append(url)
            handler.abort()

    return route
