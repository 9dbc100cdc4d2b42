"""Notebook 06's report in real headless Chromium: offline (nothing but the file loads), the dry
run's counts and its from → to changes, the sync's outcome and the second dry run are on the
page a person reads, as the recorded figures say, and so is what its Slack cell posted.
Full-page and per-screen screenshots go to ``artifacts/notebook-06/`` and
``artifacts/notebook-06-slack/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

SHOTS = ARTIFACTS / "notebook-06"
SLACK_SHOTS = ARTIFACTS / "notebook-06-slack"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> NotebookRun:
    require_chromium()
    out = tmp_path_factory.mktemp("nb06-browser")
    params = {"destination": "outreach", "sequence_id": "7", "mailbox_id": "1",
              "out_dir": str(out / "out")}  # fmt: skip
    with hermetic_jupyter(out / "jupyter"):
        run = run_notebook(
            NOTEBOOKS_DIR / "06-sync-crm.ipynb", parameters=params, out_dir=out, html=True
        )
    assert run.html is not None
    return run


def _read_in_chromium(report: NotebookRun, shoot: Callable[[Any], None]) -> tuple[str, list[str]]:
    """The report's text as Chromium shows it (offline), after ``shoot(page)`` took its
    screenshots; and the requests that tried to leave the machine."""
    from playwright.sync_api import sync_playwright

    refused: list[str] = []
    assert report.html is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.route("**/*", only_local_files(refused))
            page.goto(Path(report.html).as_uri(), wait_until="load")
            text = " ".join(page.inner_text("body").split())
            shoot(page)
        finally:
            browser.close()
    return text, refused


def test_the_dry_run_and_the_sync_read_in_chromium(report: NotebookRun) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    tables = 0

    def shoot(page: Any) -> None:
        nonlocal tables
        tables = page.locator("table").count()
        page.screenshot(path=str(SHOTS / "full.png"), full_page=True)
        height = page.evaluate("document.body.scrollHeight")
        for i, top in enumerate(range(0, min(height, 4000), 1000)):
            clip = {"x": 0, "y": top, "width": 1280, "height": min(1000, height - top)}
            page.screenshot(path=str(SHOTS / f"screen-{i}.png"), full_page=True, clip=clip)

    text, refused = _read_in_chromium(report, shoot)
    f = report.figures
    plan, written = f["plan"], f["written"]
    counts = f"{plan['create']} create, {plan['update']} update, {plan['skip']} skip"
    assert f"Dry run for outreach prospects: {counts}. Nothing written yet." in text
    assert re.search(r"sequence: ∅ → '7'", text)  # the enrollment, shown as a change
    assert "already in an active sequence (sequence 4)" in text  # a rep's people, left alone
    assert f"Synced to outreach prospects: {written['created']} created" in text
    again = {a: f["second_plan"][a] for a in ("create", "update", "skip")}  # as printed
    assert f"a second dry run now: {again}" in text and again["create"] == again["update"] == 0
    assert tables >= 5  # plan, changes, diff, sync, failures, summary
    assert "record_figures(" not in text and "Traceback" not in text
    assert refused == []


def test_the_slack_summary_is_posted_and_shown(report: NotebookRun) -> None:
    """The Slack cell: the run summary went to the sandbox Slack twin and the cell shows what
    the channel received, block by block (screenshot in ``artifacts/notebook-06-slack/``)."""
    SLACK_SHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(page: Any) -> None:
        heading = page.locator("h2", has_text="Tell the team in Slack")
        heading.scroll_into_view_if_needed()
        box = heading.bounding_box()
        assert box is not None
        clip = {"x": 0, "y": box["y"], "width": 1280, "height": 900}
        page.screenshot(path=str(SLACK_SHOTS / "slack.png"), clip=clip)

    text, refused = _read_in_chromium(report, shoot)
    rows = report.figures["rows"]
    posted = re.search(r"posted to #gtm-runs: gtmkit run \w+: (\d+)/(\d+) rows found "
                       r"\((\d+\.\d)%\), \$(\d+\.\d\d) of \$30\.00", text)  # fmt: skip
    assert posted is not None, text[-2000:]
    found, total = int(posted[1]), int(posted[2])
    assert total == rows and 0 < found <= total
    assert posted[3] == f"{found / total:.1%}"[:-1]
    assert "The Slack message, block by block" in text
    assert "Traceback" not in text and refused == []
