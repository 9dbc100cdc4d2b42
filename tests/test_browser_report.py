"""The client's HTML report in real headless Chromium: offline (nothing but the file loads), no
code, no raw frame, no JSON, the headline figures agree wherever they appear; full-page and
per-screen screenshots go to ``artifacts/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from gtmkit.reports.engagement import run_report
from tests._notebooks_helpers import ROOT
from tests._report_helpers import REPORT_NOTEBOOK, SMALL

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
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (install it: apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}; CI must run the browser test")
        pytest.skip(message)
    out = tmp_path_factory.mktemp("browser-report")
    files = run_report(REPORT_NOTEBOOK, parameters=SMALL, out_dir=out, pdf=False)
    assert files.html is not None
    return files.html


def test_report_in_chromium(report: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    refused: list[str] = []

    def only_the_file(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(("file:", "data:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            refused.append(url)
            route.abort()  # type: ignore[attr-defined]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", only_the_file)
            page.goto(report.as_uri(), wait_until="load")
            text = page.inner_text("body")
            figures = page.eval_on_selector_all(
                "[data-figure]", "els => els.map(e => [e.dataset.figure, e.innerText.trim()])"
            )
            images = page.eval_on_selector_all(
                "img.chart", "els => els.map(e => [e.complete, e.naturalWidth])"
            )
            code_cells = page.locator(".jp-InputArea, pre, code").count()
            page.screenshot(path=str(ARTIFACTS / "report-full.png"), full_page=True)
            height = page.evaluate("document.body.scrollHeight")
            for i, top in enumerate(range(0, height, 1000)):
                clip = {"x": 0, "y": top, "width": 1280, "height": min(1000, height - top)}
                page.screenshot(path=str(ARTIFACTS / f"report-{i}.png"), full_page=True, clip=clip)
        finally:
            browser.close()
    assert refused == []
    assert code_cells == 0
    for bad in ("shape:", "import ", "engagement)", '{"', "None", "NaN", "sandbox"):
        assert bad not in text, bad
    assert not re.search(r"\d\.\d{4,}", text)
    assert len(images) == 2 and all(done and width > 300 for done, width in images)
    seen: dict[str, set[str]] = {}
    for name, shown in figures:
        seen.setdefault(name, set()).add(shown)
    for name in ("received", "worked", "with_email", "coverage", "spend", "cost_per_record"):
        assert name in seen and len(seen[name]) == 1, (name, seen.get(name))
    assert f"contacts received\n{next(iter(seen['received']))}" in text.lower()
