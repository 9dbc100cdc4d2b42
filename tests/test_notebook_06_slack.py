"""Notebook 06's Slack cell under papermill, offline: the run summary goes to the sandbox Slack
twin and the cell shows what the channel received, block by block, read in headless Chromium
(screenshot in ``artifacts/notebook-06-slack/``, git-ignored)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gtmkit.reports import NotebookRun, run_notebook
from tests._lab_helpers import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    only_local_files,
    require_chromium,
)
from tests._notebooks_helpers import NOTEBOOKS_DIR, hermetic_jupyter

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = ARTIFACTS / "notebook-06-slack"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    require_chromium()
    out = tmp_path_factory.mktemp("nb06-slack")
    with hermetic_jupyter(out / "jupyter"):
        params = {"out_dir": str(out / "out")}
        run = run_notebook(
            NOTEBOOKS_DIR / "06-sync-crm.ipynb", parameters=params, out_dir=out, html=True
        )
    assert run.html is not None
    return run


def test_the_slack_summary_is_posted_and_shown(report: NotebookRun) -> None:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    refused: list[str] = []
    assert report.html is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", only_local_files(refused))
            page.goto(Path(report.html).as_uri(), wait_until="load")
            text = " ".join(page.inner_text("body").split())
            heading = page.locator("h2", has_text="Tell the team in Slack")
            heading.scroll_into_view_if_needed()
            box = heading.bounding_box()
            assert box is not None
            clip = {"x": 0, "y": box["y"], "width": 1280, "height": 900}
            page.screenshot(path=str(SHOTS / "slack.png"), clip=clip)
        finally:
            browser.close()
    rows = report.figures["rows"]
    posted = re.search(r"posted to #gtm-runs: gtmkit run \w+: (\d+)/(\d+) rows found "
                       r"\((\d+\.\d)%\), \$(\d+\.\d\d) of \$30\.00", text)  # fmt: skip
    assert posted is not None, text[-2000:]
    found, total = int(posted[1]), int(posted[2])
    assert total == rows and 0 < found <= total
    assert posted[3] == f"{found / total:.1%}"[:-1]
    assert "The Slack message, block by block" in text
    assert "Traceback" not in text and refused == []
